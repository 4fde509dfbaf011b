//! Init systems and how the engine's service is configured, restarted and diagnosed under each
//! ([`ServiceManager`]): systemd (a drop-in without -H), OpenRC and sysvinit (the distribution's
//! /etc/init.d/docker, daemon.json only; their DOCKER_OPTS must not carry -H).

use crate::facts::HostFacts;
use crate::managed_files::ManagedFile;
use crate::render::{self, Listener};
use crate::shell::{JOURNAL_SYSTEMD, LOG_FILE_TAIL, RESTART_DOCKER_INIT, RESTART_DOCKER_SYSTEMD, Script};
use crate::systemd::{self, DROP_IN_NAME, DROP_IN_PATH};

/// The init system running as PID 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum InitSystem {
    Systemd,
    OpenRc,
    SysVinit,
    Other(String),
}

impl InitSystem {
    pub(crate) fn detect(facts: &HostFacts) -> Self {
        if facts.systemd_booted || facts.init_process == "systemd" {
            Self::Systemd
        } else if facts.program("rc-service").is_some() {
            Self::OpenRc
        } else if facts.init_process == "init" {
            Self::SysVinit
        } else {
            Self::Other(facts.init_process.clone())
        }
    }

    pub(crate) fn name(&self) -> String {
        match self {
            Self::Systemd => "systemd".into(),
            Self::OpenRc => "OpenRC".into(),
            Self::SysVinit => "sysvinit".into(),
            Self::Other(name) if name.is_empty() => "an unknown init system".into(),
            Self::Other(name) => name.clone(),
        }
    }

    /// How to manage the engine under this init system; None: not supported yet.
    pub(crate) fn service_manager(&self) -> Option<&'static ServiceManager> {
        match self {
            Self::Systemd => Some(&SYSTEMD),
            Self::OpenRc => Some(&OPENRC),
            Self::SysVinit => Some(&SYSVINIT),
            Self::Other(_) => None,
        }
    }
}

/// The engine service's configuration under one init system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServiceConfiguration {
    pub listener: Listener,
    /// Init-specific files (systemd: the drop-in).
    pub files: Vec<ManagedFile>,
    pub warnings: Vec<String>,
}

/// Why the engine's service cannot be configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ServiceProblem {
    /// There is no service unit for the engine.
    NoService { load_state: String },
    /// A foreign file would override rmachine's service settings.
    ConflictingFile { path: String },
    /// The init system's options file passes dockerd a flag daemon.json also sets.
    ConflictingOptions { path: String, setting: String },
}

/// How the engine's service is handled under one init system.
pub(crate) struct ServiceManager {
    /// Builds the service's files from the facts, dockerd's path and the engine environment.
    pub configure: fn(&HostFacts, &str, &[String]) -> Result<ServiceConfiguration, ServiceProblem>,
    /// Whether the engine runs now.
    pub is_running: fn(&HostFacts) -> bool,
    /// Makes the service run with the files on disk; exit 0 when it runs. Runs as root, with
    /// these arguments and then the timeout in seconds.
    pub restart_script: Script,
    pub restart_arguments: &'static [&'static str],
    /// Prints the engine's last log lines. Runs as root.
    pub journal_script: Script,
}

pub(crate) static SYSTEMD: ServiceManager = ServiceManager {
    configure: configure_systemd,
    is_running: HostFacts::docker_service_active,
    restart_script: RESTART_DOCKER_SYSTEMD,
    restart_arguments: &[],
    journal_script: JOURNAL_SYSTEMD,
};

pub(crate) static OPENRC: ServiceManager = ServiceManager {
    configure: configure_openrc,
    is_running: HostFacts::dockerd_process_running,
    restart_script: RESTART_DOCKER_INIT,
    restart_arguments: &["openrc"],
    journal_script: LOG_FILE_TAIL,
};

pub(crate) static SYSVINIT: ServiceManager = ServiceManager {
    configure: configure_sysvinit,
    is_running: HostFacts::dockerd_process_running,
    restart_script: RESTART_DOCKER_INIT,
    restart_arguments: &["sysvinit"],
    journal_script: LOG_FILE_TAIL,
};

fn configure_openrc(facts: &HostFacts, _dockerd: &str, env: &[String]) -> Result<ServiceConfiguration, ServiceProblem> {
    configure_init_script(facts, "/etc/conf.d/docker", env)
}

fn configure_sysvinit(
    facts: &HostFacts,
    _dockerd: &str,
    env: &[String],
) -> Result<ServiceConfiguration, ServiceProblem> {
    configure_init_script(facts, "/etc/default/docker", env)
}

