-- An event an operator replayed (`kasse-relay events replay ID`) points at the new event
-- that was filed for it; the new one carries a new id, so a till's cursor sees it.
ALTER TABLE events ADD COLUMN replayed_as INTEGER;
