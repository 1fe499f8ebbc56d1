//! The REST API's JSON shapes (SPEC §5): token objects, module objects, list envelopes, and
//! request bodies (which refuse unknown fields).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tollgate_audit::format_timestamp;
use tollgate_domain::query::{ListPage, Page};
use tollgate_domain::{Catalog, Module, ModuleSet, Principal, Stamp, Token};
use tollgate_store::{AccountSummary, StoredToken};

/// `{"id", "name"}` of whoever did something.
#[derive(Debug, Clone, Serialize)]
pub struct ByDto {
    /// `USR-…`, `TKN-…` or `SYSTEM`.
    pub id: String,
    /// Display name.
    pub name: String,
}

/// `{"at", "by"}`.
#[derive(Debug, Clone, Serialize)]
pub struct StampDto {
    /// When.
    pub at: String,
    /// Who.
    pub by: ByDto,
}

fn stamp(stamp: &Stamp) -> StampDto {
    StampDto {
        at: format_timestamp(stamp.at),
        by: ByDto {
            id: stamp.by.id_text(),
            name: match &stamp.by {
                Principal::System => "Tollgate".to_owned(),
                other => other.name().to_owned(),
            },
        },
    }
}

/// The token's `audit` object: its latest lifecycle events.
#[derive(Debug, Clone, Serialize)]
pub struct AuditDto {
    /// Creation.
    pub created: StampDto,
    /// Latest edit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated: Option<StampDto>,
    /// Latest enable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<StampDto>,
    /// Latest disable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled: Option<StampDto>,
    /// Delete.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted: Option<StampDto>,
}

/// An account inside a token object.
#[derive(Debug, Clone, Serialize)]
pub struct AccountDto {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Type.
    #[serde(rename = "type")]
    pub account_type: &'static str,
    /// Status.
    pub status: &'static str,
}

impl AccountDto {
    /// From the store's summary.
    pub fn of(account: &AccountSummary) -> Self {
        Self {
            id: account.id.to_string(),
            name: account.name.clone(),
            account_type: account.account_type.as_str(),
            status: account.status.as_str(),
        }
    }
}

/// A module inside a token object.
#[derive(Debug, Clone, Serialize)]
pub struct ModuleRefDto {
    /// Id.
    pub id: String,
    /// Code.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub code: String,
    /// Name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
}

/// `$meta` of an object.
#[derive(Debug, Clone, Serialize)]
pub struct ObjectMeta {
    /// Fields left out unless selected.
    pub omitted: Vec<&'static str>,
}

/// A token object. It may hold the token's value: `Debug` leaves it out.
#[derive(Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenDto {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Description (omitted when empty).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Icon URL (omitted when none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
    /// Status: `Active`, `Disabled`, `Deleted`, or `Expired` (derived: Active past
    /// `expiresAt`).
    pub status: &'static str,
    /// Owning account.
    pub account: AccountDto,
    /// Scope (omitted with `select=-modules`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modules: Option<Vec<ModuleRefDto>>,
    /// Latest authenticated use.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_access_at: Option<String>,
    /// Revision.
    pub revision: u32,
    /// When it stops authenticating (omitted: never).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// May it rotate itself?
    pub self_rotate: bool,
    /// Until when the value before the latest rotation still works (omitted: it does not).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_value_expires_at: Option<String>,
    /// Reported leaked and not rotated since (omitted otherwise).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub compromised: bool,
    /// Latest lifecycle events (with `select=+audit`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit: Option<AuditDto>,
    /// The value (creation, reveal, or a token reading itself).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// What was left out.
    #[serde(rename = "$meta", skip_serializing_if = "Option::is_none")]
    pub meta: Option<ObjectMeta>,
}

impl std::fmt::Debug for TokenDto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenDto")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("status", &self.status)
            .field("account", &self.account)
            .field("revision", &self.revision)
            .field("token", &self.token.as_ref().map(|_| "…"))
            .finish_non_exhaustive()
    }
}

/// How a token object is rendered.
#[derive(Debug, Clone, Copy, Default)]
pub struct Shape {
    /// Include `audit`.
    pub audit: bool,
    /// Leave out `modules`.
    pub without_modules: bool,
}

/// The path of a token's icon.
pub fn icon_path(id: &str) -> String {
    format!("/public/v1/accounts/api-tokens/{id}/icon")
}

