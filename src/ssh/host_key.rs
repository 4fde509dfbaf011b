//! Host keys: checking the server's key against a pin during the handshake (or recording it for
//! trust on first use), SHA-256 fingerprints and `known_hosts` lines for the system `ssh` binary.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};

use russh::client;
use russh::keys::ssh_key::{Algorithm, PublicKey};
use russh::keys::{HashAlg, PublicKeyOrCertificate};

use super::SshError;

/// The SHA-256 fingerprint of an OpenSSH public key line ("ssh-ed25519 AAAA... comment"), in the
/// form `ssh-keygen -l` prints: "SHA256:...".
#[cfg(test)]
pub fn fingerprint(openssh_public_key_line: &str) -> Result<String, SshError> {
    let key = parse_public_key_line(openssh_public_key_line)?;
    Ok(key.fingerprint(HashAlg::Sha256).to_string())
}

/// One line for a `known_hosts` file read by the system `ssh` binary (no trailing newline):
/// `host keytype base64`, or `[host]:port keytype base64` when the port is not 22.
/// The key line's comment, if any, is dropped.
pub fn known_hosts_line(host: &str, port: u16, openssh_public_key_line: &str) -> String {
    let host_pattern = if port == 22 { host.to_string() } else { format!("[{host}]:{port}") };
    let key_fields: Vec<&str> = openssh_public_key_line.split_whitespace().take(2).collect();
    format!("{host_pattern} {}", key_fields.join(" "))
}

/// `known_hosts` text with `line` present once, and no other key for the same host (a machine
/// re-created at the same address has a new key). Every other line is kept byte for byte (its
/// `\r\n` too), in order. Whether anything changed.
pub fn with_pinned_line(existing: &str, line: &str) -> (String, bool) {
    let line = line.trim();
    let host = line.split_whitespace().next().unwrap_or_default();
    let mut kept = String::with_capacity(existing.len() + line.len() + 1);
    let mut present = false;
    let mut changed = false;
    for current in existing.split_inclusive('\n') {
        let content = current.strip_suffix('\n').unwrap_or(current);
        if content.trim() == line && !present {
            present = true;
        } else if content.trim() == line || content.split_whitespace().next() == Some(host) {
            changed = true;
            continue;
        }
        kept.push_str(current);
        if !current.ends_with('\n') {
            kept.push('\n');
            changed = true;
        }
    }
    if !present {
        kept.push_str(line);
        kept.push('\n');
        changed = true;
    }
    (kept, changed)
}

pub(crate) fn parse_public_key_line(openssh_public_key_line: &str) -> Result<PublicKey, SshError> {
    PublicKey::from_openssh(openssh_public_key_line.trim()).map_err(|error| SshError::InvalidPublicKey {
        key_start: openssh_public_key_line.chars().take(24).collect(),
        reason: error.to_string(),
    })
}

/// The key as an OpenSSH public key line without a comment: "ssh-ed25519 AAAA...".
pub(crate) fn openssh_line(key: &PublicKey) -> String {
    let mut key = key.clone();
    key.set_comment("");
    key.to_openssh().unwrap_or_else(|error| format!("<unencodable key: {error}>"))
}

pub(crate) fn sha256_fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// The host key algorithms to offer, with the pinned key's algorithm first so that a server with
/// several host keys (ed25519, ecdsa, rsa) presents the one that was pinned.
pub(crate) fn preferred_host_key_algorithms(pinned: Option<&PublicKey>) -> Cow<'static, [Algorithm]> {
    let defaults = russh::Preferred::DEFAULT.key;
    let Some(pinned) = pinned else {
        return defaults;
    };
    let pinned_algorithm = pinned.algorithm();
    let same_family = |algorithm: &Algorithm| match (algorithm, &pinned_algorithm) {
        (Algorithm::Rsa { .. }, Algorithm::Rsa { .. }) => true,
        (algorithm, pinned) => algorithm == pinned,
    };
    let (mut ordered, rest): (Vec<Algorithm>, Vec<Algorithm>) = defaults.iter().cloned().partition(same_family);
    ordered.extend(rest);
    Cow::Owned(ordered)
}

/// What the handshake saw: the key the server offered, shared with the handler that russh owns.
pub(crate) type SeenHostKey = Arc<Mutex<Option<PublicKey>>>;

/// The russh client handler: accepts the server's key if it matches the pin (or if there is no
/// pin: trust on first use) and records the offered key either way, so that a refusal can be
/// explained with both fingerprints.
pub(crate) struct HostKeyCheck {
    pub(crate) pinned: Option<PublicKey>,
    pub(crate) seen: SeenHostKey,
}

impl client::Handler for HostKeyCheck {
    type Error = russh::Error;

