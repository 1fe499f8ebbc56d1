-- The change log (SPEC §4 "Faults"): every change transaction appends one row (a token id,
-- `account:<id>` or `modules`); the server polls it to see what another process (the CLI)
-- changed. SQLite has one writer at a time, so `seq` is MAX + 1 in the inserting statement:
-- no gaps. Old rows are pruned (the newest is always kept, so the sequence only grows).
CREATE TABLE change_log (
    seq BIGINT PRIMARY KEY NOT NULL,
    payload TEXT NOT NULL,
    changed_at TIMESTAMP NOT NULL
);
CREATE INDEX change_log_changed_at ON change_log (changed_at);
