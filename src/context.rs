//! The environment, read once at start-up and passed down: no other code reads environment
//! variables or asks whether a stream is a terminal. It also holds the driver registry, built over
//! what drivers may use of this machine (store, cache and runtime folders, search path).

use crate::cli::Cli;
use anyhow::Context as _;
use rmachine_drivers::{DriverEnvironment, Registry};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Clone)]
pub struct Context {
    /// The state store's root folder.
    pub storage_path: PathBuf,
    /// `$SHELL`, for `env`'s shell detection.
    pub shell: Option<String>,
    /// `$DOCKER_HOST`, to tell which machine is active.
    pub docker_host: Option<String>,
    /// `$SSH_AUTH_SOCK`, the ssh-agent.
    pub ssh_agent_socket: Option<PathBuf>,
    /// The no-proxy variable in force: `NO_PROXY` or `no_proxy`, and its value (any bytes).
    pub no_proxy: Option<(String, std::ffi::OsString)>,
    /// `$HOME`, for `~` in paths in cluster files and ~/.ssh/known_hosts (SSH transport).
    pub home: Option<PathBuf>,
    /// docker-machine's store, which `rmachine import` reads: `$MACHINE_STORAGE_PATH`, else
    /// `~/.docker/machine`; `None` without either.
    pub docker_machine_store: Option<PathBuf>,
    /// The command line as typed, for the hint `env` prints.
    pub invocation: Vec<String>,
    pub stdin_is_terminal: bool,
    pub stderr_is_terminal: bool,
    /// `--debug`: drivers' log lines are shown.
    pub debug: bool,
    /// Every driver this rmachine has, built in or found as a plugin.
    pub registry: Arc<Registry>,
    /// SIGINT and SIGTERM, for the commands that stop on them gracefully (`main` listens).
    pub interrupts: crate::interrupt::Interrupts,
}

/// The environment variables rmachine was started with.
pub fn environment_variables() -> BTreeMap<String, String> {
    std::env::vars_os()
        .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
        .collect()
}

/// What drivers may use before the store is known: enough to find plugins and list options.
pub fn discovery_environment(variables: &BTreeMap<String, String>) -> DriverEnvironment {
    DriverEnvironment {
        store_root: PathBuf::new(),
        cache_dir: cache_folder(variables),
        runtime_dir: runtime_folder(variables),
        search_path: search_path(variables),
        variables: variables.clone(),
        debug: false,
        on_terminal: false,
        log: Arc::new(crate::output::GlobalDriverLog { debug: false }),
    }
}

impl Context {
    /// The context of this run; `registry` (built for parsing the command line) is kept, with
    /// its plugins already found, over the full environment.
    pub fn from_environment(
        cli: &Cli,
        variables: BTreeMap<String, String>,
        registry: Registry,
    ) -> anyhow::Result<Context> {
        cli.docker_machine.check()?;
        let variable = |name: &str| variables.get(name).filter(|value| !value.is_empty()).cloned();
        let storage_path = match &cli.storage_path {
            Some(path) => path.clone(),
            None => dirs::data_dir()
                .map(|data| data.join("rmachine"))
                .context("cannot find the user's data folder: set --storage-path or RMACHINE_STORAGE_PATH")?,
        };
        let current_folder = || std::env::current_dir().context("cannot read the current folder");
        let storage_path = if storage_path.is_relative() { current_folder()?.join(storage_path) } else { storage_path };
        let no_proxy = ["NO_PROXY", "no_proxy"]
            .iter()
            .find_map(|name| std::env::var_os(name).map(|value| (name.to_string(), value)));
        let stderr_is_terminal = std::io::stderr().is_terminal();
        let environment = DriverEnvironment {
            store_root: storage_path.clone(),
            cache_dir: cache_folder(&variables),
            runtime_dir: runtime_folder(&variables),
            search_path: search_path(&variables),
            variables: variables.clone(),
            debug: cli.debug,
            on_terminal: stderr_is_terminal,
            log: Arc::new(crate::output::GlobalDriverLog { debug: cli.debug }),
        };
        Ok(Context {
            storage_path,
            shell: variable("SHELL"),
            docker_host: variable("DOCKER_HOST"),
            ssh_agent_socket: variable("SSH_AUTH_SOCK").map(PathBuf::from),
            no_proxy,
            home: variable("HOME").map(PathBuf::from),
            docker_machine_store: variable("MACHINE_STORAGE_PATH")
                .map(PathBuf::from)
                .or_else(|| variable("HOME").map(|home| PathBuf::from(home).join(".docker/machine"))),
            invocation: std::env::args_os().map(|word| word.to_string_lossy().into_owned()).collect(),
            stdin_is_terminal: std::io::stdin().is_terminal(),
            stderr_is_terminal,
            debug: cli.debug,
            registry: Arc::new(registry.with_environment(Arc::new(environment))),
            interrupts: crate::interrupt::Interrupts::none(),
        })
    }
}

/// `$XDG_CACHE_HOME/rmachine`, `~/.cache/rmachine`, or a folder under the temp dir.
fn cache_folder(variables: &BTreeMap<String, String>) -> PathBuf {
    let base = variables
        .get("XDG_CACHE_HOME")
        .filter(|value| !value.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            variables.get("HOME").filter(|value| !value.is_empty()).map(|home| PathBuf::from(home).join(".cache"))
        })
        .unwrap_or_else(std::env::temp_dir);
    base.join("rmachine")
}

/// A short per-user folder for sockets: `$XDG_RUNTIME_DIR/rmachine`, else `/tmp/rmachine-UID`.
fn runtime_folder(variables: &BTreeMap<String, String>) -> PathBuf {
    match variables.get("XDG_RUNTIME_DIR").filter(|value| !value.is_empty()) {
        Some(folder) => PathBuf::from(folder).join("rmachine"),
        None => {
            use std::os::unix::fs::MetadataExt;
            let uid = std::fs::metadata("/proc/self").map(|meta| meta.uid()).unwrap_or(0);
            PathBuf::from("/tmp").join(format!("rmachine-{uid}"))
        }
    }
}

/// `RMACHINE_DRIVER_PATH`'s folders, then `PATH`'s.
fn search_path(variables: &BTreeMap<String, String>) -> Vec<PathBuf> {
    ["RMACHINE_DRIVER_PATH", "PATH"]
        .iter()
        .filter_map(|name| variables.get(*name))
        .flat_map(|value| std::env::split_paths(value).collect::<Vec<_>>())
        .filter(|folder| !folder.as_os_str().is_empty())
        .collect()
}
