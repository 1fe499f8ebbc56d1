//! `tollgate`: the server and the operator CLI. Configuration, logging, wiring; nothing else.

mod cli;
mod commands;
mod config;
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
    let key = setup::server_key(&config)?;
    let keys = key.derive();
    let store = setup::store(&config, &keys)?;
    match cli.command {
        Command::Serve { demo } => serve::serve(&config, keys, store, demo).map(|()| true),
        Command::Migrate => {
            // Opening the store migrated it.
            println!("the database is up to date");
            Ok(true)
        }
        Command::Accounts(command) => commands::accounts(&store, command).map(|()| true),
        Command::Users(command) => commands::users(&store, command).map(|()| true),
        Command::Tokens(command) => {
            commands::tokens(&store, &keys, config.reveal, command).map(|()| true)
        }
        Command::Modules(command) => commands::modules(&store, command).map(|()| true),
        Command::Audit(command) => commands::audit(&store, command),
        Command::TicketKey => {
            println!("{}", key.export_ticket_key().as_str());
            Ok(true)
        }
        Command::LoginUrl { user, base_url } => {
            let user = commands::user_id(&user)?;
            let base = base_url.unwrap_or_else(|| commands::default_base_url(config.listen));
            println!("{}", commands::login_url(&store, &keys, user, &base)?);
            Ok(true)
        }
        Command::Completions { .. } | Command::Man | Command::Probe { .. } => Ok(true),
    }
}
