//! Request metrics in the Prometheus text format: requests by route, method and status, and a
//! latency histogram by route.

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

#[derive(Debug, Default)]
struct Inner {
    requests: BTreeMap<(String, String, u16), u64>,
    latency: BTreeMap<String, Histogram>,
    counters: BTreeMap<(&'static str, String), u64>,
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

impl Metrics {
    /// Records one request.
    pub fn observe(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        *inner
            .requests
            .entry((route.to_owned(), method.to_owned(), status))
            .or_default() += 1;
        let seconds = elapsed.as_secs_f64();
        let histogram = inner.latency.entry(route.to_owned()).or_default();
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
        if let Ok(mut inner) = self.inner.lock() {
            *inner.counters.entry((name, label.to_owned())).or_default() += 1;
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
        for ((route, method, status), count) in &inner.requests {
            let _ = writeln!(
                out,
                "tollgate_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{status}\"}} {count}",
                escape(route),
                escape(method)
            );
        }
        out.push_str(
            "# HELP tollgate_http_request_duration_seconds HTTP request latency by route.\n",
        );
        out.push_str("# TYPE tollgate_http_request_duration_seconds histogram\n");
        for (route, histogram) in &inner.latency {
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
        let mut last = "";
        for ((name, label), count) in &inner.counters {
            if *name != last {
                let _ = writeln!(out, "# TYPE {name} counter");
                last = name;
            }
            let _ = writeln!(out, "{name}{{reason=\"{}\"}} {count}", escape(label));
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
        let text = metrics.render();
        assert!(text.contains("tollgate_http_requests_total{route=\"/public/v1/accounts/api-tokens\",method=\"GET\",status=\"200\"} 2"));
        assert!(text.contains("tollgate_http_request_duration_seconds_bucket{route=\"/public/v1/accounts/api-tokens\",le=\"0.005\"} 1"));
        assert!(text.contains("tollgate_http_request_duration_seconds_count{route=\"/public/v1/accounts/api-tokens\"} 2"));
        assert!(text.contains("tollgate_refusals_total{reason=\"unknown-token\"} 1"));
    }
}
