//! Accounts and users (SPEC §1).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::id::{AccountId, UserId};
use crate::module::ModuleSet;
use crate::values::DisplayName;

/// The kind of tenant. Stored and sent as its name; never renumbered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum AccountType {
    /// A buyer on the marketplace.
    Client,
    /// A seller on the marketplace.
    Vendor,
    /// The platform's own operators.
    Operations,
}

impl AccountType {
    /// Every account type, in a fixed order.
    pub const ALL: [Self; 3] = [Self::Client, Self::Vendor, Self::Operations];

    /// The name used by the REST API and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Client => "Client",
            Self::Vendor => "Vendor",
            Self::Operations => "Operations",
        }
    }

    /// Parses the REST name (`Client`) or the CLI spelling (`client`).
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str().eq_ignore_ascii_case(text))
    }
}

impl fmt::Display for AccountType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AccountType {
    type Err = UnknownVariant;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text).ok_or(UnknownVariant {
            what: "account type",
            expected: "Client, Vendor or Operations",
        })
    }
}

/// A name that is not one of a closed set of values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what}: expected {expected}")]
pub struct UnknownVariant {
    /// What was being parsed.
    pub what: &'static str,
    /// The accepted values.
    pub expected: &'static str,
}

/// Whether an account may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AccountStatus {
    /// Its users and tokens work.
    Active,
    /// Nobody from it signs in and none of its tokens authenticate.
    Disabled,
}

impl AccountStatus {
    /// The name used by the REST API and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "Active",
            Self::Disabled => "Disabled",
        }
    }

    /// Parses `Active`/`active` or `Disabled`/`disabled`.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Active, Self::Disabled]
            .into_iter()
            .find(|status| status.as_str().eq_ignore_ascii_case(text))
    }
}

impl fmt::Display for AccountStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A tenant with the modules enabled for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Its id.
    pub id: AccountId,
    /// Its display name.
    pub name: DisplayName,
    /// Client, Vendor or Operations.
    pub account_type: AccountType,
    /// Active or Disabled.
    pub status: AccountStatus,
    /// The modules its tokens may be given.
    pub modules: ModuleSet,
    /// Its rules for token lifetimes (set by the operator).
    pub token_policy: crate::lifetime::TokenPolicy,
}

/// A person in one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Its id.
    pub id: UserId,
    /// The account it belongs to.
    pub account_id: AccountId,
    /// Its display name, shown in audit records.
    pub name: DisplayName,
    /// Account administrators manage the account's API tokens.
    pub admin: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_types_parse_both_spellings() {
        assert_eq!(AccountType::parse("client"), Some(AccountType::Client));
        assert_eq!(
            AccountType::parse("Operations"),
            Some(AccountType::Operations)
        );
        assert_eq!(AccountType::parse("VENDOR"), Some(AccountType::Vendor));
        assert_eq!(AccountType::parse("admin"), None);
        assert_eq!(
            AccountStatus::parse("disabled"),
            Some(AccountStatus::Disabled)
        );
        assert_eq!(AccountStatus::parse("Deleted"), None);
    }
}
