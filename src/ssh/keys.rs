//! User keys: generating a machine's ed25519 key pair and loading private key files
//! (OpenSSH or PEM format, ed25519 or RSA) for authentication.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use russh::keys::ssh_key::{Algorithm, LineEnding, PrivateKey};

use super::SshError;

/// Generates an ed25519 key pair, writes the private key in OpenSSH format to `private_path`
/// (mode 0600) and the public key to `private_path` + ".pub", and returns the public key as an
/// OpenSSH line ("ssh-ed25519 AAAA... comment").
///
/// Refuses to overwrite an existing private key: losing a machine's key locks it out.
pub fn generate_ed25519_key(private_path: &Path, comment: &str) -> Result<String, SshError> {
    let generation_error = |reason: String| SshError::KeyGeneration { path: private_path.to_path_buf(), reason };
    let mut random = russh::keys::key::safe_rng();
    let mut key =
        PrivateKey::random(&mut random, Algorithm::Ed25519).map_err(|error| generation_error(error.to_string()))?;
    key.set_comment(comment);
    let private_openssh = key.to_openssh(LineEnding::LF).map_err(|error| generation_error(error.to_string()))?;
    let public_line = key.public_key().to_openssh().map_err(|error| generation_error(error.to_string()))?;

    write_new_file(private_path, private_openssh.as_bytes(), 0o600)?;
    let public_path = public_key_path(private_path);
    let public_contents = format!("{public_line}\n");
    if let Err(error) = std::fs::write(&public_path, public_contents) {
        let _ = std::fs::remove_file(private_path);
        return Err(SshError::KeyFileWrite { path: public_path, reason: error.to_string() });
    }
    Ok(public_line)
}

/// Where the public half of `private_path` goes: the same path with ".pub" appended.
pub(crate) fn public_key_path(private_path: &Path) -> PathBuf {
    let mut path = private_path.as_os_str().to_os_string();
    path.push(".pub");
    PathBuf::from(path)
}

fn write_new_file(path: &Path, contents: &[u8], mode: u32) -> Result<(), SshError> {
    let write_error = |reason: String| SshError::KeyFileWrite { path: path.to_path_buf(), reason };
    let mut file =
        std::fs::OpenOptions::new().write(true).create_new(true).mode(mode).open(path).map_err(|error| match error
            .kind()
        {
            std::io::ErrorKind::AlreadyExists => {
                write_error("the file already exists; refusing to overwrite a private key".to_string())
            }
            _ => write_error(error.to_string()),
        })?;
    file.write_all(contents).and_then(|()| file.sync_all()).map_err(|error| write_error(error.to_string()))
}

/// Loads an unencrypted private key file (OpenSSH or PEM format).
pub(crate) fn load_private_key(path: &Path) -> Result<PrivateKey, SshError> {
    let unreadable = |reason: String| SshError::PrivateKeyUnreadable { path: path.to_path_buf(), reason };
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
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn generated_key_is_written_0600_and_loads_back() {
        let directory = tempfile::tempdir().unwrap();
        let private_path = directory.path().join("id_ed25519");
        let public_line = generate_ed25519_key(&private_path, "rmachine-test").unwrap();

        assert!(public_line.starts_with("ssh-ed25519 AAAA"), "{public_line}");
        assert!(public_line.ends_with(" rmachine-test"), "{public_line}");
        let mode = std::fs::metadata(&private_path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let public_file = std::fs::read_to_string(directory.path().join("id_ed25519.pub")).unwrap();
        assert_eq!(public_file, format!("{public_line}\n"));

        let loaded = load_private_key(&private_path).unwrap();
        assert_eq!(loaded.public_key().to_openssh().unwrap(), public_line);
    }

    #[test]
    fn generation_refuses_to_overwrite_a_key() {
        let directory = tempfile::tempdir().unwrap();
        let private_path = directory.path().join("id_ed25519");
        std::fs::write(&private_path, "existing").unwrap();
        let message = generate_ed25519_key(&private_path, "c").unwrap_err().to_string();
        assert!(message.contains("already exists"), "{message}");
        assert!(message.contains(&private_path.display().to_string()), "{message}");
        assert_eq!(std::fs::read_to_string(&private_path).unwrap(), "existing");
    }

    #[test]
    fn missing_key_file_is_named() {
        let message = load_private_key(Path::new("/nonexistent/id_rsa")).unwrap_err().to_string();
        assert!(message.starts_with("cannot load SSH private key /nonexistent/id_rsa:"), "{message}");
    }

    #[test]
    fn encrypted_key_says_to_use_the_agent() {
        let directory = tempfile::tempdir().unwrap();
        let private_path = directory.path().join("id_ed25519");
        let status = std::process::Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "secret", "-f"])
            .arg(&private_path)
            .status()
            .expect("ssh-keygen runs (install openssh-client)");
        assert!(status.success());
        let message = load_private_key(&private_path).unwrap_err().to_string();
        assert!(message.contains("passphrase"), "{message}");
    }
}
