// tests/common — owns the helpers shared by rmachine's integration tests (`mod common;` in
// tests/*.rs). The end-to-end test hosts (Debian 12 + systemd + OpenSSH in namespaces at
// 10.211.0.N) come from tests/testbed/testbed.sh; `testbed` wraps it. `qemu` serves the QEMU test
// guest images over HTTP (the qemu driver's own test server, `http_server`). std and tempfile only.
#![allow(dead_code)]

pub mod cli;
pub mod docker_machine;
pub mod host_checks;
#[path = "../../drivers/qemu/src/test_http_server.rs"]
pub mod http_server;
pub mod plugins;
pub mod qemu;
pub mod testbed;
pub mod watch;

#[allow(unused_imports)]
pub use cli::*;
#[allow(unused_imports)]
pub use docker_machine::*;
#[allow(unused_imports)]
pub use host_checks::*;
#[allow(unused_imports)]
pub use plugins::*;
#[allow(unused_imports)]
pub use testbed::*;
#[allow(unused_imports)]
pub use watch::*;
