//! The `Driver` trait every driver implements. (`DriverConfig`, the settings a record keeps, is in
//! the binary crate's src/driver_config.rs, since drivers in crates of their own depend on this one.)

use crate::{DriverError, PowerOperation, PowerOutcome, StateReport};
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
    /// The private key, relative to the store root when it lives in the store.
    pub private_key: Option<PathBuf>,
}

/// What a driver may use while creating a machine.
pub struct CreateContext<'a> {
    /// The root of the state store; paths a driver records are relative to it.
    pub store_root: &'a Path,
    /// The machine's own folder, relative to `store_root`; it exists already.
    pub machine_directory: &'a Path,
}

pub trait Driver: Send + Sync {
    fn name(&self) -> &'static str;

    /// Checks the settings before anything is created or written.
    fn pre_create_check(&self) -> Result<(), DriverError>;

    /// Creates the host (or takes hold of it) and records what it made in `self`.
    fn create<'a>(&'a mut self, context: &'a CreateContext<'a>) -> DriverFuture<'a, Result<(), DriverError>>;

    /// The address users and certificates know the machine by.
    fn ip(&self) -> String;

    /// The engine's URL, `tcp://IP:PORT`.
    fn engine_url(&self) -> String;

    /// Where to reach the host over SSH; `None` for machines rmachine does not provision.
    fn ssh_endpoint(&self) -> Option<SshEndpoint>;

    /// Asks the host (or its cloud) what state it is in, giving up after `timeout`.
    fn state(&self, timeout: Duration) -> DriverFuture<'_, StateReport>;

    /// Removes what `create` made; hosts rmachine did not make are left alone.
    fn remove(&self) -> DriverFuture<'_, Result<(), DriverError>>;

    /// Whether a failed (or interrupted) create calls `remove` and drops the record. The default
    /// does so only while provisioning has not started (a host the user brought is kept with its
    /// error); cloud drivers remove what they launched after any failure unless told to keep it.
    fn remove_after_failed_create(&self, provisioning_started: bool) -> bool {
        !provisioning_started
    }

    /// Starts, stops, restarts or kills (forced stop) the host, updating what it records (a new
    /// IP after a start); the core saves the record and warns when the IP changed. Default: unsupported.
    fn power(&mut self, operation: PowerOperation) -> DriverFuture<'_, Result<PowerOutcome, DriverError>> {
        let driver = self.name();
        Box::pin(async move {
            Err(DriverError::Unsupported {
                driver,
                operation: operation.verb(),
                reason: "it does not control the host's power",
            })
        })
    }
}
