//! Logging (env_logger, to stderr, filtered by `RUST_LOG`, default `info`), in one of two
//! formats (`TOLLGATE_LOG_FORMAT`):
//!
//! - `text` (the default): env_logger's own lines.
//! - `json`: one JSON object per line — `time` (RFC 3339, UTC), `level`, `target`, `message`,
//!   and the record's key-values; a request line carries `trace_id`, `method`, `route`
//!   (the route pattern, `(unmatched)` for none), `status` and `duration_ms`.

use std::io::Write as _;

use log::kv::{self, VisitSource};
use serde_json::{Map, Value};

/// The log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// env_logger's text lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

impl LogFormat {
    /// `text` or `json`.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "text" => Some(Self::Text),
            "json" => Some(Self::Json),
            _ => None,
        }
    }

    /// From `TOLLGATE_LOG_FORMAT` (an unknown value is text here; the configuration reports
    /// it).
    fn from_env() -> Self {
        std::env::var("TOLLGATE_LOG_FORMAT")
            .ok()
            .and_then(|text| Self::parse(&text))
            .unwrap_or_default()
    }
}

/// Collects a record's key-values as JSON values.
struct Fields<'a>(&'a mut Map<String, Value>);

impl<'kvs> VisitSource<'kvs> for Fields<'_> {
    fn visit_pair(&mut self, key: kv::Key<'kvs>, value: kv::Value<'kvs>) -> Result<(), kv::Error> {
        let json = if let Some(number) = value.to_u64() {
            Value::from(number)
        } else if let Some(number) = value.to_i64() {
            Value::from(number)
        } else if let Some(number) = value.to_f64() {
            // Three decimals are enough for milliseconds; non-finite numbers become null.
            serde_json::Number::from_f64((number * 1e3).round() / 1e3)
                .map_or(Value::Null, Value::Number)
        } else if let Some(flag) = value.to_bool() {
            Value::Bool(flag)
        } else if let Some(text) = value.to_borrowed_str() {
            Value::from(text)
        } else {
            Value::from(value.to_string())
        };
        self.0.insert(key.as_str().to_owned(), json);
        Ok(())
    }
}

/// The JSON line of `record`, at `time`.
pub fn json_line(record: &log::Record<'_>, time: time::OffsetDateTime) -> String {
    let mut object = Map::new();
    let time = time
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    object.insert("time".into(), Value::from(time));
    object.insert("level".into(), Value::from(record.level().as_str()));
    object.insert("target".into(), Value::from(record.target()));
    object.insert("message".into(), Value::from(record.args().to_string()));
    // A key-value named like one of the four above does not replace it.
    let mut fields = Map::new();
    let _ = record.key_values().visit(&mut Fields(&mut fields));
    for (key, value) in fields {
        object.entry(key).or_insert(value);
    }
    Value::Object(object).to_string()
}

/// Starts logging to stderr.
pub fn init() {
    let mut builder =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"));
    builder.target(env_logger::Target::Stderr);
    match LogFormat::from_env() {
        LogFormat::Text => {
            // The request line says everything in its message; its key-values are for JSON.
            builder.format_key_values(|_, _| Ok(()));
        }
        LogFormat::Json => {
            builder.format(|out, record| {
                writeln!(
                    out,
                    "{}",
                    json_line(record, time::OffsetDateTime::now_utc())
                )
            });
        }
    }
    builder.init();
}

#[cfg(test)]
mod tests {
    use super::*;

    type R = Result<(), Box<dyn std::error::Error>>;

    #[test]
    fn a_request_line_is_one_json_object_with_its_fields() -> R {
        let kvs: [(&str, kv::Value<'_>); 5] = [
            ("trace_id", kv::Value::from("00-ab-cd-00")),
            ("method", kv::Value::from("GET")),
            ("route", kv::Value::from("/healthz")),
            ("status", kv::Value::from(200u16)),
            ("duration_ms", kv::Value::from(1.23456f64)),
        ];
        let args = format_args!("a \"quoted\"\nline");
        let record = log::Record::builder()
            .args(args)
            .level(log::Level::Info)
            .target("tollgate_http::middleware")
            .key_values(&kvs)
            .build();
        let line = json_line(
            &record,
            time::macros::datetime!(2026-01-02 03:04:05.678 UTC),
        );
        assert!(!line.contains('\n'), "{line}");
        let value: Value = serde_json::from_str(&line)?;
        assert_eq!(value["time"], "2026-01-02T03:04:05.678Z");
        assert_eq!(value["level"], "INFO");
        assert_eq!(value["target"], "tollgate_http::middleware");
        assert_eq!(value["message"], "a \"quoted\"\nline");
        assert_eq!(value["trace_id"], "00-ab-cd-00");
        assert_eq!(value["route"], "/healthz");
        assert_eq!(value["status"], 200);
        assert_eq!(value["duration_ms"], 1.235);
        Ok(())
    }

    #[test]
    fn formats_parse() {
        assert_eq!(LogFormat::parse("JSON"), Some(LogFormat::Json));
        assert_eq!(LogFormat::parse("text"), Some(LogFormat::Text));
        assert_eq!(LogFormat::parse("yaml"), None);
    }
}
