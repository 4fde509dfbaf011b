//! The `Driver` trait every driver implements, and `DriverConfig`, the driver settings a machine
//! record keeps (tagged by driver name so records stay readable and new drivers slot in).

use crate::{DriverError, GenericConfig, NoneConfig, StateReport};
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::time::Duration;

/// A boxed future, so that `Driver` stays usable as `dyn Driver`.
pub type DriverFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The names `--driver` accepts.
pub const DRIVER_NAMES: &[&str] = &["generic", "none"];

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
}

/// The driver settings stored in a machine record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "name", content = "settings", rename_all = "lowercase")]
pub enum DriverConfig {
    Generic(GenericConfig),
    None(NoneConfig),
}

impl DriverConfig {
    pub fn driver(&self) -> &dyn Driver {
        match self {
            DriverConfig::Generic(config) => config,
            DriverConfig::None(config) => config,
        }
    }

    pub fn driver_mut(&mut self) -> &mut dyn Driver {
        match self {
            DriverConfig::Generic(config) => config,
            DriverConfig::None(config) => config,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_name_the_driver_beside_its_settings() {
        let config = DriverConfig::None(NoneConfig { url: "tcp://10.0.0.5:2376".into() });
        let json = serde_json::to_value(&config).unwrap();
        assert_eq!(json["name"], "none");
        assert_eq!(json["settings"]["url"], "tcp://10.0.0.5:2376");
        let back: DriverConfig = serde_json::from_value(json).unwrap();
        assert_eq!(back, config);
    }

    #[test]
    fn an_unknown_driver_fails_to_parse() {
        let json = serde_json::json!({"name": "virtualbox", "settings": {}});
        assert!(serde_json::from_value::<DriverConfig>(json).is_err());
    }
}
