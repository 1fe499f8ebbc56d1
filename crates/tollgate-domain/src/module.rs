//! Modules, the catalog, a token's module set, and the scope rules (SPEC §1, §4, §5).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::account::AccountType;
use crate::id::ModuleId;
use crate::values::{DisplayName, FieldError, ModuleCode, PathPrefix, ValidationErrors};

/// Codes of the modules Tollgate's own rules refer to. Codes are stable; ids are the catalog's.
pub mod codes {
    /// Managing tokens, reading the module list and audit records.
    pub const ACCESS_MANAGEMENT: &str = "access-management";
    /// Reading audit records.
    pub const AUDIT: &str = "audit";
    /// Operations accounts acting across accounts ("PAM").
    pub const PLATFORM_ACCOUNT_MANAGEMENT: &str = "platform-account-management";
}

/// A set of account types, for a module's `accountTypes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AccountTypes(u8);

impl AccountTypes {
    fn bit(kind: AccountType) -> u8 {
        match kind {
            AccountType::Client => 1,
            AccountType::Vendor => 2,
            AccountType::Operations => 4,
        }
    }

    /// The set holding exactly `kinds`.
    pub fn of(kinds: &[AccountType]) -> Self {
        Self(kinds.iter().fold(0, |bits, kind| bits | Self::bit(*kind)))
    }

    /// True when `kind` is in the set.
    pub fn contains(self, kind: AccountType) -> bool {
        self.0 & Self::bit(kind) != 0
    }

    /// The members, in the fixed order Client, Vendor, Operations.
    pub fn iter(self) -> impl Iterator<Item = AccountType> {
        AccountType::ALL
            .into_iter()
            .filter(move |kind| self.contains(*kind))
    }

    /// True when empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// A catalog entry: a permission scope over a part of the REST API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Module {
    /// `MOD-dddd`.
    pub id: ModuleId,
    /// Stable kebab-case code.
    pub code: ModuleCode,
    /// Display name.
    pub name: DisplayName,
    /// What it grants, for people.
    pub description: String,
    /// Which account types may use it.
    pub account_types: AccountTypes,
    /// The API path prefixes under `/public/v1/` it grants (may be empty).
    pub paths: Vec<PathPrefix>,
}

impl Module {
    /// Builds and validates a catalog entry (used by `tollgate modules upsert`).
    pub fn new(
        id: ModuleId,
        code: &str,
        name: &str,
        description: &str,
        account_types: &[AccountType],
        paths: &[&str],
    ) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let code = errors.take(ModuleCode::parse(code));
        let name = errors.take(DisplayName::parse("name", name));
        if description.chars().count() > 2000 {
            errors.push(FieldError::new(
                "description",
                "must be at most 2000 characters",
            ));
        }
        if account_types.is_empty() {
            errors.push(FieldError::new(
                "accountTypes",
                "must list at least one account type",
            ));
        }
        let paths: Vec<PathPrefix> = paths
            .iter()
            .filter_map(|path| errors.take(PathPrefix::parse(path)))
            .collect();
        match (code, name) {
            (Some(code), Some(name)) if errors.is_empty() => Ok(Self {
                id,
                code,
                name,
                description: description.to_owned(),
                account_types: AccountTypes::of(account_types),
                paths,
            }),
            _ => Err(errors),
        }
    }
}

/// A set of module ids (a token's scope, or an account's enabled modules). Kept sorted.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(transparent)]
pub struct ModuleSet(Vec<ModuleId>);

impl ModuleSet {
    /// The empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// True when `id` is a member.
    pub fn contains(&self, id: ModuleId) -> bool {
        self.0.binary_search(&id).is_ok()
    }

    /// Adds `id`; returns false when it was already there.
    pub fn insert(&mut self, id: ModuleId) -> bool {
        match self.0.binary_search(&id) {
            Ok(_) => false,
            Err(at) => {
                self.0.insert(at, id);
                true
            }
        }
    }

    /// Removes `id`; returns false when it was not there.
    pub fn remove(&mut self, id: ModuleId) -> bool {
        match self.0.binary_search(&id) {
            Ok(at) => {
                self.0.remove(at);
                true
            }
            Err(_) => false,
        }
    }

    /// True when every member of `self` is in `other`.
    pub fn is_subset(&self, other: &Self) -> bool {
        self.0.iter().all(|id| other.contains(*id))
    }

    /// The members of `self` not in `other`, in order.
    pub fn difference<'a>(&'a self, other: &'a Self) -> impl Iterator<Item = ModuleId> + 'a {
        self.0.iter().copied().filter(|id| !other.contains(*id))
    }

