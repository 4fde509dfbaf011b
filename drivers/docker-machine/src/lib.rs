//! Runs docker-machine's driver plugins (`docker-machine-driver-NAME`: hetzner, linode, Rancher's
//! node drivers …) unchanged. The layers, bottom up:
//!
//! - [`gob`]: Go's encoding/gob, as much as the protocol needs, byte-compatible with Go;
//! - [`rpc`]: a Go net/rpc client over HTTP CONNECT, replies matched to calls by sequence number;
//! - [`plugin`]: starting the binary, its address line, its output, heartbeats, shutdown;
//! - [`MachinePlugin`]: one typed async method per RPC of the protocol.
//!
//! Nothing here prints: a plugin's output goes to the caller's [`LogSink`].

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
pub use flags::{Flag, FlagKind, FlagValue, FlagValues, flag_values_with_defaults};
pub use output::{LogSink, OutputStream, PluginLine};
pub use plugin::{Plugin, PluginOptions, PluginSpec, find_plugin};
pub use rpc::RpcError;
pub use state::PluginState;
