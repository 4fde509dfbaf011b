//! The machine's two ed25519 keys, generated here: the user key rmachine logs in with (written
//! into the machine's folder, 0600) and the SSH host key the guest is given through cloud-init, so
//! its public half is known, and pinned, before the guest first boots.

use rmachine_drivers::DriverError;
use russh::keys::ssh_key::{Algorithm, LineEnding, PrivateKey};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// A generated key pair as text.
pub struct KeyPair {
    /// OpenSSH private key format.
    pub private_openssh: String,
    /// `ssh-ed25519 AAAA... comment`
    pub public_line: String,
}

pub fn generate(comment: &str) -> Result<KeyPair, DriverError> {
    let failed =
        |error: russh::keys::ssh_key::Error| DriverError::failed("generating an ed25519 key", error.to_string());
    let mut random = russh::keys::key::safe_rng();
    let mut key = PrivateKey::random(&mut random, Algorithm::Ed25519).map_err(failed)?;
    key.set_comment(comment);
    let private_openssh = key.to_openssh(LineEnding::LF).map_err(failed)?.to_string();
    let public_line = key.public_key().to_openssh().map_err(failed)?;
    Ok(KeyPair { private_openssh, public_line })
}

/// Writes `pair` as `path` (0600, never over an existing key) and `path.pub`.
pub fn write(pair: &KeyPair, path: &Path) -> Result<(), DriverError> {
    let write_error = |source| DriverError::Write { path: path.to_path_buf(), source };
    let mut file =
        std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(write_error)?;
    file.write_all(pair.private_openssh.as_bytes()).and_then(|()| file.sync_all()).map_err(write_error)?;
    let public = path.with_extension("pub");
    std::fs::write(&public, format!("{}\n", pair.public_line))
        .map_err(|source| DriverError::Write { path: public, source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn keys_are_ed25519_in_openssh_formats_and_the_private_file_is_private() {
        let pair = generate("rmachine dev").unwrap();
        assert!(pair.private_openssh.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----"));
        assert!(pair.public_line.starts_with("ssh-ed25519 ") && pair.public_line.ends_with(" rmachine dev"));
        let parsed = PrivateKey::from_openssh(&pair.private_openssh).unwrap();
        assert_eq!(parsed.public_key().to_openssh().unwrap(), pair.public_line);
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("id_ed25519");
        write(&pair, &path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::read_to_string(folder.path().join("id_ed25519.pub")).unwrap().trim(), pair.public_line);
        assert!(write(&pair, &path).is_err(), "an existing key is never overwritten");
        assert_ne!(generate("x").unwrap().public_line, generate("x").unwrap().public_line);
    }
}
