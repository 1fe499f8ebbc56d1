//! The README's first session, run verbatim (but for the port) against `tollgate serve --demo`
//! started the way `just run` starts it: the default SQLite database in `./data`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn session() -> Result<String, Box<dyn std::error::Error>> {
    let readme = include_str!("../../../README.md");
    let after = readme
        .split("<!-- readme-session -->")
        .nth(1)
        .ok_or("no session marker in README.md")?;
    let block = after
        .split("```sh\n")
        .nth(1)
        .ok_or("no sh block after the marker")?;
    let script = block.split("\n```").next().ok_or("unterminated block")?;
    Ok(script.to_owned())
}

#[test]
fn the_readme_session_works_verbatim() -> TestResult {
    let script = session()?;
    assert!(
        script.contains("https://127.0.0.1:8443"),
        "the session talks to just run's address"
    );
    let dir = tempfile::tempdir()?;
    let mut server = Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(["serve", "--demo"])
        .current_dir(dir.path())
        .env_remove("TOLLGATE_DATABASE_URL")
        .env_remove("TOLLGATE_SECRET_KEY")
        .env_remove("TOLLGATE_DATA_DIR")
        .env("TOLLGATE_LISTEN", "127.0.0.1:0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut reader = BufReader::new(server.stdout.take().ok_or("no stdout")?);
    let started = Instant::now();
    let mut address = None;
    let mut line = String::new();
    while address.is_none() && started.elapsed() < Duration::from_secs(60) {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            break;
        }
        address = line
            .split("listening on https://")
            .nth(1)
            .map(|a| a.trim().to_owned());
    }
    let address = address.ok_or("the server did not start")?;
    let script = script.replace("127.0.0.1:8443", &address);
    let output = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(dir.path())
        .output()?;
    let _ = server.kill();
    let _ = server.wait();
    let stdout = String::from_utf8(output.stdout)?;
    assert!(
        output.status.success(),
        "the session failed: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    for expected in [
        "\"name\":\"CRM robot\"",
        "\"token\":\"idt:TKN-",
        "\"total\":1",
        "\"created\":{\"at\":",
        "\n200\n",
        "\"status\":\"Disabled\"",
        "HTTP/1.1 401 Unauthorized",
        "www-authenticate: Bearer",
        "platform.accounts.api-token.created",
        "platform.accounts.api-token.disabled",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
    Ok(())
}
