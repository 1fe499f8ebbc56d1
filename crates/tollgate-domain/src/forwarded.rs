//! The client's address (SPEC §4 "Client address"), for the failure limiter, audit records and
//! the web pages alike.
//!
//! Rules, in the order they are applied:
//! 1. Every address is normalised first: an IPv4-mapped IPv6 address (`::ffff:192.0.2.1`) is
//!    the IPv4 address.
//! 2. A peer that is not a trusted proxy is itself the client; no header is read.
//! 3. Behind a trusted peer, one header counts — `X-Forwarded-For` or `Forwarded` (RFC 7239
//!    `for=`), as configured; the other is never read (nginx passes a client's `Forwarded`
//!    through untouched). Several lines of it are joined in order. Bytes that are not UTF-8
//!    spoil only the entry they are in, and a line's `Forwarded` elements are split at its
//!    commas from the right: a proxy appends its entry to the line it received (or joins lines
//!    into one), so neither a stray byte nor an unterminated quote the client wrote on the left
//!    can swallow the entries proxies added on the right.
//! 4. Its entries are read from the right: each proxy appends the address it saw, so the
//!    right-most entry that is not itself a trusted proxy is the client. The left-most entries
//!    are whatever the client wrote and are never believed.
//! 5. An entry that is not an address (garbage, `unknown`, an obfuscated `_node`, a `Forwarded`
//!    element without one `for=`) ends the walk: nothing to its left can be vouched for, so the
//!    client is the last trusted hop reached (the peer, or the last trusted entry) — an address
//!    Tollgate trusts, never one the client chose.
//! 6. When every entry is a trusted proxy (or there is none), the client is the left-most
//!    trusted hop.
//!
//! Pure: header lines in, an address out. Malformed input of any size is handled without
//! panicking.

use std::net::{IpAddr, SocketAddr};

/// The header a trusted proxy puts the client's address in (`TOLLGATE_FORWARDED_HEADER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2` (the default).
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client;proto=https, for="[2001:db8::1]:4711"`.
    Forwarded,
}

impl ForwardedHeader {
    /// Parses `x-forwarded-for` or `forwarded` (any case).
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "x-forwarded-for" => Some(Self::XForwardedFor),
            "forwarded" => Some(Self::Forwarded),
            _ => None,
        }
    }

    /// The header's name, lower-case.
    pub fn name(self) -> &'static str {
        match self {
            Self::XForwardedFor => "x-forwarded-for",
            Self::Forwarded => "forwarded",
        }
    }
}

/// One entry of the header, right-most first when walked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hop {
    Address(IpAddr),
    /// Not an address: ends the walk (rule 5).
    Unusable,
}

/// Rule 1.
fn normalise(address: IpAddr) -> IpAddr {
    address.to_canonical()
}

/// The client's address for a request from `peer` carrying `lines` of the configured
/// `header` (each line's raw bytes, in the order received).
///
/// ```
/// use std::net::IpAddr;
/// use tollgate_domain::{ForwardedHeader, client_address};
///
/// let proxy: IpAddr = "10.0.0.2".parse()?;
/// let trusted = |address: IpAddr| address == proxy;
/// // The client wrote a left-most entry of its own; the proxy appended the real address.
/// let lines: &[&[u8]] = &[b"1.2.3.4, 203.0.113.7"];
/// let client = client_address(proxy, ForwardedHeader::XForwardedFor, lines, trusted);
/// assert_eq!(client, "203.0.113.7".parse::<IpAddr>()?);
/// // From an untrusted peer the header is not read at all.
/// let peer: IpAddr = "198.51.100.9".parse()?;
/// assert_eq!(client_address(peer, ForwardedHeader::XForwardedFor, lines, trusted), peer);
/// # Ok::<(), std::net::AddrParseError>(())
/// ```
pub fn client_address(
    peer: IpAddr,
    header: ForwardedHeader,
    lines: &[&[u8]],
    is_trusted_proxy: impl Fn(IpAddr) -> bool,
) -> IpAddr {
    let peer = normalise(peer);
    if !is_trusted_proxy(peer) {
        return peer;
    }
    let mut hops = Vec::new();
    for line in lines {
        // U+FFFD, which replaces bytes that are not UTF-8, is no delimiter and no address.
        let text = String::from_utf8_lossy(line);
        match header {
            ForwardedHeader::XForwardedFor => x_forwarded_for(&text, &mut hops),
            ForwardedHeader::Forwarded => forwarded(&text, &mut hops),
        }
    }
    let mut client = peer;
    for hop in hops.iter().rev() {
        match *hop {
            Hop::Unusable => return client,
            Hop::Address(address) => {
                let address = normalise(address);
                if !is_trusted_proxy(address) {
                    return address;
                }
                client = address;
            }
        }
    }
    client
}

