//! Audit records: the REST shape of SPEC §6, built from domain events.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use tollgate_domain::token::to_millis;
use tollgate_domain::{
    AccountType, AuditId, Change, EventKind, ModuleId, ModuleSet, Principal, Token, TokenEvent,
};

const TIMESTAMP: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// `YYYY-MM-DDTHH:mm:ss.sssZ` in UTC.
pub fn format_timestamp(at: OffsetDateTime) -> String {
    let at = to_millis(at).to_offset(time::UtcOffset::UTC);
    at.format(TIMESTAMP).unwrap_or_default()
}

/// The `type` of every record Tollgate writes.
pub const RECORD_TYPE: &str = "Public";

/// The event key: `platform.accounts.api-token.<action>`.
pub fn event_key(kind: EventKind) -> String {
    format!("platform.accounts.api-token.{}", kind.action())
}

/// An account as records show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRef {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Client, Vendor or Operations.
    #[serde(rename = "type")]
    pub account_type: String,
}

impl AccountRef {
    /// Builds one from its parts.
    pub fn new(id: impl ToString, name: impl Into<String>, account_type: AccountType) -> Self {
        Self {
            id: id.to_string(),
            name: name.into(),
            account_type: account_type.as_str().to_owned(),
        }
    }
}

/// Who did it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActorRecord {
    /// `USR-…`, `TKN-…` or `SYSTEM`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// `User`, `ApiToken` or `System`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The actor's account (absent for Tollgate itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<AccountRef>,
}

/// The object the record is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef {
    /// `TKN-…`.
    pub id: String,
    /// The token's name at the time.
    pub name: String,
    /// Always `ApiToken` here.
    pub object_type: String,
}

/// Where the request came from, as the HTTP layer hands it over (the record shows it as
/// [`RequestRecord`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestInfo {
    /// Client address.
    pub ip: Option<String>,
    /// `User-Agent`.
    pub user_agent: Option<String>,
    /// The trace id of the request.
    pub correlation_id: Option<String>,
}

/// A record's `request`, in the platform's shape: `{"api": {"ip", "userAgent"}, "log":
/// {"correlationId"}}`. Empty parts are omitted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// The API call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<ApiRequest>,
    /// Where to find it in the logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<LogRequest>,
}

/// `request.api`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiRequest {
    /// Client address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// `User-Agent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}

/// `request.log`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogRequest {
    /// The request's trace id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
}

impl RequestRecord {
    fn is_empty(&self) -> bool {
        self.api.is_none() && self.log.is_none()
    }

    /// `request.api.ip`.
    pub fn api_ip(&self) -> Option<&str> {
        self.api.as_ref().and_then(|api| api.ip.as_deref())
    }

    /// `request.api.userAgent`.
    pub fn user_agent(&self) -> Option<&str> {
        self.api.as_ref().and_then(|api| api.user_agent.as_deref())
    }

    /// `request.log.correlationId`.
    pub fn correlation_id(&self) -> Option<&str> {
        self.log
            .as_ref()
            .and_then(|log| log.correlation_id.as_deref())
    }
}

impl From<RequestInfo> for RequestRecord {
    fn from(info: RequestInfo) -> Self {
        let api = (info.ip.is_some() || info.user_agent.is_some()).then_some(ApiRequest {
            ip: info.ip,
            user_agent: info.user_agent,
        });
        let log = info.correlation_id.map(|id| LogRequest {
            correlation_id: Some(id),
        });
        Self { api, log }
    }
}

/// A module as snapshots show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleRef {
    /// `MOD-…`.
    pub id: String,
    /// Code.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub code: String,
    /// Name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
}

/// The token as it was after the event. Built from the domain `Token`, which holds no secret
/// material, so a snapshot has nowhere to put a value, hash or sealed copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenSnapshot {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Description (omitted when empty).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Status.
    pub status: String,
    /// Owning account id.
    pub account: SnapshotAccount,
    /// Scope.
    pub modules: Vec<ModuleRef>,
    /// Whether an icon is set.
    pub has_icon: bool,
    /// Revision.
    pub revision: u32,
}

