//! The deployment files: the systemd unit through `systemd-analyze verify` and `security`, the
//! Dockerfile through hadolint and what it ships, the licences.

use std::process::Command;

use crate::server::{R, repository};
use crate::tools::{hadolint, systemd_analyze};

#[test]
fn the_systemd_unit_verifies_and_is_hardened() -> R<()> {
    let unit = std::fs::read_to_string(repository().join("deploy/tollgate.service"))?;
    for directive in [
        "ExecStart=/usr/local/bin/tollgate serve\n",
        "ExecReload=/bin/kill -HUP $MAINPID\n",
        "DynamicUser=yes\n",
        "StateDirectory=tollgate\n",
        "ProtectSystem=strict\n",
        "ProtectHome=yes\n",
        "NoNewPrivileges=yes\n",
        "PrivateTmp=yes\n",
        "PrivateDevices=yes\n",
        "CapabilityBoundingSet=CAP_NET_BIND_SERVICE\n",
    ] {
        assert!(unit.contains(directive), "no {directive:?} in the unit");
    }
    // The unit as shipped, but for where the binary is.
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("tollgate.service");
    std::fs::write(
        &path,
        unit.replace(
            "ExecStart=/usr/local/bin/tollgate ",
            &format!("ExecStart={} ", env!("CARGO_BIN_EXE_tollgate")),
        ),
    )?;
    let analyze = systemd_analyze()?;
    // --man=no: tollgate(1) is `tollgate man`'s output, not installed here.
    let verify = Command::new(&analyze)
        .args(["verify", "--man=no"])
        .arg(&path)
        .output()?;
    let said = String::from_utf8_lossy(&verify.stderr);
    assert!(
        verify.status.success() && said.trim().is_empty(),
        "systemd-analyze verify: {said}"
    );
    // An exposure of at most 2.5 of 10 (systemd calls up to 3.9 "OK").
    let security = Command::new(&analyze)
        .args(["security", "--offline=yes", "--threshold=25"])
        .arg(&path)
        .output()?;
    assert!(
        security.status.success(),
        "systemd-analyze security: {}{}",
        String::from_utf8_lossy(&security.stdout),
        String::from_utf8_lossy(&security.stderr)
    );
    Ok(())
}

#[test]
fn the_dockerfile_passes_hadolint_and_ships_only_the_binary_as_an_unprivileged_user() -> R<()> {
    let path = repository().join("Dockerfile");
    let lint = Command::new(hadolint()?)
        .arg("--no-color")
        .arg(&path)
        .output()?;
    assert!(
        lint.status.success(),
        "hadolint: {}{}",
        String::from_utf8_lossy(&lint.stdout),
        String::from_utf8_lossy(&lint.stderr)
    );
    let text = std::fs::read_to_string(&path)?;
    // Instructions, continuation lines joined.
    let joined = text.replace("\\\n", " ");
    let instructions: Vec<&str> = joined
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect();
    let stages: Vec<usize> = instructions
        .iter()
        .enumerate()
        .filter(|(_, line)| line.starts_with("FROM "))
        .map(|(at, _)| at)
        .collect();
    assert!(stages.len() >= 2, "not a multi-stage build");
    assert!(
        instructions[stages[0]].ends_with(" AS build"),
        "{}",
        instructions[stages[0]]
    );
    let last = &instructions[stages[stages.len() - 1]..];
    let copies: Vec<&&str> = last
        .iter()
        .filter(|line| line.starts_with("COPY "))
        .collect();
    assert!(
        copies
            .iter()
            .all(|line| line.starts_with("COPY --from=build ")),
        "the image copies more than the build's output: {copies:?}"
    );
    assert!(
        copies
            .iter()
            .any(|line| line.ends_with(" /out/tollgate /usr/local/bin/tollgate")),
        "{copies:?}"
    );
    assert!(
        !last.iter().any(|line| line.starts_with("RUN ")),
        "the image runs commands"
    );
    let user = last
        .iter()
        .find_map(|line| line.strip_prefix("USER "))
        .ok_or("no USER in the image")?;
    assert!(
        !["root", "0", "0:0"].contains(&user.trim()),
        "runs as {user}"
    );
    let healthcheck = last
        .iter()
        .find(|line| line.starts_with("HEALTHCHECK "))
        .ok_or("no HEALTHCHECK")?;
    assert!(
        healthcheck.contains("CMD [\"/usr/local/bin/tollgate\", \"probe\"]"),
        "{healthcheck}"
    );
    assert!(
        joined.contains("TOLLGATE_METRICS_LISTEN=0.0.0.0:9090"),
        "the probe has nothing to ask"
    );
    let ignore = std::fs::read_to_string(repository().join(".dockerignore"))?;
    for excluded in ["target", ".git", "data"] {
        assert!(
            ignore.lines().any(|line| line == excluded),
            "{excluded} is in the build context"
        );
    }
    Ok(())
}

#[test]
fn the_licences_are_apache_2_or_mit() -> R<()> {
    let root = repository();
    let apache = std::fs::read_to_string(root.join("LICENSE-APACHE"))?;
    assert!(apache.contains("Apache License") && apache.contains("Version 2.0, January 2004"));
    let mit = std::fs::read_to_string(root.join("LICENSE-MIT"))?;
    assert!(mit.contains("Permission is hereby granted, free of charge"));
    let manifest = std::fs::read_to_string(root.join("Cargo.toml"))?;
    assert!(
        manifest.contains("\nlicense = \"Apache-2.0 OR MIT\"\n"),
        "the workspace's licence"
    );
    Ok(())
}
