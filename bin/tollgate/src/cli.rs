//! The command line.

use clap::{Args, Parser, Subcommand};

/// `0.1.0 (<commit>)`: the version and the commit it was built from (`build.rs`).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("TOLLGATE_COMMIT"),
    ")"
);

/// Tollgate: API tokens for the platform's REST API.
///
/// Configuration comes from the environment (TOLLGATE_DATABASE_URL, TOLLGATE_LISTEN,
/// TOLLGATE_SECRET_KEY, …); see docs/CONFIGURATION.md. Every command that touches the database
/// migrates it first; only `serve` and `migrate` create one, and every command refuses a
/// server key that does not fit the database (docs/OPERATIONS.md).
#[derive(Debug, Parser)]
#[command(name = "tollgate", version = VERSION, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (HTTPS REST API, health, metrics).
    Serve {
        /// On an empty database, create a demo account, administrator and token, and print the token.
        #[arg(long)]
        demo: bool,
    },
    /// Run pending database migrations (creating the database when there is none).
    Migrate {
        /// Change nothing: exit with status 1 when migrations are pending (or there is no
        /// database), 0 when it is up to date.
        #[arg(long)]
        check: bool,
    },
    /// The server keys: what depends on each, and rotation (docs/OPERATIONS.md).
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Manage accounts.
    #[command(subcommand)]
    Accounts(AccountsCommand),
    /// Manage users.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Bootstrap API tokens.
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// The module catalog.
    #[command(subcommand)]
    Modules(ModulesCommand),
    /// The audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Print k_ticket (base64), the key an identity provider signs sign-in tickets with
    /// (docs/WEB.md). Keep it as secret as the server key.
    TicketKey,
    /// Print a single-use sign-in link for an account administrator (valid for 10 minutes).
    LoginUrl {
        /// The administrator (USR-dddd-dddd).
        #[arg(long)]
        user: String,
        /// Where the server is reached (default: https://<TOLLGATE_LISTEN>).
        #[arg(long = "base-url")]
        base_url: Option<String>,
    },
    /// Print a shell completion script to stdout (e.g. `tollgate completions bash >
    /// /usr/share/bash-completion/completions/tollgate`).
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) to stdout (e.g. `tollgate man > tollgate.1`).
    Man,
    /// Exit 0 when the metrics listener's /healthz answers 200 (a container's health check).
    Probe {
        /// Where the metrics listener is (default: TOLLGATE_METRICS_LISTEN, an unspecified
        /// address read as loopback).
        #[arg(long)]
        address: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct JsonFlag {
    /// Print exactly one JSON object (the REST API's shapes) and nothing else on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum AccountsCommand {
    /// Create an account; it gets the listed modules (default: every module its type allows).
    Create {
        #[arg(long)]
        name: String,
        /// client, vendor or operations.
        #[arg(long = "type")]
        account_type: String,
        /// Module codes, comma-separated.
        #[arg(long, value_delimiter = ',')]
        modules: Option<Vec<String>>,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// List accounts.
    List {
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Set an account's modules (removed modules are removed from its tokens, with audit records).
    SetModules {
        /// ACC-dddd-dddd.
        account: String,
        /// Module codes, comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        modules: Vec<String>,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Set an account's status.
    SetStatus {
        /// ACC-dddd-dddd.
        account: String,
        /// active or disabled.
        status: String,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Set an account's token lifetime policy (it applies whenever an expiresAt is set; tokens
    /// keep the expiry they have).
    SetPolicy {
        /// ACC-dddd-dddd.
        account: String,
        /// The longest lifetime an expiresAt may give, in days, or `none`.
        #[arg(long)]
        max_token_lifetime_days: String,
        /// Every token must have an expiresAt.
        #[arg(long)]
        require_expiry: bool,
        #[command(flatten)]
        json: JsonFlag,
    },
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Create a user.
    Create {
        /// ACC-dddd-dddd.
        #[arg(long)]
        account: String,
        #[arg(long)]
        name: String,
        /// Make the user an account administrator.
        #[arg(long)]
        admin: bool,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// List users.
    List {
        /// Only this account's users.
        #[arg(long)]
        account: Option<String>,
        #[command(flatten)]
        json: JsonFlag,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Create a token and print its value once.
    Create {
        /// ACC-dddd-dddd.
        #[arg(long)]
        account: String,
        #[arg(long)]
        name: String,
        /// Module codes, comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        modules: Vec<String>,
        /// The user recorded as its creator (default: Tollgate itself).
        #[arg(long)]
        created_by: Option<String>,
        #[command(flatten)]
        json: JsonFlag,
    },
}

#[derive(Debug, Subcommand)]
pub enum ModulesCommand {
    /// List the catalog.
    List {
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Insert or replace a catalog entry.
    Upsert {
        /// MOD-dddd.
        #[arg(long)]
        id: String,
        /// kebab-case code.
        #[arg(long)]
        code: String,
        #[arg(long)]
        name: String,
        /// Client, Vendor, Operations; comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        account_types: Vec<String>,
        /// Path prefixes under /public/v1/, comma-separated (may be empty).
        #[arg(long, value_delimiter = ',', default_value = "")]
        paths: Vec<String>,
        #[arg(long, default_value = "")]
        description: String,
        #[command(flatten)]
        json: JsonFlag,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Verify every account's audit chain, every token's revision against its records, every
    /// row MAC, and kept checkpoints (exit status 0 only if everything is intact).
    Verify {
        /// Only this account.
        #[arg(long)]
        account: Option<String>,
        /// A file of checkpoints kept from `tollgate audit checkpoint`: fails when a chain is
        /// shorter than, or does not pass through, one of them.
        #[arg(long)]
        checkpoint: Option<std::path::PathBuf>,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Print a signed checkpoint of every account's chain head (or one account's), after
    /// verifying the trail; keep it outside the database for `audit verify --checkpoint`.
    Checkpoint {
        /// Only this account.
        #[arg(long)]
        account: Option<String>,
        #[command(flatten)]
        json: JsonFlag,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Show every key the database recorded or the configuration names, and what still
    /// depends on it (tokens, sealed copies, audit records, row MACs, live sessions).
    Status {
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Move to the current key what can be moved: re-hash and re-seal every token that has a
    /// sealed copy, make every row MAC again (exit status 1 if a row was refused).
    Rotate {
        #[command(flatten)]
        json: JsonFlag,
    },
}
