//! Tollgate's HTTP layer (actix-web).
//!
//! - [`server`]: `serve(state, tls, listeners, workers)` — the server as a function of its
//!   inputs — and `configure`, every route; `serve_operations`, the metrics listener.
//! - [`handlers`]: one file per area (tokens, icons, modules, audit records, health).
//! - [`auth`]: the bearer token of a request, verified through the domain's decision, as an
//!   `Actor`.
//! - [`rql`]: list query strings (RQL filter, `select`, `order`, `limit`, `offset`).
//! - [`dto`], [`body`]: the JSON shapes and body reading (413, 415, 400).
//! - [`error`]: the one error → HTTP mapping (problem details).
//! - [`middleware`]: trace ids, request metadata, HTTPS enforcement, metrics, problem bodies.
//! - [`gate`]: request authorization at speed — token cache, exact id set, change feed,
//!   write-behind, failure limiter; [`require`]: the middleware any actix app can wrap around its
//!   routes to require a module.
//! - [`web`]: the web pages and sign-in (sessions act as the user through the same handlers'
//!   functions, so the REST API's rules and audit records apply).
//! - [`metrics`], [`openapi`], [`state`]; [`tls`]: the HTTPS certificate, replaceable while
//!   the server runs.

pub mod auth;
pub mod body;
pub mod dto;
pub mod error;
pub mod gate;
pub mod handlers;
pub mod leaks;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod require;
pub mod rql;
pub mod server;
pub mod state;
pub mod tls;
pub mod web;

pub use error::ApiError;
pub use server::{Listeners, PublicMetrics, configure, serve, serve_operations, serve_public};
pub use state::{AppState, RevealPolicy, Settings, StartError};
pub use tls::{Certificates, TlsError, tls_config};
