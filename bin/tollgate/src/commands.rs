//! The operator commands other than `serve`.

use anyhow::{Context as _, anyhow, bail};
use serde_json::{Value, json};
use time::OffsetDateTime;
use tollgate_domain::{
    Account, AccountId, AccountStatus, AccountType, Catalog, DisplayName, Keyring, Keys, Module,
    ModuleId, ModuleSet, NewToken, Principal, TokenDescription, TokenName, TokenValue, User,
    UserId,
};
use tollgate_http::RevealPolicy;
use tollgate_http::dto::{ListDto, ModuleDto, Shape, TokenDto, module_refs};
use tollgate_store::{Context, Store, StoredToken};

use crate::cli::{AccountsCommand, ModulesCommand, TokensCommand, UsersCommand};
use crate::config::Config;

/// Prints one JSON object, or the human text.
pub fn print(json_mode: bool, value: &Value, human: impl FnOnce() -> String) -> anyhow::Result<()> {
    if json_mode {
        println!("{}", serde_json::to_string(value)?);
    } else {
        println!("{}", human());
    }
    Ok(())
}

fn list_value(data: Vec<Value>) -> Value {
    let total = data.len();
    json!({"$meta": {"pagination": {"offset": 0, "limit": total, "total": total}}, "data": data})
}

fn account_value(account: &Account, catalog: &Catalog) -> Value {
    json!({
        "id": account.id.to_string(),
        "name": account.name.as_str(),
        "type": account.account_type.as_str(),
        "status": account.status.as_str(),
        "modules": module_refs(&account.modules, catalog),
        "tokenPolicy": {
            "maxLifetimeDays": account.token_policy.max_lifetime_days,
            "requireExpiry": account.token_policy.require_expiry,
        },
    })
}

fn user_value(user: &User) -> Value {
    json!({
        "id": user.id.to_string(),
        "name": user.name.as_str(),
        "admin": user.admin,
        "account": {"id": user.account_id.to_string()},
    })
}

/// Module codes → a module set, every code checked against the catalog.
fn modules_by_code(catalog: &Catalog, codes: &[String]) -> anyhow::Result<ModuleSet> {
    codes
        .iter()
        .map(|code| code.trim())
        .filter(|code| !code.is_empty())
        .map(|code| {
            catalog
                .by_code(code)
                .map(|module| module.id)
                .ok_or_else(|| anyhow!("unknown module code {code:?}; see `tollgate modules list`"))
        })
        .collect()
}

