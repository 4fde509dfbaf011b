//! The machine record: one versioned JSON document per machine, everything rmachine knows about it.
//! Paths inside it are relative to the store root so that a store can be moved.

use crate::driver_config::DriverConfig;
use rmachine_provision::EngineOptions;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The record format this rmachine writes; older ones are migrated on load, newer ones refused.
pub const RECORD_VERSION: u32 = 1;

/// Where a machine is in its life as rmachine sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProvisioningStatus {
    /// A create is under way (or was interrupted: `rm` cleans it up).
    Creating,
    /// Created, provisioned and verified.
    Ready,
    /// The last create or provision failed; `last_error` says why.
    Failed,
}

/// How rmachine reaches the host over SSH.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SshSettings {
    pub host: String,
    pub port: u16,
    pub user: String,
    /// The private key, relative to the store root; `None` means the ssh-agent.
    pub key: Option<PathBuf>,
    /// The host key pinned on first contact, as an OpenSSH public key line.
    pub host_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MachineRecord {
    pub version: u32,
    pub name: String,
    pub driver: DriverConfig,
    #[serde(default)]
    pub engine: EngineOptions,
    /// Extra subject alternative names for the engine's server certificate (`--tls-san`).
    #[serde(default)]
    pub tls_sans: Vec<String>,
    /// The cluster file (`rmachine apply`) that declared this machine, by cluster name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// `None` for machines rmachine does not reach over SSH (driver `none`).
    pub ssh: Option<SshSettings>,
    pub status: ProvisioningStatus,
    pub last_error: Option<String>,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub updated_at: String,
}

impl MachineRecord {
    pub fn new(name: &str, driver: DriverConfig, engine: EngineOptions, tls_sans: Vec<String>) -> Self {
        let now = now_rfc3339();
        MachineRecord {
            version: RECORD_VERSION,
            name: name.to_string(),
            driver,
            engine,
            tls_sans,
            cluster: None,
            ssh: None,
            status: ProvisioningStatus::Creating,
            last_error: None,
            created_at: now.clone(),
            updated_at: now,
        }
    }

    pub fn driver_name(&self) -> &'static str {
        self.driver.driver().name()
    }
}

pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}
