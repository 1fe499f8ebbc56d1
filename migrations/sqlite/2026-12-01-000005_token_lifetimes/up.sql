-- Tokens that end (SPEC §9): expiry, self-rotation, leak reports; account lifetime policies;
-- the value a rotation replaced; the sweep's bookkeeping of expired records; leak reports.
ALTER TABLE tokens ADD COLUMN expires_at TIMESTAMP;
ALTER TABLE tokens ADD COLUMN self_rotate BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE tokens ADD COLUMN compromised BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX tokens_expires_at ON tokens (expires_at);

ALTER TABLE accounts ADD COLUMN max_token_lifetime_days INTEGER;
ALTER TABLE accounts ADD COLUMN require_token_expiry BOOLEAN NOT NULL DEFAULT FALSE;

-- The value before a token's latest rotation: accepted until expires_at (NULL: retired at
-- once), then recognised as retired. At most one per token.
CREATE TABLE token_previous_values (
    token_id TEXT PRIMARY KEY REFERENCES tokens (id),
    secret_key_id TEXT NOT NULL,
    secret_hash BLOB NOT NULL,
    expires_at TIMESTAMP
);

-- One `expired` record per token and expiry instant, whatever the instances and restarts.
CREATE TABLE token_expiry_records (
    token_id TEXT NOT NULL REFERENCES tokens (id),
    expires_at TIMESTAMP NOT NULL,
    PRIMARY KEY (token_id, expires_at)
);

-- Leaked-value reports (POST /v1/credentials/revoke): stored, then processed off the request
-- path. A reported value is kept only as its id and HMAC under k_hash (never the value).
CREATE TABLE leak_reports (
    id TEXT PRIMARY KEY,
    received_at TIMESTAMP NOT NULL,
    ip TEXT,
    user_agent TEXT,
    processed_at TIMESTAMP
);
CREATE INDEX leak_reports_unprocessed ON leak_reports (processed_at);
CREATE TABLE leak_report_values (
    report_id TEXT NOT NULL REFERENCES leak_reports (id),
    position INTEGER NOT NULL,
    token_id TEXT NOT NULL,
    secret_key_id TEXT NOT NULL,
    secret_hash BLOB NOT NULL,
    PRIMARY KEY (report_id, position)
);
CREATE INDEX leak_report_values_token_id ON leak_report_values (token_id);

INSERT INTO audit_event_types (id, key, name, description) VALUES
    ('AET-4127-4415', 'platform.accounts.api-token.expired', 'API token expired',
     'The expiresAt of an API token passed.'),
    ('AET-4127-9136', 'platform.accounts.api-token.rotated', 'API token rotated',
     'An API token was given a new value; the previous one works until its grace period ends.'),
    ('AET-4127-2261', 'platform.accounts.api-token.leak-reported', 'API token reported leaked',
     'A value of an API token was reported leaked: the token was disabled (or the grace of its previous value ended).');
