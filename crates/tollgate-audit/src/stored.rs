//! Records as stored. The database keeps each record as the RFC 8785 JSON it was written as,
//! and the chain covers exactly that JSON ([`crate::chain`]). Reading a record maps the shapes
//! of earlier versions to today's, for rendering only; the stored JSON is never rewritten.
//!
//! Shapes so far:
//! 1. Tollgate 0.1: `request` flat (`{"ip", "userAgent", "correlationId"}`), no `type`.
//! 2. Today: `request {api {ip, userAgent}, log {correlationId}}` and `type: "Public"`.

use serde_json::{Map, Value};

use crate::record::{AuditRecord, RECORD_TYPE};

/// A new record as it is stored: its JSON value (what the chain covers) and that value's
/// canonical text (what the database keeps).
pub fn to_stored(record: &AuditRecord) -> Result<(Value, String), serde_json::Error> {
    let value = serde_json::to_value(record)?;
    let text = String::from_utf8(serde_json_canonicalizer::to_vec(&value)?).map_err(|error| {
        <serde_json::Error as serde::ser::Error>::custom(format!("canonical JSON: {error}"))
    })?;
    Ok((value, text))
}

/// A stored record in today's shape.
pub fn render(mut stored: Value) -> Result<AuditRecord, serde_json::Error> {
    upgrade(&mut stored);
    serde_json::from_value(stored)
}

/// Maps an earlier shape to today's, in place; today's shape is left as it is.
fn upgrade(record: &mut Value) {
    let Some(object) = record.as_object_mut() else {
        return;
    };
    if let Some(Value::Object(request)) = object.get_mut("request") {
        let flat = ["ip", "userAgent", "correlationId"]
            .iter()
            .any(|key| request.contains_key(*key));
        if flat {
            let mut api = Map::new();
            let mut log = Map::new();
            for key in ["ip", "userAgent"] {
                if let Some(value) = request.remove(key) {
                    api.insert(key.to_owned(), value);
                }
            }
            if let Some(value) = request.remove("correlationId") {
                log.insert("correlationId".to_owned(), value);
            }
            if !api.is_empty() {
                request.insert("api".to_owned(), Value::Object(api));
            }
            if !log.is_empty() {
                request.insert("log".to_owned(), Value::Object(log));
            }
        }
    }
    object
        .entry("type")
        .or_insert_with(|| Value::String(RECORD_TYPE.to_owned()));
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn flat_requests_are_nested_and_the_type_added() {
        let mut old = json!({"request": {"ip": "10.0.0.1", "correlationId": "00-x-y-00"}});
        upgrade(&mut old);
        assert_eq!(
            old,
            json!({"request": {"api": {"ip": "10.0.0.1"}, "log": {"correlationId": "00-x-y-00"}},
                   "type": "Public"})
        );
        let mut today = json!({"request": {"api": {"userAgent": "curl"}}, "type": "Public"});
        let before = today.clone();
        upgrade(&mut today);
        assert_eq!(today, before, "today's shape is left alone");
        let mut none = json!({});
        upgrade(&mut none);
        assert_eq!(none, json!({"type": "Public"}));
    }
}
