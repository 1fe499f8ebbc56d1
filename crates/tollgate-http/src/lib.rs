//! Tollgate's HTTP layer (actix-web).
//!
//! - [`server`]: `serve(state, tls, listeners, workers)` — the server as a function of its
//!   inputs — and `configure`, every route; `serve_operations`, the metrics listener.
//! - [`handlers`]: one file per area (tokens, icons, modules, audit records, health).
//! - [`auth`]: the bearer token of a request, verified through the domain's decision, as an
//!   `Actor`.
//! - [`rql`]: list query strings (RQL filter, `select`, `order`, `limit`, `offset`).
//! - [`dto`], [`body`]: the JSON shapes and body reading (413, 415, 400).
//! - [`error`]: the one error → HTTP mapping (problem details), which lives with the gate's
//!   middleware ([`tollgate_gate::problem`]) so that both answer alike.
//! - [`middleware`]: trace ids, request metadata, HTTPS enforcement, metrics, problem bodies.
//! - The gate (request authorization at speed, and the `RequireModule` middleware) is its own
//!   crate, `tollgate-gate`; the routes here call its one decision.
//! - [`web`]: the web pages and sign-in (sessions act as the user through the same handlers'
//!   functions, so the REST API's rules and audit records apply).
//! - [`metrics`], [`openapi`], [`state`]; [`tls`]: the HTTPS certificate, replaceable while
//!   the server runs.

pub mod auth;
pub mod body;
pub mod dto;
pub mod error;
pub mod handlers;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod rql;
pub mod server;
pub mod state;
pub mod tls;
pub mod web;

pub use error::ApiError;
pub use server::{Listeners, PublicMetrics, configure, serve, serve_operations, serve_public};
pub use state::{AppState, RevealPolicy, Settings, StartError};
pub use tls::{Certificates, TlsError, tls_config};
