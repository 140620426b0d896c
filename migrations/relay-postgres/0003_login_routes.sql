-- Merchant-initiated logins a till started: the till registers each login's auth_req_id
-- (POST /v1/till/login) and the login's ping webhook (login.merchant-initiated.ping.v1,
-- whose only field is auth_req_id) is routed to it. Only `login:` + the hex SHA-256 of the
-- auth_req_id is kept, the same key a ping is filed under (events.route_key).
CREATE TABLE login_routes (
    msn           TEXT NOT NULL,
    login_key     TEXT NOT NULL,
    till_pk       BIGINT NOT NULL REFERENCES tills(pk),
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (msn, login_key)
);
CREATE INDEX login_routes_age ON login_routes(created_at_ms);
-- A ping that came before its registration is kept unrouted and found again by this.
CREATE INDEX events_login_kept ON events(msn, route_key)
    WHERE kind = 'login_ping' AND status = 'unrouted';