    async fn check_server_key(&mut self, offered: &PublicKeyOrCertificate) -> Result<bool, Self::Error> {
        // Host certificates are never requested (Preferred::host_key_certificates is empty).
        let PublicKeyOrCertificate::PublicKey { key, .. } = offered else {
            return Ok(false);
        };
        if let Ok(mut seen) = self.seen.lock() {
            *seen = Some(key.clone());
        }
        Ok(match &self.pinned {
            Some(pinned) => pinned.key_data() == key.key_data(),
            None => true,
        })
    }
}

/// The error for a handshake that failed after the server offered a key that is not the pinned
/// one, or `None` if the failure had another cause.
pub(crate) fn host_key_change(address: &str, pinned: Option<&PublicKey>, seen: &SeenHostKey) -> Option<SshError> {
    let pinned = pinned?;
    let offered = seen.lock().ok()?.clone()?;
    if offered.key_data() == pinned.key_data() {
        return None;
    }
    Some(SshError::HostKeyChanged {
        address: address.to_string(),
        pinned_fingerprint: sha256_fingerprint(pinned),
        pinned_algorithm: pinned.algorithm().as_str().to_string(),
        offered_fingerprint: sha256_fingerprint(&offered),
        offered_algorithm: offered.algorithm().as_str().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // `ssh-keygen -t ed25519` output; fingerprint checked with `ssh-keygen -lf`.
    const ED25519_LINE: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK4eFfuyZ7VWOoT1rEVeMDKvyjmFWeKgXIVvxDjd0qVz test@example";

    #[test]
    fn fingerprint_matches_ssh_keygen() {
        assert_eq!(fingerprint(ED25519_LINE).unwrap(), "SHA256:7lfLF3lZdLKGWMxzwa03pH0oMLaZRBttutfv2tenOdY");
    }

    #[test]
    fn fingerprint_rejects_garbage_and_names_it() {
        let message = fingerprint("ssh-ed25519 not-base64!").unwrap_err().to_string();
        assert!(message.contains("not a valid OpenSSH public key line (ssh-ed25519 not-base64!"), "{message}");
    }

    #[test]
    fn known_hosts_line_uses_bracket_form_for_other_ports() {
        let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK4eFfuyZ7VWOoT1rEVeMDKvyjmFWeKgXIVvxDjd0qVz";
        assert_eq!(known_hosts_line("10.0.0.5", 22, ED25519_LINE), format!("10.0.0.5 {key}"));
        assert_eq!(known_hosts_line("10.0.0.5", 2222, ED25519_LINE), format!("[10.0.0.5]:2222 {key}"));
    }

    #[test]
    fn openssh_line_drops_the_comment() {
        let key = parse_public_key_line(ED25519_LINE).unwrap();
        assert_eq!(
            openssh_line(&key),
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK4eFfuyZ7VWOoT1rEVeMDKvyjmFWeKgXIVvxDjd0qVz"
        );
    }

    #[test]
    fn pinned_algorithm_is_offered_first() {
        let key = parse_public_key_line(ED25519_LINE).unwrap();
        let ordered = preferred_host_key_algorithms(Some(&key));
        assert_eq!(ordered[0], Algorithm::Ed25519);
        assert_eq!(ordered.len(), russh::Preferred::DEFAULT.key.len());
    }

    #[test]
    fn the_pinned_line_replaces_stale_keys_for_the_same_host_only() {
        let existing = "10.0.0.5 ssh-ed25519 OLD\nother ssh-rsa KEEP\n";
        let (text, changed) = with_pinned_line(existing, "10.0.0.5 ssh-ed25519 NEW");
        assert!(changed);
        assert_eq!(text, "other ssh-rsa KEEP\n10.0.0.5 ssh-ed25519 NEW\n");
        assert_eq!(with_pinned_line(&text, "10.0.0.5 ssh-ed25519 NEW"), (text.clone(), false));
    }

    // Found by the known_hosts fuzz target: a last line without its newline lost a `\r`, and a
    // pinned line written twice by someone else was kept twice.
    #[test]
    fn other_lines_are_kept_byte_for_byte_and_the_pinned_line_once() {
        let existing = "a ssh-rsa K\r\nb ssh-rsa L\r";
        let (text, changed) = with_pinned_line(existing, "h ssh-ed25519 N");
        assert!(changed);
        assert_eq!(text, "a ssh-rsa K\r\nb ssh-rsa L\r\nh ssh-ed25519 N\n");
        let (text, changed) = with_pinned_line("h ssh-ed25519 N\nx ssh-rsa K\n h ssh-ed25519 N \n", "h ssh-ed25519 N");
        assert!(changed);
        assert_eq!(text, "h ssh-ed25519 N\nx ssh-rsa K\n");
    }
}
