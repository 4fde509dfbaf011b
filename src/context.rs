//! The environment, read once at start-up and passed down: no other code reads environment
//! variables or asks whether a stream is a terminal.

use crate::cli::Cli;
use anyhow::Context as _;
use std::io::IsTerminal;
use std::path::PathBuf;

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
    /// The no-proxy variable in force: `NO_PROXY` or `no_proxy`, and its value.
    pub no_proxy: Option<(String, String)>,
    /// `$HOME`, for `~` in paths in cluster files and ~/.ssh/known_hosts (SSH transport).
    pub home: Option<PathBuf>,
    /// The command line as typed, for the hint `env` prints.
    pub invocation: Vec<String>,
    pub stdin_is_terminal: bool,
    pub stderr_is_terminal: bool,
}

impl Context {
    pub fn from_environment(cli: &Cli) -> anyhow::Result<Context> {
        let variable = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
        let storage_path = match &cli.storage_path {
            Some(path) => path.clone(),
            None => dirs::data_dir()
                .map(|data| data.join("rmachine"))
                .context("cannot find the user's data folder: set --storage-path or RMACHINE_STORAGE_PATH")?,
        };
        let storage_path = if storage_path.is_relative() {
            std::env::current_dir().context("cannot read the current folder")?.join(storage_path)
        } else {
            storage_path
        };
        let no_proxy = ["NO_PROXY", "no_proxy"]
            .iter()
            .find_map(|name| std::env::var(name).ok().map(|value| (name.to_string(), value)));
        Ok(Context {
            storage_path,
            shell: variable("SHELL"),
            docker_host: variable("DOCKER_HOST"),
            ssh_agent_socket: variable("SSH_AUTH_SOCK").map(PathBuf::from),
            no_proxy,
            home: variable("HOME").map(PathBuf::from),
            invocation: std::env::args().collect(),
            stdin_is_terminal: std::io::stdin().is_terminal(),
            stderr_is_terminal: std::io::stderr().is_terminal(),
        })
    }
}
