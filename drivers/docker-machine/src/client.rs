//! [`MachinePlugin`]: one typed async method per RPC of docker-machine's plugin protocol
//! (`libmachine/drivers/rpc`), over a launched [`Plugin`]. Quick calls get
//! [`PluginOptions::call_timeout`]; calls that act on the host get
//! [`PluginOptions::long_call_timeout`], heartbeats watching the plugin meanwhile.

use crate::error::PluginError;
use crate::flags::{Flag, FlagValues};
use crate::gob::{Body, Value};
use crate::plugin::{LogSink, Plugin, PluginOptions, PluginSpec};
use crate::state::PluginState;
use std::path::Path;
use std::process::ExitStatus;
use std::sync::Arc;

/// A running docker-machine driver plugin.
pub struct MachinePlugin {
    plugin: Plugin,
}

/// The config blob docker-machine gives a fresh driver before anything else
/// (`SetConfigRaw`): the BaseDriver fields it knows, JSON.
pub fn initial_config(machine_name: &str, store_path: &Path) -> Vec<u8> {
    let config = serde_json::json!({ "MachineName": machine_name, "StorePath": store_path.to_string_lossy() });
    config.to_string().into_bytes()
}

impl MachinePlugin {
    /// Starts the plugin, connects, checks its API version (GetVersion) and starts heartbeats.
    pub async fn launch(spec: PluginSpec, options: PluginOptions, sink: Arc<dyn LogSink>) -> Result<Self, PluginError> {
        Ok(MachinePlugin { plugin: Plugin::launch(spec, options, sink).await? })
    }

    /// The process and connection underneath.
    pub fn plugin(&self) -> &Plugin {
        &self.plugin
    }

    /// Close, then wait for the process (killing it if it lingers) and reap it.
    pub async fn shutdown(self) -> Option<ExitStatus> {
        self.plugin.shutdown().await
    }

    async fn quick(&self, method: &str, body: Body<'_>) -> Result<Value, PluginError> {
        self.plugin.call(method, body, self.plugin.options().call_timeout).await
    }

    async fn long(&self, method: &str) -> Result<(), PluginError> {
        self.plugin.call(method, Body::Empty, self.plugin.options().long_call_timeout).await.map(drop)
    }

    async fn string(&self, method: &str) -> Result<String, PluginError> {
        let value = self.quick(method, Body::Empty).await?;
        value.as_str().map(str::to_owned).map_err(|e| self.plugin.bad_reply(method, e))
    }

    async fn int(&self, method: &str) -> Result<i64, PluginError> {
        let value = self.quick(method, Body::Empty).await?;
        value.as_int().map_err(|e| self.plugin.bad_reply(method, e))
    }

    /// The plugin API version (1).
    pub async fn get_version(&self) -> Result<i64, PluginError> {
        self.int("GetVersion").await
    }

    /// Sends a heartbeat now (the plugin also gets one every 5 s without asking).
    pub async fn heartbeat(&self) -> Result<(), PluginError> {
        self.quick("Heartbeat", Body::Empty).await.map(drop)
    }

    /// The driver's name (`hetzner`).
    pub async fn driver_name(&self) -> Result<String, PluginError> {
        self.string("DriverName").await
    }

    /// The driver's create flags.
    pub async fn get_create_flags(&self) -> Result<Vec<Flag>, PluginError> {
        let value = self.quick("GetCreateFlags", Body::Empty).await?;
        Flag::list_from_value(&value).map_err(|e| self.plugin.bad_reply("GetCreateFlags", e))
    }

    /// Replaces the driver's config with this JSON (a stored blob, or [`initial_config`]).
    pub async fn set_config_raw(&self, config: &[u8]) -> Result<(), PluginError> {
        self.quick("SetConfigRaw", Body::Bytes(config)).await.map(drop)
    }

    /// The driver's config, JSON, to store verbatim.
    pub async fn get_config_raw(&self) -> Result<Vec<u8>, PluginError> {
        let value = self.quick("GetConfigRaw", Body::Empty).await?;
        match value {
            Value::Bytes(bytes) => Ok(bytes),
            other => Err(self.plugin.bad_reply("GetConfigRaw", other.unexpected("a byte slice"))),
        }
    }

    /// Gives the driver its flag values (see [`crate::flag_values_with_defaults`]).
    pub async fn set_config_from_flags(&self, values: &FlagValues) -> Result<(), PluginError> {
        self.quick("SetConfigFromFlags", Body::Flags(values)).await.map(drop)
    }

    pub async fn pre_create_check(&self) -> Result<(), PluginError> {
        self.long("PreCreateCheck").await
    }

    pub async fn create(&self) -> Result<(), PluginError> {
        self.long("Create").await
    }

    pub async fn remove(&self) -> Result<(), PluginError> {
        self.long("Remove").await
    }

    pub async fn start(&self) -> Result<(), PluginError> {
        self.long("Start").await
    }

    pub async fn stop(&self) -> Result<(), PluginError> {
        self.long("Stop").await
    }

    pub async fn restart(&self) -> Result<(), PluginError> {
        self.long("Restart").await
    }

    pub async fn kill(&self) -> Result<(), PluginError> {
        self.long("Kill").await
    }

    pub async fn get_state(&self) -> Result<PluginState, PluginError> {
        let code = self.int("GetState").await?;
        PluginState::from_code(code).ok_or_else(|| PluginError::BadReply {
            plugin: self.plugin.name().into(),
            method: "GetState".into(),
            source: crate::gob::GobError::UnexpectedValue { expected: "a state from 0 to 8", found: "another number" },
        })
    }

    pub async fn get_ip(&self) -> Result<String, PluginError> {
        self.string("GetIP").await
    }

    pub async fn get_url(&self) -> Result<String, PluginError> {
        self.string("GetURL").await
    }

    pub async fn get_ssh_hostname(&self) -> Result<String, PluginError> {
        self.string("GetSSHHostname").await
    }

    pub async fn get_ssh_port(&self) -> Result<u16, PluginError> {
        let port = self.int("GetSSHPort").await?;
        u16::try_from(port).map_err(|_| PluginError::BadReply {
            plugin: self.plugin.name().into(),
            method: "GetSSHPort".into(),
            source: crate::gob::GobError::UnexpectedValue { expected: "a port number", found: "a number out of range" },
        })
    }

    pub async fn get_ssh_username(&self) -> Result<String, PluginError> {
        self.string("GetSSHUsername").await
    }

    pub async fn get_ssh_key_path(&self) -> Result<String, PluginError> {
        self.string("GetSSHKeyPath").await
    }

    /// The machine's name; later output lines are tagged with it, as docker-machine does.
    pub async fn get_machine_name(&self) -> Result<String, PluginError> {
        let name = self.string("GetMachineName").await?;
        self.plugin.set_label(&name);
        Ok(name)
    }
}
