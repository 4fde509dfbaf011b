//! Reaching machines from commands: opening the store, which machine a command means when none
//! is named (docker-machine's `default`), a machine (its record and the driver built from it, the
//! one source of truth for where it is) and whether it runs, the store's certificates, an SSH
//! session to a machine with its pinned host key, and a TLS client for its engine.

use crate::context::Context;
use crate::ssh::{self, Session, SshTarget};
use crate::store::{MachineRecord, Store, StoreError};
use crate::tls::{self, DockerClient, PemPair};
use anyhow::{Context as _, anyhow, bail};
use rmachine_drivers::{Driver, MachineState};
use std::path::Path;
use std::time::{Duration, Instant};

pub const CA_CERTIFICATE: &str = "certs/ca.pem";
pub const CA_KEY: &str = "certs/ca-key.pem";
pub const CLIENT_CERTIFICATE: &str = "certs/cert.pem";
pub const CLIENT_KEY: &str = "certs/key.pem";

pub fn open_store(context: &Context) -> anyhow::Result<Store> {
    Ok(Store::open(&context.storage_path, crate::output::warning)?)
}

/// A machine: its record and its driver, built from the record's driver settings.
pub struct Machine {
    pub record: MachineRecord,
    pub driver: Box<dyn Driver>,
}

impl Machine {
    /// The machine of `record`, its driver built by the registry.
    pub fn from_record(mut record: MachineRecord, context: &Context) -> anyhow::Result<Machine> {
        let driver = context
            .registry
            .open(&record.driver.name, &record.driver.settings)
            .with_context(|| format!("machine '{}'", record.name))?;
        record.engine.port = driver.engine_port();
        Ok(Machine { record, driver })
    }

    pub fn name(&self) -> &str {
        &self.record.name
    }

    /// The engine's URL, as the driver reports it.
    pub fn engine_url(&self) -> String {
        self.driver.engine_url()
    }

    /// Whether rmachine reaches (and provisions) the machine over SSH.
    pub fn over_ssh(&self) -> bool {
        self.driver.ssh_endpoint().is_some()
    }

    /// Takes the driver's current settings into the record and saves it.
    pub fn save(&mut self, store: &Store) -> anyhow::Result<()> {
        self.record.driver.settings = self.driver.settings();
        Ok(store.save(&mut self.record)?)
    }
}

pub fn open_machine(store: &Store, context: &Context, name: &str) -> anyhow::Result<Machine> {
    Machine::from_record(store.load(name)?, context)
}

/// The machine commands use when no name is given (docker-machine's rule).
pub const DEFAULT_MACHINE: &str = "default";

/// `names`, or, when there are none, the machine named `default` if it exists.
pub fn names_or_default(store: &Store, names: &[String]) -> anyhow::Result<Vec<String>> {
    if !names.is_empty() {
        return Ok(names.to_vec());
    }
    if store.exists(DEFAULT_MACHINE) {
        return Ok(vec![DEFAULT_MACHINE.to_string()]);
    }
    bail!(
        "no machine name given, and no machine named '{DEFAULT_MACHINE}' exists to use instead: name a machine ('rmachine ls' lists them)"
    )
}

/// `name`, or the machine named `default` if it exists.
pub fn name_or_default(store: &Store, name: Option<&str>) -> anyhow::Result<String> {
    let names: Vec<String> = name.map(str::to_string).into_iter().collect();
    Ok(names_or_default(store, &names)?.remove(0))
}

/// Fails unless the machine runs, as docker-machine checks before it hands out connection
/// settings (env, url, config, version) or opens SSH. Machines of drivers rmachine does not reach
/// over SSH (none: an engine rmachine does not manage) are not asked.
pub async fn require_running(machine: &Machine, timeout: Duration) -> anyhow::Result<()> {
    if !machine.over_ssh() {
        return Ok(());
    }
    let report = machine.driver.state(timeout).await;
    if report.state == MachineState::Running {
        return Ok(());
    }
    let name = machine.name();
    let why = report.reason.map(|reason| format!(" ({reason})")).unwrap_or_default();
    let state = match report.state {
        MachineState::Stopped => "stopped".to_string(),
        MachineState::Timeout => format!("not answering within {}s", timeout.as_secs()),
        other => format!("not running (state {other})"),
    };
    bail!("machine '{name}' is {state}{why}: start it ('rmachine start {name}', or bring the host up) and try again")
}

/// How long commands wait for a driver to say whether a machine runs.
pub const STATE_TIMEOUT: Duration = Duration::from_secs(10);

/// The store's CA and client certificate, made the first time they are needed.
pub struct StoreCertificates {
    pub ca: PemPair,
    pub client: PemPair,
}

pub fn store_certificates(store: &Store) -> anyhow::Result<StoreCertificates> {
    if let Some(certificates) = existing_store_certificates(store)? {
        return Ok(certificates);
    }
    let _lock = store.lock()?;
    if let Some(certificates) = existing_store_certificates(store)? {
        return Ok(certificates);
    }
    let certificates = new_store_certificates()?;
    write_store_certificates(store, &certificates)?;
    Ok(certificates)
}

/// The store's CA and client certificate when all four files are there; a private key others
/// can read is an error.
fn existing_store_certificates(store: &Store) -> anyhow::Result<Option<StoreCertificates>> {
    let read = |relative: &str| store.read_file(Path::new(relative));
    let read_key = |relative: &str| match store.read_private(Path::new(relative)) {
        Err(error @ StoreError::ExposedKey { .. }) => Err(error),
        other => Ok(other.ok()),
    };
    let (ca_key, client_key) = (read_key(CA_KEY)?, read_key(CLIENT_KEY)?);
    Ok(match (read(CA_CERTIFICATE), ca_key, read(CLIENT_CERTIFICATE), client_key) {
        (Ok(ca_cert), Some(ca_key), Ok(client_cert), Some(client_key)) => Some(StoreCertificates {
            ca: PemPair { cert_pem: ca_cert, key_pem: ca_key },
            client: PemPair { cert_pem: client_cert, key_pem: client_key },
        }),
        _ => None,
    })
}

