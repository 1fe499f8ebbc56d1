//! The store's test suite. Every test runs on SQLite and on PostgreSQL (see `common`).

mod audit;
mod common;
mod integrity;
mod keys;
mod lists;
mod ops;
mod schema;
mod signin;
