//! The stand-in upstream (the platform's REST API behind the gateway): answers every request
//! `200 upstream` and records its request line and headers, so a test can tell exactly what
//! reached it. Requests are told apart by the `X-Case` header the tests send.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use crate::R;

/// The header that names a test case; gateways pass it on untouched.
pub const CASE_HEADER: &str = "x-case";

/// One request as the upstream received it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// `GET /path HTTP/1.1`, as sent (lossy UTF-8).
    pub request_line: String,
    /// Header names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
}

impl Seen {
    /// Every value of the header `name` (lower case).
    pub fn values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(header, _)| header == name)
            .map(|(_, value)| value.as_str())
            .collect()
    }

    /// The request target.
    pub fn target(&self) -> &str {
        self.request_line.split(' ').nth(1).unwrap_or_default()
    }
}

#[derive(Debug)]
pub struct Upstream {
    pub port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Upstream {
    /// Listens on a free loopback port, serving each connection on a thread of its own.
    pub fn start() -> R<Upstream> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let recorder = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let recorder = recorder.clone();
                std::thread::spawn(move || serve(stream, &recorder));
            }
        });
        Ok(Upstream { port, seen })
    }

    /// The requests that carried `X-Case: case`.
    pub fn seen_for(&self, case: &str) -> Vec<Seen> {
        self.seen
            .lock()
            .map(|seen| {
                seen.iter()
                    .filter(|request| request.values(CASE_HEADER).contains(&case))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Serves one connection (keep-alive included) until the peer closes it or sends garbage.
fn serve(stream: TcpStream, seen: &Mutex<Vec<Seen>>) {
    let Ok(writer) = stream.try_clone() else {
        return;
    };
    let mut writer = writer;
    let mut reader = BufReader::new(stream);
    loop {
        let Some(request) = read_request(&mut reader) else {
            return;
        };
        let close = request.request_line.ends_with("HTTP/1.0")
            || request
                .values("connection")
                .iter()
                .any(|value| value.eq_ignore_ascii_case("close"));
        if let Ok(mut seen) = seen.lock() {
            seen.push(request);
        }
        let reply =
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 8\r\n\r\nupstream";
        if writer.write_all(reply).is_err() || writer.flush().is_err() || close {
            return;
        }
    }
}

/// One request head; its body (by `Content-Length` or chunked) is read and dropped.
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Seen> {
    let mut line = Vec::new();
    if reader.read_until(b'\n', &mut line).ok()? == 0 {
        return None;
    }
    let request_line = String::from_utf8_lossy(&line).trim_end().to_owned();
    let mut headers = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).ok()? == 0 {
            return None;
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end();
        if text.is_empty() {
            break;
        }
        let (name, value) = text.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let request = Seen {
        request_line,
        headers,
    };
    if let Some(length) = request.values("content-length").first() {
        let mut body = vec![0; length.parse().ok()?];
        reader.read_exact(&mut body).ok()?;
    } else if request
        .values("transfer-encoding")
        .iter()
        .any(|value| value.eq_ignore_ascii_case("chunked"))
    {
        loop {
            line.clear();
            reader.read_until(b'\n', &mut line).ok()?;
            let size = usize::from_str_radix(String::from_utf8_lossy(&line).trim(), 16).ok()?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).ok()?;
            if size == 0 {
                break;
            }
        }
    }
    Some(request)
}
