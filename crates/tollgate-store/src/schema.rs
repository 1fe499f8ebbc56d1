//! The diesel schema shared by both backends. It matches `diesel print-schema` of the
//! PostgreSQL migrations (checked by `tests/schema.rs`), with one documented alias: PostgreSQL
//! `BYTEA` and SQLite `BLOB` are both `Binary`, and `TIMESTAMP` is `Timestamp` (UTC by
//! convention) on both.

diesel::table! {
    accounts (id) {
        id -> Text,
        name -> Text,
        account_type -> Text,
        status -> Text,
        created_at -> Timestamp,
        max_token_lifetime_days -> Nullable<Integer>,
        require_token_expiry -> Bool,
        row_mac -> Nullable<Text>,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        account_id -> Text,
        name -> Text,
        admin -> Bool,
        created_at -> Timestamp,
        row_mac -> Nullable<Text>,
    }
}

diesel::table! {
    modules (id) {
        id -> Text,
        code -> Text,
        name -> Text,
        description -> Text,
        account_types -> Text,
        paths -> Text,
        row_mac -> Nullable<Text>,
    }
}

diesel::table! {
    account_modules (account_id, module_id) {
        account_id -> Text,
        module_id -> Text,
    }
}

diesel::table! {
    tokens (id) {
        id -> Text,
        account_id -> Text,
        name -> Text,
        name_folded -> Text,
        description -> Text,
        description_folded -> Text,
        has_icon -> Bool,
        status -> Text,
        revision -> BigInt,
        secret_key_id -> Text,
        secret_hash -> Binary,
        sealed_value -> Nullable<Binary>,
        last_access_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        created_by_id -> Text,
        created_by_name -> Text,
        updated_at -> Nullable<Timestamp>,
        updated_by_id -> Nullable<Text>,
        updated_by_name -> Nullable<Text>,
        enabled_at -> Nullable<Timestamp>,
        enabled_by_id -> Nullable<Text>,
        enabled_by_name -> Nullable<Text>,
        disabled_at -> Nullable<Timestamp>,
        disabled_by_id -> Nullable<Text>,
        disabled_by_name -> Nullable<Text>,
        deleted_at -> Nullable<Timestamp>,
        deleted_by_id -> Nullable<Text>,
        deleted_by_name -> Nullable<Text>,
        expires_at -> Nullable<Timestamp>,
        self_rotate -> Bool,
        compromised -> Bool,
        row_mac -> Nullable<Text>,
    }
}

diesel::table! {
    token_previous_values (token_id) {
        token_id -> Text,
        secret_key_id -> Text,
        secret_hash -> Binary,
        expires_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    token_expiry_records (token_id, expires_at) {
        token_id -> Text,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    leak_reports (id) {
        id -> Text,
        received_at -> Timestamp,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        processed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    leak_report_values (report_id, position) {
        report_id -> Text,
        position -> Integer,
        token_id -> Text,
        secret_key_id -> Text,
        secret_hash -> Binary,
    }
}

diesel::table! {
    token_modules (token_id, module_id) {
        token_id -> Text,
        module_id -> Text,
    }
}

diesel::table! {
    token_icons (token_id) {
        token_id -> Text,
        content_type -> Text,
        data -> Binary,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    audit_chain_heads (account_id) {
        account_id -> Text,
        record_count -> BigInt,
        last_hash -> Binary,
    }
}

diesel::table! {
    audit_records (account_id, chain_seq) {
        id -> Text,
        account_id -> Text,
        chain_seq -> BigInt,
        event -> Text,
        object_id -> Text,
        actor_id -> Text,
        occurred_at -> Timestamp,
        record -> Text,
        prev_hash -> Binary,
        hash -> Binary,
        key_id -> Nullable<Text>,
    }
}

diesel::table! {
    change_sequence (id) {
        id -> SmallInt,
        value -> BigInt,
    }
}

diesel::table! {
    change_log (seq) {
        seq -> BigInt,
        payload -> Text,
        changed_at -> Timestamp,
    }
}

diesel::table! {
    sign_in_nonces (nonce) {
        nonce -> Text,
        kind -> Text,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    audit_event_types (id) {
        id -> Text,
        key -> Text,
        name -> Text,
        description -> Text,
    }
}

diesel::table! {
    server_keys (key_id) {
        key_id -> Text,
        ordinal -> BigInt,
        added_at -> Timestamp,
        retired_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sign_in_sessions (session_id) {
        session_id -> Text,
        key_id -> Text,
        expires_at -> Timestamp,
    }
}

diesel::joinable!(users -> accounts (account_id));
diesel::joinable!(account_modules -> accounts (account_id));
diesel::joinable!(account_modules -> modules (module_id));
diesel::joinable!(tokens -> accounts (account_id));
diesel::joinable!(token_modules -> tokens (token_id));
diesel::joinable!(token_modules -> modules (module_id));
diesel::joinable!(token_icons -> tokens (token_id));
diesel::joinable!(token_previous_values -> tokens (token_id));
diesel::joinable!(token_expiry_records -> tokens (token_id));
diesel::joinable!(leak_report_values -> leak_reports (report_id));
diesel::joinable!(audit_chain_heads -> accounts (account_id));
diesel::joinable!(audit_records -> accounts (account_id));

diesel::allow_tables_to_appear_in_same_query!(
    accounts,
    users,
    modules,
    account_modules,
    tokens,
    token_modules,
    token_icons,
    token_previous_values,
    token_expiry_records,
    leak_reports,
    leak_report_values,
    audit_chain_heads,
    audit_records,
    change_sequence,
    change_log,
    sign_in_nonces,
    audit_event_types,
    server_keys,
    sign_in_sessions,
);
