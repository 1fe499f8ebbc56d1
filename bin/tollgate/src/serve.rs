//! `tollgate serve`: bind, build the state, run until SIGTERM/SIGINT; SIGHUP reloads the TLS
//! certificate ([`crate::reload`]); the metrics listener beside it when configured.

use std::net::TcpListener;

use anyhow::Context as _;
use tollgate_domain::{AccountType, DisplayName, Keyring, Keys, Principal};
use tollgate_gate::GateOptions;
use tollgate_http::{AppState, Listeners, PublicMetrics, Settings};
use tollgate_store::{FeedOptions, Store};

use crate::config::Config;
use crate::{commands, reload, setup};

/// On an empty database: a demo Client account, its administrator, and a token holding every
/// module of the account. Prints the token and keeps it in `<data>/demo-token.txt` (mode 0600).
fn demo(config: &Config, store: &Store) -> anyhow::Result<()> {
    if !store.accounts()?.is_empty() {
        log::info!("--demo: the database already has accounts; no demo data created");
        return Ok(());
    }
    demo_data(config, store)
}

/// A sign-in link for the first administrator of an Active account, if there is one.
fn sign_in_link(keys: &Keys, store: &Store, listen: std::net::SocketAddr) -> anyhow::Result<()> {
    for account in store.accounts()? {
        if account.status != tollgate_domain::AccountStatus::Active {
            continue;
        }
        if let Some(admin) = store
            .users(Some(account.id))?
            .into_iter()
            .find(|user| user.admin)
        {
            let base = commands::default_base_url(listen);
            let link = commands::login_url(store, keys, admin.id, &base)?;
            println!(
                "sign in to the web pages as {} ({}) within 10 minutes (single use; \
                 `tollgate login-url --user {}` makes another):",
                admin.name, admin.id, admin.id
            );
            println!("{link}");
            return Ok(());
        }
    }
    Ok(())
}

fn demo_data(config: &Config, store: &Store) -> anyhow::Result<()> {
    let catalog = store.catalog()?;
    let now = time::OffsetDateTime::now_utc();
    let modules = catalog.allowed_for(AccountType::Client);
    let account = store.create_account(
        &DisplayName::parse("name", "Demo Client")?,
        AccountType::Client,
        &modules,
        now,
    )?;
    let admin = store.create_user(
        account.id,
        &DisplayName::parse("name", "Demo Admin")?,
        true,
        now,
    )?;
    let actor = Principal::User {
        id: admin.id,
        name: admin.name.to_string(),
    };
    let (token, value) = commands::create_token(
        store,
        config.reveal,
        account.id,
        "Demo token",
        modules,
        actor,
    )?;
    let path = config.data_dir.join("demo-token.txt");
    setup::write_private(&path, format!("{}\n", value.expose_secret()).as_bytes())?;
    println!(
        "demo account {} ({}), administrator {} ({})",
        account.id, account.name, admin.id, admin.name
    );
    println!(
        "demo API token {} (all modules); its value, also in {}:",
        token.token.id(),
        path.display()
    );
    println!("{}", value.expose_secret());
    Ok(())
}

/// Runs the server.
pub fn serve(config: &Config, ring: Keyring, store: Store, with_demo: bool) -> anyhow::Result<()> {
    let keys = ring.current().clone();
    if with_demo {
        demo(config, &store)?;
    }
    let tls_files = setup::tls_files(config)?;
    let certificates = setup::tls(&tls_files)?;
    let tls = certificates
        .server_config()
        .map_err(|error| anyhow::anyhow!("TLS: {error}"))?;
    let https = TcpListener::bind(config.listen)
        .with_context(|| format!("binding TOLLGATE_LISTEN {}", config.listen))?;
    let http = config
        .http_listen
        .map(|address| {
            TcpListener::bind(address)
                .with_context(|| format!("binding TOLLGATE_HTTP_LISTEN {address}"))
        })
        .transpose()?;
    let metrics = config
        .operations
        .metrics_listen
        .map(|address| {
            TcpListener::bind(address)
                .with_context(|| format!("binding TOLLGATE_METRICS_LISTEN {address}"))
        })
        .transpose()?;
    let https_address = https.local_addr()?;
    if with_demo {
        sign_in_link(&keys, &store, https_address)?;
    }
    let settings = Settings {
        reveal: config.reveal,
        trusted_proxies: config.trusted_proxies.clone(),
        write_timeout: config.timings.write_timeout,
        forwarded_header: config.forwarded_header,
        body_timeout: config.body_timeout,
    };
    let gate_options = GateOptions {
        feed: FeedOptions {
            interval: config.timings.heartbeat_interval,
            deadline: config.timings.heartbeat_deadline,
        },
        max_stale: config.timings.max_stale,
        expiry_sweep: config.timings.expiry_sweep,
        ..GateOptions::default()
    };
    let state = AppState::with_gate_options(store, ring, settings, gate_options)
        .context("starting the request-authorization gate")?;
    let gate = std::sync::Arc::clone(&state.gate);
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    actix_web::rt::System::new().block_on(async move {
        let hangups = reload::hangups()?;
        actix_web::rt::spawn(reload::on_hangup(hangups, certificates, tls_files));
        let operations = match metrics {
            Some(listener) => {
                let address = listener.local_addr()?;
                let server = tollgate_http::serve_operations(state.clone(), listener)?;
                log::info!("metrics and probes on http://{address}");
                println!("Metrics and probes on http://{address}");
                Some((server.handle(), actix_web::rt::spawn(server)))
            }
            None => None,
        };
        let public_metrics = if operations.is_some() {
            PublicMetrics::Dropped
        } else {
            PublicMetrics::Served
        };
        let server = tollgate_http::serve_public(
            state,
            tls,
            Listeners { https, http },
            workers,
            public_metrics,
        )?;
        log::info!("listening on https://{https_address}");
        println!("Tollgate is listening on https://{https_address}");
        let served = server.await;
        // The probes answer until the public listeners have stopped.
        if let Some((handle, task)) = operations {
            handle.stop(true).await;
            let _ = task.await;
        }
        served
    })?;
    // A clean shutdown writes what the write-behind holds.
    match gate.shutdown() {
        Ok(flushed) => log::info!(
            "stopped; flushed {} last-access times and {} failure records, moved {} tokens to the current key",
            flushed.uses,
            flushed.failures,
            flushed.rehashed
        ),
        Err(error) => log::error!("stopped, but the final write-behind flush failed: {error}"),
    }
    Ok(())
}
