-- Keys (SPEC §8 turn 2, §6 live state). The server keys this database has been used with, each
-- by its key id (the fingerprint that stored hashes carry: derived from the key, never the key).
-- The key with the highest ordinal is current; the others were retired when the next one became
-- current. Tollgate refuses to start with a key that does not fit these rows.
CREATE TABLE server_keys (
    key_id TEXT COLLATE "C" PRIMARY KEY,
    ordinal BIGINT NOT NULL UNIQUE CHECK (ordinal >= 1),
    added_at TIMESTAMP NOT NULL,
    retired_at TIMESTAMP
);

-- The key each audit record is chained under (NULL: the first key, ordinal 1 — every record
-- written before keys were recorded).
ALTER TABLE audit_records ADD COLUMN key_id TEXT COLLATE "C";
CREATE INDEX audit_records_key ON audit_records (key_id);

-- Row MACs under k_row over each row's security fields (`v1.<key id>.<hex>`; NULL until the
-- first start records the key, which fills them). A row whose MAC fails decides nothing.
ALTER TABLE tokens ADD COLUMN row_mac TEXT COLLATE "C";
ALTER TABLE accounts ADD COLUMN row_mac TEXT COLLATE "C";
ALTER TABLE users ADD COLUMN row_mac TEXT COLLATE "C";
ALTER TABLE modules ADD COLUMN row_mac TEXT COLLATE "C";
CREATE INDEX tokens_secret_key ON tokens (secret_key_id);

-- Sessions signed in, by the key that signed their cookie, until they expire: what
-- `tollgate keys status` counts as live sessions depending on a key (the cookie stays the
-- credential; its MAC is not stored).
CREATE TABLE sign_in_sessions (
    session_id TEXT COLLATE "C" PRIMARY KEY,
    key_id TEXT COLLATE "C" NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX sign_in_sessions_key ON sign_in_sessions (key_id, expires_at);
CREATE INDEX sign_in_sessions_expires_at ON sign_in_sessions (expires_at);
