//! The machine record: one versioned JSON document per machine, what rmachine itself owns about it
//! (its driver's name and settings, engine options, the pinned host key, provisioning status).
//! Where the machine is (address, SSH endpoint, engine URL) comes from the driver's settings, the
//! one source of truth. Paths inside it are relative to the store root so that a store can be moved.

use rmachine_provision::EngineOptions;
use serde::{Deserialize, Serialize};

/// The record format this rmachine writes; older ones are migrated on load (`migrate`), newer
/// ones refused.
pub const RECORD_VERSION: u32 = 2;

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

/// The machine's driver: its name and the settings it reported, from which its kind builds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriverRecord {
    pub name: String,
    #[serde(default)]
    pub settings: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MachineRecord {
    pub version: u32,
    pub name: String,
    pub driver: DriverRecord,
    #[serde(default)]
    pub engine: EngineOptions,
    /// Extra subject alternative names for the engine's server certificate (`--tls-san`).
    #[serde(default)]
    pub tls_sans: Vec<String>,
    /// The cluster file (`rmachine apply`) that declared this machine, by cluster name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// The docker-machine machine folder `rmachine import` made this machine from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imported_from: Option<String>,
    /// The host's SSH key, pinned before the first connection (when the driver gave the host its
    /// key) or on first contact, as an OpenSSH public key line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_key: Option<String>,
    pub status: ProvisioningStatus,
    pub last_error: Option<String>,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub updated_at: String,
}

impl MachineRecord {
    pub fn new(name: &str, driver: DriverRecord, engine: EngineOptions, tls_sans: Vec<String>) -> Self {
        let now = now_rfc3339();
        MachineRecord {
            version: RECORD_VERSION,
            name: name.to_string(),
            driver,
            engine,
            tls_sans,
            cluster: None,
            imported_from: None,
            host_key: None,
            status: ProvisioningStatus::Creating,
            last_error: None,
            created_at: now.clone(),
            updated_at: now,
        }
    }

    pub fn driver_name(&self) -> &str {
        &self.driver.name
    }
}

pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// Brings a record document of an older format up to [`RECORD_VERSION`], in memory: the file is
/// rewritten in the new format only when the machine next changes.
///
/// Version 1 kept a copy of the SSH endpoint beside the driver's settings (`ssh: {host, port,
/// user, key, host_key}`, and `engine.port`), which went stale when a cloud driver's address
/// changed; version 2 keeps only the pinned `host_key` and asks the driver for the rest.
pub fn migrate(mut document: serde_json::Value) -> Result<serde_json::Value, String> {
    let version = document.get("version").and_then(serde_json::Value::as_u64).unwrap_or(0);
    let object = document.as_object_mut().ok_or_else(|| "it is not a JSON object".to_string())?;
    if version < 2 {
        let ssh = object.remove("ssh");
        if let Some(host_key) = ssh.as_ref().and_then(|ssh| ssh.get("host_key")).filter(|key| !key.is_null()) {
            object.insert("host_key".into(), host_key.clone());
        }
        // The engine port is the driver's; version 1 kept a copy in the engine options.
        if let Some(engine) = object.get_mut("engine").and_then(serde_json::Value::as_object_mut) {
            engine.remove("port");
        }
        object.insert("version".into(), serde_json::Value::from(RECORD_VERSION));
    }
    Ok(document)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_1_keeps_the_pinned_key_and_drops_the_endpoint_copy() {
        let v1 = serde_json::json!({
            "version": 1, "name": "n", "driver": {"name": "none", "settings": {"url": "tcp://h:1"}},
            "ssh": {"host": "10.0.0.5", "port": 22, "user": "root", "key": null, "host_key": "ssh-ed25519 AAAA"},
        });
        let v2 = migrate(v1).unwrap();
        assert_eq!(v2["version"], 2);
        assert_eq!(v2["host_key"], "ssh-ed25519 AAAA");
        assert!(v2.get("ssh").is_none());
        let without_ssh = migrate(serde_json::json!({"version": 1, "name": "n", "ssh": null})).unwrap();
        assert!(without_ssh.get("host_key").is_none());
    }
}
