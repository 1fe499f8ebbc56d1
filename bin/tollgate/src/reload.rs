//! Reloading without a restart: on SIGHUP the TLS certificate and key are read again and
//! replace the listener's for new connections. A pair that cannot be read or does not fit is
//! refused with an error line, and the current certificate stays.

use std::sync::Arc;

use actix_web::rt::signal::unix::{Signal, SignalKind, signal};
use tollgate_http::Certificates;

use crate::setup::TlsFiles;

/// Watches for SIGHUP. Call before the server starts, so that a SIGHUP from then on never
/// takes the default action (ending the process).
pub fn hangups() -> std::io::Result<Signal> {
    signal(SignalKind::hangup())
}

/// Reads `files` again into `certificates`.
pub fn reload(certificates: &Certificates, files: &TlsFiles) -> anyhow::Result<()> {
    let (cert, key) = files.read()?;
    certificates.replace(&cert, &key)?;
    Ok(())
}

/// Reloads on every SIGHUP, until the signal stream ends.
pub async fn on_hangup(mut hangups: Signal, certificates: Arc<Certificates>, files: TlsFiles) {
    while hangups.recv().await.is_some() {
        match reload(&certificates, &files) {
            Ok(()) => log::info!(
                "SIGHUP: reloaded the TLS certificate from {} and {}",
                files.cert.display(),
                files.key.display()
            ),
            Err(error) => log::error!(
                "SIGHUP: kept the current TLS certificate; the new one was refused: {error:#}"
            ),
        }
    }
}
