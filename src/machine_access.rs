//! Reaching machines from commands: opening the store, the store's certificates, an SSH session
//! to a machine with its pinned host key, and a TLS client for its engine.

use crate::context::Context;
use crate::ssh::{Session, SshTarget};
use crate::store::{MachineRecord, Store};
use crate::tls::{self, DockerClient, PemPair};
use anyhow::{Context as _, bail};
use std::path::Path;
use std::time::Duration;

pub const CA_CERTIFICATE: &str = "certs/ca.pem";
pub const CA_KEY: &str = "certs/ca-key.pem";
pub const CLIENT_CERTIFICATE: &str = "certs/cert.pem";
pub const CLIENT_KEY: &str = "certs/key.pem";

pub fn open_store(context: &Context) -> anyhow::Result<Store> {
    Ok(Store::open(&context.storage_path)?)
}

pub fn load_machine(store: &Store, name: &str) -> anyhow::Result<MachineRecord> {
    Ok(store.load(name)?)
}

/// The store's CA and client certificate, made the first time they are needed.
pub struct StoreCertificates {
    pub ca: PemPair,
    pub client: PemPair,
}

pub fn store_certificates(store: &Store) -> anyhow::Result<StoreCertificates> {
    let read = |relative: &str| store.read_file(Path::new(relative));
    if let (Ok(ca_cert), Ok(ca_key), Ok(client_cert), Ok(client_key)) =
        (read(CA_CERTIFICATE), read(CA_KEY), read(CLIENT_CERTIFICATE), read(CLIENT_KEY))
    {
        return Ok(StoreCertificates {
            ca: PemPair { cert_pem: ca_cert, key_pem: ca_key },
            client: PemPair { cert_pem: client_cert, key_pem: client_key },
        });
    }
    let _lock = store.lock()?;
    if let (Ok(ca_cert), Ok(ca_key), Ok(client_cert), Ok(client_key)) =
        (read(CA_CERTIFICATE), read(CA_KEY), read(CLIENT_CERTIFICATE), read(CLIENT_KEY))
    {
        return Ok(StoreCertificates {
            ca: PemPair { cert_pem: ca_cert, key_pem: ca_key },
            client: PemPair { cert_pem: client_cert, key_pem: client_key },
        });
    }
    let ca = tls::generate_ca("rmachine").context("cannot create the store's certificate authority")?;
    let client =
        tls::issue_client_certificate(&ca, "rmachine client").context("cannot create the client certificate")?;
    store.write_file(Path::new(CA_KEY), ca.key_pem.as_bytes(), 0o600)?;
    store.write_file(Path::new(CA_CERTIFICATE), ca.cert_pem.as_bytes(), 0o644)?;
    store.write_file(Path::new(CLIENT_KEY), client.key_pem.as_bytes(), 0o600)?;
    store.write_file(Path::new(CLIENT_CERTIFICATE), client.cert_pem.as_bytes(), 0o644)?;
    Ok(StoreCertificates { ca, client })
}

/// A TLS client for engines whose certificates this store issued.
pub fn docker_client(store: &Store, timeout: Duration) -> anyhow::Result<DockerClient> {
    let certificates = store_certificates(store)?;
    Ok(DockerClient::new(&certificates.ca.cert_pem, &certificates.client, timeout)?)
}

/// How to reach `record` over SSH; fails for machines rmachine does not reach over SSH.
pub fn ssh_target(
    store: &Store,
    record: &MachineRecord,
    context: &Context,
    connect_timeout: Duration,
    command_timeout: Duration,
) -> anyhow::Result<SshTarget> {
    let Some(ssh) = &record.ssh else {
        bail!(
            "machine '{}' uses the {} driver, which rmachine does not reach over SSH",
            record.name,
            record.driver_name()
        )
    };
    Ok(SshTarget {
        host: ssh.host.clone(),
        port: ssh.port,
        user: ssh.user.clone(),
        private_key: ssh.key.as_ref().map(|key| store.resolve(key)),
        agent_socket: context.ssh_agent_socket.clone(),
        pinned_host_key: ssh.host_key.clone(),
        connect_timeout,
        command_timeout,
    })
}

/// Opens an SSH session to a machine, refusing a host key other than the pinned one.
pub async fn connect(store: &Store, record: &MachineRecord, context: &Context) -> anyhow::Result<Session> {
    let target = ssh_target(store, record, context, Duration::from_secs(15), Duration::from_secs(900))?;
    Session::connect(&target).await.with_context(|| format!("cannot open SSH to machine '{}'", record.name))
}

/// The engine's URL as recorded by the driver.
pub fn engine_url(record: &MachineRecord) -> String {
    record.driver.driver().engine_url()
}