/// Module references with codes and names from the catalog.
pub fn module_refs(set: &ModuleSet, catalog: &Catalog) -> Vec<ModuleRefDto> {
    set.iter()
        .map(|id| match catalog.get(id) {
            Some(module) => ModuleRefDto {
                id: id.to_string(),
                code: module.code.to_string(),
                name: module.name.to_string(),
            },
            None => ModuleRefDto {
                id: id.to_string(),
                code: String::new(),
                name: String::new(),
            },
        })
        .collect()
}

impl TokenDto {
    /// Renders a stored token.
    pub fn of(
        stored: &StoredToken,
        catalog: &Catalog,
        shape: Shape,
        value: Option<String>,
    ) -> Self {
        let token: &Token = &stored.token;
        let parts = token.parts();
        let id = parts.id.to_string();
        let milestones = &parts.milestones;
        let now = time::OffsetDateTime::now_utc();
        Self {
            icon: parts.has_icon.then(|| icon_path(&id)),
            id,
            name: parts.name.to_string(),
            description: (!parts.description.is_empty()).then(|| parts.description.to_string()),
            status: token.shown_status(now).as_str(),
            account: AccountDto::of(&stored.account),
            modules: (!shape.without_modules).then(|| module_refs(&parts.modules, catalog)),
            last_access_at: parts.last_access_at.map(format_timestamp),
            revision: parts.revision,
            expires_at: parts.expires_at.map(format_timestamp),
            self_rotate: parts.self_rotate,
            previous_value_expires_at: token.grace_until(now).map(format_timestamp),
            compromised: parts.compromised,
            audit: shape.audit.then(|| AuditDto {
                created: stamp(&milestones.created),
                updated: milestones.updated.as_ref().map(stamp),
                enabled: milestones.enabled.as_ref().map(stamp),
                disabled: milestones.disabled.as_ref().map(stamp),
                deleted: milestones.deleted.as_ref().map(stamp),
            }),
            token: value,
            meta: (!shape.audit).then(|| ObjectMeta {
                omitted: vec!["audit"],
            }),
        }
    }
}

/// A catalog module as `GET /public/v1/accounts/modules` shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModuleDto {
    /// Id.
    pub id: String,
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Description.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Account types that may use it.
    pub account_types: Vec<&'static str>,
    /// Path prefixes it grants under `/public/v1/`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<String>,
}

impl ModuleDto {
    /// From a catalog entry.
    pub fn of(module: &Module) -> Self {
        Self {
            id: module.id.to_string(),
            code: module.code.to_string(),
            name: module.name.to_string(),
            description: module.description.clone(),
            account_types: module
                .account_types
                .iter()
                .map(|kind| kind.as_str())
                .collect(),
            paths: module.paths.iter().map(|p| format!("{p}/")).collect(),
        }
    }
}

/// `pagination` of a list.
#[derive(Debug, Clone, Serialize)]
pub struct Pagination {
    /// Rows skipped.
    pub offset: u64,
    /// The limit applied.
    pub limit: u32,
    /// Rows matching in all.
    pub total: u64,
}

/// `$meta` of a list.
#[derive(Debug, Clone, Serialize)]
pub struct ListMeta {
    /// The page.
    pub pagination: Pagination,
}

/// The list envelope: `{"$meta": {"pagination": {…}}, "data": […]}`.
#[derive(Debug, Clone, Serialize)]
pub struct ListDto<T> {
    /// Page information.
    #[serde(rename = "$meta")]
    pub meta: ListMeta,
    /// The rows.
    pub data: Vec<T>,
}

impl<T> ListDto<T> {
    /// An envelope for `data` from a page with `total`.
    pub fn new(data: Vec<T>, page: Page, total: u64) -> Self {
        Self {
            meta: ListMeta {
                pagination: Pagination {
                    offset: page.offset,
                    limit: page.limit,
                    total,
                },
            },
            data,
        }
    }

    /// An envelope from a store page.
    pub fn from_page<S>(page: &ListPage<S>, render: impl Fn(&S) -> T) -> Self {
        Self::new(
            page.items.iter().map(render).collect(),
            page.page,
            page.total,
        )
    }
}

/// `{"id": "…"}`, tolerating the other fields clients echo back (`code`, `name`, `type`, `status`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdRef {
    /// The id.
    pub id: String,
    /// Echoed, ignored.
    #[serde(default)]
    pub code: Option<Value>,
    /// Echoed, ignored.
    #[serde(default)]
    pub name: Option<Value>,
    /// Echoed, ignored.
    #[serde(default, rename = "type")]
    pub kind: Option<Value>,
    /// Echoed, ignored.
    #[serde(default)]
    pub status: Option<Value>,
}

