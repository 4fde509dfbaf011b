//! The interface between the provisioner and the root crate: the SSH session it works through
//! ([`Remote`]), the engine readiness probe ([`EngineCheck`]), what it is asked to do
//! ([`ProvisionRequest`]), what it tells along the way ([`ProvisionObserver`]) and what it
//! reports back ([`ProvisionReport`]).

use std::time::Duration;

use crate::engine_options::EngineOptions;

/// What one remote command gave back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandOutput {
    pub exit_status: u32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// A transport failure: the command could not be run or its result not received.
pub type RemoteError = Box<dyn std::error::Error + Send + Sync>;

/// One SSH session to the host being provisioned.
pub trait Remote: Sync {
    /// Runs `command` with the login user's shell on the host; `stdin`, when given, is written
    /// then closed.
    fn run(
        &self,
        command: &str,
        stdin: Option<&[u8]>,
    ) -> impl std::future::Future<Output = Result<CommandOutput, RemoteError>> + Send;
    /// For messages: "root@10.0.0.5:22"
    fn describe(&self) -> String;
}

/// Probes the engine from the client side, over TLS, with the client certificate.
pub trait EngineCheck: Sync {
    /// Polls the engine's TLS endpoint until /version answers or its deadline passes;
    /// Ok(engine version like "20.10.24"), Err(last error text).
    fn wait_ready(&self) -> impl std::future::Future<Output = Result<String, String>> + Send;
    /// How long `wait_ready` waits; the restart of the engine gets as long.
    fn timeout(&self) -> Duration;
}

/// What provisioning tells while it runs: its phases, and whether the host's rollback watchdog
/// is armed (a configuration is on the host that the host itself takes back unless rmachine
/// confirms it), so that whoever stops rmachine can say what the host will do.
pub trait ProvisionObserver: Sync {
    /// The phase reached: "installing docker.io", "restarting docker"…
    fn phase(&self, phase: &str);
    /// The host restores the previous configuration by itself `within` from now, unless confirmed.
    fn rollback_armed(&self, _within: Duration) {}
    /// The configuration was confirmed or restored: the host's watchdog has nothing left to do.
    fn rollback_settled(&self) {}
}

/// A closure observes the phases only.
impl<F: Fn(&str) + Sync> ProvisionObserver for F {
    fn phase(&self, phase: &str) {
        self(phase)
    }
}

/// The engine's TLS material, PEM encoded.
#[derive(Clone, PartialEq, Eq)]
pub struct EngineCertificates {
    pub ca_pem: String,
    pub server_cert_pem: String,
    pub server_key_pem: String,
}

impl std::fmt::Debug for EngineCertificates {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("EngineCertificates")
            .field("ca_pem", &self.ca_pem)
            .field("server_cert_pem", &self.server_cert_pem)
            .field("server_key_pem", &"<redacted>")
            .finish()
    }
}

/// What to make of the host.
#[derive(Debug, Clone)]
pub struct ProvisionRequest<'a> {
    /// The machine name, which becomes the host's hostname.
    pub hostname: &'a str,
    /// The driver that made the host; becomes the engine label `provider=<driver name>`.
    pub driver_name: &'a str,
    pub engine: &'a EngineOptions,
    pub certificates: &'a EngineCertificates,
}

/// What provisioning found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ProvisionReport {
    /// The os-release PRETTY_NAME, e.g. "Debian GNU/Linux 12 (bookworm)".
    pub os_pretty_name: String,
    /// The OS family rmachine provisioned it as, e.g. "debian".
    pub family: String,
    /// Whether this run installed the engine (false when it adopted one).
    pub engine_installed: bool,
    /// Whether this run changed the engine's configuration and restarted it.
    pub changed: bool,
    /// The engine version the [`EngineCheck`] reported.
    pub engine_version: String,
    /// How many commands ran on the host.
    pub remote_commands: usize,
    /// Things the user should know, one sentence each.
    pub warnings: Vec<String>,
}
