DROP TABLE sign_in_sessions;
DROP INDEX tokens_secret_key;
ALTER TABLE modules DROP COLUMN row_mac;
ALTER TABLE users DROP COLUMN row_mac;
ALTER TABLE accounts DROP COLUMN row_mac;
ALTER TABLE tokens DROP COLUMN row_mac;
DROP INDEX audit_records_key;
ALTER TABLE audit_records DROP COLUMN key_id;
DROP TABLE server_keys;
