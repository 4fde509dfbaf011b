//! User keys: loading private key files (OpenSSH or PEM format, ed25519 or RSA) for authentication.

use std::path::Path;

use russh::keys::ssh_key::PrivateKey;

use super::SshError;

/// Loads an unencrypted private key file (OpenSSH or PEM format).
pub(crate) fn load_private_key(path: &Path) -> Result<PrivateKey, SshError> {
    use std::os::unix::fs::MetadataExt;
    let unreadable = |reason: String| SshError::PrivateKeyUnreadable { path: path.to_path_buf(), reason };
    let mode = std::fs::metadata(path).map_err(|error| unreadable(error.to_string()))?.mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(unreadable(format!(
            "it can be read by others (mode {mode:04o}); rmachine does not use such a key, as OpenSSH refuses them: run 'chmod 600 {}' (and renew the key if someone else may have read it)",
            path.display()
        )));
    }
    let text = std::fs::read_to_string(path).map_err(|error| unreadable(error.to_string()))?;
    russh::keys::decode_secret_key(&text, None).map_err(|error| match error {
        russh::keys::Error::KeyIsEncrypted => {
            unreadable("the key is protected by a passphrase; load it into ssh-agent instead (ssh-add)".to_string())
        }
        other => unreadable(other.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_key_file_is_named() {
        let message = load_private_key(Path::new("/nonexistent/id_rsa")).unwrap_err().to_string();
        assert!(message.starts_with("cannot load SSH private key /nonexistent/id_rsa:"), "{message}");
    }

    /// `ssh-keygen -t ed25519` at `path` with `passphrase`.
    fn generate_key(path: &Path, passphrase: &str) {
        let status = std::process::Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", passphrase, "-f"])
            .arg(path)
            .status()
            .expect("ssh-keygen runs (install openssh-client)");
        assert!(status.success());
    }

    #[test]
    fn a_key_others_can_read_is_refused_with_a_chmod_hint() {
        use std::os::unix::fs::PermissionsExt;
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("id_ed25519");
        generate_key(&path, "");
        load_private_key(&path).expect("a 0600 key loads");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let message = load_private_key(&path).unwrap_err().to_string();
        assert!(
            message.contains("mode 0640") && message.contains(&format!("chmod 600 {}", path.display())),
            "{message}"
        );
    }

    #[test]
    fn encrypted_key_says_to_use_the_agent() {
        let directory = tempfile::tempdir().unwrap();
        let private_path = directory.path().join("id_ed25519");
        generate_key(&private_path, "secret");
        let message = load_private_key(&private_path).unwrap_err().to_string();
        assert!(message.contains("passphrase"), "{message}");
    }
}
