//! The processes the tests start (Tollgate and the gateways), each in its own process group so
//! that stopping it stops its workers too. They are stopped on `Drop`; because the harness lives
//! in statics (which are never dropped), a watchdog also stops them, and removes the harness's
//! folder, as soon as the test process exits, however it exits.

use std::io::Write as _;
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;

use crate::R;

/// A started process; its whole process group is killed on `Drop`.
#[derive(Debug)]
pub struct Process {
    child: Child,
}

impl Process {
    /// Starts `command` in a process group of its own and tells `watchdog` about it.
    pub fn spawn(command: &mut Command, watchdog: &Watchdog) -> R<Process> {
        let child = command.process_group(0).spawn()?;
        let process = Process { child };
        watchdog.watch(process.child.id())?;
        Ok(process)
    }

    pub fn child(&mut self) -> &mut Child {
        &mut self.child
    }

    /// `Some(description)` once the process has exited.
    pub fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            Ok(None) => None,
            Err(error) => Some(error.to_string()),
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if self.exited().is_none() {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", self.child.id())])
                .stderr(Stdio::null())
                .status();
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// A detached `sh` that reads process-group ids on its stdin; when the test process exits, the
/// kernel closes that pipe and the watchdog kills every group it was told of and removes `dir`.
/// (`env kill`: dash's built-in `kill` takes no `--`, so it cannot signal a group.)
#[derive(Debug)]
pub struct Watchdog {
    stdin: Mutex<ChildStdin>,
}

impl Watchdog {
    pub fn start(dir: &Path) -> R<Watchdog> {
        const SCRIPT: &str = r#"dir=$1 groups=
while read -r group; do groups="$groups $group"; done
for group in $groups; do env kill -KILL -- "-$group" 2>/dev/null; done
rm -rf "$dir"
"#;
        let mut child = Command::new("sh")
            .args(["-c", SCRIPT, "tollgate-gateways-watchdog"])
            .arg(dir)
            .current_dir("/")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own group: a Ctrl-C aimed at the tests does not stop it before it cleans up.
            .process_group(0)
            .spawn()?;
        let stdin = child.stdin.take().ok_or("the watchdog has no stdin")?;
        // `child` is not waited for: the watchdog outlives this process by design.
        Ok(Watchdog {
            stdin: Mutex::new(stdin),
        })
    }

    fn watch(&self, group: u32) -> R<()> {
        let mut stdin = self
            .stdin
            .lock()
            .map_err(|_| "the watchdog's lock is poisoned")?;
        writeln!(stdin, "{group}")?;
        stdin.flush()?;
        Ok(())
    }
}
