//! Metrics in the Prometheus text format (the `prometheus` crate): requests by route, method
//! and status, a latency histogram by route, refusals, and the gate's families
//! ([`gate`]). Every family has HELP and TYPE, durations are in seconds, counters end in
//! `_total`.
//!
//! Every label takes a bounded set of values whatever clients send: routes are route patterns
//! (unmatched paths are one `(unmatched)` route), methods outside the standard ones are one
//! `other`, statuses are three digits, and reasons are Tollgate's own.
//!
//! Two expositions: [`Exposure::Operator`] (the metrics listener, `TOLLGATE_METRICS_LISTEN`)
//! counts refusals by reason; [`Exposure::Public`] (`/metrics` on the public listener, served
//! only while no metrics listener is configured) counts them without one, since a reason such
//! as `token-deleted` tells an outsider what the 401 body deliberately does not.

pub mod gate;

use std::time::Duration;

use prometheus::{HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry};

use self::gate::GateFamilies;
pub use self::gate::GateSample;

const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// The content type of the exposition.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A family could not be created or registered (a programming error: the names are fixed).
#[derive(Debug, thiserror::Error)]
#[error("registering the metrics: {0}")]
pub struct MetricsError(#[from] prometheus::Error);

/// Which exposition: the operators' (with refusal reasons) or the public one (without).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exposure {
    /// `/metrics` on the public listener: no label says why a token was refused.
    Public,
    /// `/metrics` on the metrics listener: refusals by reason.
    Operator,
}

/// A refusal counted in two families: by reason (operators) and in total (public).
#[derive(Debug, Clone)]
struct Refusals {
    by_reason: IntCounterVec,
    total: IntCounter,
}

impl Refusals {
    fn new(name: &str, help: &str) -> Result<Self, MetricsError> {
        Ok(Self {
            by_reason: IntCounterVec::new(
                Opts::new(name, format!("{help}, by reason.")),
                &["reason"],
            )?,
            total: IntCounter::new(name, format!("{help}."))?,
        })
    }

    fn count(&self, reason: &'static str) {
        self.total.inc();
        if let Ok(counter) = self.by_reason.get_metric_with_label_values(&[reason]) {
            counter.inc();
        }
    }
}

/// The metrics registry.
#[derive(Debug)]
pub struct Metrics {
    public: Registry,
    operator: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    authorize_refusals: Refusals,
    authentication_failures: Refusals,
    gate: GateFamilies,
    /// Scrapes update the gate's families one at a time.
    scrape: std::sync::Mutex<()>,
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
    /// Every family, registered in both expositions (refusal reasons only in the operators').
    pub fn new() -> Result<Self, MetricsError> {
        let requests = IntCounterVec::new(
            Opts::new(
                "tollgate_http_requests_total",
                "HTTP requests by route pattern, method and status.",
            ),
            &["route", "method", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "tollgate_http_request_duration_seconds",
                "HTTP request latency by route pattern, in seconds.",
            )
            .buckets(BUCKETS.to_vec()),
            &["route"],
        )?;
        let authorize_refusals = Refusals::new(
            "tollgate_authorize_refusals_total",
            "Requests /v1/authorize refused",
        )?;
        let authentication_failures = Refusals::new(
            "tollgate_authentication_failures_total",
            "REST API requests whose bearer token was refused",
        )?;
        let gate = GateFamilies::new()?;
        let public = Registry::new();
        let operator = Registry::new();
        for registry in [&public, &operator] {
            registry.register(Box::new(requests.clone()))?;
            registry.register(Box::new(latency.clone()))?;
            gate.register(registry)?;
        }
        public.register(Box::new(authorize_refusals.total.clone()))?;
        public.register(Box::new(authentication_failures.total.clone()))?;
        operator.register(Box::new(authorize_refusals.by_reason.clone()))?;
        operator.register(Box::new(authentication_failures.by_reason.clone()))?;
        Ok(Self {
            public,
            operator,
            requests,
            latency,
            authorize_refusals,
            authentication_failures,
            gate,
            scrape: std::sync::Mutex::new(()),
        })
    }

    /// Records one request (`method` is folded by [`method_label`]). A route already seen
    /// allocates nothing.
    pub fn observe(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        let method = method_label(method);
        let code = actix_web::http::StatusCode::from_u16(status).ok();
        let status = code
            .as_ref()
            .map_or("000", actix_web::http::StatusCode::as_str);
        if let Ok(counter) = self
            .requests
            .get_metric_with_label_values(&[route, method, status])
        {
            counter.inc();
        }
        if let Ok(histogram) = self.latency.get_metric_with_label_values(&[route]) {
            histogram.observe(elapsed.as_secs_f64());
        }
    }