/// A node as proxies write it: `192.0.2.1`, `192.0.2.1:8080`, `2001:db8::1`, `[2001:db8::1]`,
/// `[2001:db8::1]:8080`.
fn node(text: &str) -> Hop {
    let text = text.trim_matches([' ', '\t']);
    if let Ok(address) = text.parse::<IpAddr>() {
        return Hop::Address(address);
    }
    if let Ok(socket) = text.parse::<SocketAddr>() {
        return Hop::Address(socket.ip());
    }
    match text
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .map(str::parse::<IpAddr>)
    {
        Some(Ok(address @ IpAddr::V6(_))) => Hop::Address(address),
        _ => Hop::Unusable,
    }
}

/// `X-Forwarded-For`: comma-separated nodes; empty list elements are skipped (RFC 9110 §5.6.1).
fn x_forwarded_for(line: &str, hops: &mut Vec<Hop>) {
    for entry in line.split(',') {
        if entry.trim_matches([' ', '\t']).is_empty() {
            continue;
        }
        hops.push(node(entry));
    }
}

/// Splits `text` on `separator` outside quoted strings (a `\` escapes the next character).
fn split_unquoted(text: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    let mut escaped = false;
    for (at, c) in text.char_indices() {
        if escaped {
            escaped = false;
        } else if quoted && c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if c == separator && !quoted {
            parts.push(&text[start..at]);
            start = at + c.len_utf8();
        }
    }
    parts.push(&text[start..]);
    parts
}

/// A parameter value: a token, or a quoted string (unescaped). `None` for an unterminated
/// quote.
fn unquote(value: &str) -> Option<String> {
    let Some(inner) = value.strip_prefix('"') else {
        return Some(value.to_owned());
    };
    let inner = inner.strip_suffix('"')?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            out.push(chars.next()?);
        } else {
            out.push(c);
        }
    }
    Some(out)
}

/// One `Forwarded` element (`for=…;proto=…;by=…`): its `for` node, which must be there exactly
/// once.
fn forwarded_element(element: &str) -> Hop {
    let mut found = None;
    for pair in split_unquoted(element, ';') {
        if pair.trim_matches([' ', '\t']).is_empty() {
            continue;
        }
        let Some((name, value)) = pair.split_once('=') else {
            return Hop::Unusable;
        };
        if !name.trim_matches([' ', '\t']).eq_ignore_ascii_case("for") {
            continue;
        }
        if found.is_some() {
            return Hop::Unusable;
        }
        found = Some(
            unquote(value.trim_matches([' ', '\t']))
                .map(|value| node(&value))
                .unwrap_or(Hop::Unusable),
        );
    }
    found.unwrap_or(Hop::Unusable)
}

