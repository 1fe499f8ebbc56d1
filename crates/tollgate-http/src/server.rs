//! The server as a function of its inputs: listeners, TLS configuration, state.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};

use crate::handlers;
use crate::middleware::{PlainConnection, not_found, trace};
use crate::state::AppState;

/// Where to listen.
#[derive(Debug)]
pub struct Listeners {
    /// The HTTPS listener.
    pub https: TcpListener,
    /// The optional plain HTTP listener (it refuses everything except trusted proxies that say
    /// `X-Forwarded-Proto: https`).
    pub http: Option<TcpListener>,
}

/// Whether the public listeners serve `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublicMetrics {
    /// `/metrics` on the public listeners, without refusal reasons (no metrics listener).
    Served,
    /// No `/metrics` there (404): the metrics listener serves it ([`serve_operations`]).
    Dropped,
}

/// Registers every route of the REST API, health, metrics and the web pages.
///
/// The gateway's routes come first: actix tries routes in order, and `/v1/authorize` is the one
/// every request of the platform passes through.
pub fn configure(cfg: &mut web::ServiceConfig) {
    routes(cfg, PublicMetrics::Served);
}

fn routes(cfg: &mut web::ServiceConfig, metrics: PublicMetrics) {
    handlers::gateway::configure(cfg);
    handlers::credentials::configure(cfg);
    handlers::tokens::configure(cfg);
    handlers::rotation::configure(cfg);
    handlers::icons::configure(cfg);
    handlers::modules::configure(cfg);
    handlers::audit::configure(cfg);
    handlers::health::configure(cfg);
    if metrics == PublicMetrics::Served {
        handlers::health::configure_public_metrics(cfg);
    }
    crate::web::configure(cfg);
}

/// Builds the server, `/metrics` served on the public listeners. Await the returned `Server`
/// to run it; it stops gracefully on SIGTERM and SIGINT (or through its handle).
pub fn serve(
    state: AppState,
    tls: rustls::ServerConfig,
    listeners: Listeners,
    workers: usize,
) -> std::io::Result<Server> {
    serve_public(state, tls, listeners, workers, PublicMetrics::Served)
}

/// As [`serve`], with or without `/metrics` on the public listeners.
pub fn serve_public(
    state: AppState,
    tls: rustls::ServerConfig,
    listeners: Listeners,
    workers: usize,
    metrics: PublicMetrics,
) -> std::io::Result<Server> {
    let data = web::Data::new(state);
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .wrap(from_fn(trace))
            .configure(|cfg| routes(cfg, metrics))
            .default_service(web::to(not_found))
    })
    .on_connect(|connection, extensions| {
        // TLS connections arrive as a TLS stream; a bare TCP stream came to the plain listener.
        if connection
            .downcast_ref::<actix_web::rt::net::TcpStream>()
            .is_some()
        {
            extensions.insert(PlainConnection);
        }
    })
    .workers(workers.max(1))
    .shutdown_timeout(10)
    .listen_rustls_0_23(listeners.https, tls)?;
    if let Some(http) = listeners.http {
        server = server.listen(http)?;
    }
    Ok(server.run())
}

/// The metrics listener (`TOLLGATE_METRICS_LISTEN`): plain HTTP, `/metrics` with refusal
/// reasons, `/healthz` and `/readyz`, nothing else (404). One worker; it does not watch for
/// signals — stop it through its handle when the public server has stopped.
pub fn serve_operations(state: AppState, listener: TcpListener) -> std::io::Result<Server> {
    let data = web::Data::new(state);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .configure(handlers::health::configure_operations)
            .default_service(web::to(not_found))
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(1)
    .listen(listener)?;
    Ok(server.run())
}
