//! rmachine's QEMU driver: local virtual machines with no root and no rmachine background
//! process. Each machine is one daemonized `qemu-system-x86_64` controlled over a QMP UNIX socket
//! in the per-user runtime folder; its state comes from the lock QEMU holds on its pidfile plus
//! `query-status`. The disk is a qcow2 overlay on a verified, content-addressed cached image; a
//! cloud-init seed (FAT, `CIDATA`) gives the guest rmachine's user key and an SSH host key that is
//! pinned before the first boot; SSH and the engine are forwarded from ports on 127.0.0.1 (slirp),
//! and machines of one store can share a VM network (multicast on loopback) for swarms.

mod accel;
mod boot_watch;
mod check;
mod checksum;
mod cidata;
mod cmdline;
mod diagnostics;
mod disk;
mod download;
mod image;
mod keys;
mod kind;
mod launch;
mod lifecycle;
mod network;
mod ports;
mod process;
mod qmp;
mod settings;
mod state;

#[cfg(test)]
mod test_http_server;

pub use image::DEFAULT_IMAGE;
pub use kind::{NAME, config_from_options, kind};
pub use settings::{GUEST_ENGINE_PORT, QemuConfig};

use rmachine_drivers::{
    Addresses, CreateContext, Driver, DriverEnvironment, DriverError, DriverFuture, PowerOperation, PowerOutcome,
    SshEndpoint, StateReport, settings_to_json, tcp_url,
};
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicU32;
use std::time::Duration;

/// A first boot under TCG emulation takes minutes on a busy machine; under KVM, seconds.
const SSH_WAIT_TCG: Duration = Duration::from_secs(600);
const SSH_WAIT_KVM: Duration = Duration::from_secs(240);

/// One QEMU machine: its settings and what it may use of this machine.
pub struct QemuMachine {
    environment: Arc<DriverEnvironment>,
    config: QemuConfig,
    /// Resets of a stuck boot this run (boot_watch).
    boot_resets: AtomicU32,
}

impl QemuMachine {
    pub fn new(environment: Arc<DriverEnvironment>, config: QemuConfig) -> QemuMachine {
        QemuMachine { environment, config, boot_resets: AtomicU32::new(0) }
    }

    /// The machine's folder (absolute), once create has chosen it.
    fn directory(&self) -> Option<PathBuf> {
        self.config.created.machine_directory.as_ref().map(|relative| self.environment.store_root.join(relative))
    }

    /// A file in the machine's folder.
    fn file(&self, name: &str) -> Option<PathBuf> {
        self.directory().map(|folder| folder.join(name))
    }

    /// A short id for this store's machine, for socket names and MACs.
    fn id_bytes(&self) -> [u8; 32] {
        Sha256::new()
            .chain_update(self.environment.store_root.as_os_str().as_encoded_bytes())
            .chain_update([0])
            .chain_update(&self.config.machine_name)
            .finalize()
            .into()
    }

    /// This start's sockets in the runtime folder: `qemu-ID.qmp`, `qemu-ID.serial`.
    fn runtime_socket(&self, suffix: &str) -> PathBuf {
        let id = hex::encode(&self.id_bytes()[..6]);
        self.environment.runtime_dir.join(format!("qemu-{id}.{suffix}"))
    }

    fn nat_mac(&self) -> String {
        let id = self.id_bytes();
        format!("52:54:00:{:02x}:{:02x}:{:02x}", id[6], id[7], id[8])
    }
}

impl Driver for QemuMachine {
    fn name(&self) -> &str {
        kind::NAME
    }

    fn settings(&self) -> serde_json::Value {
        settings_to_json(&self.config)
    }

    fn pre_create_check(&self) -> DriverFuture<'_, Result<(), DriverError>> {
        Box::pin(check::pre_create_check(self))
    }

    fn create<'a>(&'a mut self, context: &'a CreateContext<'a>) -> DriverFuture<'a, Result<(), DriverError>> {
        Box::pin(lifecycle::create(self, context))
    }

    fn ip(&self) -> String {
        ports::LOOPBACK.to_string()
    }

    /// Public: 127.0.0.1 (the forwards). Private: the address on the VM network, when it has one.
    fn addresses(&self) -> Addresses {
        Addresses {
            public: Some(self.ip()),
            private: self.config.created.network_address.map(|address| address.ip.to_string()),
        }
    }

    fn engine_port(&self) -> u16 {
        GUEST_ENGINE_PORT
    }

    fn engine_url(&self) -> String {
        tcp_url(&self.ip(), self.config.created.engine_port)
    }

    fn ssh_endpoint(&self) -> Option<SshEndpoint> {
        Some(SshEndpoint {
            host: self.ip(),
            port: self.config.created.ssh_port,
            user: cidata::USER.to_string(),
            private_key: self
                .config
                .created
                .machine_directory
                .as_ref()
                .map(|folder| folder.join(settings::USER_KEY_FILE)),
            expected_host_key: self.config.created.host_public_key.clone(),
        })
    }

    fn state(&self, timeout: Duration) -> DriverFuture<'_, StateReport> {
        Box::pin(lifecycle::state(self, timeout))
    }

    fn remove(&self) -> DriverFuture<'_, Result<(), DriverError>> {
        Box::pin(lifecycle::remove(self))
    }

    /// A failed create removes the VM and its files, unless `--qemu-keep-on-failure`.
    fn remove_after_failed_create(&self, _provisioning_started: bool) -> bool {
        !self.config.keep_on_failure
    }

    fn power(&mut self, operation: PowerOperation) -> DriverFuture<'_, Result<PowerOutcome, DriverError>> {
        Box::pin(lifecycle::power(self, operation))
    }

    fn ssh_wait(&self) -> Option<Duration> {
        let (accel, _) = accel::resolve(self.config.accel, &accel::KvmSupport::probe());
        Some(if accel == accel::Accel::Kvm { SSH_WAIT_KVM } else { SSH_WAIT_TCG })
    }

    fn unreachable_hint(&self) -> Option<String> {
        Some(diagnostics::unreachable_hint(self))
    }

    fn watch_boot(&self) -> DriverFuture<'_, Option<String>> {
        Box::pin(boot_watch::watch(self))
    }
}
