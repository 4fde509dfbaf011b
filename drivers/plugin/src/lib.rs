//! External drivers, as driver kinds of rmachine's registry:
//!
//! - rmachine's own driver protocol, version 1 (`docs/driver-protocol.md`): an executable
//!   `rmachine-driver-NAME` in `RMACHINE_DRIVER_PATH` or `PATH`, JSON-RPC 2.0 one object per line
//!   on its stdin/stdout, its stderr a log. [`jsonrpc`] owns the bytes, [`process`] one plugin
//!   process, [`protocol`] the handshake and error codes, [`kind`] finding plugins and
//!   [`driver`] a machine of one.
//! - docker-machine's plugins (`docker-machine-driver-NAME`), run unchanged through the
//!   `rmachine-driver-docker-machine` crate's protocol layer: [`docker_machine`].
//!
//! Both cache where a machine is ([`endpoint`]) in its settings, so the synchronous driver
//! methods start no process.

mod blocking;
pub mod docker_machine;
pub mod driver;
pub mod endpoint;
pub mod jsonrpc;
pub mod kind;
pub mod process;
pub mod protocol;

pub use kind::finder;
