//! The files rmachine owns on a host (daemon.json, the service configuration, the TLS material):
//! their paths and modes, whether the host already has them as rendered, and how they travel to
//! `scripts/write-files.sh` (arguments plus one standard-input stream).

use sha2::{Digest, Sha256};

use crate::facts::FileState;
use crate::remote::EngineCertificates;

pub(crate) const DAEMON_JSON_PATH: &str = "/etc/docker/daemon.json";
pub(crate) const CA_PATH: &str = "/etc/docker/ca.pem";
pub(crate) const SERVER_CERTIFICATE_PATH: &str = "/etc/docker/server.pem";
pub(crate) const SERVER_KEY_PATH: &str = "/etc/docker/server-key.pem";
/// Where write-files.sh records the run whose backups are current.
pub(crate) const WRITE_MARKER_PATH: &str = "/etc/docker/.rmachine-write";

/// A file to have on the host, exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ManagedFile {
    pub path: String,
    pub mode: u32,
    pub content: Vec<u8>,
}

impl ManagedFile {
    pub(crate) fn new(path: &str, mode: u32, content: impl Into<Vec<u8>>) -> Self {
        Self { path: path.to_string(), mode, content: content.into() }
    }

    /// The content's SHA-256, in lower-case hex as `sha256sum` prints it.
    pub(crate) fn sha256(&self) -> String {
        Sha256::digest(&self.content).iter().map(|byte| format!("{byte:02x}")).collect()
    }

    /// The mode as `stat -c %a` prints it ("644", "600").
    pub(crate) fn mode_text(&self) -> String {
        format!("{:o}", self.mode)
    }

    /// Whether the host's file (None: missing) already has this content and mode.
    pub(crate) fn is_on_host(&self, state: Option<&FileState>) -> bool {
        state.is_some_and(|state| state.sha256 == self.sha256() && state.mode == self.mode_text())
    }
}

/// The TLS material, as files: certificates world-readable, the key for root only.
pub(crate) fn certificate_files(certificates: &EngineCertificates) -> Vec<ManagedFile> {
    vec![
        ManagedFile::new(CA_PATH, 0o644, certificates.ca_pem.as_bytes()),
        ManagedFile::new(SERVER_CERTIFICATE_PATH, 0o644, certificates.server_cert_pem.as_bytes()),
        ManagedFile::new(SERVER_KEY_PATH, 0o600, certificates.server_key_pem.as_bytes()),
    ]
}

/// The arguments (`MARKER RUN_ID DEST MODE LENGTH…`) and standard input (the contents, in
/// order) of write-files.sh for `files`.
pub(crate) fn write_files_input(run_identifier: &str, files: &[&ManagedFile]) -> (Vec<String>, Vec<u8>) {
    let mut arguments = vec![WRITE_MARKER_PATH.to_string(), run_identifier.to_string()];
    let mut input = Vec::new();
    for file in files {
        arguments.push(file.path.clone());
        arguments.push(format!("{:04o}", file.mode));
        arguments.push(file.content.len().to_string());
        input.extend_from_slice(&file.content);
    }
    (arguments, input)
}

#[cfg(test)]
#[path = "managed_files_tests.rs"]
mod tests;
