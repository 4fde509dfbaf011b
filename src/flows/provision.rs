//! Provisioning one machine over an open SSH session: its server certificate, the client
//! material for DOCKER_CERT_PATH, then the provisioner with a TLS readiness check; stopped by
//! SIGINT or SIGTERM, it records where it stopped and says how to go on.

use crate::context::Context;
use crate::engine_check::{AnyEngineCheck, SshEngineCheck, TlsEngineCheck};
use crate::interrupt::{Interrupts, Signal};
use crate::machine_access::{Machine, StoreCertificates, connect, store_certificates};
use crate::output::Progress;
use crate::ssh::Session;
use crate::store::{ProvisioningStatus, Store, StoreError};
use crate::tls::{self, DockerClient, PemPair};
use anyhow::Context as _;
use rmachine_provision::{EngineCertificates, ProvisionReport, ProvisionRequest};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const SERVER_CERTIFICATE: &str = "server.pem";
pub const SERVER_KEY: &str = "server-key.pem";

/// The subject alternative names the engine's certificate must carry.
pub fn server_certificate_names(machine: &Machine) -> Vec<String> {
    let mut names = vec![machine.driver.ip(), machine.record.name.clone(), "localhost".into(), "127.0.0.1".into()];
    names.extend(machine.record.tls_sans.iter().cloned());
    let mut unique = Vec::new();
    for name in names {
        if !name.is_empty() && !unique.contains(&name) {
            unique.push(name);
        }
    }
    unique
}

fn machine_file(machine: &Machine, file: &str) -> PathBuf {
    Store::relative_machine_directory(machine.name()).join(file)
}

/// The machine's server certificate: the stored one while it still names the machine's addresses,
/// else a new one (kept unchanged across runs so that re-provisioning changes nothing).
pub fn ensure_server_certificate(
    store: &Store,
    machine: &Machine,
    certificates: &StoreCertificates,
) -> anyhow::Result<PemPair> {
    let names = server_certificate_names(machine);
    let (certificate_path, key_path) = (machine_file(machine, SERVER_CERTIFICATE), machine_file(machine, SERVER_KEY));
    let key = match store.read_private(&key_path) {
        Err(error @ StoreError::ExposedKey { .. }) => return Err(error.into()),
        other => other,
    };
    if let (Ok(cert_pem), Ok(key_pem)) = (store.read_file(&certificate_path), key) {
        let covers_all = names.iter().all(|name| tls::certificate_covers(&cert_pem, name).unwrap_or(false));
        // One another CA issued (an imported machine's) moves to the store's.
        let ours = tls::issued_by(&cert_pem, &certificates.ca.cert_pem).unwrap_or(false);
        if covers_all && ours {
            return Ok(PemPair { cert_pem, key_pem });
        }
    }
    issue_server_certificate(store, machine, certificates)
}

/// A new server certificate for the machine's current names, written into its folder.
pub fn issue_server_certificate(
    store: &Store,
    machine: &Machine,
    certificates: &StoreCertificates,
) -> anyhow::Result<PemPair> {
    let names = server_certificate_names(machine);
    let name = machine.name();
    let server = tls::issue_server_certificate(&certificates.ca, &format!("rmachine.{name}"), &names)
        .with_context(|| format!("cannot issue the engine certificate for machine '{name}'"))?;
    store.write_files(&[
        (&machine_file(machine, SERVER_KEY), server.key_pem.as_bytes(), 0o600),
        (&machine_file(machine, SERVER_CERTIFICATE), server.cert_pem.as_bytes(), 0o644),
    ])?;
    Ok(server)
}

/// When the machine's IP is no longer in its engine certificate, or its engine still trusts the
/// CA it was imported with: what to tell the user (`env`, `ls` and `config` say it).
pub fn certificate_notice(store: &Store, machine: &Machine) -> Option<String> {
    let ip = machine.driver.ip();
    if ip.is_empty() || !machine.over_ssh() {
        return None;
    }
    let name = machine.name();
    let store_ca = store.read_file(Path::new(crate::machine_access::CA_CERTIFICATE)).ok()?;
    if store.read_file(&machine_file(machine, "ca.pem")).is_ok_and(|machine_ca| machine_ca != store_ca) {
        return Some(format!(
            "machine '{name}' still uses the certificate authority it was imported with, not rmachine's: 'rmachine provision {name}' moves it over"
        ));
    }
    let certificate = store.read_file(&machine_file(machine, SERVER_CERTIFICATE)).ok()?;
    match tls::certificate_covers(&certificate, &ip) {
        Ok(true) | Err(_) => None,
        Ok(false) => Some(format!(
            "machine '{name}' is now at {ip}, which its engine certificate does not name: 'rmachine regenerate-certs {name}' fixes it"
        )),
    }
}

/// Copies the CA and client certificate into the machine's folder, which `DOCKER_CERT_PATH` names.
pub fn write_client_material(store: &Store, machine: &Machine, certificates: &StoreCertificates) -> anyhow::Result<()> {
    let files = [
        ("ca.pem", &certificates.ca.cert_pem, 0o644),
        ("cert.pem", &certificates.client.cert_pem, 0o644),
        ("key.pem", &certificates.client.key_pem, 0o600),
    ];
    for (file, contents, mode) in files {
        let path = machine_file(machine, file);
        let current = if mode == 0o600 { store.read_private(&path) } else { store.read_file(&path) };
        match current {
            Err(error @ StoreError::ExposedKey { .. }) => return Err(error.into()),
            Ok(current) if current == *contents => {}
            _ => store.write_file(&path, contents.as_bytes(), mode)?,
        }
    }
    Ok(())
}

