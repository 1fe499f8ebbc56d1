//! The page templates. maud escapes every interpolation, so nothing a user types can add markup;
//! no template carries inline script or style (the CSP forbids both).

use std::collections::BTreeMap;

use time::OffsetDateTime;
use tollgate_domain::lifetime::TokenPolicy;

mod audit;
mod components;
mod details;
mod frame;
mod list;
mod token_form;

pub use audit::{audit_page, audit_table};
pub use components::{actions, avatar, badge, notice, when};
pub(super) use components::{described_by, field_errors, secret_field};
pub use details::{DetailsView, Tab, details_page};
pub use frame::{bare, layout, message_page, sign_in_page};
pub use list::{ListState, list_page};
pub use token_form::{TokenForm, confirm_page, created_page, edit_form, edit_page, wizard_page};

/// Field errors by form field (`name`, `description`, `modules`, `logo`, `form`).
pub type Errors = BTreeMap<String, Vec<String>>;

/// The signed-in person, for the page header. `Debug` leaves out the CSRF token.
#[derive(Clone)]
pub struct Who {
    /// Display name.
    pub name: String,
    /// `USR-…`.
    pub id: String,
    /// Account name.
    pub account: String,
    /// The session's CSRF token.
    pub csrf: String,
    /// The account's token lifetime policy (for the Expiration fields).
    pub token_policy: TokenPolicy,
    /// When the page is made (expiry warnings, the Expiration choices' dates).
    pub now: OffsetDateTime,
}

impl std::fmt::Debug for Who {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Who")
            .field("name", &self.name)
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Which section the page belongs to (for the navigation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// API tokens.
    Tokens,
    /// Audit trail.
    Audit,
}
