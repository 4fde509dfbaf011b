//! SSH client for the hosts rmachine manages: one authenticated connection per `Session` (key file
//! and ssh-agent authentication, host key pinning or trust on first use), commands with stdin,
//! timeouts and separated output, atomic file uploads, streaming and interactive terminal sessions,
//! plus key generation, fingerprints and `known_hosts` lines for the system `ssh` binary.
//! Built on russh; nothing here reads environment variables or prints, except the interactive
//! session's own terminal I/O.

// The client is wider than today's commands: uploads, fingerprints and key generation serve
// scp and cloud drivers next.
#![allow(dead_code)]

mod authentication;
mod error;
mod host_key;
mod interactive;
mod keys;
mod remote_impl;
mod session;
#[cfg(test)]
mod sshd_fixture;
#[cfg(test)]
mod sshd_tests;

pub use error::SshError;
#[allow(unused_imports)]
pub use host_key::{fingerprint, known_hosts_line};
#[allow(unused_imports)]
pub use keys::generate_ed25519_key;
pub use rmachine_provision::CommandOutput;
pub use session::{Session, SshTarget};
