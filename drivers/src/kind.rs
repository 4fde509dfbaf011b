//! `DriverKind`: a kind of driver as it declares itself once — its name and aliases, a one-line
//! description, its options, whether it controls power, and its two constructors (from options for
//! `create`, from stored settings for every later command). Also what every driver may use from
//! the machine it runs on ([`DriverEnvironment`]) and where it reports progress ([`DriverLog`]).

use crate::{Driver, DriverError, DriverOptions, OptionSpec};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// A new machine, as `create` (or a cluster file) names it.
#[derive(Debug, Clone, Copy)]
pub struct NewMachine<'a> {
    pub name: &'a str,
    /// It will join a Docker Swarm (a cluster file with `swarm:`): cloud drivers open the swarm's ports.
    pub joins_swarm: bool,
}

/// Where a driver kind comes from, for `rmachine drivers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriverOrigin {
    BuiltIn,
    Plugin {
        /// The executable.
        path: PathBuf,
        /// `rmachine/1` or `docker-machine/1`.
        protocol: String,
        /// The version the plugin reports.
        version: String,
    },
}

pub trait DriverKind: Send + Sync {
    /// The name `--driver` takes and records keep: `aws`.
    fn name(&self) -> &str;

    /// Other names `--driver` takes: `amazonec2`.
    fn aliases(&self) -> Vec<String> {
        Vec::new()
    }

    /// One line for `rmachine create --help` and `rmachine drivers`.
    fn description(&self) -> String;

    /// The options `create` takes for this driver (flags `--NAME`), also the keys of a cluster
    /// file's `DRIVER:` map (without the driver's prefix).
    fn options(&self) -> Vec<OptionSpec>;

    /// Whether start, stop and kill do something (restart may still work over SSH).
    fn controls_power(&self) -> bool;

    fn origin(&self) -> DriverOrigin {
        DriverOrigin::BuiltIn
    }

    /// Whether the kind can make machines: a plugin answers its handshake (built-in kinds always
    /// can). [`Registry::kind`](crate::Registry::kind) asks it; opening an existing machine does
    /// not (a plugin's every call shakes hands itself).
    fn usable(&self) -> Result<(), DriverError> {
        Ok(())
    }

    /// The driver of a machine to be created, from the options given (completed with the
    /// environment and defaults, checked against [`DriverKind::options`]).
    fn new_driver(
        &self,
        environment: &Arc<DriverEnvironment>,
        machine: &NewMachine<'_>,
        options: &DriverOptions,
    ) -> Result<Box<dyn Driver>, DriverError>;

    /// The driver of an existing machine, from the settings its record keeps.
    fn open(
        &self,
        environment: &Arc<DriverEnvironment>,
        settings: &serde_json::Value,
    ) -> Result<Box<dyn Driver>, DriverError>;

    /// docker-machine's driver names whose machines this kind takes over (`rmachine import`):
    /// `amazonec2` for aws. None by default.
    fn docker_machine_drivers(&self) -> Vec<String> {
        Vec::new()
    }

    /// The settings (what [`DriverKind::open`] reads) of a machine docker-machine made with one
    /// of [`DriverKind::docker_machine_drivers`], from docker-machine's own driver configuration.
    fn import_docker_machine(&self, machine: &DockerMachineHost<'_>) -> Result<ImportedSettings, DriverError> {
        Err(DriverError::unsupported(
            self.name(),
            &format!("take over docker-machine's {} machine '{}'", machine.driver_name, machine.name),
            "it imports no docker-machine machines",
        ))
    }
}

/// A machine docker-machine made, as `rmachine import` hands it to the kind that takes it over.
#[derive(Debug, Clone, Copy)]
pub struct DockerMachineHost<'a> {
    /// The machine's name in rmachine's store.
    pub name: &'a str,
    /// docker-machine's driver name: `amazonec2`.
    pub driver_name: &'a str,
    /// The `Driver` object of its `config.json`, unchanged (paths in it are docker-machine's).
    pub config: &'a serde_json::Value,
    /// The SSH private key docker-machine used, already copied into rmachine's store (relative to
    /// the store root); `None` when it used none (the ssh-agent).
    pub ssh_key: Option<&'a std::path::Path>,
}

/// What a kind made of a docker-machine machine.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedSettings {
    /// The driver settings for the machine's record.
    pub settings: serde_json::Value,
    /// What docker-machine's configuration had that these settings do not carry, one line each
    /// (shown by `rmachine import`).
    pub not_imported: Vec<String>,
}

