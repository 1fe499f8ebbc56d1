//! Tollgate's persistence: PostgreSQL and embedded SQLite through one diesel code path.
//!
//! - [`backend`]: the connection type over both backends, the pool, embedded migrations.
//! - [`schema`]: the diesel schema shared by both.
//! - [`Store`]: accounts, users, the module catalog, tokens, icons and the audit trail. Every
//!   change commits with its audit record in one transaction, or not at all.
//! - `testing` (feature `testing`): throwaway PostgreSQL servers and per-test databases.

pub mod backend;
pub mod error;
pub mod schema;
mod sql;
mod store;
#[cfg(feature = "testing")]
pub mod testing;

pub use backend::{AnyConnection, Backend, DatabaseUrl, PoolOptions};
pub use error::StoreError;
pub use store::*;
