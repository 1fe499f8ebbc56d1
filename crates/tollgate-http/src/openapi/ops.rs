//! How one operation is written: [`Op`], its error responses, JSON success responses and
//! request bodies.

use serde_json::{Map, Value, json};

use super::parameters::json_headers;
use super::{response, schema};

/// What one operation is.
pub(super) struct Op<'a> {
    pub(super) id: &'a str,
    pub(super) tag: &'a str,
    pub(super) summary: &'a str,
    pub(super) description: &'a str,
    pub(super) parameters: Vec<Value>,
    pub(super) body: Option<Value>,
    /// Status code → response (a `$ref` or an inline response).
    pub(super) responses: Vec<(&'a str, Value)>,
    /// No credential needed.
    pub(super) public: bool,
}

impl Op<'_> {
    pub(super) fn build(self) -> Value {
        let mut op = Map::new();
        op.insert("operationId".to_owned(), json!(self.id));
        op.insert("tags".to_owned(), json!([self.tag]));
        op.insert("summary".to_owned(), json!(self.summary));
        if !self.description.is_empty() {
            op.insert("description".to_owned(), json!(self.description));
        }
        if !self.parameters.is_empty() {
            op.insert("parameters".to_owned(), Value::Array(self.parameters));
        }
        if let Some(body) = self.body {
            op.insert("requestBody".to_owned(), body);
        }
        let responses: Map<String, Value> = self
            .responses
            .into_iter()
            .map(|(code, response)| (code.to_owned(), response))
            .collect();
        op.insert("responses".to_owned(), Value::Object(responses));
        if self.public {
            op.insert("security".to_owned(), json!([]));
        }
        Value::Object(op)
    }
}

/// The error responses of an authenticated operation, by status code.
pub(super) fn errors<'a>(codes: &[&'a str]) -> Vec<(&'a str, Value)> {
    codes
        .iter()
        .map(|code| {
            let name = match *code {
                "400" => "BadRequest",
                "401" => "Unauthorized",
                "403" => "Forbidden",
                "404" => "NotFound",
                "405" => "MethodNotAllowed",
                "408" => "RequestTimeout",
                "409" => "Conflict",
                "413" => "PayloadTooLarge",
                "415" => "UnsupportedMediaType",
                "429" => "TooManyRequests",
                _ => "ServiceUnavailable",
            };
            (*code, response(name))
        })
        .collect()
}

/// A JSON success response.
pub(super) fn ok(description: &str, body: &str) -> Value {
    json!({
        "description": description,
        "headers": json_headers(),
        "content": {"application/json": {"schema": schema(body)}}
    })
}

pub(super) fn with<'a>(
    mut first: Vec<(&'a str, Value)>,
    rest: Vec<(&'a str, Value)>,
) -> Vec<(&'a str, Value)> {
    first.extend(rest);
    first
}

pub(super) fn json_body(schema_name: &str, required: bool, description: &str) -> Value {
    json!({
        "required": required,
        "description": description,
        "content": {"application/json": {"schema": schema(schema_name)}}
    })
}