/// The owning account in a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotAccount {
    /// Id.
    pub id: String,
}

impl TokenSnapshot {
    /// The snapshot of `token`; `module` names a module id for display.
    pub fn of(token: &Token, module: impl Fn(ModuleId) -> ModuleRef) -> Self {
        let parts = token.parts();
        Self {
            id: parts.id.to_string(),
            name: parts.name.to_string(),
            description: parts.description.to_string(),
            status: parts.status.as_str().to_owned(),
            account: SnapshotAccount {
                id: parts.account_id.to_string(),
            },
            modules: parts.modules.iter().map(module).collect(),
            has_icon: parts.has_icon,
            revision: parts.revision,
        }
    }
}

/// The documents attached to a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Documents {
    /// The token after the event.
    pub token: TokenSnapshot,
}

/// One audit record, in the REST API's shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// `AUD-…`.
    pub id: String,
    /// `platform.accounts.api-token.<action>`.
    pub event: String,
    /// One human sentence.
    pub summary: String,
    /// Changed fields with before/after, or the failure reason. Omitted when empty.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub details: Map<String, Value>,
    /// The token.
    pub object: ObjectRef,
    /// `YYYY-MM-DDTHH:mm:ss.sssZ`.
    pub timestamp: String,
    /// Who.
    pub actor: ActorRecord,
    /// Request details. Omitted when empty.
    #[serde(default, skip_serializing_if = "RequestRecord::is_empty")]
    pub request: RequestRecord,
    /// `Public` (the platform's record type).
    #[serde(rename = "type")]
    pub record_type: String,
    /// Snapshot of the token after the event.
    pub documents: Documents,
    /// The token's revision after the event.
    pub revision: u32,
}

/// Everything a record is built from.
#[derive(Clone)]
pub struct RecordInput<'a> {
    /// A fresh random id.
    pub id: AuditId,
    /// The event.
    pub event: &'a TokenEvent,
    /// The token after the event.
    pub token: &'a Token,
    /// The actor's account (none for Tollgate itself).
    pub actor_account: Option<AccountRef>,
    /// Request details.
    pub request: RequestInfo,
    /// Module display data by id.
    pub module: &'a dyn Fn(ModuleId) -> ModuleRef,
}

impl std::fmt::Debug for RecordInput<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordInput")
            .field("id", &self.id)
            .field("event", &self.event.kind)
            .field("token", &self.token.id())
            .finish_non_exhaustive()
    }
}

fn module_ids(set: &ModuleSet) -> Value {
    Value::Array(set.iter().map(|id| Value::String(id.to_string())).collect())
}

fn details(event: &TokenEvent) -> Map<String, Value> {
    let mut details = Map::new();
    for change in &event.changes {
        let (field, before, after) = match change {
            Change::Name { before, after } => {
                ("name", json!(before.as_str()), json!(after.as_str()))
            }
            Change::Description { before, after } => {
                ("description", json!(before.as_str()), json!(after.as_str()))
            }
            Change::Modules { before, after } => ("modules", module_ids(before), module_ids(after)),
            Change::Status { before, after } => {
                ("status", json!(before.as_str()), json!(after.as_str()))
            }
            Change::Icon { before, after } => ("icon", json!(before), json!(after)),
            Change::ExpiresAt { before, after } => (
                "expiresAt",
                json!(before.map(format_timestamp)),
                json!(after.map(format_timestamp)),
            ),
            Change::SelfRotate { before, after } => ("selfRotate", json!(before), json!(after)),
            Change::Grace { before, after } => (
                "previousValueExpiresAt",
                json!(before.map(format_timestamp)),
                json!(after.map(format_timestamp)),
            ),
            Change::Compromised { before, after } => ("compromised", json!(before), json!(after)),
        };
        details.insert(
            field.to_owned(),
            json!({ "before": before, "after": after }),
        );
    }
    if let EventKind::AuthenticationFailed(reason) = event.kind {
        details.insert("reason".to_owned(), json!(reason.as_str()));
    }
    details
}

