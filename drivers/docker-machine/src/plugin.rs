//! Launching a plugin binary and keeping it alive, as docker-machine's `localbinary` and
//! `rpcdriver` do: the environment (the caller's, plus `MACHINE_PLUGIN_TOKEN=42` and
//! `MACHINE_PLUGIN_DRIVER_NAME`), the address on stdout's first line within 10 s, the output
//! after it to a [`LogSink`], `GetVersion` (service `RPCServerDriver`, else the pre-0.5.1
//! `RpcServerDriver`), a heartbeat every 5 s with a timeout of its own, `Close` on shutdown, and
//! the process killed and reaped when the [`Plugin`] goes away.

use crate::error::{FailureContext, PluginError};
use crate::gob::{Body, Value};
use crate::output::{self, OutputState, OutputStream};
use crate::rpc::{Dead, RpcClient, RpcError};
use std::ffi::{OsStr, OsString};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::BufReader;
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

pub use crate::output::LogSink;

/// The service names a plugin registers its driver under (docker-machine ≥ 0.5.1, and before).
pub const SERVICE_V1: &str = "RPCServerDriver";
pub const SERVICE_V0: &str = "RpcServerDriver";
/// The plugin API version docker-machine and this crate speak.
pub const API_VERSION: i64 = 1;

/// Timings and sizes; the defaults are docker-machine's where it has them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PluginOptions {
    /// How long the plugin has to print its address (docker-machine: 10 s).
    pub address_timeout: Duration,
    /// How often to send a heartbeat (docker-machine: 5 s; plugins exit after 10 s without one).
    pub heartbeat_interval: Duration,
    /// How long a heartbeat may go unanswered before the plugin is declared hung and every
    /// pending call fails (docker-machine has none).
    pub heartbeat_timeout: Duration,
    /// The limit for quick calls (names, addresses, state, config).
    pub call_timeout: Option<Duration>,
    /// The limit for calls that act on the host (Create, Remove, Start, Stop, Restart, Kill,
    /// PreCreateCheck); heartbeats still detect a hung plugin. docker-machine has none.
    pub long_call_timeout: Option<Duration>,
    /// How long to wait for the plugin to exit after Close before killing it.
    pub close_timeout: Duration,
    /// How many stderr lines to keep for errors.
    pub stderr_lines: usize,
}

impl Default for PluginOptions {
    fn default() -> Self {
        PluginOptions {
            address_timeout: Duration::from_secs(10),
            heartbeat_interval: Duration::from_secs(5),
            heartbeat_timeout: Duration::from_secs(3),
            call_timeout: Some(Duration::from_secs(120)),
            long_call_timeout: None,
            close_timeout: Duration::from_secs(2),
            stderr_lines: 20,
        }
    }
}

/// What to launch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginSpec {
    /// The driver's name: `hetzner` for `docker-machine-driver-hetzner`.
    pub driver_name: String,
    /// The binary (see [`find_plugin`]).
    pub path: PathBuf,
    /// The plugin's whole environment, besides the two variables added for it. Pass
    /// `std::env::vars_os()` to let it inherit rmachine's (docker-machine does).
    pub env: Vec<(OsString, OsString)>,
    /// The machine name to tag its output with; the driver's name until known.
    pub label: String,
}

impl PluginSpec {
    pub fn new(driver_name: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        PluginSpec { driver_name: driver_name.into(), path: path.into(), env: Vec::new(), label: String::new() }
    }

    pub fn env<K: Into<OsString>, V: Into<OsString>>(mut self, vars: impl IntoIterator<Item = (K, V)>) -> Self {
        self.env.extend(vars.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    /// `docker-machine-driver-NAME`, as errors name the plugin.
    pub fn plugin_name(&self) -> String {
        format!("docker-machine-driver-{}", self.driver_name)
    }
}

/// Finds `docker-machine-driver-NAME` in the directories of `path_var` (a `PATH` value), as
/// docker-machine's `exec.LookPath` does: the first executable file of that name.
pub fn find_plugin(driver_name: &str, path_var: &OsStr) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let file = format!("docker-machine-driver-{driver_name}");
    std::env::split_paths(path_var).map(|dir| dir.join(&file)).find(|candidate| {
        candidate.metadata().is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
    })
}

/// A running plugin and its connection.
pub struct Plugin {
    name: String,
    service: &'static str,
    rpc: Arc<RpcClient>,
    child: Mutex<Option<Child>>,
    pid: Option<u32>,
    output: Arc<OutputState>,
    tasks: Vec<JoinHandle<()>>,
    heartbeat: Option<JoinHandle<()>>,
    options: PluginOptions,
}

fn spawn(spec: &PluginSpec) -> Result<Child, PluginError> {
    Command::new(&spec.path)
        .env_clear()
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .env("MACHINE_PLUGIN_TOKEN", "42")
        .env("MACHINE_PLUGIN_DRIVER_NAME", &spec.driver_name)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| PluginError::Spawn { path: spec.path.clone(), source })
}

