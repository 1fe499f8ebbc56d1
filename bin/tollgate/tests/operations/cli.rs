//! The binary's own operator aids: the commit in `--version`, shell completions and the manual
//! page from the command line's definition, and configuration errors for the new variables.

use std::process::{Command, Output};

use crate::server::{R, command, repository};

fn tollgate(args: &[&str]) -> R<Output> {
    Ok(Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(args)
        .output()?)
}

fn stdout_of(args: &[&str]) -> R<String> {
    let output = tollgate(args)?;
    if !output.status.success() {
        return Err(format!("{args:?}: {}", String::from_utf8_lossy(&output.stderr)).into());
    }
    Ok(String::from_utf8(output.stdout)?)
}

#[test]
fn the_version_names_the_commit() -> R<()> {
    let head = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(repository())
        .output()?;
    // Built outside a git checkout, the binary says so.
    let commit = if head.status.success() {
        String::from_utf8(head.stdout)?.trim().to_owned()
    } else {
        "unknown".to_owned()
    };
    let version = stdout_of(&["--version"])?;
    assert_eq!(
        version.trim(),
        format!("tollgate {} ({commit})", env!("CARGO_PKG_VERSION"))
    );
    Ok(())
}

#[test]
fn completions_and_the_manual_page_come_from_the_command_line() -> R<()> {
    for (shell, marker) in [
        ("bash", "_tollgate()"),
        ("zsh", "#compdef tollgate"),
        ("fish", "complete -c tollgate"),
        ("elvish", "edit:completion:arg-completer[tollgate]"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let script = stdout_of(&["completions", shell])?;
        assert!(script.contains(marker), "{shell}: no {marker:?}");
        for word in ["serve", "login-url", "completions"] {
            assert!(script.contains(word), "{shell}: no {word}");
        }
    }
    let refused = tollgate(&["completions", "tcsh"])?;
    assert!(!refused.status.success());

    let man = stdout_of(&["man"])?;
    assert!(
        man.starts_with(".ie") || man.starts_with(".TH"),
        "{}",
        &man[..man.len().min(200)]
    );
    assert!(man.contains(".TH tollgate 1"), "{man}");
    assert!(
        man.contains(&format!("tollgate {}", env!("CARGO_PKG_VERSION"))),
        "{man}"
    );
    for word in ["SUBCOMMANDS", "serve", "migrate", "login\\-url", "probe"] {
        assert!(man.contains(word), "the manual page has no {word}");
    }
    Ok(())
}

#[test]
fn the_new_variables_are_checked_at_start() -> R<()> {
    let dir = tempfile::tempdir()?;
    for (name, value, expect) in [
        (
            "TOLLGATE_METRICS_LISTEN",
            "everywhere",
            "TOLLGATE_METRICS_LISTEN: \"everywhere\" is not an address:port such as 0.0.0.0:9090",
        ),
        (
            "TOLLGATE_LOG_FORMAT",
            "yaml",
            "TOLLGATE_LOG_FORMAT: \"yaml\" must be text or json",
        ),
    ] {
        let output = command(dir.path(), &[(name, value.to_owned())], &["migrate"]).output()?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{name}={value} was accepted");
        assert!(stderr.contains(expect), "{name}: {stderr}");
    }
    Ok(())
}
