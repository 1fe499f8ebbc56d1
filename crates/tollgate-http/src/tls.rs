//! The HTTPS listener's certificate, replaceable while the server runs.
//!
//! [`Certificates`] is the rustls certificate resolver: every handshake takes the current
//! certified key, and [`Certificates::replace`] swaps in a new one after checking it (the
//! chain parses, the key parses, and the key is the certificate's). A pair that fails a check
//! is refused and the current one stays: a reload can never leave the listener without a
//! certificate. Connections already open keep the certificate they were made with.

use std::sync::{Arc, RwLock};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// Why a certificate and key were refused.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The certificate file is not PEM.
    #[error("the certificate is not valid PEM: {0}")]
    CertificatePem(String),
    /// The certificate file holds no certificate.
    #[error("the certificate file holds no certificate")]
    NoCertificate,
    /// The key file is not a PEM private key.
    #[error("the key is not a valid PEM private key: {0}")]
    KeyPem(String),
    /// The key cannot sign, or it is not the certificate's.
    #[error("the certificate and key do not fit together: {0}")]
    Mismatch(String),
    /// rustls refused the configuration.
    #[error("the TLS configuration: {0}")]
    Config(String),
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A certified key from a PEM certificate chain and a PEM private key, checked to fit.
fn certified_key(cert_pem: &[u8], key_pem: &[u8]) -> Result<CertifiedKey, TlsError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|error| TlsError::CertificatePem(error.to_string()))?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate);
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem)
        .map_err(|error| TlsError::KeyPem(error.to_string()))?;
    let certified = CertifiedKey::from_der(certs, key, &provider())
        .map_err(|error| TlsError::Mismatch(error.to_string()))?;
    // `from_der` lets a key whose public half it cannot read through; refuse that too.
    certified
        .keys_match()
        .map_err(|error| TlsError::Mismatch(error.to_string()))?;
    Ok(certified)
}

/// The current certificate of the HTTPS listener.
#[derive(Debug)]
pub struct Certificates {
    current: RwLock<Arc<CertifiedKey>>,
}

impl Certificates {
    /// From a PEM certificate chain and private key.
    pub fn from_pem(cert_pem: &[u8], key_pem: &[u8]) -> Result<Arc<Self>, TlsError> {
        Ok(Arc::new(Self {
            current: RwLock::new(Arc::new(certified_key(cert_pem, key_pem)?)),
        }))
    }

    /// Replaces the certificate for new connections; on an error the current one stays.
    pub fn replace(&self, cert_pem: &[u8], key_pem: &[u8]) -> Result<(), TlsError> {
        let next = Arc::new(certified_key(cert_pem, key_pem)?);
        match self.current.write() {
            Ok(mut current) => *current = next,
            Err(poisoned) => *poisoned.into_inner() = next,
        }
        Ok(())
    }

    fn current(&self) -> Arc<CertifiedKey> {
        match self.current.read() {
            Ok(current) => Arc::clone(&current),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// A rustls server configuration that asks `self` for the certificate on each handshake.
    pub fn server_config(self: &Arc<Self>) -> Result<rustls::ServerConfig, TlsError> {
        Ok(rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|error| TlsError::Config(error.to_string()))?
            .with_no_client_auth()
            .with_cert_resolver(Arc::clone(self) as Arc<dyn ResolvesServerCert>))
    }
}

impl ResolvesServerCert for Certificates {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

/// A rustls server configuration for a certificate chain and key in PEM (with the ring
/// provider, the only one compiled in), its certificate fixed.
pub fn tls_config(cert_pem: &[u8], key_pem: &[u8]) -> Result<rustls::ServerConfig, TlsError> {
    Certificates::from_pem(cert_pem, key_pem)?.server_config()
}

#[cfg(test)]
mod tests {
    use super::*;

    type R = Result<(), Box<dyn std::error::Error>>;

    fn pair(name: &str) -> Result<(String, String), rcgen::Error> {
        let generated = rcgen::generate_simple_self_signed(vec![name.to_owned()])?;
        Ok((generated.cert.pem(), generated.key_pair.serialize_pem()))
    }

    fn served(certificates: &Certificates) -> Vec<u8> {
        certificates
            .current()
            .end_entity_cert()
            .map(|cert| cert.as_ref().to_vec())
            .unwrap_or_default()
    }

    #[test]
    fn a_good_pair_replaces_the_certificate() -> R {
        let (cert_a, key_a) = pair("a.test")?;
        let (cert_b, key_b) = pair("b.test")?;
        let certificates = Certificates::from_pem(cert_a.as_bytes(), key_a.as_bytes())?;
        let before = served(&certificates);
        certificates.replace(cert_b.as_bytes(), key_b.as_bytes())?;
        let after = served(&certificates);
        assert_ne!(before, after);
        let expected = CertificateDer::from_pem_slice(cert_b.as_bytes())?;
        assert_eq!(after, expected.as_ref());
        Ok(())
    }

    #[test]
    fn a_bad_pair_is_refused_and_the_current_one_kept() -> R {
        let (cert_a, key_a) = pair("a.test")?;
        let (cert_b, key_b) = pair("b.test")?;
        let certificates = Certificates::from_pem(cert_a.as_bytes(), key_a.as_bytes())?;
        let before = served(&certificates);
        for (cert, key, expect) in [
            (cert_b.as_str(), key_a.as_str(), "do not fit"),
            (cert_b.as_str(), "", "not a valid PEM private key"),
            ("", key_b.as_str(), "no certificate"),
            (key_b.as_str(), key_b.as_str(), "no certificate"),
        ] {
            let error = certificates
                .replace(cert.as_bytes(), key.as_bytes())
                .err()
                .ok_or("a bad pair was accepted")?;
            assert!(error.to_string().contains(expect), "{error}");
            assert_eq!(served(&certificates), before);
        }
        Ok(())
    }
}
