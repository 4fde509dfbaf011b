//! The provisioner's errors. Each names the host (as [`crate::Remote::describe`] gives it); one
//! about a failed command also names the command, its exit status and its stderr.

use crate::remote::RemoteError;

#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    /// The engine options are malformed; found before anything touches a host.
    #[error("invalid engine options: {}", problems.join("; "))]
    InvalidEngineOptions { problems: Vec<String> },

    /// The machine name cannot be a hostname.
    #[error("the machine name {name:?} cannot be used as a hostname: {reason}")]
    InvalidHostname { name: String, reason: String },

    /// The command could not be run or its result not received.
    #[error("could not run {command} on {host}: {source}")]
    Connection {
        host: String,
        command: String,
        #[source]
        source: RemoteError,
    },

    /// The command ran and failed.
    #[error("{command} failed on {host} with exit status {exit_status}{}", describe_stderr(stderr))]
    CommandFailed { host: String, command: String, exit_status: u32, stderr: String },

    /// The detection script's output could not be understood.
    #[error("could not understand what {host} reported about itself: {message}")]
    UnreadableFacts { host: String, message: String },

    /// The OS is not one rmachine provisions.
    #[error(
        "{host} runs {pretty_name} (ID={id}, ID_LIKE={id_like}){}, which rmachine cannot provision yet; supported: {}",
        recognized_family.as_ref().map(|family| format!(", an OS of the {family} family")).unwrap_or_default(),
        crate::family::supported_description()
    )]
    UnsupportedOs {
        host: String,
        pretty_name: String,
        id: String,
        id_like: String,
        /// A known family that is not supported yet ("fedora"), if the OS belongs to one.
        recognized_family: Option<&'static str>,
    },

    /// PID 1 is an init system rmachine does not know.
    #[error("{host} runs {init} as PID 1; rmachine configures the engine under systemd, OpenRC and sysvinit")]
    UnsupportedInit { host: String, init: String },

    /// The login user is not root and sudo asks for a password (or refuses).
    #[error(
        "user {user} on {host} needs passwordless sudo: sudo said '{sudo_said}'; add '{user} ALL=(ALL) NOPASSWD:ALL' to /etc/sudoers.d/ or use root"
    )]
    PasswordSudo { host: String, user: String, sudo_said: String },

    /// The login user is not root and sudo is not installed.
    #[error(
        "user {user} on {host} is not root and sudo is not installed; install sudo and add '{user} ALL=(ALL) NOPASSWD:ALL' to /etc/sudoers.d/, or use root"
    )]
    SudoMissing { host: String, user: String },

    /// dockerd is missing and may not, or could not, be installed.
    #[error("dockerd is not installed on {host}: {reason}")]
    EngineMissing { host: String, reason: String },

    /// The engine is installed but the init system has no service for it.
    #[error(
        "{host} has dockerd at {dockerd} but its init system has no docker service ({load_state}); rmachine adopts engines that run as the docker service (systemd's docker.service or /etc/init.d/docker)"
    )]
    NoEngineService { host: String, dockerd: String, load_state: String },

    /// The requested storage driver cannot work on this host.
    #[error("the storage driver {driver} cannot run on {host}: {reason}")]
    StorageDriverUnavailable { host: String, driver: String, reason: String },

    /// A foreign drop-in would override rmachine's ExecStart.
    #[error(
        "{path} on {host} sets ExecStart for docker.service and sorts after rmachine's 10-rmachine.conf, so it would override it (and its -H flags would clash with daemon.json); remove it or move its settings into /etc/docker/daemon.json. Nothing was changed"
    )]
    ConflictingDropIn { host: String, path: String },

    /// The init system's options file passes -H to dockerd, which daemon.json's hosts would clash with.
    #[error(
        "{path} on {host} sets {setting}: its -H flag would clash with the hosts rmachine sets in /etc/docker/daemon.json and stop dockerd from starting; remove -H from it. Nothing was changed"
    )]
    ConflictingEngineFlags { host: String, path: String, setting: String },

    /// Another package manager run did not finish within rmachine's wait.
    #[error(
        "another package manager run on {host} still holds its lock after {waited_seconds} s: {holders}; let it finish (or stop it), then run `rmachine provision` for this machine again"
    )]
    PackageManagerBusy { host: String, waited_seconds: u64, holders: String },

    /// Packages a killed run left half-done are still half-done after `dpkg --configure -a`.
    #[error(
        "an interrupted package install left {packages} half-done on {host}, and dpkg --configure -a did not finish them; run `dpkg --configure -a` and `apt-get install -f` on the host and read what they say"
    )]
    PackagesInterrupted { host: String, packages: String },

    /// The engine could not be installed or upgraded as asked.
    #[error("cannot install the engine on {host} as asked: {reason}")]
    InstallRefused { host: String, reason: String },

    /// The engine runs the new configuration but does not do what was asked; it was rolled back.
    #[error("the engine on {host} does not do what was asked: {reason}")]
    VerificationFailed { host: String, reason: String },

    /// The engine did not come back with the new configuration; the previous one was put back.
    #[error("{}", describe_engine_failure(self))]
    EngineFailed {
        host: String,
        /// Why the new configuration was judged failed (restart or readiness check output).
        reason: String,
        /// The engine's last log lines.
        journal: String,
        /// Whether the previous files were put back.
        restored: bool,
        /// What the restore step printed (the files it restored or removed, or its error).
        restore_output: String,
        /// Whether the engine runs again after the restore.
        running_again: bool,
    },
}

fn describe_stderr(stderr: &str) -> String {
    let stderr = stderr.trim();
    if stderr.is_empty() { String::new() } else { format!(": {stderr}") }
}

fn describe_engine_failure(error: &ProvisionError) -> String {
    let ProvisionError::EngineFailed { host, reason, journal, restored, restore_output, running_again } = error else {
        return String::new();
    };
    let mut message = format!("configuring the engine on {host} failed: {}. ", reason.trim());
    if *restored && restore_output.is_empty() {
        message.push_str("Its configuration files had not been changed");
    } else if *restored {
        message.push_str("The previous configuration was restored");
    } else {
        message.push_str(&format!(
            "Restoring the previous configuration FAILED ({}); the previous files are kept as *.rmachine-bak beside the new ones",
            restore_output.trim()
        ));
    }
    if *running_again {
        message.push_str(" and the engine is running again.");
    } else {
        message.push_str(" but the engine is NOT running; see `journalctl -u docker.service` on the host.");
    }
    let journal = journal.trim_end();
    if !journal.is_empty() {
        message.push_str("\nLast lines of the engine's journal:\n");
        message.push_str(journal);
    }
    message
}
