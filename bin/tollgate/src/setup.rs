//! Turning the configuration into running parts: the server key, the store, the TLS
//! certificate.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, bail};
use tollgate_domain::{Keyring, ServerKey};
use tollgate_http::Certificates;
use tollgate_store::{DatabaseUrl, PoolOptions, Store, StoreError};

use crate::config::{Config, TlsSource};

/// Writes `contents` to a new file readable only by its owner.
pub fn write_private(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(contents)?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o600))?;
    Ok(())
}

/// Whether a command may create the database (`serve` and `migrate`) or needs one to exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Create {
    /// `serve`, `migrate`: a new database is created (with a new key, embedded only).
    Allowed,
    /// Every other command: no database is created.
    Refused,
}

/// True when the embedded database does not exist yet (or is an empty file).
fn new_embedded_database(url: &DatabaseUrl) -> bool {
    url.sqlite_path().is_some_and(|path| {
        std::fs::metadata(path).map_or(true, |meta| meta.is_file() && meta.len() == 0)
    })
}

/// The current server key: from the environment (or its `_FILE`), or (SQLite only) the data
/// folder's `secret.key`. A key is generated only for a new, empty embedded database, and only
/// by a command that may create one; a database that exists without its key is refused.
pub fn server_key(config: &Config, create: Create) -> anyhow::Result<ServerKey> {
    if let Some(key) = &config.secret_key {
        return Ok(key.clone());
    }
    if config.backend != tollgate_store::Backend::Sqlite {
        bail!("TOLLGATE_SECRET_KEY is required with PostgreSQL");
    }
    let path = config.data_dir.join("secret.key");
    if path.exists() {
        let mode = fs::metadata(&path)?.permissions().mode();
        if mode & 0o077 != 0 {
            log::warn!(
                "{} is readable by others (mode {:o}); chmod 600 it",
                path.display(),
                mode & 0o777
            );
        }
        let text =
            fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        return ServerKey::from_base64(&text)
            .map_err(|error| anyhow::anyhow!("{}: {error}", path.display()));
    }
    let url = DatabaseUrl::parse(&config.database_url)?;
    if !new_embedded_database(&url) {
        bail!(
            "the database {url} exists, but its server key does not: TOLLGATE_SECRET_KEY is not \
             set and {} is missing. Restore the key file (or set TOLLGATE_SECRET_KEY to the key \
             this database was created with); a new key would not fit it",
            path.display()
        );
    }
    if create == Create::Refused {
        return Err(StoreError::NoDatabase {
            url: url.redacted(),
        }
        .into());
    }
    let (key, text) = ServerKey::generate(&mut rand::rngs::OsRng);
    write_private(&path, format!("{}\n", text.as_str()).as_bytes())?;
    log::info!(
        "generated a server key for the new database in {}",
        path.display()
    );
    Ok(key)
}

/// The current key and the previous ones.
pub fn keyring(config: &Config, current: &ServerKey) -> anyhow::Result<Keyring> {
    Keyring::new(
        current.derive(),
        config.previous_keys.iter().map(ServerKey::derive).collect(),
    )
    .map_err(|error| anyhow::anyhow!("TOLLGATE_PREVIOUS_SECRET_KEYS: {error}"))
}

/// Opens the store: migrates it first, after checking that the keys fit (creating it only when
/// `create` allows).
pub fn store(config: &Config, keys: &Keyring, create: Create) -> anyhow::Result<Store> {
    let opened = match create {
        Create::Allowed => Store::open(&config.database_url, keys.clone(), PoolOptions::default()),
        Create::Refused => {
            Store::open_existing(&config.database_url, keys.clone(), PoolOptions::default())
        }
    };
    opened.with_context(|| "opening the database".to_owned())
}

/// The certificate chain and key files of the HTTPS listener.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TlsFiles {
    /// Reads both files.
    pub fn read(&self) -> anyhow::Result<(Vec<u8>, Vec<u8>)> {
        Ok((
            fs::read(&self.cert).with_context(|| format!("reading {}", self.cert.display()))?,
            fs::read(&self.key).with_context(|| format!("reading {}", self.key.display()))?,
        ))
    }
}

/// The TLS files: the operator's, or a self-signed certificate kept in the data folder
/// (generated on first use).
pub fn tls_files(config: &Config) -> anyhow::Result<TlsFiles> {
    match &config.tls {
        TlsSource::Files { cert, key } => Ok(TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        }),
        TlsSource::SelfSigned => {
            let cert_path = config.data_dir.join("tls").join("cert.pem");
            let key_path = config.data_dir.join("tls").join("key.pem");
            if !cert_path.exists() || !key_path.exists() {
                let mut names = vec![
                    "localhost".to_owned(),
                    "127.0.0.1".to_owned(),
                    "::1".to_owned(),
                ];
                let host = config.listen.ip().to_string();
                if !names.contains(&host) && !config.listen.ip().is_unspecified() {
                    names.push(host);
                }
                let generated = rcgen::generate_simple_self_signed(names)
                    .context("generating a self-signed certificate")?;
                write_private(&key_path, generated.key_pair.serialize_pem().as_bytes())?;
                fs::create_dir_all(config.data_dir.join("tls"))?;
                fs::write(&cert_path, generated.cert.pem())?;
                log::info!(
                    "generated a self-signed certificate in {}",
                    cert_path.display()
                );
            }
            Ok(TlsFiles {
                cert: cert_path,
                key: key_path,
            })
        }
    }
}

/// The HTTPS listener's certificates, read from `files` (SIGHUP reads them again:
/// [`crate::reload`]).
pub fn tls(files: &TlsFiles) -> anyhow::Result<Arc<Certificates>> {
    let (cert, key) = files.read()?;
    Certificates::from_pem(&cert, &key).map_err(|error| anyhow::anyhow!("TLS: {error}"))
}
