//! Runs docker-machine's driver plugins (`docker-machine-driver-NAME`: hetzner, linode, Rancher's
//! node drivers …) unchanged. The layers, bottom up:
//!
//! - [`gob`]: Go's encoding/gob, as much as the protocol needs, byte-compatible with Go;
//! - [`rpc`]: a Go net/rpc client over HTTP CONNECT, replies matched to calls by sequence number;
//! - [`plugin`]: starting the binary, its address line, its output, heartbeats, shutdown;
//! - [`MachinePlugin`]: one typed async method per RPC of the protocol.
//!
//! Nothing here prints: a plugin's output goes to the caller's [`LogSink`].
//!
//! docker-machine's `create`, in short (one plugin process per command; the config blob
//! `get_config_raw` returns is what a machine record keeps, and `set_config_raw` gives it back to
//! the next process):
//!
//! ```no_run
//! use rmachine_driver_docker_machine::*;
//! use std::sync::Arc;
//! # async fn example() -> Result<(), PluginError> {
//! let path = find_plugin("hetzner", &std::env::var_os("PATH").unwrap_or_default()).expect("not installed");
//! let spec = PluginSpec::new("hetzner", path).env(std::env::vars_os()).label("node1");
//! let sink = Arc::new(|line: &PluginLine<'_>| eprintln!("{}", line.tagged()));
//! let plugin = MachinePlugin::launch(spec, PluginOptions::default(), sink).await?;
//! plugin.set_config_raw(&initial_config("node1", "/store".as_ref())).await?;
//! let flags = plugin.get_create_flags().await?;
//! let mut given = flag_values_from_env(&flags, |name| std::env::var(name).ok());
//! given.insert("hetzner-api-token", FlagValue::String("…".into()));
//! plugin.set_config_from_flags(&flag_values_with_defaults(&flags, &given)).await?;
//! plugin.pre_create_check().await?;
//! plugin.create().await?;
//! let config: Vec<u8> = plugin.get_config_raw().await?; // store it verbatim
//! let (ip, port, user) = (plugin.get_ip().await?, plugin.get_ssh_port().await?, plugin.get_ssh_username().await?);
//! # let _ = (config, ip, port, user);
//! plugin.shutdown().await;
//! # Ok(()) }
//! ```

mod client;
mod error;
pub mod flags;
pub mod gob;
pub mod output;
pub mod plugin;
pub mod rpc;
mod state;

pub use client::{MachinePlugin, initial_config};
pub use error::{FailureContext, PluginError};
pub use flags::{Flag, FlagKind, FlagValue, FlagValues, flag_values_from_env, flag_values_with_defaults};
pub use output::{LogSink, OutputStream, PluginLine};
pub use plugin::{Plugin, PluginOptions, PluginSpec, find_plugin};
pub use rpc::RpcError;
pub use state::PluginState;
