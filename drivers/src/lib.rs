//! rmachine's drivers: each one creates and controls hosts of one kind (an existing host over SSH,
//! an engine rmachine does not manage, later clouds and hypervisors) and says where to reach them.
//! A driver never opens SSH itself: it hands back an [`SshEndpoint`] and the engine's URL, and the
//! core does the rest.

mod driver;
mod error;
mod generic;
mod none;
mod power;
mod probe;
mod state;

pub use driver::{CreateContext, Driver, DriverFuture, SshEndpoint};
pub use error::DriverError;
pub use generic::GenericConfig;
pub use none::NoneConfig;
pub use power::{PowerOperation, PowerOutcome, REBOOT_COMMAND};
pub use probe::{ProbeOutcome, probe_tcp};
pub use state::{MachineState, StateReport};