    /// The members, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = ModuleId> + '_ {
        self.0.iter().copied()
    }

    /// How many members.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromIterator<ModuleId> for ModuleSet {
    fn from_iter<I: IntoIterator<Item = ModuleId>>(iter: I) -> Self {
        let mut ids: Vec<ModuleId> = iter.into_iter().collect();
        ids.sort_unstable();
        ids.dedup();
        Self(ids)
    }
}

/// The ids of the modules Tollgate's rules refer to, as this catalog has them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WellKnown {
    /// `access-management`.
    pub access_management: Option<ModuleId>,
    /// `audit`.
    pub audit: Option<ModuleId>,
    /// `platform-account-management`.
    pub platform_account_management: Option<ModuleId>,
}

impl WellKnown {
    /// True when `set` holds the module with code `access-management`.
    pub fn grants_access_management(&self, set: &ModuleSet) -> bool {
        self.access_management.is_some_and(|id| set.contains(id))
    }

    /// True when `set` holds the module with code `audit`.
    pub fn grants_audit(&self, set: &ModuleSet) -> bool {
        self.audit.is_some_and(|id| set.contains(id))
    }

    /// True when `set` holds `platform-account-management`.
    pub fn grants_pam(&self, set: &ModuleSet) -> bool {
        self.platform_account_management
            .is_some_and(|id| set.contains(id))
    }
}

/// id number, code, name, description, account types, paths.
type DefaultEntry = (
    u64,
    &'static str,
    &'static str,
    &'static str,
    &'static [AccountType],
    &'static [&'static str],
);

/// The module catalog, with its path routing precomputed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalog {
    modules: Vec<Module>,
    /// (module index, prefix index), longest prefix first.
    routes: Vec<(usize, usize)>,
    well_known: WellKnown,
}

/// Why a requested module cannot be in a token's scope (each a 400 naming the module).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeProblem {
    /// No module has this id.
    Unknown(ModuleId),
    /// The module is not available to the account's type.
    NotForAccountType(ModuleId, AccountType),
    /// The module is not enabled for the account.
    NotEnabled(ModuleId),
}

impl Catalog {
    /// A catalog of these modules. Later duplicates of an id replace earlier ones.
    pub fn new(modules: impl IntoIterator<Item = Module>) -> Self {
        let mut by_id: BTreeMap<ModuleId, Module> = BTreeMap::new();
        for module in modules {
            by_id.insert(module.id, module);
        }
        let modules: Vec<Module> = by_id.into_values().collect();
        let mut routes: Vec<(usize, usize)> = modules
            .iter()
            .enumerate()
            .flat_map(|(m, module)| (0..module.paths.len()).map(move |p| (m, p)))
            .collect();
        routes.sort_by_key(|(m, p)| std::cmp::Reverse(modules[*m].paths[*p].segments().len()));
        let id_of = |code: &str| {
            modules
                .iter()
                .find(|module| module.code.as_str() == code)
                .map(|module| module.id)
        };
        let well_known = WellKnown {
            access_management: id_of(codes::ACCESS_MANAGEMENT),
            audit: id_of(codes::AUDIT),
            platform_account_management: id_of(codes::PLATFORM_ACCOUNT_MANAGEMENT),
        };
        Self {
            modules,
            routes,
            well_known,
        }
    }

    /// The default catalog of SPEC §1 (the same one the migrations seed).
    pub fn default_catalog() -> Self {
        use AccountType::{Client, Operations, Vendor};
        const ALL: &[AccountType] = &[Client, Vendor, Operations];
        let entries: [DefaultEntry; 12] = [
            (
                1756,
                codes::ACCESS_MANAGEMENT,
                "Access Management",
                "Users, user groups, API tokens and the account's modules.",
                ALL,
                &[
                    "accounts/users",
                    "accounts/user-groups",
                    "accounts/api-tokens",
                    "accounts/modules",
                ],
            ),
            (
                1101,
                "account-management",
                "Account Management",
                "Accounts, buyers, sellers and licensees.",
                ALL,
                &[
                    "accounts/accounts",
                    "accounts/buyers",
                    "accounts/sellers",
                    "accounts/licensees",
                ],
            ),
            (
                1102,
                "marketplace",
                "Marketplace",
                "Orders, agreements and subscriptions.",
                &[Client, Operations],
                &["commerce/"],
            ),
            (
                1103,
                "catalog",
                "Catalog",
                "Products, items and price lists.",
                &[Vendor, Operations],
                &["catalog/"],
            ),
            (
                1104,
                "billing",
                "Billing",
                "Invoices, statements and journals.",
                ALL,
                &["billing/"],
            ),
            (
                1105,
                "helpdesk",
                "Helpdesk",
                "Support cases and chats.",
                ALL,
                &["helpdesk/"],
            ),
            (
                1106,
                "program",
                "Program",
                "Partner programs and enrollments.",
                &[Vendor, Operations],
                &["program/"],
            ),
            (
                1107,
                codes::AUDIT,
                "Audit",
                "Audit records.",
                ALL,
                &["audit/"],
            ),
            (
                1108,
                "notifications",
                "Notifications",
                "Notification categories and messages.",
                ALL,
                &["notifications/"],
            ),
            (
                1109,
                "spotlight",
                "Spotlight",
                "Spotlight queries and objects.",
                &[Client, Operations],
                &["spotlight/"],
            ),
            (
                1110,
                "collaboration-site",
                "Collaboration Site",
                "Collaboration spaces.",
                ALL,
                &["collaboration/"],
            ),
            (
                1111,
                codes::PLATFORM_ACCOUNT_MANAGEMENT,
                "Platform Account Management",
                "Cross-account access for Operations.",
                &[Operations],
                &[],
            ),
        ];
        Self::new(entries.into_iter().filter_map(
            |(number, code, name, description, kinds, paths)| {
                let id = ModuleId::from_number(number)?;
                Module::new(id, code, name, description, kinds, paths).ok()
            },
        ))
    }

