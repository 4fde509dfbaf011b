//! The SSH module's error type: every failure names the host (`user@host:port`), the key file or
//! the command involved, and keeps a remote command's exit status and stderr.

use std::path::PathBuf;
use std::time::Duration;

/// Everything that can go wrong while connecting to a host over SSH or running commands on it.
///
/// Messages are complete sentences meant for the user; the cause is part of the message, so the
/// variants do not chain a `source()` (which would print the cause twice under `anyhow`'s `{:#}`).
#[derive(Debug, thiserror::Error)]
pub enum SshError {
    #[error("cannot reach {address} over SSH: {reason}")]
    Unreachable { address: String, reason: String },

    #[error("SSH handshake with {address} failed: {reason}")]
    HandshakeFailed { address: String, reason: String },

    #[error(
        "SSH connection to {target} did not finish its handshake and authentication within {}",
        format_duration(*timeout)
    )]
    HandshakeTimedOut { target: String, timeout: Duration },

    #[error(
        "host key for {address} has changed: pinned {pinned_fingerprint} ({pinned_algorithm}), \
         host now offers {offered_fingerprint} ({offered_algorithm}). If the host was reinstalled \
         on purpose, remove the machine with `rmachine rm` and create it again (or re-pin its new \
         key); otherwise something may be intercepting the connection, so do not use it"
    )]
    HostKeyChanged {
        address: String,
        pinned_fingerprint: String,
        pinned_algorithm: String,
        offered_fingerprint: String,
        offered_algorithm: String,
    },

    #[error("the pinned host key for {address} is not a valid OpenSSH public key line: {reason}")]
    InvalidPinnedHostKey { address: String, reason: String },

    #[error("not a valid OpenSSH public key line ({key_start}...): {reason}")]
    InvalidPublicKey { key_start: String, reason: String },

    #[error("cannot load SSH private key {}: {reason}", path.display())]
    PrivateKeyUnreadable { path: PathBuf, reason: String },

    #[error("no SSH credentials for {target}: neither a private key file nor an ssh-agent socket was given")]
    NoCredentials { target: String },

    #[error(
        "SSH authentication failed for {target}: the server refused {tried}; check the machine's SSH \
         key (the driver's key option) and that the public key is in ~{user}/.ssh/authorized_keys"
    )]
    AuthenticationFailed { target: String, user: String, tried: String },

    #[error("cannot run `{command}` on {target}: {reason}")]
    CommandFailedToStart { target: String, command: String, reason: String },

    #[error(
        "command `{command}` on {target} did not finish within {} and was stopped",
        format_duration(*timeout)
    )]
    CommandTimedOut { target: String, command: String, timeout: Duration },

    #[error("the SSH connection to {target} was lost while running `{command}` (no exit status was received)")]
    ConnectionLost { target: String, command: String },

    #[error(
        "upload of {remote_path} to {target} failed with exit status {exit_status}: {}",
        String::from_utf8_lossy(stderr).trim()
    )]
    UploadFailed { target: String, remote_path: String, exit_status: u32, stderr: Vec<u8> },

    #[error("interactive SSH session with {target} failed: {reason}")]
    Terminal { target: String, reason: String },
}

/// Formats a duration the way the messages say it: "10s", "1.5s", "250ms", "3m".
pub(crate) fn format_duration(duration: Duration) -> String {
    let milliseconds = duration.as_millis();
    if milliseconds < 1000 {
        format!("{milliseconds}ms")
    } else if milliseconds.is_multiple_of(60_000) {
        format!("{}m", milliseconds / 60_000)
    } else if milliseconds.is_multiple_of(1000) {
        format!("{}s", milliseconds / 1000)
    } else {
        format!("{:.1}s", duration.as_secs_f64())
    }
}

/// Shortens a command for an error message: provisioning scripts can be long; the first line
/// (up to 200 characters) is enough to recognise one.
pub(crate) fn describe_command(command: &str) -> String {
    let first_line = command.lines().next().unwrap_or("");
    let truncated: String = first_line.chars().take(200).collect();
    if truncated.len() < command.trim_end().len() { format!("{truncated}...") } else { truncated }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(format_duration(Duration::from_secs(10)), "10s");
        assert_eq!(format_duration(Duration::from_secs(180)), "3m");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(format_duration(Duration::from_millis(250)), "250ms");
    }

    #[test]
    fn long_commands_are_shortened() {
        assert_eq!(describe_command("uname -a"), "uname -a");
        assert_eq!(describe_command("set -e\napt-get update"), "set -e...");
        assert_eq!(describe_command(&"x".repeat(300)).len(), 203);
    }
}