pub fn account_id(text: &str) -> anyhow::Result<AccountId> {
    AccountId::parse(text).map_err(|error| anyhow!("{text:?}: {error}"))
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// `tollgate accounts …`.
pub fn accounts(store: &Store, command: AccountsCommand) -> anyhow::Result<()> {
    let catalog = store.catalog()?;
    match command {
        AccountsCommand::Create {
            name,
            account_type,
            modules,
            json,
        } => {
            let kind = AccountType::parse(&account_type).ok_or_else(|| {
                anyhow!("--type {account_type:?} must be client, vendor or operations")
            })?;
            let name = DisplayName::parse("--name", &name)?;
            let modules = match modules {
                Some(codes) => modules_by_code(&catalog, &codes)?,
                None => catalog.allowed_for(kind),
            };
            for id in modules.iter() {
                if let Some(module) = catalog.get(id)
                    && !module.account_types.contains(kind)
                {
                    bail!("module {} is not available to {kind} accounts", module.code);
                }
            }
            let account = store.create_account(&name, kind, &modules, now())?;
            print(json.json, &account_value(&account, &catalog), || {
                format!(
                    "created account {} ({}, {})",
                    account.id, account.name, account.account_type
                )
            })
        }
        AccountsCommand::List { json } => {
            let accounts = store.accounts()?;
            let value = list_value(
                accounts
                    .iter()
                    .map(|a| account_value(a, &catalog))
                    .collect(),
            );
            print(json.json, &value, || {
                accounts
                    .iter()
                    .map(|a| {
                        format!(
                            "{}  {:<10} {:<8} {}",
                            a.id, a.account_type, a.status, a.name
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        AccountsCommand::SetModules {
            account,
            modules,
            json,
        } => {
            let id = account_id(&account)?;
            let existing = store
                .account(id)?
                .ok_or_else(|| anyhow!("account {id} not found"))?;
            let modules = modules_by_code(&catalog, &modules)?;
            for module in modules.iter() {
                if let Some(entry) = catalog.get(module)
                    && !entry.account_types.contains(existing.account_type)
                {
                    bail!(
                        "module {} is not available to {} accounts",
                        entry.code,
                        existing.account_type
                    );
                }
            }
            let account = store.set_account_modules(id, &modules, &Context::system(now()))?;
            print(json.json, &account_value(&account, &catalog), || {
                format!(
                    "account {} now has {} modules",
                    account.id,
                    account.modules.len()
                )
            })
        }
        AccountsCommand::SetStatus {
            account,
            status,
            json,
        } => {
            let id = account_id(&account)?;
            let status = AccountStatus::parse(&status)
                .ok_or_else(|| anyhow!("status {status:?} must be active or disabled"))?;
            let account = store.set_account_status(id, status)?;
            print(json.json, &account_value(&account, &catalog), || {
                format!("account {} is {}", account.id, account.status)
            })
        }
        AccountsCommand::SetPolicy {
            account,
            max_token_lifetime_days,
            require_expiry,
            json,
        } => {
            let id = account_id(&account)?;
            let max_lifetime_days = match max_token_lifetime_days.trim() {
                "none" => None,
                days => Some(days.parse::<u32>().ok().filter(|days| *days > 0).ok_or_else(|| {
                    anyhow!("--max-token-lifetime-days {days:?} must be a number of days (1 or more) or none")
                })?),
            };
            let policy = tollgate_domain::TokenPolicy {
                max_lifetime_days,
                require_expiry,
            };
            let account = store.set_account_policy(id, policy)?;
            print(json.json, &account_value(&account, &catalog), || {
                format!(
                    "account {}: tokens live at most {}{}",
                    account.id,
                    max_lifetime_days
                        .map_or("without limit".to_owned(), |days| format!("{days} days")),
                    if require_expiry {
                        ", and must expire"
                    } else {
                        ""
                    }
                )
            })
        }
    }
}

/// `tollgate users …`.
pub fn users(store: &Store, command: UsersCommand) -> anyhow::Result<()> {
    match command {
        UsersCommand::Create {
            account,
            name,
            admin,
            json,
        } => {
            let user = store.create_user(
                account_id(&account)?,
                &DisplayName::parse("--name", &name)?,
                admin,
                now(),
            )?;
            print(json.json, &user_value(&user), || {
                format!(
                    "created user {} ({}){}",
                    user.id,
                    user.name,
                    if user.admin { ", administrator" } else { "" }
                )
            })
        }
        UsersCommand::List { account, json } => {
            let account = account.as_deref().map(account_id).transpose()?;
            let users = store.users(account)?;
            let value = list_value(users.iter().map(user_value).collect());
            print(json.json, &value, || {
                users
                    .iter()
                    .map(|u| {
                        format!(
                            "{}  {}  {}{}",
                            u.id,
                            u.account_id,
                            u.name,
                            if u.admin { " (admin)" } else { "" }
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
    }
}

/// Creates a token as `actor` and returns it with its value (used by `tokens create` and the
/// demo): the operator's create, through the use cases' own writing of a token
/// ([`tollgate_app::App::write_token`]). The running servers hear of it through the change feed.
pub fn create_token(
    store: &Store,
    reveal: RevealPolicy,
    account: AccountId,
    name: &str,
    modules: ModuleSet,
    actor: Principal,
) -> anyhow::Result<(StoredToken, TokenValue)> {
    let name = TokenName::parse(name).map_err(|error| anyhow!("--name: {error}"))?;
    let ctx = Context {
        actor,
        ..Context::system(now())
    };
    let app = tollgate_app::App {
        store: store.clone(),
        keys: store.keyring(),
        reveal,
        gate: None,
    };
    Ok(app.write_token(&ctx, account, |id| NewToken {
        id,
        account_id: account,
        name: name.clone(),
        description: TokenDescription::default(),
        modules: modules.clone(),
        expires_at: None,
        self_rotate: false,
    })?)
}

/// `tollgate tokens …`.
pub fn tokens(store: &Store, reveal: RevealPolicy, command: TokensCommand) -> anyhow::Result<()> {
    let TokensCommand::Create {
        account,
        name,
        modules,
        created_by,
        json,
    } = command;
    let catalog = store.catalog()?;
    let account = store
        .account(account_id(&account)?)?
        .ok_or_else(|| anyhow!("account {account} not found"))?;
    let modules = modules_by_code(&catalog, &modules)?;
    let requested: Vec<ModuleId> = modules.iter().collect();
    catalog
        .validate_scope(&requested, account.account_type, &account.modules)
        .map_err(|errors| anyhow!("--modules: {errors}"))?;
    let actor = match created_by {
        Some(user) => {
            let id =
                UserId::parse(&user).map_err(|error| anyhow!("--created-by {user:?}: {error}"))?;
            let user = store
                .user(id)?
                .ok_or_else(|| anyhow!("user {id} not found"))?;
            if user.account_id != account.id {
                bail!("user {id} belongs to another account");
            }
            Principal::User {
                id,
                name: user.name.to_string(),
            }
        }
        None => Principal::System,
    };
    let (stored, value) = create_token(store, reveal, account.id, &name, modules, actor)?;
    let dto = TokenDto::of(
        &stored,
        &catalog,
        Shape::default(),
        Some(value.expose_secret().to_owned()),
    );
    print(json.json, &serde_json::to_value(&dto)?, || {
        format!(
            "created API token {} ({}); its value, shown once:\n{}",
            dto.id,
            dto.name,
            value.expose_secret()
        )
    })
}

/// `tollgate modules …`.
pub fn modules(store: &Store, command: ModulesCommand) -> anyhow::Result<()> {
    match command {
        ModulesCommand::List { json } => {
            let catalog = store.catalog()?;
            let list: Vec<ModuleDto> = catalog.modules().iter().map(ModuleDto::of).collect();
            let total = list.len() as u64;
            let value = serde_json::to_value(ListDto::new(
                list,
                tollgate_domain::query::Page::new(0, total),
                total,
            ))?;
            print(json.json, &value, || {
                catalog
                    .modules()
                    .iter()
                    .map(|m| {
                        let kinds: Vec<&str> =
                            m.account_types.iter().map(AccountType::as_str).collect();
                        format!(
                            "{}  {:<28} {:<30} {}",
                            m.id,
                            m.code,
                            kinds.join(","),
                            m.paths
                                .iter()
                                .map(ToString::to_string)
                                .collect::<Vec<_>>()
                                .join(",")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        ModulesCommand::Upsert {
            id,
            code,
            name,
            account_types,
            paths,
            description,
            json,
        } => {
            let id = ModuleId::parse(&id).map_err(|error| anyhow!("--id {id:?}: {error}"))?;
            let kinds = account_types
                .iter()
                .map(|kind| {
                    AccountType::parse(kind.trim()).ok_or_else(|| {
                        anyhow!("--account-types: {kind:?} must be Client, Vendor or Operations")
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let paths: Vec<&str> = paths
                .iter()
                .map(|p| p.trim())
                .filter(|p| !p.is_empty())
                .collect();
            let module = Module::new(id, &code, &name, &description, &kinds, &paths)
                .map_err(|errors| anyhow!("{errors}"))?;
            store.upsert_module(&module).context("saving the module")?;
            print(
                json.json,
                &serde_json::to_value(ModuleDto::of(&module))?,
                || format!("saved module {} ({})", module.id, module.code),
            )
        }
    }
}

/// `tollgate migrate --check`: whether migrations are pending (the keys are checked too);
/// changes nothing.
pub fn migrate_check(config: &Config, keys: Keyring) -> anyhow::Result<bool> {
    let check = Store::check(&config.database_url, keys)?;
    if check.pending.is_empty() {
        println!("the database is up to date");
        return Ok(true);
    }
    println!(
        "{} migrations are pending (run `tollgate migrate`):",
        check.pending.len()
    );
    for name in &check.pending {
        println!("  {name}");
    }
    Ok(false)
}

/// A user id from the command line.
pub fn user_id(text: &str) -> anyhow::Result<UserId> {
    UserId::parse(text).map_err(|error| anyhow!("{text:?}: {error}"))
}

/// `https://<listen address>`, with `localhost` for an unspecified address.
pub fn default_base_url(listen: std::net::SocketAddr) -> String {
    if listen.ip().is_unspecified() || listen.ip().is_loopback() {
        format!("https://localhost:{}", listen.port())
    } else {
        format!("https://{listen}")
    }
}

/// `tollgate login-url`: a single-use sign-in link for an administrator of an Active account,
/// valid for ten minutes.
pub fn login_url(
    store: &Store,
    keys: &Keys,
    user: UserId,
    base_url: &str,
) -> anyhow::Result<String> {
    let found = store
        .user(user)?
        .ok_or_else(|| anyhow!("no user {user}; see `tollgate users list`"))?;
    let account = store
        .account(found.account_id)?
        .ok_or_else(|| anyhow!("the account of {user} does not exist"))?;
    if !found.admin {
        bail!(
            "{user} ({}) is not an account administrator; only administrators sign in",
            found.name
        );
    }
    if account.status != AccountStatus::Active {
        bail!(
            "the account {} ({}) is disabled; its administrators cannot sign in",
            account.id,
            account.name
        );
    }
    let base = base_url.trim_end_matches('/');
    if !(base.starts_with("https://") || base.starts_with("http://")) {
        bail!("--base-url must start with https:// (for example https://tollgate.example.com)");
    }
    let ticket = tollgate_domain::ticket::Ticket::mint(
        &keys.ticket,
        user,
        now(),
        tollgate_domain::ticket::MAX_TICKET_LIFETIME,
        &mut rand::rngs::OsRng,
    );
    Ok(format!("{base}/sign-in?ticket={ticket}"))
}
