//! What the store refuses or repairs before it uses a path, as OpenSSH does for `~/.ssh`:
//! - a folder inside the store that is a symbolic link (a machine folder pointing elsewhere) is
//!   refused: the store never writes, reads or deletes through it;
//! - a store folder others can enter (group or other permission bits) is made 0700 again, with a
//!   warning: its files are 0600 and only its mode was wrong, so repairing it loses nothing (a
//!   sticky store root such as /tmp is shared on purpose and left alone);
//! - a private key others can read is refused with its path and a `chmod 600` hint: someone may
//!   have copied it already, so rmachine does not quietly repair it and carry on (the user decides
//!   whether to `chmod` it or renew it).

use super::{StoreError, io_error};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

/// The permission bits a private folder or key must not have.
const OTHERS: u32 = 0o077;

/// Refuses a symbolic link and repairs a folder others can enter; `Ok(false)` when it is missing.
pub(super) fn check_folder(folder: &Path, notice: fn(&str)) -> Result<bool, StoreError> {
    let metadata = match std::fs::symlink_metadata(folder) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(error) => return Err(io_error("cannot inspect", folder)(error)),
    };
    if metadata.file_type().is_symlink() {
        let target = std::fs::read_link(folder).unwrap_or_default();
        return Err(StoreError::SymbolicLink { path: folder.to_path_buf(), target });
    }
    if !metadata.is_dir() {
        return Err(StoreError::NotAFolder(folder.to_path_buf()));
    }
    let mode = metadata.mode() & 0o7777;
    // A sticky folder (/tmp) is shared on purpose: its mode is left alone (the store's own
    // folders inside it are what keep others out).
    if mode & OTHERS != 0 && mode & 0o1000 == 0 {
        std::fs::set_permissions(folder, std::fs::Permissions::from_mode(0o700))
            .map_err(io_error("cannot make private (0700)", folder))?;
        notice(&format!(
            "{} could be read by others (mode {mode:04o}); rmachine made it 0700 (owner only) again",
            folder.display()
        ));
    }
    Ok(true)
}

/// `root/relative`, after checking that no folder between the root and the file is a symbolic link.
pub(super) fn checked_path(root: &Path, relative: &Path, notice: fn(&str)) -> Result<PathBuf, StoreError> {
    let mut path = root.to_path_buf();
    let folders = relative.parent().map(|parent| parent.components().collect::<Vec<_>>()).unwrap_or_default();
    for component in folders {
        let Component::Normal(part) = component else {
            return Err(StoreError::OutsideStore(relative.to_path_buf()));
        };
        path.push(part);
        check_folder(&path, notice)?;
    }
    match relative.file_name() {
        Some(file) => Ok(path.join(file)),
        None => Err(StoreError::OutsideStore(relative.to_path_buf())),
    }
}

/// Fails when others can read the private key at `path`.
pub(super) fn check_private(path: &Path) -> Result<(), StoreError> {
    let mode = std::fs::metadata(path).map_err(io_error("cannot inspect", path))?.mode() & 0o777;
    if mode & OTHERS != 0 {
        return Err(StoreError::ExposedKey { path: path.to_path_buf(), mode });
    }
    Ok(())
}

/// Reads a private key, refusing it when others can read it.
pub(super) fn read_private(path: &Path) -> Result<String, StoreError> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).map_err(io_error("cannot read", path))?;
    let mode = file.metadata().map_err(io_error("cannot inspect", path))?.mode() & 0o777;
    if mode & OTHERS != 0 {
        return Err(StoreError::ExposedKey { path: path.to_path_buf(), mode });
    }
    let mut text = String::new();
    file.read_to_string(&mut text).map_err(io_error("cannot read", path))?;
    Ok(text)
}
