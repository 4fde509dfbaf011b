//! Crash-safe file writes: a temporary file in the same folder, fsync, rename, fsync the folder.
//! Several files that belong together (a key and its certificate, the CA and the client
//! certificate) are all written and synced first and renamed only then, so a full disk or a
//! failed write leaves the previous set whole. A temporary file is deleted when anything fails.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// New contents written and synced under a temporary name beside their file, not yet in place.
pub struct StagedFile {
    temporary: tempfile::NamedTempFile,
    path: PathBuf,
}

/// Writes `contents` (with `mode`) to a temporary file beside `path` and syncs it.
pub fn stage(path: &Path, contents: &[u8], mode: u32) -> std::io::Result<StagedFile> {
    let folder = path.parent().unwrap_or(Path::new("."));
    let mut temporary = tempfile::Builder::new().prefix(".tmp-").tempfile_in(folder)?;
    temporary.as_file().set_permissions(std::fs::Permissions::from_mode(mode))?;
    temporary.write_all(contents)?;
    temporary.as_file().sync_all()?;
    Ok(StagedFile { temporary, path: path.to_path_buf() })
}

impl StagedFile {
    /// Renames the temporary file over the file and syncs the folder.
    pub fn commit(self) -> std::io::Result<()> {
        let folder = self.path.parent().unwrap_or(Path::new(".")).to_path_buf();
        self.temporary.persist(&self.path).map_err(|error| error.error)?;
        std::fs::File::open(folder)?.sync_all()
    }
}

/// Replaces `path` with `contents` so that readers see the old file or the new one, never a mix.
pub fn write_atomically(path: &Path, contents: &[u8], mode: u32) -> std::io::Result<()> {
    stage(path, contents, mode)?.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(folder: &Path) -> Vec<String> {
        let mut names: Vec<String> =
            std::fs::read_dir(folder).unwrap().map(|entry| entry.unwrap().file_name().into_string().unwrap()).collect();
        names.sort();
        names
    }

    #[test]
    fn replaces_the_file_with_the_mode_and_leaves_no_temporary_file() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("key.pem");
        write_atomically(&path, b"one", 0o600).unwrap();
        write_atomically(&path, b"two", 0o600).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(names(folder.path()), vec!["key.pem"]);
    }

    #[test]
    fn a_staged_file_dropped_uncommitted_leaves_the_old_file_and_no_temporary_file() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("cert.pem");
        write_atomically(&path, b"old", 0o644).unwrap();
        let staged = stage(&path, b"new", 0o644).unwrap();
        assert_eq!(names(folder.path()).len(), 2, "the temporary file is beside it");
        drop(staged);
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        assert_eq!(names(folder.path()), vec!["cert.pem"]);
    }
}