    /// Every module, by id.
    pub fn modules(&self) -> &[Module] {
        &self.modules
    }

    /// The module with this id.
    pub fn get(&self, id: ModuleId) -> Option<&Module> {
        self.modules
            .binary_search_by_key(&id, |module| module.id)
            .ok()
            .map(|at| &self.modules[at])
    }

    /// The module with this code.
    pub fn by_code(&self, code: &str) -> Option<&Module> {
        self.modules
            .iter()
            .find(|module| module.code.as_str() == code)
    }

    /// The ids of the modules Tollgate's own rules refer to.
    pub fn well_known(&self) -> &WellKnown {
        &self.well_known
    }

    /// The module that grants a path under `/public/v1/`, given as its segments: the one with
    /// the longest matching prefix, matched on whole segments.
    ///
    /// ```
    /// use tollgate_domain::Catalog;
    ///
    /// let catalog = Catalog::default_catalog();
    /// let code = |segments: &[&str]| catalog.resolve(segments).map(|m| m.code.to_string());
    /// assert_eq!(code(&["billing", "invoices"]).as_deref(), Some("billing"));
    /// // Whole segments only: `billingx` is not under `billing`.
    /// assert_eq!(code(&["billingx"]), None);
    /// ```
    pub fn resolve(&self, segments: &[&str]) -> Option<&Module> {
        self.routes.iter().find_map(|(m, p)| {
            let module = &self.modules[*m];
            module.paths[*p]
                .matches(segments.iter().copied())
                .then_some(module)
        })
    }

    /// Checks one requested module against the account: it must exist, be available to the
    /// account's type, and be enabled for the account.
    pub fn check_module(
        &self,
        id: ModuleId,
        account_type: AccountType,
        enabled: &ModuleSet,
    ) -> Result<&Module, ScopeProblem> {
        let module = self.get(id).ok_or(ScopeProblem::Unknown(id))?;
        if !module.account_types.contains(account_type) {
            return Err(ScopeProblem::NotForAccountType(id, account_type));
        }
        if !enabled.contains(id) {
            return Err(ScopeProblem::NotEnabled(id));
        }
        Ok(module)
    }

