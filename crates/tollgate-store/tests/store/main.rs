//! The store's test suite. Every test runs on SQLite and on PostgreSQL (see `common`).

mod audit;
mod common;
mod lists;
mod ops;
mod schema;
mod signin;
