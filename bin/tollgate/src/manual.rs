//! Shell completions and the manual page, generated from the command line's definition (so
//! they cannot drift from it).

use std::io::Write as _;

use clap::CommandFactory as _;

use crate::cli::Cli;

/// Writes `shell`'s completion script to stdout.
pub fn completions(shell: clap_complete::Shell) -> anyhow::Result<()> {
    let mut command = Cli::command();
    let mut out = std::io::stdout().lock();
    clap_complete::generate(shell, &mut command, "tollgate", &mut out);
    out.flush()?;
    Ok(())
}

/// Writes the manual page, `tollgate(1)` in roff, to stdout.
pub fn man_page() -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    clap_mangen::Man::new(Cli::command()).render(&mut out)?;
    out.flush()?;
    Ok(())
}
