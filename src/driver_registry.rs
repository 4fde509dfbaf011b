//! The built-in drivers and plugin protocols: the one place in the binary that names them (and the
//! default, qemu: a local VM needs no account). A new driver is a crate of its own plus one line here.

use rmachine_drivers::{DriverEnvironment, DriverKind, PluginFinder, Registry};
use std::sync::Arc;

/// The registry of every driver this build of rmachine has, over `environment`.
pub fn registry(environment: Arc<DriverEnvironment>) -> Registry {
    let builtin: Vec<Arc<dyn DriverKind>> = vec![
        rmachine_drivers::generic::kind(),
        rmachine_drivers::none::kind(),
        #[cfg(feature = "aws")]
        rmachine_driver_aws::kind(),
        rmachine_driver_qemu::kind(),
    ];
    // rmachine's own protocol first: docker-machine's plugin of a name is used only without one.
    let finders: Vec<Arc<dyn PluginFinder>> =
        vec![rmachine_driver_plugin::finder(), rmachine_driver_plugin::docker_machine::finder()];
    Registry::new(environment, Some("qemu"), builtin, finders)
}