fn summary(event: &TokenEvent, token: &Token) -> String {
    let actor = event.by.name();
    let object = format!("API token {} ({})", token.name(), token.id());
    match event.kind {
        EventKind::Created => format!("{actor} created {object}"),
        EventKind::Updated => {
            let fields: Vec<&str> = event
                .changes
                .iter()
                .map(|change| match change {
                    Change::Name { .. } => "name",
                    Change::Description { .. } => "description",
                    Change::Modules { .. } => "modules",
                    Change::Status { .. } => "status",
                    Change::Icon { .. } => "icon",
                    Change::ExpiresAt { .. } => "expiresAt",
                    Change::SelfRotate { .. } => "selfRotate",
                    Change::Grace { .. } => "previousValueExpiresAt",
                    Change::Compromised { .. } => "compromised",
                })
                .collect();
            format!("{actor} updated {object}: {}", fields.join(", "))
        }
        EventKind::Enabled => format!("{actor} enabled {object}"),
        EventKind::Disabled => format!("{actor} disabled {object}"),
        EventKind::Deleted => format!("{actor} deleted {object}"),
        EventKind::Revealed => format!("{actor} revealed the value of {object}"),
        EventKind::IconChanged => {
            let removed = event
                .changes
                .iter()
                .any(|change| matches!(change, Change::Icon { after: false, .. }));
            if removed {
                format!("{actor} removed the icon of {object}")
            } else {
                format!("{actor} changed the icon of {object}")
            }
        }
        EventKind::AuthenticationFailed(reason) => {
            let why = match reason {
                tollgate_domain::FailureReason::WrongSecret => "wrong secret",
                tollgate_domain::FailureReason::Disabled => "the token is disabled",
                tollgate_domain::FailureReason::Deleted => "the token is deleted",
                tollgate_domain::FailureReason::AccountDisabled => "the account is disabled",
                tollgate_domain::FailureReason::RetiredValue => {
                    "a value retired by a rotation was presented"
                }
            };
            format!("Authentication failed for {object}: {why}")
        }
        EventKind::Expired => format!("{object} expired"),
        EventKind::Rotated => {
            let grace = event.changes.iter().find_map(|change| match change {
                Change::Grace { after, .. } => *after,
                _ => None,
            });
            match grace {
                Some(until) => format!(
                    "{actor} rotated {object}; the previous value works until {}",
                    format_timestamp(until)
                ),
                None => format!("{actor} rotated {object}; the previous value was retired at once"),
            }
        }
        EventKind::LeakReported => {
            let grace_ended = event
                .changes
                .iter()
                .any(|change| matches!(change, Change::Grace { after: None, .. }));
            if grace_ended {
                format!(
                    "The previous value of {object} was reported leaked; its grace period ended"
                )
            } else {
                format!("A value of {object} was reported leaked; the token was disabled")
            }
        }
    }
}

