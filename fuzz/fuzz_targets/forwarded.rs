//! Forwarded-address headers (`X-Forwarded-For`, `Forwarded`): `client_address` with the
//! server's own trusted-proxy test (`Settings::is_trusted_proxy`), as the middleware calls it.
//!
//! The input is a 24-byte header (missing bytes are zero) and the client's own header text (its
//! lines split at `\n`, any bytes). Two requests are built from it:
//!
//! - From an untrusted peer, carrying the client's lines: the peer is the client, whatever the
//!   lines say.
//! - Through a chain of trusted proxies: the client's lines as sent, then the first proxy's entry
//!   for the client's real address and each further proxy's entry for the one before it — each
//!   appended to the line it received (`, entry`) or as a line of its own, in any of the forms
//!   proxies write. The answer must be the client's real address: never an address the client
//!   wrote, never a proxy's, whatever the client's text holds.

#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use libfuzzer_sys::fuzz_target;
use tollgate_domain::{ForwardedHeader, client_address};
use tollgate_http::Settings;

const HEAD: usize = 24;

fn settings() -> &'static Settings {
    static SETTINGS: std::sync::OnceLock<Settings> = std::sync::OnceLock::new();
    SETTINGS.get_or_init(|| Settings {
        trusted_proxies: ["10.0.0.0/8", "2001:db8:1::/48", "192.0.2.10/32"]
            .iter()
            .filter_map(|net| net.parse::<IpNet>().ok())
            .collect(),
        ..Settings::default()
    })
}

fn trusted(address: IpAddr) -> bool {
    settings().is_trusted_proxy(address)
}

fuzz_target!(|data: &[u8]| {
    let mut head = [0u8; HEAD];
    let split = data.len().min(HEAD);
    head[..split].copy_from_slice(&data[..split]);
    let text = &data[split..];
    let header = if head[0] & 1 == 0 {
        ForwardedHeader::XForwardedFor
    } else {
        ForwardedHeader::Forwarded
    };
    let client_lines: Vec<&[u8]> = if text.is_empty() {
        Vec::new()
    } else {
        text.split(|byte| *byte == b'\n').collect()
    };

    // An untrusted peer is the client.
    let peer = untrusted(address(head[1], &head[2..18]));
    assert_eq!(
        client_address(peer, header, &client_lines, trusted),
        peer.to_canonical()
    );

    // Through trusted proxies, the client's real address.
    let real = peer;
    let hops = usize::from(head[0] >> 1 & 3);
    let mut lines: Vec<Vec<u8>> = client_lines.iter().map(|line| line.to_vec()).collect();
    let mut entry_for = real;
    for hop in 0..=hops {
        let flags = head[18 + hop];
        let entry = write_entry(header, entry_for, flags, head[22]);
        match lines.last_mut() {
            Some(line) if flags & 1 == 0 => {
                line.extend_from_slice(separator(flags).as_bytes());
                line.extend_from_slice(entry.as_bytes());
            }
            _ => lines.push(entry.into_bytes()),
        }
        entry_for = proxy(hop, head[23]);
    }
    let peer = entry_for;
    let lines: Vec<&[u8]> = lines.iter().map(Vec::as_slice).collect();
    assert_eq!(
        client_address(peer, header, &lines, trusted),
        real.to_canonical(),
        "client lines {:?}",
        client_lines
            .iter()
            .map(|line| String::from_utf8_lossy(line))
            .collect::<Vec<_>>()
    );
});

/// An address from the input: IPv4, IPv6, or IPv4-mapped IPv6.
fn address(kind: u8, bytes: &[u8]) -> IpAddr {
    let mut octets = [0u8; 16];
    octets.copy_from_slice(&bytes[..16]);
    match kind % 3 {
        0 => IpAddr::V4(Ipv4Addr::new(octets[0], octets[1], octets[2], octets[3])),
        1 => IpAddr::V6(Ipv6Addr::from(octets)),
        _ => IpAddr::V6(Ipv4Addr::new(octets[0], octets[1], octets[2], octets[3]).to_ipv6_mapped()),
    }
}

/// `address`, or a documentation address when it happens to be a trusted proxy.
fn untrusted(address: IpAddr) -> IpAddr {
    if trusted(address) {
        IpAddr::V4(Ipv4Addr::new(203, 0, 113, 77))
    } else {
        address
    }
}

/// The `hop`-th trusted proxy.
fn proxy(hop: usize, pick: u8) -> IpAddr {
    let n = u8::try_from(hop).unwrap_or(0);
    match (pick >> (2 * hop)) % 4 {
        0 => IpAddr::V4(Ipv4Addr::new(10, 0, n, 1)),
        1 => IpAddr::V6(Ipv6Addr::new(
            0x2001,
            0xdb8,
            1,
            0,
            0,
            0,
            0,
            u16::from(n) + 1,
        )),
        2 => IpAddr::V6(Ipv4Addr::new(10, 9, n, 2).to_ipv6_mapped()),
        _ => IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)),
    }
}

fn separator(flags: u8) -> &'static str {
    match flags >> 1 & 3 {
        0 => ", ",
        1 => ",",
        2 => " ,\t",
        _ => " , ",
    }
}

/// The entry a proxy writes for `address`, in one of the forms proxies use.
fn write_entry(header: ForwardedHeader, address: IpAddr, flags: u8, port_byte: u8) -> String {
    let port = 1024 + u16::from(port_byte) * 7;
    let form = flags >> 3 & 3;
    let node = match (address, form) {
        (IpAddr::V4(v4), 0 | 1) => v4.to_string(),
        (IpAddr::V4(v4), _) => format!("{v4}:{port}"),
        (IpAddr::V6(v6), 0) if header == ForwardedHeader::XForwardedFor => v6.to_string(),
        (IpAddr::V6(v6), 0 | 1) => format!("[{v6}]"),
        (IpAddr::V6(v6), _) => format!("[{v6}]:{port}"),
    };
    match header {
        ForwardedHeader::XForwardedFor => node,
        ForwardedHeader::Forwarded => {
            // A token when it may be one (a bare IPv4 address), else a quoted string.
            let value = if node.contains([':', '[']) {
                format!("\"{node}\"")
            } else {
                node
            };
            match flags >> 5 {
                0 | 1 => format!("for={value}"),
                2 => format!("for={value};proto=https"),
                3 => format!("proto=https;for={value}"),
                4 => format!("by=\"[2001:db8:1::99]\";for={value};host=\"example.com\""),
                5 => format!("For={value}"),
                6 => format!("for={value};ext=\"a,b;c\""),
                _ => format!("for={value};by=10.0.0.1"),
            }
        }
    }
}