/// A new CA and a client certificate it signed.
pub fn new_store_certificates() -> anyhow::Result<StoreCertificates> {
    let ca = tls::generate_ca("rmachine").context("cannot create the store's certificate authority")?;
    let client =
        tls::issue_client_certificate(&ca, "rmachine client").context("cannot create the client certificate")?;
    Ok(StoreCertificates { ca, client })
}

/// Writes the CA and client certificate together: all four files or, on failure, none.
pub fn write_store_certificates(store: &Store, certificates: &StoreCertificates) -> anyhow::Result<()> {
    let (ca, client) = (&certificates.ca, &certificates.client);
    Ok(store.write_files(&[
        (Path::new(CA_KEY), ca.key_pem.as_bytes(), 0o600),
        (Path::new(CA_CERTIFICATE), ca.cert_pem.as_bytes(), 0o644),
        (Path::new(CLIENT_KEY), client.key_pem.as_bytes(), 0o600),
        (Path::new(CLIENT_CERTIFICATE), client.cert_pem.as_bytes(), 0o644),
    ])?)
}

/// A TLS client for engines whose certificates this store issued.
pub fn docker_client(store: &Store, timeout: Duration) -> anyhow::Result<DockerClient> {
    let certificates = store_certificates(store)?;
    Ok(DockerClient::new(&certificates.ca.cert_pem, &certificates.client, timeout)?)
}

/// How to reach `machine` over SSH, where its driver says it is now; fails for machines rmachine
/// does not reach over SSH. The host key is the pinned one, else the one the driver gave the host.
pub fn ssh_target(
    store: &Store,
    machine: &Machine,
    context: &Context,
    connect_timeout: Duration,
    command_timeout: Duration,
) -> anyhow::Result<SshTarget> {
    let Some(endpoint) = machine.driver.ssh_endpoint() else {
        bail!(
            "machine '{}' uses the {} driver, which rmachine does not reach over SSH",
            machine.name(),
            machine.record.driver_name()
        )
    };
    Ok(SshTarget {
        host: endpoint.host,
        port: endpoint.port,
        user: endpoint.user,
        private_key: endpoint.private_key.as_ref().map(|key| store.resolve(key)),
        agent_socket: context.ssh_agent_socket.clone(),
        pinned_host_key: machine.record.host_key.clone().or(endpoint.expected_host_key),
        connect_timeout,
        command_timeout,
    })
}

/// Opens an SSH session to a machine, refusing a host key other than the pinned one. A machine
/// with no pinned key yet (one `rmachine import` made) has the key it meets pinned in its record.
pub async fn connect(store: &Store, machine: &Machine, context: &Context) -> anyhow::Result<Session> {
    let target = ssh_target(store, machine, context, Duration::from_secs(15), Duration::from_secs(900))?;
    let session =
        Session::connect(&target).await.with_context(|| format!("cannot open SSH to machine '{}'", machine.name()))?;
    if target.pinned_host_key.is_none() {
        let mut pinned = open_machine(store, context, machine.name())?;
        if pinned.record.host_key.is_none() {
            crate::known_hosts::pin(store, &mut pinned, session.host_key())?;
        }
    }
    Ok(session)
}

/// How often the driver looks at a booting host while the core waits for it.
const BOOT_WATCH_INTERVAL: Duration = Duration::from_secs(3);

/// Runs `waiting` (for SSH, for the engine) while the driver watches the host's boot every few
/// seconds: a driver that sees it stuck may reset the host (the qemu driver's boot watchdog);
/// `warn` tells the user what it did.
pub async fn watching_boot<T>(
    driver: &dyn Driver,
    warn: &(dyn Fn(&str) + Sync),
    waiting: impl std::future::Future<Output = T>,
) -> T {
    let watch = async {
        loop {
            tokio::time::sleep(BOOT_WATCH_INTERVAL).await;
            if let Some(action) = driver.watch_boot().await {
                warn(&action);
            }
        }
    };
    tokio::select! {
        result = waiting => result,
        never = watch => never,
    }
}

/// Connects until the host answers or `timeout` passes; errors other than an unreachable host
/// (a refused key, a changed host key) fail at once. On timeout the driver's hint (a boot log,
/// the likely cause) is part of the error.
pub async fn wait_for_ssh(target: &SshTarget, timeout: Duration, driver: &dyn Driver) -> anyhow::Result<Session> {
    let deadline = Instant::now() + timeout;
    loop {
        match Session::connect(target).await {
            Ok(session) => return Ok(session),
            Err(error) if is_unreachable(&error) && Instant::now() + Duration::from_secs(2) < deadline => {
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            Err(error) if is_unreachable(&error) => {
                let hint = driver.unreachable_hint().map(|hint| format!("\n{hint}")).unwrap_or_default();
                return Err(anyhow!(error)).with_context(|| {
                    format!(
                        "{}:{} did not answer SSH within {}s (--ssh-timeout){hint}",
                        target.host,
                        target.port,
                        timeout.as_secs()
                    )
                });
            }
            Err(error) => return Err(error.into()),
        }
    }
}

/// Whether a failed connect may succeed later (the host is booting), unlike a refused key.
fn is_unreachable(error: &ssh::SshError) -> bool {
    matches!(
        error,
        ssh::SshError::Unreachable { .. }
            | ssh::SshError::HandshakeTimedOut { .. }
            | ssh::SshError::HandshakeFailed { .. }
    )
}
