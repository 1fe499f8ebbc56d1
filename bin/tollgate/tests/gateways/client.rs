//! A raw HTTPS client: the request goes out byte for byte as the test wrote it, so nothing on
//! the client side normalises the path.

use std::io::{ErrorKind, Read as _, Write as _};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};

use crate::R;

/// A response: its status and head, and the start of its body (for messages).
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl Reply {
    /// Every value of the response header `name`.
    pub fn values(&self, name: &str) -> Vec<&str> {
        self.head
            .split("\r\n")
            .skip(1)
            .filter_map(|line| line.split_once(':'))
            .filter(|(header, _)| header.trim().eq_ignore_ascii_case(name))
            .map(|(_, value)| value.trim())
            .collect()
    }
}

/// A TLS client configuration that trusts the certificates in `pem`.
pub fn trusting(pem: &[u8]) -> R<Arc<rustls::ClientConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem) {
        roots.add(cert?)?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth(),
    ))
}

/// `GET target` to `https://localhost:port` with `headers` (name, value) and
/// `Connection: close`.
pub fn get(
    tls: &Arc<rustls::ClientConfig>,
    port: u16,
    target: &str,
    headers: &[(&str, &str)],
) -> R<Reply> {
    let mut request = format!("GET {target} HTTP/1.1\r\nHost: localhost\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("Connection: close\r\n\r\n");
    send(tls, port, request.as_bytes())
}

/// Sends `request` as it is and reads the response until the server closes.
pub fn send(tls: &Arc<rustls::ClientConfig>, port: u16, request: &[u8]) -> R<Reply> {
    let tcp = TcpStream::connect(("127.0.0.1", port))?;
    tcp.set_read_timeout(Some(Duration::from_secs(20)))?;
    let connection =
        rustls::ClientConnection::new(tls.clone(), ServerName::try_from("localhost")?)?;
    let mut stream = rustls::StreamOwned::new(connection, tcp);
    stream.write_all(request)?;
    stream.flush()?;
    let mut bytes = Vec::new();
    match stream.read_to_end(&mut bytes) {
        Ok(_) => {}
        // A server that closes without close_notify, after a whole response.
        Err(error) if error.kind() == ErrorKind::UnexpectedEof && !bytes.is_empty() => {}
        Err(error) => return Err(error.into()),
    }
    let text = String::from_utf8_lossy(&bytes);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|status| status.parse().ok())
        .ok_or_else(|| format!("not an HTTP response: {text:?}"))?;
    Ok(Reply {
        status,
        head: head.to_owned(),
        body: body.chars().take(300).collect(),
    })
}