/// Fails when the private key in the machine's `DOCKER_CERT_PATH` can be read by others (`env`
/// and `config` point the docker CLI at it, which does not check).
pub fn check_client_key(store: &Store, machine: &Machine) -> anyhow::Result<()> {
    match store.check_private(&machine_file(machine, "key.pem")) {
        Err(error @ StoreError::ExposedKey { .. }) => Err(error.into()),
        _ => Ok(()),
    }
}

/// Runs the provisioner on `session` for `record`.
pub async fn provision_machine(
    store: &Store,
    machine: &Machine,
    session: &Session,
    engine_timeout: Duration,
    progress: &Progress,
) -> anyhow::Result<ProvisionReport> {
    let certificates = store_certificates(store)?;
    let server = ensure_server_certificate(store, machine, &certificates)?;
    write_client_material(store, machine, &certificates)?;
    let record = &machine.record;
    let check = if record.engine.transport == rmachine_provision::EngineTransport::Ssh {
        AnyEngineCheck::Ssh(SshEngineCheck { session, deadline: engine_timeout })
    } else {
        AnyEngineCheck::Tls(TlsEngineCheck {
            client: DockerClient::new(&certificates.ca.cert_pem, &certificates.client, Duration::from_secs(5))?,
            url: machine.engine_url(),
            deadline: engine_timeout,
        })
    };
    let engine_certificates = EngineCertificates {
        ca_pem: certificates.ca.cert_pem.clone(),
        server_cert_pem: server.cert_pem,
        server_key_pem: server.key_pem,
    };
    let request = ProvisionRequest {
        hostname: &record.name,
        driver_name: record.driver_name(),
        engine: &record.engine,
        certificates: &engine_certificates,
    };
    let report = rmachine_provision::provision(session, &check, &request, progress)
        .await
        .with_context(|| format!("provisioning machine '{}' failed", record.name))?;
    for warning in &report.warnings {
        progress.warning(warning);
    }
    Ok(report)
}

/// Provisions an existing machine over a new SSH session and records the outcome in its record:
/// ready, or failed with the error (which `ls` then shows).
pub async fn reprovision_and_record(
    store: &Store,
    machine: &mut Machine,
    context: &Context,
    engine_timeout: Duration,
    progress: &Progress,
) -> anyhow::Result<ProvisionReport> {
    if let Some(signal) = context.interrupts.signal() {
        return Err(signal.stopped(format!(
            "provision of machine '{}' not started: interrupted by {}",
            machine.name(),
            signal.name()
        )));
    }
    let session = connect(store, machine, context).await?;
    provision_session_and_record(store, machine, session, engine_timeout, progress, &context.interrupts).await
}

/// Provisions a machine over `session` (closed afterwards) and records the outcome; a signal
/// stops it where it is, and the record says where and what to run next.
pub async fn provision_session_and_record(
    store: &Store,
    machine: &mut Machine,
    session: Session,
    engine_timeout: Duration,
    progress: &Progress,
    interrupts: &Interrupts,
) -> anyhow::Result<ProvisionReport> {
    // Pinned on disk by `connect` on first use (an imported machine): the record saved below keeps it.
    machine.record.host_key.get_or_insert_with(|| session.host_key().to_string());
    let result = match interrupts.run(provision_machine(store, machine, &session, engine_timeout, progress)).await {
        Ok(result) => {
            session.close().await;
            result
        }
        // No goodbye to the host: the signal asked to stop now.
        Err(signal) => Err(stopped_while_provisioning(signal, machine.name(), progress, "provision")),
    };
    match &result {
        Ok(_) => {
            machine.record.status = ProvisioningStatus::Ready;
            machine.record.last_error = None;
        }
        Err(error) => {
            machine.record.status = ProvisioningStatus::Failed;
            machine.record.last_error = Some(format!("{error:#}"));
        }
    }
    machine.save(store)?;
    result
}

/// The error of provisioning stopped by `signal`: where it stopped, what the host does next on its
/// own, and the commands that go on from there (`provision`) or remove the machine (`rm`).
/// `verb` is what stopped: "provision", "create".
pub fn stopped_while_provisioning(signal: Signal, name: &str, progress: &Progress, verb: &str) -> anyhow::Error {
    let phase = progress.last_phase().unwrap_or_else(|| "starting".into());
    let mut message = format!("{verb} of machine '{name}' was interrupted by {} while {phase}", signal.name());
    if let Some(due) = progress.host_rollback_due_in() {
        message.push_str(&format!(
            "; the new engine configuration on the host was not confirmed yet, so the host restores the previous one and restarts docker by itself within {} s unless 'rmachine provision {name}' confirms one first",
            due.as_secs()
        ));
    } else if phase.starts_with("installing ") || phase.starts_with("waiting for another package manager") {
        message.push_str("; the host's package manager goes on by itself, and 'rmachine provision' waits for it");
    }
    message.push_str(&format!(
        ". Nothing is left half-written on the host. 'rmachine provision {name}' goes on from here, 'rmachine rm {name}' removes the machine"
    ));
    signal.stopped(message)
}
