//! rmachine's provisioner: given one SSH session to a host (a [`Remote`]), it detects the host's
//! OS, init system and privileges, sets its hostname, installs Docker Engine when it is missing
//! (or adopts the engine already there), uploads the TLS material, writes
//! `/etc/docker/daemon.json` and a systemd drop-in, restarts the engine in a race-free order,
//! waits for it through an [`EngineCheck`], and restores the previous configuration when the
//! engine does not come back. Entry point: [`provision`]. The library prints nothing: progress
//! goes to the `on_phase` callback, results to [`ProvisionReport`] or [`ProvisionError`].
//!
//! Every remote step is a shell script under `provision/scripts/`, embedded at build time and run
//! as `sh -c SCRIPT NAME ARGUMENTS…` (behind `sudo -n` for a non-root user).

mod engine_options;
mod error;
mod facts;
mod family;
mod init;
mod managed_files;
mod os_release;
mod pipeline;
mod plan;
mod remote;
mod render;
mod session;
mod shell;
mod storage;
mod systemd;
mod warnings;

pub use engine_options::EngineOptions;
pub use error::ProvisionError;
pub use pipeline::provision;
pub use remote::{
    CommandOutput, EngineCertificates, EngineCheck, ProvisionReport, ProvisionRequest, Remote,
    RemoteError,
};
