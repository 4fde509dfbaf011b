//! The `Driver` trait: one machine's driver, built by its [`DriverKind`](crate::DriverKind) from
//! options (create) or from the settings its record keeps (every later command). It knows its
//! cloud or hypervisor only: it never opens SSH, it reports where to reach the host.

use crate::{DriverError, DriverLog, PowerOperation, PowerOutcome, StateReport};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::time::Duration;

/// A boxed future, so that `Driver` stays usable as `dyn Driver`.
pub type DriverFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where and how the core reaches a machine over SSH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshEndpoint {
    pub host: String,
    pub port: u16,
    pub user: String,
    /// The private key, relative to the store root when it lives in the store; `None`: the ssh-agent.
    pub private_key: Option<PathBuf>,
    /// The host key the driver gave the host itself (an OpenSSH public key line): pinned before
    /// the first connection instead of trusted on first use.
    pub expected_host_key: Option<String>,
}

/// A machine's addresses: the public one (reachable from outside its network) and the private one
/// (inside it: what swarm nodes of one network advertise to each other). `None` where it has none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Addresses {
    pub public: Option<String>,
    pub private: Option<String>,
}

/// What a driver may use while creating a machine.
pub struct CreateContext<'a> {
    /// The root of the state store; paths a driver records are relative to it.
    pub store_root: &'a Path,
    /// The machine's own folder, relative to `store_root`; it exists already.
    pub machine_directory: &'a Path,
    /// Where the driver reports its steps (and downloads) while it works.
    pub log: &'a dyn DriverLog,
}

/// `tcp://HOST:PORT`, with an IPv6 address in brackets.
pub fn tcp_url(host: &str, port: u16) -> String {
    if host.contains(':') { format!("tcp://[{host}]:{port}") } else { format!("tcp://{host}:{port}") }
}

pub trait Driver: Send + Sync {
    /// The driver's name as records keep it: `generic`, `aws`, a plugin's name.
    fn name(&self) -> &str;

    /// The settings the machine's record keeps, from which the driver's kind builds it again.
    /// Secret options are never among them.
    fn settings(&self) -> serde_json::Value;

    /// Checks the settings (and what the driver needs on this machine) before anything is
    /// created or written.
    fn pre_create_check(&self) -> DriverFuture<'_, Result<(), DriverError>>;

    /// Creates the host (or takes hold of it) and records what it made in `self`.
    fn create<'a>(&'a mut self, context: &'a CreateContext<'a>) -> DriverFuture<'a, Result<(), DriverError>>;

    /// The address users and certificates know the machine by.
    fn ip(&self) -> String;

    /// Its public and private addresses; by default both are [`Driver::ip`].
    fn addresses(&self) -> Addresses {
        let ip = Some(self.ip()).filter(|ip| !ip.is_empty());
        Addresses { public: ip.clone(), private: ip }
    }

    /// The port the engine listens on (with TLS), or its socket's port for an engine rmachine does
    /// not manage.
    fn engine_port(&self) -> u16;

    /// The engine's URL, `tcp://IP:PORT`.
    fn engine_url(&self) -> String {
        tcp_url(&self.ip(), self.engine_port())
    }

    /// Where to reach the host over SSH; `None` for machines rmachine does not provision.
    fn ssh_endpoint(&self) -> Option<SshEndpoint>;

    /// What makes this machine's host the one it is (`root@10.0.0.5:22`, an engine URL), for the
    /// cluster plan's check that a declared machine is the one that exists; `None` when the host
    /// is known only once it exists (a cloud instance): then the driver names are compared.
    fn host_identity(&self) -> Option<String> {
        None
    }

    /// Asks the host (or its cloud) what state it is in, giving up after `timeout`.
    fn state(&self, timeout: Duration) -> DriverFuture<'_, StateReport>;

    /// Removes what `create` made; hosts rmachine did not make are left alone.
    fn remove(&self) -> DriverFuture<'_, Result<(), DriverError>>;

    /// Whether a failed (or interrupted) create calls `remove` and drops the record. The default
    /// does so only while provisioning has not started (a host the user brought is kept with its
    /// error); drivers that launch hosts remove them after any failure unless told to keep them.
    fn remove_after_failed_create(&self, provisioning_started: bool) -> bool {
        !provisioning_started
    }

    /// Starts, stops, restarts or kills (forced stop) the host, updating what it records (a new
    /// IP after a start); the core saves the record and warns when the address changed.
    /// Default: unsupported.
    fn power(&mut self, operation: PowerOperation) -> DriverFuture<'_, Result<PowerOutcome, DriverError>> {
        let driver = self.name().to_string();
        Box::pin(async move {
            Err(DriverError::unsupported(&driver, operation.verb(), "it does not control the host's power"))
        })
    }

    /// How long a new host may take to answer SSH when the user did not say (`--ssh-timeout`);
    /// `None`: the core's default.
    fn ssh_wait(&self) -> Option<Duration> {
        None
    }

    /// Said when the host never answered SSH: what the driver saw (a boot log's last lines) and
    /// the likely cause.
    fn unreachable_hint(&self) -> Option<String> {
        None
    }

    /// Called every few seconds while the core waits for the host to answer SSH (after a create
    /// or a start): a driver that sees the boot stuck, not merely slow, may restart the host, and
    /// returns what it did for the user. Default: nothing.
    fn watch_boot(&self) -> DriverFuture<'_, Option<String>> {
        Box::pin(async { None })
    }
}
