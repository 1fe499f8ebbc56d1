-- The change log (SPEC §4 "Faults"): every change transaction appends one row (a token id,
-- `account:<id>` or `modules`), so an instance whose LISTEN connection is lost or silent polls
-- it and misses nothing. A BIGSERIAL: writers to different accounts never wait on one row.
-- Old rows are pruned (the newest is always kept, so the sequence only grows).
CREATE TABLE change_log (
    seq BIGSERIAL PRIMARY KEY,
    payload TEXT NOT NULL,
    changed_at TIMESTAMP NOT NULL
);
CREATE INDEX change_log_changed_at ON change_log (changed_at);