/// OpenRC and sysvinit: the distribution's /etc/init.d/docker runs dockerd with DOCKER_OPTS
/// from `options_path`; every setting goes to daemon.json, so DOCKER_OPTS must not set -H.
fn configure_init_script(
    facts: &HostFacts,
    options_path: &str,
    env: &[String],
) -> Result<ServiceConfiguration, ServiceProblem> {
    if facts.init_script.is_none() {
        return Err(ServiceProblem::NoService { load_state: "no /etc/init.d/docker".into() });
    }
    let mut warnings = Vec::new();
    if let Some(options) = facts.file(options_path).and_then(docker_options_setting) {
        let (_, hosts) = systemd::arguments_and_hosts(&format!("dockerd {}", options.trim_matches(['"', '\''])));
        if !hosts.is_empty() {
            return Err(ServiceProblem::ConflictingOptions {
                path: options_path.to_string(),
                setting: format!("DOCKER_OPTS={options}"),
            });
        }
        warnings.push(format!(
            "{options_path} sets DOCKER_OPTS={options}; a flag there that is also set in /etc/docker/daemon.json stops dockerd from starting"
        ));
    }
    if !env.is_empty() {
        warnings.push(format!(
            "--engine-env is applied through systemd only; on this host set the variables in {options_path}"
        ));
    }
    Ok(ServiceConfiguration { listener: Listener::UnixSocket, files: Vec::new(), warnings })
}

fn configure_systemd(facts: &HostFacts, dockerd: &str, env: &[String]) -> Result<ServiceConfiguration, ServiceProblem> {
    let service = facts.docker_service.clone().unwrap_or_default();
    if service.load_state != "loaded" {
        return Err(ServiceProblem::NoService {
            load_state: if service.load_state.is_empty() { "unknown".into() } else { service.load_state },
        });
    }
    let command = service.unit_text.as_deref().and_then(systemd::exec_start).unwrap_or_else(|| dockerd.to_string());
    let (arguments, hosts) = systemd::arguments_and_hosts(&command);
    let listener = if service.socket_load_state == "loaded" || hosts.iter().any(|host| host.starts_with("fd://")) {
        Listener::SocketActivation
    } else {
        Listener::UnixSocket
    };

    let mut warnings = Vec::new();
    let mut files = Vec::new();
    for (path, text) in &service.drop_ins {
        let name = systemd::file_name(path);
        if name == systemd::DOCKER_MACHINE_DROP_IN_NAME && text != systemd::NEUTRALISED_DOCKER_MACHINE_DROP_IN {
            // Its Environment= lines would outlive the engine options they came from, its ExecStart
            // is rmachine's to set: it becomes a comment (write-files.sh keeps the original).
            files.push(ManagedFile::new(path, 0o644, systemd::NEUTRALISED_DOCKER_MACHINE_DROP_IN));
            warnings.push(format!(
                "{path} was docker-machine's configuration of the engine; rmachine emptied it (the original is kept as {path}.rmachine-bak)"
            ));
            continue;
        }
        if path == DROP_IN_PATH || !systemd::sets_exec_start(text) {
            continue;
        }
        if name > DROP_IN_NAME {
            return Err(ServiceProblem::ConflictingFile { path: path.clone() });
        }
        warnings.push(format!(
            "{path} also sets ExecStart for docker.service; rmachine's {DROP_IN_PATH} comes after it and overrides it"
        ));
    }
    let passes_docker_options =
        arguments.iter().any(|argument| argument.contains("$DOCKER_OPTS") || argument.contains("${DOCKER_OPTS}"));
    if passes_docker_options && let Some(options) = facts.file("/etc/default/docker").and_then(docker_options_setting) {
        warnings.push(format!(
            "/etc/default/docker sets DOCKER_OPTS={options}, which docker.service still passes to dockerd; \
             a flag there that is also set in /etc/docker/daemon.json stops dockerd from starting"
        ));
    }
    let drop_in = render::drop_in(dockerd, &arguments, env);
    files.insert(0, ManagedFile::new(DROP_IN_PATH, 0o644, drop_in));
    Ok(ServiceConfiguration { listener, files, warnings })
}

/// The value of an active, non-empty `DOCKER_OPTS=` line in /etc/default/docker.
fn docker_options_setting(text: &str) -> Option<String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.strip_prefix("export ").unwrap_or(line).strip_prefix("DOCKER_OPTS="))
        .map(|value| value.trim().to_string())
        .rfind(|value| !value.is_empty() && value != "\"\"" && value != "''")
}

#[cfg(test)]
#[path = "init_tests.rs"]
mod tests;
