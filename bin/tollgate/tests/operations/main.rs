//! What operators get, checked with the tools operators use (`scripts/ensure-ops-tools.sh`
//! installs them): both metrics expositions through `promtool check metrics`, the metrics
//! listener and its probes, JSON log lines, the certificate reloaded on SIGHUP under load, the
//! systemd unit through `systemd-analyze`, the Dockerfile through hadolint, the licences, the
//! version, completions and the manual page. Each test runs `tollgate` as a real process.

mod cli;
mod deploy;
mod logs;
mod metrics;
mod reload;
mod server;
mod tools;
