-- Tollgate's initial schema (PostgreSQL). Text columns that are compared or ordered use the "C"
-- collation so ordering is bytewise, as on SQLite. Closed enums are stored as their names.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE accounts (
    id TEXT COLLATE "C" PRIMARY KEY,
    name TEXT NOT NULL,
    account_type TEXT NOT NULL CHECK (account_type IN ('Client', 'Vendor', 'Operations')),
    status TEXT NOT NULL CHECK (status IN ('Active', 'Disabled')),
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE users (
    id TEXT COLLATE "C" PRIMARY KEY,
    account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts (id),
    name TEXT NOT NULL,
    admin BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX users_account_id ON users (account_id);

CREATE TABLE modules (
    id TEXT COLLATE "C" PRIMARY KEY,
    code TEXT COLLATE "C" NOT NULL UNIQUE,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    account_types TEXT NOT NULL,
    paths TEXT NOT NULL
);

CREATE TABLE account_modules (
    account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts (id),
    module_id TEXT COLLATE "C" NOT NULL REFERENCES modules (id),
    PRIMARY KEY (account_id, module_id)
);
CREATE INDEX account_modules_module_id ON account_modules (module_id);

CREATE TABLE tokens (
    id TEXT COLLATE "C" PRIMARY KEY,
    account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts (id),
    name TEXT COLLATE "C" NOT NULL,
    name_folded TEXT COLLATE "C" NOT NULL,
    description TEXT COLLATE "C" NOT NULL,
    description_folded TEXT COLLATE "C" NOT NULL,
    has_icon BOOLEAN NOT NULL,
    status TEXT COLLATE "C" NOT NULL CHECK (status IN ('Active', 'Disabled', 'Deleted')),
    revision BIGINT NOT NULL CHECK (revision >= 1),
    secret_key_id TEXT NOT NULL,
    secret_hash BYTEA NOT NULL,
    sealed_value BYTEA,
    last_access_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    created_by_id TEXT COLLATE "C" NOT NULL,
    created_by_name TEXT NOT NULL,
    updated_at TIMESTAMP,
    updated_by_id TEXT,
    updated_by_name TEXT,
    enabled_at TIMESTAMP,
    enabled_by_id TEXT,
    enabled_by_name TEXT,
    disabled_at TIMESTAMP,
    disabled_by_id TEXT,
    disabled_by_name TEXT,
    deleted_at TIMESTAMP,
    deleted_by_id TEXT,
    deleted_by_name TEXT
);
CREATE INDEX tokens_account_created ON tokens (account_id, created_at DESC, id);
CREATE INDEX tokens_created ON tokens (created_at DESC, id);
CREATE INDEX tokens_account_name ON tokens (account_id, name_folded, id);
CREATE INDEX tokens_name ON tokens (name_folded, id);
CREATE INDEX tokens_status ON tokens (status);
CREATE INDEX tokens_last_access ON tokens (last_access_at);
CREATE INDEX tokens_created_by ON tokens (created_by_id);
CREATE INDEX tokens_name_trgm ON tokens USING gin (name_folded gin_trgm_ops);
CREATE INDEX tokens_description_trgm ON tokens USING gin (description_folded gin_trgm_ops);

CREATE TABLE token_modules (
    token_id TEXT COLLATE "C" NOT NULL REFERENCES tokens (id),
    module_id TEXT COLLATE "C" NOT NULL REFERENCES modules (id),
    PRIMARY KEY (token_id, module_id)
);
CREATE INDEX token_modules_module_id ON token_modules (module_id);

CREATE TABLE token_icons (
    token_id TEXT COLLATE "C" PRIMARY KEY REFERENCES tokens (id),
    content_type TEXT NOT NULL,
    data BYTEA NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE audit_chain_heads (
    account_id TEXT COLLATE "C" PRIMARY KEY REFERENCES accounts (id),
    record_count BIGINT NOT NULL,
    last_hash BYTEA NOT NULL
);

CREATE TABLE audit_records (
    id TEXT COLLATE "C" NOT NULL UNIQUE,
    account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts (id),
    chain_seq BIGINT NOT NULL,
    event TEXT COLLATE "C" NOT NULL,
    object_id TEXT COLLATE "C" NOT NULL,
    actor_id TEXT COLLATE "C" NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    record TEXT NOT NULL,
    prev_hash BYTEA NOT NULL,
    hash BYTEA NOT NULL,
    PRIMARY KEY (account_id, chain_seq)
);
CREATE INDEX audit_records_object ON audit_records (object_id, occurred_at);
CREATE INDEX audit_records_actor ON audit_records (actor_id);
CREATE INDEX audit_records_event ON audit_records (event);
CREATE INDEX audit_records_time ON audit_records (occurred_at, id);
CREATE INDEX audit_records_account_time ON audit_records (account_id, occurred_at, id);

-- Audit records are append-only: the database itself refuses UPDATE, DELETE and TRUNCATE.
CREATE FUNCTION audit_records_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit records are append-only' USING ERRCODE = 'restrict_violation';
END;
$$;
CREATE TRIGGER audit_records_no_update_delete BEFORE UPDATE OR DELETE ON audit_records
    FOR EACH ROW EXECUTE FUNCTION audit_records_append_only();
CREATE TRIGGER audit_records_no_truncate BEFORE TRUNCATE ON audit_records
    FOR EACH STATEMENT EXECUTE FUNCTION audit_records_append_only();

-- A change sequence: every committed change to tokens, accounts or modules bumps it, so other
-- processes can notice changes by polling one row.
CREATE TABLE change_sequence (
    id SMALLINT PRIMARY KEY CHECK (id = 1),
    value BIGINT NOT NULL
);
INSERT INTO change_sequence (id, value) VALUES (1, 0);

INSERT INTO modules (id, code, name, description, account_types, paths) VALUES
    ('MOD-1756', 'access-management', 'Access Management', 'Users, user groups, API tokens and the account''s modules.', 'Client,Vendor,Operations', 'accounts/users,accounts/user-groups,accounts/api-tokens,accounts/modules'),
    ('MOD-1101', 'account-management', 'Account Management', 'Accounts, buyers, sellers and licensees.', 'Client,Vendor,Operations', 'accounts/accounts,accounts/buyers,accounts/sellers,accounts/licensees'),
    ('MOD-1102', 'marketplace', 'Marketplace', 'Orders, agreements and subscriptions.', 'Client,Operations', 'commerce/'),
    ('MOD-1103', 'catalog', 'Catalog', 'Products, items and price lists.', 'Vendor,Operations', 'catalog/'),
    ('MOD-1104', 'billing', 'Billing', 'Invoices, statements and journals.', 'Client,Vendor,Operations', 'billing/'),
    ('MOD-1105', 'helpdesk', 'Helpdesk', 'Support cases and chats.', 'Client,Vendor,Operations', 'helpdesk/'),
    ('MOD-1106', 'program', 'Program', 'Partner programs and enrollments.', 'Vendor,Operations', 'program/'),
    ('MOD-1107', 'audit', 'Audit', 'Audit records.', 'Client,Vendor,Operations', 'audit/'),
    ('MOD-1108', 'notifications', 'Notifications', 'Notification categories and messages.', 'Client,Vendor,Operations', 'notifications/'),
    ('MOD-1109', 'spotlight', 'Spotlight', 'Spotlight queries and objects.', 'Client,Operations', 'spotlight/'),
    ('MOD-1110', 'collaboration-site', 'Collaboration Site', 'Collaboration spaces.', 'Client,Vendor,Operations', 'collaboration/'),
    ('MOD-1111', 'platform-account-management', 'Platform Account Management', 'Cross-account access for Operations.', 'Operations', '');