impl AuditRecord {
    /// Builds the record of an event.
    pub fn build(input: RecordInput<'_>) -> Self {
        let event = input.event;
        let token = input.token;
        let actor = ActorRecord {
            id: event.by.id_text(),
            name: event.by.name().to_owned(),
            kind: event.by.kind().to_owned(),
            account: match event.by {
                Principal::System => None,
                _ => input.actor_account,
            },
        };
        Self {
            id: input.id.to_string(),
            event: event_key(event.kind),
            summary: summary(event, token),
            details: details(event),
            object: ObjectRef {
                id: token.id().to_string(),
                name: token.name().to_string(),
                object_type: "ApiToken".to_owned(),
            },
            timestamp: format_timestamp(event.at),
            actor,
            request: input.request.into(),
            record_type: RECORD_TYPE.to_owned(),
            documents: Documents {
                token: TokenSnapshot::of(token, input.module),
            },
            revision: event.revision,
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;
    use tollgate_domain::{AccountId, NewToken, TokenDescription, TokenId, TokenName, UserId};

    use super::*;

    fn token() -> (Token, TokenEvent) {
        Token::create(
            NewToken {
                id: TokenId::from_number(12_345_678).unwrap_or_else(|| unreachable!()),
                account_id: AccountId::from_number(1).unwrap_or_else(|| unreachable!()),
                name: TokenName::parse("CRM robot").unwrap_or_else(|_| unreachable!()),
                description: TokenDescription::default(),
                modules: [ModuleId::from_number(1756).unwrap_or_else(|| unreachable!())]
                    .into_iter()
                    .collect(),
                expires_at: None,
                self_rotate: false,
            },
            jane(),
            datetime!(2026-11-28 10:00:00.123456 UTC),
        )
    }

    fn jane() -> Principal {
        Principal::User {
            id: UserId::from_number(11_112_222).unwrap_or_else(|| unreachable!()),
            name: "Jane Doe".into(),
        }
    }

    fn build(token: &Token, event: &TokenEvent) -> AuditRecord {
        AuditRecord::build(RecordInput {
            id: AuditId::from_number(1).unwrap_or_else(|| unreachable!()),
            event,
            token,
            actor_account: Some(AccountRef::new(
                "ACC-0000-0001",
                "Acme",
                AccountType::Client,
            )),
            request: RequestInfo {
                ip: Some("127.0.0.1".into()),
                user_agent: None,
                correlation_id: Some("00-abc-def-00".into()),
            },
            module: &|id| ModuleRef {
                id: id.to_string(),
                code: "access-management".into(),
                name: "Access Management".into(),
            },
        })
    }

    #[test]
    fn summaries_and_details() {
        let (mut token, created) = token();
        let record = build(&token, &created);
        assert_eq!(
            record.summary,
            "Jane Doe created API token CRM robot (TKN-1234-5678)"
        );
        assert_eq!(record.event, "platform.accounts.api-token.created");
        assert_eq!(record.timestamp, "2026-11-28T10:00:00.123Z");
        assert!(record.details.is_empty());
        let disabled = token.disable(jane(), datetime!(2026-11-28 11:00 UTC));
        let Ok(disabled) = disabled else {
            panic!("disable refused")
        };
        let record = build(&token, &disabled);
        assert_eq!(
            record.summary,
            "Jane Doe disabled API token CRM robot (TKN-1234-5678)"
        );
        assert_eq!(
            Value::Object(record.details.clone()),
            json!({"status": {"before": "Active", "after": "Disabled"}})
        );
        assert_eq!(record.revision, 2);
        assert_eq!(record.documents.token.status, "Disabled");
        let failed = token.authentication_failed(
            tollgate_domain::FailureReason::Disabled,
            datetime!(2026-11-28 12:00 UTC),
        );
        let record = build(&token, &failed);
        assert_eq!(
            record.summary,
            "Authentication failed for API token CRM robot (TKN-1234-5678): the token is disabled"
        );
        assert_eq!(record.actor.kind, "ApiToken");
    }

    #[test]
    fn json_shape() -> Result<(), serde_json::Error> {
        let (token, created) = token();
        let record = build(&token, &created);
        let value = serde_json::to_value(&record)?;
        assert_eq!(
            value["object"],
            json!({"id": "TKN-1234-5678", "name": "CRM robot", "objectType": "ApiToken"})
        );
        assert_eq!(value["actor"]["account"]["type"], json!("Client"));
        assert_eq!(
            value["request"],
            json!({"api": {"ip": "127.0.0.1"}, "log": {"correlationId": "00-abc-def-00"}})
        );
        assert_eq!(value["type"], json!("Public"));
        assert!(value.get("details").is_none(), "empty details are omitted");
        let back: AuditRecord = serde_json::from_value(value)?;
        assert_eq!(back, record);
        let (_, canonical) = crate::stored::to_stored(&record)?;
        assert!(
            canonical.starts_with("{\"actor\":{\"account\":"),
            "{canonical}"
        );
        Ok(())
    }

    #[test]
    fn snapshots_have_no_secret_fields() -> Result<(), serde_json::Error> {
        let (token, created) = token();
        let record = build(&token, &created);
        let snapshot = serde_json::to_value(&record.documents.token)?;
        let keys: Vec<&String> = snapshot
            .as_object()
            .map(|o| o.keys().collect())
            .unwrap_or_default();
        assert_eq!(
            keys,
            [
                "account", "hasIcon", "id", "modules", "name", "revision", "status"
            ]
        );
        Ok(())
    }
}