/// Splits a `Forwarded` line at the commas outside quoted strings, reading from the right (the
/// parts are returned left to right). The right-most elements are those trusted proxies wrote,
/// well formed; read from the left, an unbalanced quote in what the client wrote would run on
/// over them. Inside a quoted string, a `"` after an odd number of `\` is escaped.
fn split_elements(line: &str) -> Vec<&str> {
    let bytes = line.as_bytes();
    let mut parts = Vec::new();
    let mut end = bytes.len();
    let mut quoted = false;
    let mut at = bytes.len();
    while at > 0 {
        at -= 1;
        match bytes[at] {
            b'"' if quoted => {
                let escapes = bytes[..at]
                    .iter()
                    .rev()
                    .take_while(|&&b| b == b'\\')
                    .count();
                quoted = escapes % 2 == 1;
                // The backslashes are neither quotes nor commas: skip them.
                at -= escapes;
            }
            b'"' => quoted = true,
            // A comma is ASCII, so `at` and `at + 1` are character boundaries.
            b',' if !quoted => {
                parts.push(&line[at + 1..end]);
                end = at;
            }
            _ => {}
        }
    }
    parts.push(&line[..end]);
    parts.reverse();
    parts
}

/// `Forwarded`: comma-separated elements; empty list elements are skipped.
fn forwarded(line: &str, hops: &mut Vec<Hop>) {
    for element in split_elements(line) {
        if element.trim_matches([' ', '\t']).is_empty() {
            continue;
        }
        hops.push(forwarded_element(element));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap_or_else(|_| unreachable!("{text}"))
    }

    /// Proxies: 10.0.0.0/8 and 2001:db8:1::/48 (as TOLLGATE_TRUSTED_PROXIES would say).
    fn trusted(address: IpAddr) -> bool {
        match address {
            IpAddr::V4(v4) => v4.octets()[0] == 10,
            IpAddr::V6(v6) => v6.segments()[..3] == [0x2001, 0xdb8, 1],
        }
    }

    fn check(peer: &str, header: ForwardedHeader, lines: &[&str], expect: &str) {
        let lines: Vec<&[u8]> = lines.iter().map(|line| line.as_bytes()).collect();
        assert_eq!(
            client_address(ip(peer), header, &lines, trusted),
            ip(expect),
            "peer {peer}, {} {lines:?}",
            header.name()
        );
    }

    #[test]
    fn x_forwarded_for_spoofing() {
        let xff = |peer: &str, lines: &[&str], expect: &str| {
            check(peer, ForwardedHeader::XForwardedFor, lines, expect);
        };
        // An untrusted peer is the client, whatever it sends.
        xff("198.51.100.7", &["203.0.113.9"], "198.51.100.7");
        xff("198.51.100.7", &[], "198.51.100.7");
        // A trusted peer: the right-most entry that is not a proxy.
        xff("10.0.0.1", &["203.0.113.9"], "203.0.113.9");
        xff("10.0.0.1", &["203.0.113.9, 10.0.0.2"], "203.0.113.9");
        xff(
            "10.0.0.1",
            &["203.0.113.9,10.0.0.3 , 10.0.0.2"],
            "203.0.113.9",
        );
        // Forged entries on the left are never believed.
        xff("10.0.0.1", &["1.1.1.1, 203.0.113.9"], "203.0.113.9");
        xff(
            "10.0.0.1",
            &["10.9.9.9, 203.0.113.9, 10.0.0.2"],
            "203.0.113.9",
        );
        xff(
            "10.0.0.1",
            &["127.0.0.1, 192.168.0.1, 203.0.113.9"],
            "203.0.113.9",
        );
        // Several lines are one list, in order.
        xff("10.0.0.1", &["1.1.1.1", "203.0.113.9"], "203.0.113.9");
        xff(
            "10.0.0.1",
            &["1.1.1.1, 2.2.2.2", "203.0.113.9, 10.0.0.2"],
            "203.0.113.9",
        );
        xff("10.0.0.1", &["203.0.113.9", "10.0.0.2", ""], "203.0.113.9");
        // IPv4-mapped IPv6 is IPv4, for the peer and the entries.
        xff("::ffff:10.0.0.1", &["203.0.113.9"], "203.0.113.9");
        xff("10.0.0.1", &["::ffff:203.0.113.9"], "203.0.113.9");
        xff("10.0.0.1", &["203.0.113.9, ::ffff:10.0.0.2"], "203.0.113.9");
        xff("::ffff:198.51.100.7", &["203.0.113.9"], "198.51.100.7");
        // IPv6, ports and brackets.
        xff("10.0.0.1", &["2001:db8::9"], "2001:db8::9");
        xff("10.0.0.1", &["[2001:db8::9]:4711"], "2001:db8::9");
        xff("10.0.0.1", &["[2001:db8::9]"], "2001:db8::9");
        xff("10.0.0.1", &["203.0.113.9:4711"], "203.0.113.9");
        xff(
            "2001:db8:1::1",
            &["203.0.113.9, 2001:db8:1::2"],
            "203.0.113.9",
        );
        // Garbage where the client should be: the last trusted hop, never further left.
        xff("10.0.0.1", &["203.0.113.9, garbage"], "10.0.0.1");
        xff("10.0.0.1", &["203.0.113.9, garbage, 10.0.0.2"], "10.0.0.2");
        xff("10.0.0.1", &["203.0.113.9, unknown"], "10.0.0.1");
        xff("10.0.0.1", &["203.0.113.9, 999.1.1.1"], "10.0.0.1");
        xff("10.0.0.1", &["203.0.113.9, [203.0.113.8]"], "10.0.0.1");
        xff("10.0.0.1", &["203.0.113.9, 203.0.113.8/24"], "10.0.0.1");
        // Garbage to the left of the client does not matter.
        xff("10.0.0.1", &["garbage, 203.0.113.9"], "203.0.113.9");
        // Every entry a proxy, or none: the left-most trusted hop.
        xff("10.0.0.1", &["10.0.0.3, 10.0.0.2"], "10.0.0.3");
        xff("10.0.0.1", &[], "10.0.0.1");
        xff("10.0.0.1", &[" , ,"], "10.0.0.1");
    }

    #[test]
    fn forwarded_rfc_7239() {
        let fwd = |peer: &str, lines: &[&str], expect: &str| {
            check(peer, ForwardedHeader::Forwarded, lines, expect);
        };
        fwd("198.51.100.7", &["for=203.0.113.9"], "198.51.100.7");
        fwd("10.0.0.1", &["for=203.0.113.9"], "203.0.113.9");
        fwd(
            "10.0.0.1",
            &["for=203.0.113.9;proto=https;by=10.0.0.1"],
            "203.0.113.9",
        );
        fwd("10.0.0.1", &["For=203.0.113.9"], "203.0.113.9");
        fwd("10.0.0.1", &["for=203.0.113.9;"], "203.0.113.9");
        fwd("10.0.0.1", &["for=\"203.0.113.9:4711\""], "203.0.113.9");
        fwd("10.0.0.1", &["for=\"[2001:db8::9]\""], "2001:db8::9");
        fwd("10.0.0.1", &["for=\"[2001:db8::9]:4711\""], "2001:db8::9");
        fwd("10.0.0.1", &["for=\"[::ffff:203.0.113.9]\""], "203.0.113.9");
        // Forged elements on the left; several lines; proxies on the right.
        fwd("10.0.0.1", &["for=1.1.1.1, for=203.0.113.9"], "203.0.113.9");
        fwd(
            "10.0.0.1",
            &["for=1.1.1.1", "for=203.0.113.9, for=10.0.0.2"],
            "203.0.113.9",
        );
        fwd("10.0.0.1", &["for=10.0.0.3, for=10.0.0.2"], "10.0.0.3");
        // A quoted comma or semicolon does not split.
        fwd(
            "10.0.0.1",
            &["for=203.0.113.9;ext=\"a,b;c\""],
            "203.0.113.9",
        );
        fwd(
            "10.0.0.1",
            &["for=203.0.113.9, for=\"x,10.0.0.2\""],
            "10.0.0.1",
        );
        // Unusable elements end the walk at the last trusted hop.
        fwd("10.0.0.1", &["for=203.0.113.9, for=unknown"], "10.0.0.1");
        fwd("10.0.0.1", &["for=203.0.113.9, for=_hidden"], "10.0.0.1");
        fwd("10.0.0.1", &["for=203.0.113.9, proto=https"], "10.0.0.1");
        fwd(
            "10.0.0.1",
            &["for=203.0.113.9, for=1.1.1.1;for=2.2.2.2"],
            "10.0.0.1",
        );
        fwd(
            "10.0.0.1",
            &["for=203.0.113.9, for=\"203.0.113.8"],
            "10.0.0.1",
        );
        fwd("10.0.0.1", &["for=203.0.113.9, garbage"], "10.0.0.1");
        fwd(
            "10.0.0.1",
            &["for=203.0.113.9, for=unknown, for=10.0.0.2"],
            "10.0.0.2",
        );
    }

    /// Found by the `forwarded` fuzz target: a proxy appends its entry to the line it got (or
    /// joins the lines), so what the client wrote on the left must not change how the entries
    /// on the right are read.
    #[test]
    fn the_clients_text_cannot_swallow_the_proxies_entries() {
        let fwd = |lines: &[&str], expect: &str| {
            check("10.0.0.1", ForwardedHeader::Forwarded, lines, expect);
        };
        // An unterminated quote on the left: read from the left, the proxy's element became
        // part of the client's quoted string, and the client's own `for=` was believed.
        fwd(&["for=1.1.1.1;x=\", for=203.0.113.9"], "203.0.113.9");
        fwd(&["for=\"1.1.1.1, for=203.0.113.9"], "203.0.113.9");
        fwd(
            &["for=1.1.1.1;x=\", for=\"[2001:db8::9]:4711\""],
            "2001:db8::9",
        );
        fwd(
            &["for=1.1.1.1;x=\"\\, for=203.0.113.9, for=10.0.0.2"],
            "203.0.113.9",
        );
        // Escapes inside quoted strings still hide their commas and quotes.
        fwd(&["for=203.0.113.9;ext=\"a\\\",b\""], "203.0.113.9");
        fwd(
            &["for=1.1.1.1, for=203.0.113.9;ext=\"x\\\\\""],
            "203.0.113.9",
        );
        fwd(&["for=1.1.1.1;ext=\"a,b\", for=203.0.113.9"], "203.0.113.9");
        // Bytes that are not UTF-8 spoil their own entry, not the proxy's on the same line.
        for (header, line, expect) in [
            (
                ForwardedHeader::XForwardedFor,
                &b"\xff, 203.0.113.9"[..],
                "203.0.113.9",
            ),
            (
                ForwardedHeader::XForwardedFor,
                b"203.0.113.9, \xff",
                "10.0.0.1",
            ),
            (
                ForwardedHeader::Forwarded,
                b"for=\xff, for=203.0.113.9",
                "203.0.113.9",
            ),
            (
                ForwardedHeader::Forwarded,
                b"for=\"\xff, for=203.0.113.9",
                "203.0.113.9",
            ),
        ] {
            let got = client_address(ip("10.0.0.1"), header, &[line], trusted);
            assert_eq!(got, ip(expect), "{}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn bytes_that_are_not_text_are_an_unusable_entry() {
        let lines: [&[u8]; 2] = [b"203.0.113.9", b"\xff\xfe"];
        let got = client_address(
            ip("10.0.0.1"),
            ForwardedHeader::XForwardedFor,
            &lines,
            trusted,
        );
        assert_eq!(got, ip("10.0.0.1"));
        let lines: [&[u8]; 2] = [b"\xff", b"203.0.113.9"];
        let got = client_address(
            ip("10.0.0.1"),
            ForwardedHeader::XForwardedFor,
            &lines,
            trusted,
        );
        assert_eq!(got, ip("203.0.113.9"));
    }

    #[test]
    fn header_names() {
        assert_eq!(
            ForwardedHeader::parse("X-Forwarded-For"),
            Some(ForwardedHeader::XForwardedFor)
        );
        assert_eq!(
            ForwardedHeader::parse(" forwarded "),
            Some(ForwardedHeader::Forwarded)
        );
        assert_eq!(ForwardedHeader::parse("x-real-ip"), None);
        assert_eq!(ForwardedHeader::default().name(), "x-forwarded-for");
    }
}