    /// Counts a refusal of `/v1/authorize` (`reason` is a [`RefusalReason`] label or
    /// `unavailable`).
    ///
    /// [`RefusalReason`]: tollgate_domain::authz::RefusalReason
    pub fn authorize_refused(&self, reason: &'static str) {
        self.authorize_refusals.count(reason);
    }

    /// Counts a REST API request whose bearer token was refused.
    pub fn authentication_failed(&self, reason: &'static str) {
        self.authentication_failures.count(reason);
    }

    /// The text exposition, the gate's families set from `gate` first.
    pub fn render(&self, exposure: Exposure, gate: &GateSample) -> String {
        let families = {
            let _one_at_a_time = self.scrape.lock();
            self.gate.update(gate);
            match exposure {
                Exposure::Public => self.public.gather(),
                Exposure::Operator => self.operator.gather(),
            }
        };
        let mut out = String::new();
        if let Err(error) = prometheus::TextEncoder::new().encode_utf8(&families, &mut out) {
            log::error!("encoding the metrics failed: {error}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type R = Result<(), Box<dyn std::error::Error>>;

    fn sample() -> GateSample {
        GateSample {
            regime: 1,
            ready: true,
            ..GateSample::default()
        }
    }

    #[test]
    fn renders_counters_and_histograms() -> R {
        let metrics = Metrics::new()?;
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
        metrics.authorize_refused("unknown-token");
        for method in ["FOO", "BAR", "get", "PROPFIND"] {
            metrics.observe(UNMATCHED, method, 404, Duration::from_millis(1));
        }
        let text = metrics.render(Exposure::Operator, &sample());
        assert!(text.contains(
            "tollgate_http_requests_total{method=\"other\",route=\"(unmatched)\",status=\"404\"} 4"
        ));
        assert!(!text.contains("FOO") && !text.contains("PROPFIND"));
        assert!(text.contains("tollgate_http_requests_total{method=\"GET\",route=\"/public/v1/accounts/api-tokens\",status=\"200\"} 2"));
        assert!(text.contains("tollgate_http_request_duration_seconds_bucket{route=\"/public/v1/accounts/api-tokens\",le=\"0.005\"} 1"));
        assert!(text.contains("tollgate_http_request_duration_seconds_count{route=\"/public/v1/accounts/api-tokens\"} 2"));
        assert!(text.contains("tollgate_authorize_refusals_total{reason=\"unknown-token\"} 1"));
        Ok(())
    }

    #[test]
    fn every_family_has_help_and_type() -> R {
        let metrics = Metrics::new()?;
        metrics.observe("/healthz", "GET", 200, Duration::from_millis(1));
        metrics.authorize_refused("token-deleted");
        metrics.authentication_failed("wrong-secret");
        for exposure in [Exposure::Public, Exposure::Operator] {
            let text = metrics.render(exposure, &sample());
            let families: Vec<&str> = text
                .lines()
                .filter_map(|line| line.strip_prefix("# TYPE "))
                .filter_map(|rest| rest.split(' ').next())
                .collect();
            assert!(families.len() >= 18, "{exposure:?}: {text}");
            for family in families {
                assert!(
                    text.contains(&format!("# HELP {family} ")),
                    "{family} has no HELP"
                );
            }
        }
        Ok(())
    }

    #[test]
    fn the_public_exposition_names_no_refusal_reason() -> R {
        let metrics = Metrics::new()?;
        metrics.authorize_refused("token-deleted");
        metrics.authorize_refused("token-disabled");
        metrics.authentication_failed("wrong-secret");
        let public = metrics.render(Exposure::Public, &sample());
        assert!(!public.contains("reason="), "{public}");
        assert!(!public.contains("token-deleted"), "{public}");
        assert!(
            public.contains("\ntollgate_authorize_refusals_total 2\n"),
            "{public}"
        );
        assert!(
            public.contains("\ntollgate_authentication_failures_total 1\n"),
            "{public}"
        );
        let operator = metrics.render(Exposure::Operator, &sample());
        assert!(operator.contains("tollgate_authorize_refusals_total{reason=\"token-deleted\"} 1"));
        Ok(())
    }
}
