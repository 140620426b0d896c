-- What membership did for a sale.
--
-- The member saving (the member prices' discount, minor units) is the sale's own anonymous
-- fact: it is printed on the receipt and on every copy, so it stays when a member is erased.
-- Which member made the sale is personal data: member_sale goes with the member (erasure keeps
-- the sales, anonymous). A member's points are counted from it (1 per whole currency unit
-- paid, less what was returned), never stored, so they cannot drift from the sales.
ALTER TABLE sale ADD COLUMN member_saving INTEGER NOT NULL DEFAULT 0 CHECK (member_saving >= 0);

CREATE TABLE member_sale (
    sale_id    INTEGER PRIMARY KEY NOT NULL REFERENCES sale (id),
    member_id  INTEGER NOT NULL REFERENCES member (id) ON DELETE CASCADE
) STRICT;
CREATE INDEX member_sale_member ON member_sale (member_id);
