//! Request metrics in the Prometheus text format: requests by route, method and status, and a
//! latency histogram by route.
//!
//! Every label takes a bounded set of values whatever clients send: routes are route patterns
//! (unmatched paths are one `(unmatched)` route), methods outside the standard ones are one
//! `other`, statuses are three digits, and counter labels are Tollgate's own reasons.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[derive(Debug, Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

/// One route's figures: requests by method and status, and its latency histogram.
#[derive(Debug, Default)]
struct Route {
    requests: Vec<(String, u16, u64)>,
    latency: Histogram,
}

/// Keyed so that a request already seen allocates nothing (lookups by `&str`).
#[derive(Debug, Default)]
struct Inner {
    routes: BTreeMap<String, Route>,
    counters: BTreeMap<&'static str, BTreeMap<String, u64>>,
}

/// The metrics registry.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The label of a request method: the standard methods as themselves, any other as `other`.
pub fn method_label(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "PATCH" => "PATCH",
        "OPTIONS" => "OPTIONS",
        "TRACE" => "TRACE",
        "CONNECT" => "CONNECT",
        _ => "other",
    }
}

/// The route label of a request that matched no route.
pub const UNMATCHED: &str = "(unmatched)";

impl Metrics {
    /// Records one request (`method` is folded by [`method_label`]).
    pub fn observe(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        let method = method_label(method);
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        if !inner.routes.contains_key(route) {
            inner.routes.insert(route.to_owned(), Route::default());
        }
        let Some(stats) = inner.routes.get_mut(route) else {
            return;
        };
        match stats
            .requests
            .iter_mut()
            .find(|(m, s, _)| m == method && *s == status)
        {
            Some((_, _, count)) => *count += 1,
            None => stats.requests.push((method.to_owned(), status, 1)),
        }
        let seconds = elapsed.as_secs_f64();
        let histogram = &mut stats.latency;
        for (bucket, count) in BUCKETS.iter().zip(histogram.counts.iter_mut()) {
            if seconds <= *bucket {
                *count += 1;
            }
        }
        histogram.sum += seconds;
        histogram.count += 1;
    }

    /// Adds one to a named counter with one label (e.g. refusals by reason).
    pub fn count(&self, name: &'static str, label: &str) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        let labels = inner.counters.entry(name).or_default();
        match labels.get_mut(label) {
            Some(count) => *count += 1,
            None => {
                labels.insert(label.to_owned(), 1);
            }
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let Ok(inner) = self.inner.lock() else {
            return out;
        };
        out.push_str(
            "# HELP tollgate_http_requests_total HTTP requests by route, method and status.\n",
        );
        out.push_str("# TYPE tollgate_http_requests_total counter\n");
        for (route, stats) in &inner.routes {
            let mut requests: Vec<&(String, u16, u64)> = stats.requests.iter().collect();
            requests.sort();
            for (method, status, count) in requests {
                let _ = writeln!(
                    out,
                    "tollgate_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{status}\"}} {count}",
                    escape(route),
                    escape(method)
                );
            }
        }
        out.push_str(
            "# HELP tollgate_http_request_duration_seconds HTTP request latency by route.\n",
        );
        out.push_str("# TYPE tollgate_http_request_duration_seconds histogram\n");
        for (route, stats) in &inner.routes {
            let histogram = &stats.latency;
            let route = escape(route);
            for (bucket, count) in BUCKETS.iter().zip(histogram.counts.iter()) {
                let _ = writeln!(
                    out,
                    "tollgate_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bucket}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "tollgate_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                histogram.count
            );
            let _ = writeln!(
                out,
                "tollgate_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                histogram.sum
            );
            let _ = writeln!(
                out,
                "tollgate_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                histogram.count
            );
        }
        for (name, labels) in &inner.counters {
            let _ = writeln!(out, "# TYPE {name} counter");
            for (label, count) in labels {
                let _ = writeln!(out, "{name}{{reason=\"{}\"}} {count}", escape(label));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms() {
        let metrics = Metrics::default();
        metrics.observe(
            "/public/v1/accounts/api-tokens",
            "GET",
            200,
            Duration::from_millis(3),
        );
        metrics.observe(
            "/public/v1/accounts/api-tokens",
            "GET",
            200,
            Duration::from_millis(30),
        );
        metrics.count("tollgate_refusals_total", "unknown-token");
        for method in ["FOO", "BAR", "get", "PROPFIND"] {
            metrics.observe(UNMATCHED, method, 404, Duration::from_millis(1));
        }
        let text = metrics.render();
        assert!(text.contains(
            "tollgate_http_requests_total{route=\"(unmatched)\",method=\"other\",status=\"404\"} 4"
        ));
        assert!(!text.contains("FOO") && !text.contains("PROPFIND"));
        assert!(text.contains("tollgate_http_requests_total{route=\"/public/v1/accounts/api-tokens\",method=\"GET\",status=\"200\"} 2"));
        assert!(text.contains("tollgate_http_request_duration_seconds_bucket{route=\"/public/v1/accounts/api-tokens\",le=\"0.005\"} 1"));
        assert!(text.contains("tollgate_http_request_duration_seconds_count{route=\"/public/v1/accounts/api-tokens\"} 2"));
        assert!(text.contains("tollgate_refusals_total{reason=\"unknown-token\"} 1"));
    }
}