/// Waits up to `limit` for the process to exit and its stderr to end, so an error can say how
/// it ended and show all it wrote.
async fn settle(child: &Mutex<Option<Child>>, output: &OutputState, limit: Duration) -> FailureContext {
    let deadline = Instant::now() + limit;
    let mut exit = None;
    loop {
        if exit.is_none() {
            let mut guard = child.lock().unwrap_or_else(|p| p.into_inner());
            exit = guard.as_mut().and_then(|c| c.try_wait().ok().flatten());
        }
        if (exit.is_some() && output.stderr_closed()) || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    FailureContext { exit: exit.map(describe_exit), stderr: output.tail() }
}

fn describe_exit(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(signal)) => format!("was killed by signal {signal}"),
        _ => format!("ended: {status}"),
    }
}

impl Plugin {
    /// Starts the plugin, connects, and checks its API version; heartbeats start.
    pub async fn launch(
        spec: PluginSpec,
        options: PluginOptions,
        sink: Arc<dyn LogSink>,
    ) -> Result<Plugin, PluginError> {
        let name = spec.plugin_name();
        let mut child = spawn(&spec)?;
        let pid = child.id();
        let output = OutputState::new(&spec.driver_name, &spec.label, options.stderr_lines, sink);
        let stdout = child.stdout.take().map(BufReader::new);
        let stderr = child.stderr.take().map(BufReader::new);
        let mut tasks = Vec::new();
        if let Some(stderr) = stderr {
            tasks.push(tokio::spawn(output::forward(stderr, OutputStream::Stderr, output.clone())));
        }
        let child = Mutex::new(Some(child));
        let address = Self::read_address(&name, stdout, &child, &output, &mut tasks, options).await;
        let address = match address {
            Ok(address) => address,
            Err(error) => {
                tasks.iter().for_each(JoinHandle::abort);
                reap_later(child.lock().unwrap_or_else(|p| p.into_inner()).take());
                return Err(error);
            }
        };
        let connected = RpcClient::connect(&name, &address.to_string(), options.address_timeout).await;
        let rpc = match connected {
            Ok(rpc) => Arc::new(rpc),
            Err(source) => {
                let context = settle(&child, &output, Duration::from_millis(200)).await;
                return Err(PluginError::Rpc { source: Box::new(source), context });
            }
        };
        let mut plugin = Plugin { name, service: SERVICE_V1, rpc, child, pid, output, tasks, heartbeat: None, options };
        plugin.handshake().await?;
        plugin.heartbeat = Some(tokio::spawn(heartbeat(plugin.rpc.clone(), plugin.service, options)));
        Ok(plugin)
    }

    async fn read_address(
        name: &str,
        stdout: Option<BufReader<tokio::process::ChildStdout>>,
        child: &Mutex<Option<Child>>,
        output: &Arc<OutputState>,
        tasks: &mut Vec<JoinHandle<()>>,
        options: PluginOptions,
    ) -> Result<SocketAddr, PluginError> {
        let plugin = name.to_owned();
        let Some(mut stdout) = stdout else {
            return Err(PluginError::ExitedEarly { plugin, context: FailureContext::default() });
        };
        let first = tokio::time::timeout(options.address_timeout, output::read_line(&mut stdout)).await;
        let line = match first {
            Err(_) => {
                let context = FailureContext { exit: None, stderr: output.tail() };
                return Err(PluginError::NoAddress { plugin, waited: options.address_timeout, context });
            }
            Ok(None) => {
                let context = settle(child, output, Duration::from_secs(1)).await;
                return Err(PluginError::ExitedEarly { plugin, context });
            }
            Ok(Some(line)) => line,
        };
        let Ok(address) = line.trim().parse::<SocketAddr>() else {
            let context = settle(child, output, Duration::from_millis(200)).await;
            return Err(PluginError::BadAddress { plugin, line, context });
        };
        tasks.push(tokio::spawn(output::forward(stdout, OutputStream::Stdout, output.clone())));
        Ok(address)
    }

    /// GetVersion on the V1 service name, then on the V0 one as docker-machine retries.
    async fn handshake(&mut self) -> Result<(), PluginError> {
        let first = self.call("GetVersion", Body::Empty, self.options.call_timeout).await;
        let version = match first {
            Ok(version) => version,
            Err(_) => {
                self.service = SERVICE_V0;
                self.call("GetVersion", Body::Empty, self.options.call_timeout).await?
            }
        };
        let version = version.as_int().map_err(|source| self.bad_reply("GetVersion", source))?;
        if version != API_VERSION {
            return Err(PluginError::IncompatibleVersion { plugin: self.name.clone(), version });
        }
        Ok(())
    }

