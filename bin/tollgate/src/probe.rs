//! `tollgate probe`: a health check for containers without a shell or an HTTP client. It asks
//! the metrics listener's `/healthz` over plain HTTP and exits 0 only on a 200.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs as _};
use std::time::Duration;

use anyhow::{Context as _, bail};

const TIMEOUT: Duration = Duration::from_secs(3);

/// Where to ask: `address`, else `TOLLGATE_METRICS_LISTEN`; an unspecified address
/// (`0.0.0.0`, `[::]`) is asked on loopback.
fn target(address: Option<&str>) -> anyhow::Result<SocketAddr> {
    let text = match address {
        Some(text) => text.to_owned(),
        None => std::env::var("TOLLGATE_METRICS_LISTEN")
            .ok()
            .filter(|text| !text.trim().is_empty())
            .context("no --address and no TOLLGATE_METRICS_LISTEN: nothing to probe")?,
    };
    let mut address = text
        .trim()
        .to_socket_addrs()
        .with_context(|| format!("{text:?} is not an address:port such as 127.0.0.1:9090"))?
        .next()
        .with_context(|| format!("{text:?} names no address"))?;
    if address.ip().is_unspecified() {
        address.set_ip(match address {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    Ok(address)
}

/// Exits successfully (true) when `/healthz` answers 200.
pub fn probe(address: Option<&str>) -> anyhow::Result<bool> {
    let address = target(address)?;
    let mut stream = TcpStream::connect_timeout(&address, TIMEOUT)
        .with_context(|| format!("connecting to {address}"))?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    write!(
        stream,
        "GET /healthz HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )?;
    let mut head = Vec::new();
    stream
        .take(4096)
        .read_to_end(&mut head)
        .with_context(|| format!("reading the answer of {address}"))?;
    let status_line = head
        .split(|byte| *byte == b'\n')
        .next()
        .map(|line| String::from_utf8_lossy(line).trim().to_owned())
        .unwrap_or_default();
    match status_line.split(' ').nth(1) {
        Some("200") => Ok(true),
        Some(_) => {
            eprintln!("tollgate probe: http://{address}/healthz answered {status_line:?}");
            Ok(false)
        }
        None => bail!("http://{address}/healthz gave no HTTP answer"),
    }
}
