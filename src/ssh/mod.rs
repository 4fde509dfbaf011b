//! SSH client for the hosts rmachine manages: one authenticated connection per `Session` (key file
//! and ssh-agent authentication, host key pinning or trust on first use), commands with stdin,
//! timeouts and separated output, atomic file uploads, streaming and interactive terminal sessions,
//! plus `known_hosts` lines for the system `ssh` binary.
//! Built on russh; nothing here reads environment variables or prints, except the interactive
//! session's own terminal I/O.

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
#[cfg(test)]
pub use host_key::fingerprint;
pub use host_key::{known_hosts_line, with_pinned_line};
pub use rmachine_provision::CommandOutput;
pub use session::{Session, SshTarget};