    /// Calls `method` (`Create`) on the plugin's service.
    pub async fn call(&self, method: &str, body: Body<'_>, timeout: Option<Duration>) -> Result<Value, PluginError> {
        let result = self.rpc.call(&format!("{}.{method}", self.service), body, timeout).await;
        match result {
            Ok(value) => Ok(value),
            Err(RpcError::Remote { plugin, method, message }) => Err(PluginError::Driver { plugin, method, message }),
            Err(source) => {
                let wait =
                    if matches!(source, RpcError::Closed { .. }) { Duration::from_secs(1) } else { Duration::ZERO };
                let context = settle(&self.child, &self.output, wait).await;
                Err(PluginError::Rpc { source: Box::new(source), context })
            }
        }
    }

    pub(crate) fn bad_reply(&self, method: &str, source: crate::gob::GobError) -> PluginError {
        PluginError::BadReply { plugin: self.name.clone(), method: method.into(), source }
    }

    /// `docker-machine-driver-NAME`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The service name the plugin answered on (`RPCServerDriver`, or `RpcServerDriver`).
    pub fn service(&self) -> &'static str {
        self.service
    }

    pub fn options(&self) -> &PluginOptions {
        &self.options
    }

    /// The plugin process's id.
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// The last lines the plugin wrote to stderr.
    pub fn stderr_tail(&self) -> Vec<String> {
        self.output.tail()
    }

    /// Tags later output lines with this machine name.
    pub fn set_label(&self, label: &str) {
        self.output.set_label(label);
    }

    /// Close (its error ignored: the plugin may exit before replying), then waits for the
    /// process, killing it after [`PluginOptions::close_timeout`], and reaps it.
    pub async fn shutdown(mut self) -> Option<ExitStatus> {
        self.stop_heartbeat();
        if !self.rpc.is_dead() {
            let close = self.call("Close", Body::Empty, Some(self.options.close_timeout));
            let _ = close.await;
        }
        let child = self.child.lock().unwrap_or_else(|p| p.into_inner()).take();
        let mut child = child?;
        let status = match tokio::time::timeout(self.options.close_timeout, child.wait()).await {
            Ok(status) => status.ok(),
            Err(_) => {
                let _ = child.start_kill();
                child.wait().await.ok()
            }
        };
        let streams: Vec<_> = self.tasks.drain(..).collect();
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            for task in streams {
                let _ = task.await;
            }
        })
        .await;
        status
    }

    fn stop_heartbeat(&mut self) {
        if let Some(heartbeat) = self.heartbeat.take() {
            heartbeat.abort();
        }
    }
}

/// Kills the process, and reaps it in the background when a runtime is there to do it.
fn reap_later(child: Option<Child>) {
    let Some(mut child) = child else { return };
    let _ = child.start_kill();
    if matches!(child.try_wait(), Ok(Some(_))) {
        return;
    }
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(async move {
            let _ = child.wait().await;
        });
    }
}

impl Drop for Plugin {
    fn drop(&mut self) {
        self.stop_heartbeat();
        self.tasks.iter().for_each(JoinHandle::abort);
        self.rpc.fail_all(Dead::Closed);
        reap_later(self.child.lock().unwrap_or_else(|p| p.into_inner()).take());
    }
}

/// Every `interval`, a Heartbeat; one unanswered within the timeout fails every pending call.
async fn heartbeat(rpc: Arc<RpcClient>, service: &'static str, options: PluginOptions) {
    let method = format!("{service}.Heartbeat");
    loop {
        tokio::time::sleep(options.heartbeat_interval).await;
        match rpc.call(&method, Body::Empty, Some(options.heartbeat_timeout)).await {
            Ok(_) => {}
            Err(RpcError::Timeout { after, .. }) => {
                rpc.fail_all(Dead::Unresponsive(after));
                return;
            }
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_plugin_takes_the_first_executable_of_the_name() {
        use std::os::unix::fs::PermissionsExt;
        use std::path::Path;
        let root = std::env::temp_dir().join(format!("dm-find-{}", std::process::id()));
        let (first, second) = (root.join("a"), root.join("b"));
        for dir in [&first, &second] {
            std::fs::create_dir_all(dir).unwrap();
        }
        let write = |path: &Path, mode: u32| {
            std::fs::write(path, "#!/bin/sh\n").unwrap();
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
        };
        write(&first.join("docker-machine-driver-x"), 0o644);
        write(&second.join("docker-machine-driver-x"), 0o755);
        let path = std::env::join_paths([&first, &second]).unwrap();
        assert_eq!(find_plugin("x", &path), Some(second.join("docker-machine-driver-x")));
        assert_eq!(find_plugin("y", &path), None);
        std::fs::remove_dir_all(root).unwrap();
    }
}
