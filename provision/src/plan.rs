//! The remote commands of provisioning, as data: which script, with which arguments and input,
//! as root or not, and how to name it in messages. Building them does not run them
//! (`session` does), so the plan can be checked without a host.

use crate::family::PackageManager;
use crate::init::ServiceManager;
use crate::managed_files::{self, ManagedFile, WRITE_MARKER_PATH};
use crate::shell::{
    self, DOWNLOAD_RUNTIME, ENSURE_REMAP_USER, FACTS, INSTALL_FROM_URL, PACKAGE_MANAGER, PACKAGES, Privilege,
    RESTORE_FILES, SET_HOSTNAME, Script, VERIFY_ENGINE, WRITE_FILES,
};

/// One command to run on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RemoteCommand {
    /// For messages: "apt-get install docker.io".
    pub description: String,
    pub script: Script,
    pub arguments: Vec<String>,
    pub stdin: Option<Vec<u8>>,
    /// Runs as root (behind `sudo -n` for a non-root user).
    pub as_root: bool,
}

impl RemoteCommand {
    fn new(description: impl Into<String>, script: Script, arguments: Vec<String>, as_root: bool) -> Self {
        Self { description: description.into(), script, arguments, stdin: None, as_root }
    }

    /// The command line for the login user's shell.
    pub(crate) fn command_line(&self, privilege: Privilege) -> String {
        shell::command_line(&self.script, &self.arguments, self.as_root.then_some(privilege))
    }
}

/// Detection; reports the hash and mode of each of `managed_paths`. Runs as the login user.
pub(crate) fn detect_facts(managed_paths: &[String]) -> RemoteCommand {
    RemoteCommand::new("the detection script (facts.sh)", FACTS, managed_paths.to_vec(), false)
}

pub(crate) fn set_hostname(hostname: &str) -> RemoteCommand {
    RemoteCommand::new(format!("setting the hostname to {hostname}"), SET_HOSTNAME, vec![hostname.to_string()], true)
}

pub(crate) fn install_packages(package_manager: &PackageManager, packages: &[&str]) -> RemoteCommand {
    let mut arguments: Vec<String> =
        package_manager.install_arguments.iter().map(|argument| argument.to_string()).collect();
    arguments.extend(packages.iter().map(|package| package.to_string()));
    RemoteCommand::new(
        format!("{} install {}", package_manager.name, packages.join(" ")),
        package_manager.install_script,
        arguments,
        true,
    )
}

/// `packages.sh MANAGER ACTION ARGUMENTS…`: upgrade, versions, add-repository.
pub(crate) fn packages(package_manager: &PackageManager, action: &str, arguments: &[&str]) -> RemoteCommand {
    let mut all = vec![package_manager.name.to_string(), action.to_string()];
    all.extend(arguments.iter().map(|argument| argument.to_string()));
    RemoteCommand::new(format!("{} {action} {}", package_manager.name, arguments.join(" ")), PACKAGES, all, true)
}

/// Waits up to `seconds` for the processes `pids` (another package manager run) to end.
pub(crate) fn wait_for_processes(pids: &[u32], seconds: u64) -> RemoteCommand {
    let mut arguments = vec!["wait".to_string(), seconds.to_string()];
    arguments.extend(pids.iter().map(u32::to_string));
    let listed: Vec<String> = pids.iter().map(u32::to_string).collect();
    RemoteCommand::new(
        format!("waiting for the package manager run (PID {}) to finish", listed.join(", ")),
        PACKAGE_MANAGER,
        arguments,
        false,
    )
}

/// Finishes what a killed package manager run left half-done (`dpkg --configure -a`, then
/// `apt-get install -f -y`).
pub(crate) fn repair_packages(package_manager: &PackageManager) -> RemoteCommand {
    RemoteCommand::new(
        "dpkg --configure -a and apt-get install -f (finishing an interrupted install)",
        PACKAGE_MANAGER,
        vec!["repair".to_string(), package_manager.name.to_string()],
        true,
    )
}

/// The install script at `url`, with VERSION=`pin` when pinned.
pub(crate) fn install_from_url(url: &str, pin: Option<&str>) -> RemoteCommand {
    let mut arguments = vec![url.to_string()];
    arguments.extend(pin.map(str::to_string));
    RemoteCommand::new(format!("the engine install script {url}"), INSTALL_FROM_URL, arguments, true)
}

/// Creates a userns-remap user, its group and their subordinate ranges where missing.
pub(crate) fn ensure_remap_user(user: &str, group: &str, start: u64, count: u64) -> RemoteCommand {
    RemoteCommand::new(
        format!("creating the userns-remap user {user}:{group}"),
        ENSURE_REMAP_USER,
        vec![user.into(), group.into(), start.to_string(), count.to_string()],
        true,
    )
}

