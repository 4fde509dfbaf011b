//! Files drivers keep in a machine's folder: private copies of keys (0600, never overwriting) and
//! freshly generated ed25519 key pairs, so every driver writes them the same way.

use crate::DriverError;
use std::io::Write;
use std::path::{Path, PathBuf};

/// `path` with `.EXTENSION` appended (`id_ssh` → `id_ssh.pub`).
pub fn with_extension_appended(path: &Path, extension: &str) -> PathBuf {
    let mut text = path.as_os_str().to_owned();
    text.push(".");
    text.push(extension);
    PathBuf::from(text)
}

/// Writes a new file only its owner can read; an existing file is never overwritten.
pub fn write_private(path: &Path, contents: &[u8]) -> Result<(), DriverError> {
    write_new(path, contents, 0o600)
}

/// Writes a new file with `mode` under a temporary name beside it, syncs it, then links it into
/// place unless `path` exists: a failed write (a full disk) leaves no partial file, and the
/// temporary file is deleted.
fn write_new(path: &Path, contents: &[u8], mode: u32) -> Result<(), DriverError> {
    use std::os::unix::fs::PermissionsExt;
    let write_error = |source| DriverError::Write { path: path.into(), source };
    let folder = path.parent().unwrap_or(Path::new("."));
    let mut temporary = tempfile::Builder::new()
        .prefix(".tmp-")
        .permissions(std::fs::Permissions::from_mode(mode))
        .tempfile_in(folder)
        .map_err(write_error)?;
    temporary.write_all(contents).map_err(write_error)?;
    temporary.as_file().sync_all().map_err(write_error)?;
    temporary.persist_noclobber(path).map_err(|error| write_error(error.error))?;
    Ok(())
}

/// Copies a file so that only its owner can read the copy.
pub fn copy_private(source: &Path, target: &Path) -> Result<(), DriverError> {
    let contents =
        std::fs::read(source).map_err(|error| DriverError::KeyUnreadable { path: source.into(), source: error })?;
    write_private(target, &contents)
}

/// Generates an ed25519 key pair at `path` (0600, OpenSSH format) and `path.pub`; returns the
/// public key as an OpenSSH line ("ssh-ed25519 AAAA... comment").
pub fn generate_ed25519_key(path: &Path, comment: &str) -> Result<String, DriverError> {
    use russh::keys::ssh_key::{Algorithm, LineEnding, PrivateKey};
    let failed = |reason: String| DriverError::failed(format!("generating the SSH key {}", path.display()), reason);
    let mut random = russh::keys::key::safe_rng();
    let mut key = PrivateKey::random(&mut random, Algorithm::Ed25519).map_err(|error| failed(error.to_string()))?;
    key.set_comment(comment);
    let private = key.to_openssh(LineEnding::LF).map_err(|error| failed(error.to_string()))?;
    let public = key.public_key().to_openssh().map_err(|error| failed(error.to_string()))?;
    write_private(path, private.as_bytes())?;
    let public_path = with_extension_appended(path, "pub");
    if let Err(error) = write_new(&public_path, format!("{public}\n").as_bytes(), 0o644) {
        let _ = std::fs::remove_file(path);
        return Err(error);
    }
    Ok(public)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_generated_key_is_private_and_never_overwritten() {
        let folder = std::env::temp_dir().join(format!("rmachine-files-test-{}", std::process::id()));
        std::fs::create_dir_all(&folder).unwrap();
        let path = folder.join("id_ed25519");
        let public = generate_ed25519_key(&path, "rmachine-test").unwrap();
        assert!(public.starts_with("ssh-ed25519 ") && public.ends_with(" rmachine-test"), "{public}");
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::read_to_string(folder.join("id_ed25519.pub")).unwrap(), format!("{public}\n"));
        russh::keys::load_secret_key(&path, None).expect("an OpenSSH key russh reads");
        let key = std::fs::read(&path).unwrap();
        let again = generate_ed25519_key(&path, "c").unwrap_err().to_string();
        assert!(again.contains(&path.display().to_string()) && again.contains("exists"), "{again}");
        assert_eq!(std::fs::read(&path).unwrap(), key, "the existing key is kept");
        std::fs::remove_dir_all(folder).unwrap();
    }
}