    /// Validates a requested scope (the `modules` field): at least one module, each passing
    /// [`Catalog::check_module`]. Every failure names its module.
    pub fn validate_scope(
        &self,
        requested: &[ModuleId],
        account_type: AccountType,
        enabled: &ModuleSet,
    ) -> Result<ModuleSet, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        if requested.is_empty() {
            errors.push(FieldError::new("modules", "must list at least one module"));
        }
        for id in requested {
            if let Err(problem) = self.check_module(*id, account_type, enabled) {
                errors.push(FieldError::new("modules", self.describe(problem)));
            }
        }
        errors.into_result(requested.iter().copied().collect())
    }

    /// The message for a scope problem, naming the module.
    pub fn describe(&self, problem: ScopeProblem) -> String {
        let label = |id: ModuleId| match self.get(id) {
            Some(module) => format!("{id} ({})", module.code),
            None => id.to_string(),
        };
        match problem {
            ScopeProblem::Unknown(id) => format!("{id} does not exist"),
            ScopeProblem::NotForAccountType(id, kind) => {
                format!("{} is not available to {kind} accounts", label(id))
            }
            ScopeProblem::NotEnabled(id) => {
                format!("{} is not enabled for this account", label(id))
            }
        }
    }

    /// The modules of the catalog that an account of `kind` may use.
    pub fn allowed_for(&self, kind: AccountType) -> ModuleSet {
        self.modules
            .iter()
            .filter(|module| module.account_types.contains(kind))
            .map(|module| module.id)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(number: u64) -> ModuleId {
        ModuleId::from_number(number).unwrap_or_else(|| unreachable!())
    }

    fn check_resolve(path: &str, expect: Option<&str>) {
        let catalog = Catalog::default_catalog();
        let segments: Vec<&str> = path.split('/').collect();
        assert_eq!(
            catalog.resolve(&segments).map(|m| m.code.as_str()),
            expect,
            "{path}"
        );
    }

    #[test]
    fn default_catalog_is_complete() {
        let catalog = Catalog::default_catalog();
        assert_eq!(catalog.modules().len(), 12);
        let known = catalog.well_known();
        assert_eq!(known.access_management, Some(id(1756)));
        assert_eq!(known.audit, Some(id(1107)));
        assert_eq!(known.platform_account_management, Some(id(1111)));
        assert_eq!(catalog.allowed_for(AccountType::Client).len(), 9);
        assert_eq!(catalog.allowed_for(AccountType::Vendor).len(), 9);
        assert_eq!(catalog.allowed_for(AccountType::Operations).len(), 12);
    }

    #[test]
    fn resolve_on_whole_segments() {
        check_resolve("commerce/orders", Some("marketplace"));
        check_resolve("commerce", Some("marketplace"));
        check_resolve("commerce-x/orders", None);
        check_resolve("accounts/api-tokens/TKN-1", Some("access-management"));
        check_resolve("accounts/accounts/ACC-1", Some("account-management"));
        check_resolve("accounts/users-x", None);
        check_resolve("accounts", None);
        check_resolve("billing/invoices", Some("billing"));
        check_resolve("", None);
    }

    #[test]
    fn longest_prefix_wins() {
        let general = Module::new(
            id(1),
            "general",
            "General",
            "",
            &[AccountType::Client],
            &["a"],
        );
        let special = Module::new(
            id(2),
            "special",
            "Special",
            "",
            &[AccountType::Client],
            &["a/b/c"],
        );
        let catalog = Catalog::new([general, special].into_iter().flatten());
        assert_eq!(
            catalog.resolve(&["a", "b", "c", "d"]).map(|m| m.id),
            Some(id(2))
        );
        assert_eq!(catalog.resolve(&["a", "b"]).map(|m| m.id), Some(id(1)));
    }

    #[test]
    fn scope_rules() {
        let catalog = Catalog::default_catalog();
        let enabled: ModuleSet = [id(1756), id(1102), id(1104)].into_iter().collect();
        let check = |requested: &[u64], kind| {
            let requested: Vec<ModuleId> = requested.iter().map(|n| id(*n)).collect();
            catalog
                .validate_scope(&requested, kind, &enabled)
                .map_err(|errors| errors.0.get("modules").cloned().unwrap_or_default())
        };
        assert_eq!(
            check(&[1756, 1104, 1104], AccountType::Client).map(|s| s.len()),
            Ok(2)
        );
        assert_eq!(
            check(&[], AccountType::Client),
            Err(vec!["must list at least one module".to_owned()])
        );
        assert_eq!(
            check(&[9999], AccountType::Client),
            Err(vec!["MOD-9999 does not exist".to_owned()])
        );
        assert_eq!(
            check(&[1103], AccountType::Client),
            Err(vec![
                "MOD-1103 (catalog) is not available to Client accounts".to_owned()
            ])
        );
        assert_eq!(
            check(&[1105], AccountType::Client),
            Err(vec![
                "MOD-1105 (helpdesk) is not enabled for this account".to_owned()
            ])
        );
        assert_eq!(
            check(&[1102], AccountType::Vendor),
            Err(vec![
                "MOD-1102 (marketplace) is not available to Vendor accounts".to_owned()
            ])
        );
    }

    #[test]
    fn module_sets() {
        let mut set: ModuleSet = [id(3), id(1), id(2), id(1)].into_iter().collect();
        assert_eq!(set.len(), 3);
        assert!(!set.insert(id(2)));
        assert!(set.insert(id(4)));
        assert!(set.remove(id(1)));
        assert!(!set.remove(id(1)));
        let small: ModuleSet = [id(2), id(3)].into_iter().collect();
        assert!(small.is_subset(&set));
        assert!(!set.is_subset(&small));
        assert_eq!(set.difference(&small).collect::<Vec<_>>(), vec![id(4)]);
    }

    #[test]
    fn module_validation_collects_errors() {
        let result = Module::new(id(5), "Bad Code", "", "", &[], &["/abs"]);
        let errors = result.err().map(|e| e.0).unwrap_or_default();
        assert_eq!(
            errors.keys().cloned().collect::<Vec<_>>(),
            vec!["accountTypes", "code", "name", "paths"]
        );
    }
}