/// Reports what the running engine does (`verify-engine.sh ARGUMENTS`).
pub(crate) fn verify_engine(arguments: Vec<String>) -> RemoteCommand {
    RemoteCommand::new("checking the running engine (verify-engine.sh)", VERIFY_ENGINE, arguments, true)
}

/// Downloads a runtime's release tarball, checks its SHA-256 and installs `name` from it.
pub(crate) fn download_runtime(url: &str, sha256: &str, name: &str, destination: &str) -> RemoteCommand {
    RemoteCommand::new(
        format!("downloading {name} from {url}"),
        DOWNLOAD_RUNTIME,
        vec![url.into(), sha256.into(), name.into(), destination.into()],
        true,
    )
}

/// Writes `files` atomically, backing up what they replace, under `run_identifier`.
pub(crate) fn write_files(run_identifier: &str, files: &[&ManagedFile]) -> RemoteCommand {
    let (arguments, input) = managed_files::write_files_input(run_identifier, files);
    let paths: Vec<&str> = files.iter().map(|file| file.path.as_str()).collect();
    RemoteCommand {
        stdin: Some(input),
        ..RemoteCommand::new(format!("writing {}", paths.join(", ")), WRITE_FILES, arguments, true)
    }
}

/// Puts back what [`write_files`] replaced in the run `run_identifier`.
pub(crate) fn restore_files(run_identifier: &str, paths: &[String]) -> RemoteCommand {
    let mut arguments = vec![WRITE_MARKER_PATH.to_string(), run_identifier.to_string()];
    arguments.extend(paths.iter().cloned());
    RemoteCommand::new("restoring the previous files", RESTORE_FILES, arguments, true)
}

pub(crate) fn restart_engine(service_manager: &ServiceManager) -> RemoteCommand {
    RemoteCommand::new(
        "restarting docker",
        service_manager.restart_script,
        service_manager.restart_arguments.iter().map(|argument| argument.to_string()).collect(),
        true,
    )
}

pub(crate) fn engine_journal(service_manager: &ServiceManager) -> RemoteCommand {
    RemoteCommand::new("reading the engine's journal", service_manager.journal_script, vec!["30".into()], true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::family::APT;
    use crate::init::SYSTEMD;

    #[test]
    fn privileged_commands_go_through_sudo_for_a_non_root_user() {
        let command = install_packages(&APT, &["docker.io"]);
        let line = command.command_line(Privilege::Sudo);
        assert!(line.starts_with("sudo -n sh -c '"), "{}", &line[..40]);
        assert!(line.ends_with("' rmachine-install-packages docker.io"), "{line}");
        assert!(command.command_line(Privilege::Root).starts_with("sh -c '"));
        assert_eq!(command.description, "apt install docker.io");
        let dnf = install_packages(&crate::family::DNF, &["moby-engine"]);
        assert_eq!(dnf.arguments, ["dnf", "install", "moby-engine"]);
        let pinned = install_from_url("https://get.docker.com", Some("27.3.1"));
        assert_eq!(pinned.arguments, ["https://get.docker.com", "27.3.1"]);
    }

    #[test]
    fn detection_runs_as_the_login_user() {
        let command = detect_facts(&["/etc/docker/ca.pem".into()]);
        let line = command.command_line(Privilege::Sudo);
        assert!(line.starts_with("sh -c '"));
        assert!(line.ends_with("' rmachine-facts /etc/docker/ca.pem"));
    }

    #[test]
    fn write_files_carries_contents_on_stdin_not_in_the_command_line() {
        let key = ManagedFile::new("/etc/docker/server-key.pem", 0o600, "SECRET KEY");
        let command = write_files("run-9", &[&key]);
        let line = command.command_line(Privilege::Root);
        assert!(!line.contains("SECRET"), "the key must not show in the process list");
        assert!(
            line.ends_with(
                "' rmachine-write-files /etc/docker/.rmachine-write run-9 /etc/docker/server-key.pem 0600 10"
            )
        );
        assert_eq!(command.stdin.as_deref(), Some(&b"SECRET KEY"[..]));
    }

    #[test]
    fn restore_and_restart_and_journal() {
        let restore = restore_files("run-9", &["/etc/docker/daemon.json".into()]);
        assert_eq!(restore.arguments, ["/etc/docker/.rmachine-write", "run-9", "/etc/docker/daemon.json"]);
        let restart = restart_engine(&SYSTEMD);
        assert!(restart.command_line(Privilege::Root).ends_with("' rmachine-restart-docker 90"));
        let journal = engine_journal(&SYSTEMD);
        assert!(journal.command_line(Privilege::Sudo).starts_with("sudo -n sh -c 'journalctl -u docker.service"));
    }

    #[test]
    fn hostname_is_passed_as_one_quoted_argument() {
        let command = set_hostname("node-1");
        assert!(command.command_line(Privilege::Root).ends_with("' rmachine-set-hostname node-1"));
    }
}
