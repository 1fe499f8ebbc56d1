-- Sign-in (SPEC §4): nonces of used sign-in tickets (single use) and ids of ended sessions
-- (sign-out), each kept until the ticket or session would have expired anyway.
CREATE TABLE sign_in_nonces (
    nonce TEXT COLLATE "C" PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('ticket', 'session')),
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX sign_in_nonces_expires_at ON sign_in_nonces (expires_at);
