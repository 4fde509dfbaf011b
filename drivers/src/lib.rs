//! rmachine's drivers: each one creates and controls hosts of one kind (an existing host over SSH,
//! an engine rmachine does not manage; clouds, hypervisors and external plugins in crates of their
//! own) and says where to reach them. A driver never opens SSH itself: it hands back an
//! [`SshEndpoint`] and the engine's URL, and the core does the rest.
//!
//! Each kind declares itself once as a [`DriverKind`] (name, options, constructors); the binary
//! lists the built-in kinds in a [`Registry`], which also finds plugins at run time.

mod driver;
mod error;
pub mod files;
pub mod generic;
mod kind;
pub mod none;
mod options;
mod power;
mod probe;
mod registry;
mod state;

pub use driver::{Addresses, CreateContext, Driver, DriverFuture, SshEndpoint, tcp_url};
pub use error::DriverError;
pub use generic::GenericConfig;
pub use kind::{
    DockerMachineHost, DriverEnvironment, DriverKind, DriverLog, DriverOrigin, ImportedSettings, NewMachine, SilentLog,
    TransferLog, docker_machine_port, docker_machine_string,
};
pub use none::NoneConfig;
pub use options::{
    DriverOptions, OptionCheck, OptionKind, OptionSpec, OptionValue, bool_option, check_address, check_port,
    check_private_key_file, check_ssh_user, check_ssh_user_value, int_option, list_option, path_option, string_option,
};
pub use power::{PowerOperation, PowerOutcome, REBOOT_COMMAND};
pub use probe::{ProbeOutcome, probe_ssh, probe_tcp, state_from_probe, state_from_ssh_probe};
pub use registry::{
    DOCKER_MACHINE_PROTOCOL, PluginFinder, PluginListing, Registry, settings_from_json, settings_to_json,
};
pub use state::{MachineState, StateReport};