/// docker-machine's value of `field` in a driver configuration: a string, else "".
pub fn docker_machine_string(config: &serde_json::Value, field: &str) -> String {
    config.get(field).and_then(serde_json::Value::as_str).unwrap_or_default().to_string()
}

/// docker-machine's value of a numeric `field` in a driver configuration, when it fits a port.
pub fn docker_machine_port(config: &serde_json::Value, field: &str) -> Option<u16> {
    config
        .get(field)
        .and_then(serde_json::Value::as_u64)
        .and_then(|port| u16::try_from(port).ok())
        .filter(|port| *port > 0)
}

/// Progress of a driver's long operations. The core prints it (the one place that prints);
/// a driver never writes to stdout or stderr itself.
pub trait DriverLog: Send + Sync {
    /// A step of a long operation: "downloading the image".
    fn phase(&self, message: &str);
    fn warning(&self, message: &str);
    /// Detail for `--debug` (a plugin's log lines).
    fn debug(&self, line: &str);
    /// A byte-count progress bar (drawn only on a terminal).
    fn transfer(&self, label: &str, total_bytes: Option<u64>) -> Box<dyn TransferLog>;
}

pub trait TransferLog: Send + Sync {
    /// Sets how many bytes are done (a resumed download starts past zero).
    fn position(&self, bytes: u64);
}

/// A log that drops everything, for tests.
pub struct SilentLog;

impl DriverLog for SilentLog {
    fn phase(&self, _message: &str) {}
    fn warning(&self, _message: &str) {}
    fn debug(&self, _line: &str) {}
    fn transfer(&self, _label: &str, _total_bytes: Option<u64>) -> Box<dyn TransferLog> {
        Box::new(SilentLog)
    }
}

impl TransferLog for SilentLog {
    fn position(&self, _bytes: u64) {}
}

/// What drivers may use from the machine rmachine runs on, read once at start-up: no driver
/// reads environment variables or picks folders itself.
pub struct DriverEnvironment {
    /// The state store's root; paths in driver settings are relative to it.
    pub store_root: PathBuf,
    /// rmachine's cache folder (`~/.cache/rmachine`): downloaded images.
    pub cache_dir: PathBuf,
    /// A short per-user folder for sockets (UNIX socket paths are limited to 108 bytes).
    pub runtime_dir: PathBuf,
    /// Where executables are looked for: `RMACHINE_DRIVER_PATH`'s folders, then `PATH`'s.
    pub search_path: Vec<PathBuf>,
    /// The environment rmachine was started with (plugins inherit it; options read their variable).
    pub variables: BTreeMap<String, String>,
    /// `--debug`: plugins' log lines are shown.
    pub debug: bool,
    /// Whether stderr is a terminal (progress bars).
    pub on_terminal: bool,
    pub log: Arc<dyn DriverLog>,
}

impl DriverEnvironment {
    /// An environment for tests: the given store, caches beside it, no variables, a silent log.
    pub fn for_tests(store_root: &std::path::Path) -> DriverEnvironment {
        DriverEnvironment {
            store_root: store_root.to_path_buf(),
            cache_dir: store_root.join(".cache"),
            runtime_dir: store_root.join(".run"),
            search_path: Vec::new(),
            variables: BTreeMap::new(),
            debug: false,
            on_terminal: false,
            log: Arc::new(SilentLog),
        }
    }

    pub fn variable(&self, name: &str) -> Option<String> {
        self.variables.get(name).filter(|value| !value.is_empty()).cloned()
    }

    /// The first executable file named `name` in the search path.
    pub fn find_executable(&self, name: &str) -> Option<PathBuf> {
        use std::os::unix::fs::PermissionsExt;
        self.search_path.iter().map(|folder| folder.join(name)).find(|candidate| {
            std::fs::metadata(candidate).is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        })
    }

    /// Every executable whose name starts with `prefix` in the search path (first one of each
    /// name wins), for plugin discovery.
    pub fn executables_with_prefix(&self, prefix: &str) -> Vec<(String, PathBuf)> {
        let mut found: Vec<(String, PathBuf)> = Vec::new();
        for folder in &self.search_path {
            let Ok(entries) = std::fs::read_dir(folder) else { continue };
            let mut names: Vec<String> =
                entries.filter_map(|entry| entry.ok()?.file_name().into_string().ok()).collect();
            names.sort();
            for name in names {
                if name.starts_with(prefix)
                    && !found.iter().any(|(known, _)| *known == name)
                    && let Some(path) = self.find_executable(&name).filter(|path| path.parent() == Some(folder))
                {
                    found.push((name, path));
                }
            }
        }
        found
    }
}
