//! `tollgate`: the server and the operator CLI. Configuration, logging, wiring; nothing else.

mod audit;
mod cli;
mod commands;
mod config;
mod keys;
mod logging;
mod manual;
mod probe;
mod reload;
mod serve;
mod setup;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::config::Config;

fn main() -> ExitCode {
    logging::init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("tollgate: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<bool> {
    // What needs no configuration and no database.
    match &cli.command {
        Command::Completions { shell } => return manual::completions(*shell).map(|()| true),
        Command::Man => return manual::man_page().map(|()| true),
        Command::Probe { address } => return probe::probe(address.as_deref()),
        _ => {}
    }
    let config = Config::from_env().map_err(anyhow::Error::msg)?;
    let create = match cli.command {
        Command::Serve { .. } | Command::Migrate { check: false } => setup::Create::Allowed,
        _ => setup::Create::Refused,
    };
    let key = setup::server_key(&config, create)?;
    let ring = setup::keyring(&config, &key)?;
    match cli.command {
        Command::Migrate { check: true } => return commands::migrate_check(&config, ring),
        Command::TicketKey => {
            // Only the key: an identity provider may be given the ticket key of a key that is
            // not current yet (docs/OPERATIONS.md, rotation step 1).
            println!("{}", key.export_ticket_key().as_str());
            return Ok(true);
        }
        _ => {}
    }
    let store = setup::store(&config, &ring, create)?;
    let keys = ring.current().clone();
    match cli.command {
        Command::Serve { demo } => serve::serve(&config, ring, store, demo).map(|()| true),
        Command::Migrate { .. } => {
            // Opening the store migrated it.
            println!("the database is up to date");
            Ok(true)
        }
        Command::Keys(command) => keys::keys(&store, command),
        Command::Accounts(command) => commands::accounts(&store, command).map(|()| true),
        Command::Users(command) => commands::users(&store, command).map(|()| true),
        Command::Tokens(command) => commands::tokens(&store, config.reveal, command).map(|()| true),
        Command::Modules(command) => commands::modules(&store, command).map(|()| true),
        Command::Audit(command) => audit::audit(&store, command),
        // Answered above, without the database.
        Command::TicketKey => Ok(true),
        Command::LoginUrl { user, base_url } => {
            let user = commands::user_id(&user)?;
            let base = base_url.unwrap_or_else(|| commands::default_base_url(config.listen));
            println!("{}", commands::login_url(&store, &keys, user, &base)?);
            Ok(true)
        }
        Command::Completions { .. } | Command::Man | Command::Probe { .. } => Ok(true),
    }
}