/// A field that may be left out (`None`), set to `null` (`Some(None)`) or given.
fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// `POST /public/v1/accounts/api-tokens`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateTokenBody {
    /// Required.
    pub name: Option<String>,
    /// Optional.
    pub description: Option<String>,
    /// At least one.
    pub modules: Option<Vec<IdRef>>,
    /// Own account, or any with PAM.
    pub account: Option<IdRef>,
    /// `""` or absent (icons are uploaded separately).
    pub icon: Option<String>,
    /// When it expires (RFC 3339, in the future, within the account's policy).
    pub expires_at: Option<String>,
    /// May it rotate itself (default false).
    pub self_rotate: Option<bool>,
}

/// `PUT /public/v1/accounts/api-tokens/{id}`: partial; read-only fields may be echoed unchanged.
/// A client may echo the token's value: `Debug` leaves it out.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdateTokenBody {
    /// New name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New scope (at least one).
    pub modules: Option<Vec<IdRef>>,
    /// New expiry; `null` clears it.
    #[serde(default, deserialize_with = "nullable")]
    pub expires_at: Option<Option<String>>,
    /// May it rotate itself.
    pub self_rotate: Option<bool>,
    /// Read-only, ignored.
    pub previous_value_expires_at: Option<Value>,
    /// Read-only, ignored.
    pub compromised: Option<Value>,
    /// Expected revision (409 when stale).
    pub revision: Option<u32>,
    /// Echo only.
    pub id: Option<String>,
    /// Echo only.
    pub account: Option<IdRef>,
    /// Echo only.
    pub status: Option<String>,
    /// Echo only.
    pub icon: Option<String>,
    /// Read-only, ignored.
    pub last_access_at: Option<Value>,
    /// Read-only, ignored.
    pub audit: Option<Value>,
    /// The value, as a create response carried it: read-only, ignored.
    pub token: Option<Value>,
    /// Read-only, ignored.
    #[serde(rename = "$meta")]
    pub meta: Option<Value>,
}

impl std::fmt::Debug for UpdateTokenBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpdateTokenBody")
            .field("name", &self.name)
            .field("description", &self.description)
            .field("modules", &self.modules)
            .field("revision", &self.revision)
            .field("id", &self.id)
            .field("token", &self.token.as_ref().map(|_| "…"))
            .finish_non_exhaustive()
    }
}

/// `POST …/api-tokens/{id}/rotate` (no body: no grace).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RotateBody {
    /// How long the previous value keeps working, 0–604800 seconds.
    pub grace_period_seconds: Option<u64>,
    /// Expected revision (409 when stale: a retried request must not retire the value the
    /// client holds).
    pub revision: Option<u32>,
}

/// `{}` for enable and disable.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmptyBody {}

#[cfg(test)]
mod tests {
    use super::*;

    const VALUE: &str =
        "idt:TKN-1234-5678:aaaabbbbccccddddeeeeffffgggghhhhiiiijjjjkkkkllllmmmmnnnn11zzzzzz";

    /// Shapes that carry a token value never print it.
    #[test]
    fn debug_never_prints_a_token_value() -> Result<(), serde_json::Error> {
        let dto = TokenDto {
            id: "TKN-1234-5678".into(),
            name: "robot".into(),
            description: None,
            icon: None,
            status: "Active",
            account: AccountDto {
                id: "ACC-1234-5678".into(),
                name: "Acme".into(),
                account_type: "Client",
                status: "Active",
            },
            modules: None,
            last_access_at: None,
            revision: 1,
            audit: None,
            token: Some(VALUE.into()),
            meta: None,
            expires_at: None,
            self_rotate: false,
            previous_value_expires_at: None,
            compromised: false,
        };
        let body: UpdateTokenBody =
            serde_json::from_value(serde_json::json!({"name": "robot", "token": VALUE}))?;
        for printed in [format!("{dto:?}"), format!("{body:?}"), format!("{dto:#?}")] {
            assert!(!printed.contains("aaaabbbb"), "{printed}");
            assert!(!printed.contains("idt:"), "{printed}");
            assert!(printed.contains("robot"), "{printed}");
        }
        assert!(
            serde_json::to_string(&dto)?.contains(VALUE),
            "the body still carries it"
        );
        Ok(())
    }
}
