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

/// Registers every route of the REST API, health, metrics and the web pages.
///
/// The gateway's routes come first: actix tries routes in order, and `/v1/authorize` is the one
/// every request of the platform passes through.
pub fn configure(cfg: &mut web::ServiceConfig) {
    handlers::gateway::configure(cfg);
    handlers::credentials::configure(cfg);
    handlers::tokens::configure(cfg);
    handlers::rotation::configure(cfg);
    handlers::icons::configure(cfg);
    handlers::modules::configure(cfg);
    handlers::audit::configure(cfg);
    handlers::health::configure(cfg);
    crate::web::configure(cfg);
}

/// Builds the server. Await the returned `Server` to run it; it stops gracefully on SIGTERM and
/// SIGINT (or through its handle).
pub fn serve(
    state: AppState,
    tls: rustls::ServerConfig,
    listeners: Listeners,
    workers: usize,
) -> std::io::Result<Server> {
    let data = web::Data::new(state);
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .wrap(from_fn(trace))
            .configure(configure)
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

/// A rustls server configuration for a certificate chain and key in PEM (with the ring provider,
/// the only one compiled in).
pub fn tls_config(cert_pem: &[u8], key_pem: &[u8]) -> Result<rustls::ServerConfig, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|error| format!("the certificate is not valid PEM: {error}"))?;
    if certs.is_empty() {
        return Err("the certificate file holds no certificate".into());
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem)
        .map_err(|error| format!("the key is not a valid PEM private key: {error}"))?;
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| error.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|error| format!("the certificate and key do not fit together: {error}"))
}
