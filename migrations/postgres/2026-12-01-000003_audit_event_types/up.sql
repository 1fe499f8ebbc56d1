-- The audit event types Tollgate writes (SPEC §6, GET /public/v1/audit/event-types). The ids
-- are fixed here, so every instance and every database agrees on them; a later migration adds
-- the types of new events. Never change or reuse an id.
CREATE TABLE audit_event_types (
    id TEXT COLLATE "C" PRIMARY KEY,
    key TEXT COLLATE "C" NOT NULL UNIQUE,
    name TEXT NOT NULL,
    description TEXT NOT NULL
);
INSERT INTO audit_event_types (id, key, name, description) VALUES
    ('AET-4127-0381', 'platform.accounts.api-token.created', 'API token created',
     'An API token was created.'),
    ('AET-4127-5924', 'platform.accounts.api-token.updated', 'API token updated',
     'The name, description or modules of an API token changed.'),
    ('AET-4127-2716', 'platform.accounts.api-token.enabled', 'API token enabled',
     'A disabled API token was enabled.'),
    ('AET-4127-8843', 'platform.accounts.api-token.disabled', 'API token disabled',
     'An active API token was disabled.'),
    ('AET-4127-1459', 'platform.accounts.api-token.deleted', 'API token deleted',
     'An API token was deleted.'),
    ('AET-4127-6072', 'platform.accounts.api-token.revealed', 'API token value revealed',
     'An account administrator showed or copied the value of an API token.'),
    ('AET-4127-3390', 'platform.accounts.api-token.icon-changed', 'API token icon changed',
     'The icon of an API token was set or removed.'),
    ('AET-4127-7508', 'platform.accounts.api-token.authentication-failed',
     'API token authentication failed',
     'A known API token was presented while disabled or deleted, or with a wrong secret.');
