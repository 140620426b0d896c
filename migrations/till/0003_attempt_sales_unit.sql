-- The Vipps sales unit each payment attempt was created at: its merchant serial number and the
-- Vipps base URL (environment). A payment can only be read, captured, cancelled or refunded
-- there. NULL (attempts made before this column existed) means "unknown, assume the current
-- configuration".
ALTER TABLE engine_attempts ADD COLUMN vipps_msn TEXT;
ALTER TABLE engine_attempts ADD COLUMN vipps_base_url TEXT;
