//! SIGHUP reloads the TLS certificate and key while a client keeps making new connections:
//! no request fails, new connections get the new certificate, and a bad pair is refused with
//! a log line while the current certificate stays.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::server::{R, Server, wait_until};

struct Pair {
    cert: String,
    key: String,
}

fn pair() -> R<Pair> {
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])?;
    Ok(Pair {
        cert: generated.cert.pem(),
        key: generated.key_pair.serialize_pem(),
    })
}

/// Writes both files as a certificate renewal does: each to a new file renamed into place.
fn install(dir: &Path, cert: &str, key: &str) -> R<()> {
    for (name, contents) in [("cert.pem", cert), ("key.pem", key)] {
        let next = dir.join(format!("{name}.next"));
        std::fs::write(&next, contents)?;
        std::fs::rename(&next, dir.join(name))?;
    }
    Ok(())
}

#[test]
fn sighup_swaps_the_certificate_under_load_without_a_failed_request() -> R<()> {
    let tls = tempfile::tempdir()?;
    let (old, new) = (pair()?, pair()?);
    install(tls.path(), &old.cert, &old.key)?;
    let env = [
        ("RUST_LOG", "info".to_owned()),
        (
            "TOLLGATE_TLS_CERT",
            tls.path().join("cert.pem").display().to_string(),
        ),
        (
            "TOLLGATE_TLS_KEY",
            tls.path().join("key.pem").display().to_string(),
        ),
    ];
    let server = Server::start(&env, |_, _| Ok(()))?;
    // A new client for every request: a new connection and a full handshake (a client's
    // resumed session would not be shown the certificate again).
    let roots_both = [old.cert.clone(), new.cert.clone()];
    let https = server.https;
    let answers = |roots: &[&str]| -> R<bool> {
        let roots: Vec<&[u8]> = roots.iter().map(|root| root.as_bytes()).collect();
        Ok(server
            .client_trusting(&roots)?
            .get(server.url("/healthz"))
            .send()
            .is_ok_and(|reply| reply.status().as_u16() == 200))
    };
    let (only_old, only_new) = ([old.cert.as_str()], [new.cert.as_str()]);
    assert!(
        answers(&only_old)? && !answers(&only_new)?,
        "the old certificate first"
    );

    // A client in a loop, bounded in count and time.
    let done = Arc::new(AtomicBool::new(false));
    let served = Arc::new(AtomicU64::new(0));
    let url = server.url("/healthz");
    let load = {
        let (done, served) = (Arc::clone(&done), Arc::clone(&served));
        std::thread::spawn(move || -> Vec<String> {
            let started = Instant::now();
            let mut failures = Vec::new();
            while !done.load(Ordering::Relaxed)
                && started.elapsed() < Duration::from_secs(60)
                && served.load(Ordering::Relaxed) < 20_000
            {
                let client = reqwest::blocking::Client::builder()
                    .resolve("localhost", https)
                    .pool_max_idle_per_host(0)
                    .timeout(Duration::from_secs(30));
                let client = roots_both
                    .iter()
                    .try_fold(client, |client, root| {
                        reqwest::Certificate::from_pem(root.as_bytes())
                            .map(|root| client.add_root_certificate(root))
                    })
                    .and_then(|client| client.build());
                match client.and_then(|client| client.get(&url).send()) {
                    Ok(reply) if reply.status().as_u16() == 200 => {}
                    Ok(reply) => failures.push(format!("status {}", reply.status())),
                    Err(error) => failures.push(format!("{error:?}")),
                }
                served.fetch_add(1, Ordering::Relaxed);
            }
            failures
        })
    };
    let after = |count: u64| {
        let served = Arc::clone(&served);
        move || Ok(served.load(Ordering::Relaxed) >= count)
    };
    wait_until("the load to get going", after(20))?;

    install(tls.path(), &new.cert, &new.key)?;
    server.signal("HUP")?;
    wait_until("the new certificate to be served", || answers(&only_new))?;
    assert!(!answers(&only_old)?, "the old certificate is still served");
    assert!(
        server
            .log()
            .contains("SIGHUP: reloaded the TLS certificate"),
        "{}",
        server.log()
    );
    let now = served.load(Ordering::Relaxed);
    wait_until("more requests after the reload", after(now + 20))?;

    // A certificate with another certificate's key: refused, the current one kept.
    install(tls.path(), &old.cert, &new.key)?;
    server.signal("HUP")?;
    wait_until("the refusal to be logged", || {
        Ok(server
            .log()
            .contains("SIGHUP: kept the current TLS certificate"))
    })?;
    assert!(
        server.log().contains("do not fit together"),
        "{}",
        server.log()
    );
    assert!(
        answers(&only_new)? && !answers(&only_old)?,
        "the bad pair replaced the certificate"
    );
    let now = served.load(Ordering::Relaxed);
    wait_until("more requests after the refusal", after(now + 20))?;

    done.store(true, Ordering::Relaxed);
    let failures = load.join().map_err(|_| "the load thread panicked")?;
    assert!(
        failures.is_empty(),
        "{} failed requests: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    server.stop()?;
    Ok(())
}
