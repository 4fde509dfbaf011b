//! rmachine's provisioner: given one SSH session to a host (a [`Remote`]), it detects the host's
//! OS family (data in `family.rs`: Debian, Ubuntu, Fedora, RHEL and relatives, Amazon Linux 2023,
//! Alpine, Arch, openSUSE, Flatcar/Fedora CoreOS), init system (systemd, OpenRC, sysvinit) and
//! privileges, sets its hostname, installs Docker Engine when it is missing (pinned when asked)
//! or adopts the engine already there, probes the storage driver, creates a userns-remap user,
//! installs an extra runtime (youki), uploads the TLS material, writes `/etc/docker/daemon.json`
//! (and a systemd drop-in), restarts the engine in a race-free order, waits for it through an
//! [`EngineCheck`], checks that it does what was asked, and restores the previous configuration
//! when it does not. Entry points: [`provision`], [`upgrade`]. The library prints nothing:
//! progress goes to the `on_phase` callback, results to [`ProvisionReport`] or [`ProvisionError`].
//!
//! Every remote step is a shell script under `provision/scripts/`, embedded at build time and run
//! as `sh -c SCRIPT NAME ARGUMENTS…` (behind `sudo -n` for a non-root user).

mod apply;
mod engine_options;
mod engine_setup;
mod error;
mod facts;
mod family;
mod init;
mod install;
mod managed_files;
mod os_release;
mod package_manager;
mod pipeline;
mod plan;
mod remote;
mod render;
mod runtime;
mod session;
mod shell;
mod storage;
mod systemd;
mod transport;
mod upgrade;
mod userns;
mod verify;
mod warnings;

pub use engine_options::EngineOptions;
pub use error::ProvisionError;
pub use pipeline::provision;
pub use remote::{
    CommandOutput, EngineCertificates, EngineCheck, ProvisionReport, ProvisionRequest, Remote, RemoteError,
};
pub use transport::EngineTransport;
pub use upgrade::{UpgradeReport, upgrade};
