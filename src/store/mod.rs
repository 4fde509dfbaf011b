//! The local state store: where machines, their keys and the TLS certificates live.
//!
//! Layout under the root (folders 0700, keys 0600):
//! ```text
//! .lock                      taken by every rmachine process that changes the store
//! certs/ca.pem ca-key.pem cert.pem key.pem        one CA and client certificate per store
//! machines/<name>/machine.json                    the versioned record
//! machines/<name>/id_ssh[.pub]                    the machine's SSH key (generic: a copy)
//! machines/<name>/ca.pem cert.pem key.pem         DOCKER_CERT_PATH for the docker CLI
//! machines/<name>/server.pem server-key.pem       the engine's certificate
//! machines/<name>/known_hosts                     the pinned host key, for the system ssh
//! ```
//!
//! Every file is replaced whole (`atomic.rs`); what the store refuses or repairs (symbolic links,
//! folders and keys others can read) is in `guard.rs`.

mod atomic;
mod guard;
mod name;
mod record;

pub use atomic::write_atomically;
pub use name::validate_machine_name;
pub use record::{DriverRecord, MachineRecord, ProvisioningStatus, RECORD_VERSION, now_rfc3339};

use crate::natural_order::natural_cmp;
use std::fs::{DirBuilder, File, OpenOptions};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

pub const RECORD_FILE_NAME: &str = "machine.json";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    InvalidName(#[from] name::InvalidName),

    #[error("machine '{0}' already exists; choose another name or remove it with 'rmachine rm {0}'")]
    AlreadyExists(String),

    #[error("machine '{name}' does not exist in {store}; 'rmachine ls' lists the machines")]
    NotFound { name: String, store: PathBuf },

    #[error("machine record {path} cannot be read: {problem}; 'rmachine rm -f {name}' removes it")]
    Corrupt { name: String, path: PathBuf, problem: String },

    #[error(
        "machine record {path} has format version {found}, newer than this rmachine understands ({RECORD_VERSION}); upgrade rmachine"
    )]
    FutureVersion { path: PathBuf, found: u64 },

    #[error(
        "{action} {path}: no space left on the device; free space on the filesystem that holds the store and try again (files are replaced whole, so nothing was half-written)"
    )]
    NoSpace { action: &'static str, path: PathBuf },

    #[error(
        "{path} is a symbolic link (to {target}); rmachine does not follow links inside its store: move the folder itself there ('rmachine rm -f NAME' removes only the link)"
    )]
    SymbolicLink { path: PathBuf, target: PathBuf },

    #[error("{0} should be a folder but is not; move it out of the store")]
    NotAFolder(PathBuf),

    #[error("{0} is not a path inside the store")]
    OutsideStore(PathBuf),

    #[error(
        "private key {path} can be read by others (mode {mode:04o}); rmachine does not use such a key, as OpenSSH refuses them: run 'chmod 600 {path}' (and renew the key if someone else may have read it)"
    )]
    ExposedKey { path: PathBuf, mode: u32 },

    #[error("{action} {path}: {source}")]
    Io { action: &'static str, path: PathBuf, source: std::io::Error },
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> StoreError {
    let path = path.to_path_buf();
    move |source| match source.kind() {
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => StoreError::NoSpace { action, path },
        _ => StoreError::Io { action, path, source },
    }
}

/// A record as its file holds it: pretty JSON and a final newline.
fn record_json(record: &MachineRecord) -> Vec<u8> {
    let mut json = serde_json::to_vec_pretty(record).expect("a record always serialises");
    json.push(b'\n');
    json
}

/// Every machine folder's name with its record, or why the record cannot be read.
pub type Listing = Vec<(String, Result<MachineRecord, StoreError>)>;

pub struct Store {
    root: PathBuf,
    /// Told what the store repaired (a folder made private again), for the user to see.
    notice: fn(&str),
}

/// Held while a process changes the store; released on drop.
pub struct StoreLock {
    _file: File,
}

impl Store {
    /// Opens the store at `root`, creating its folders when missing (0700) and making them 0700
    /// again when others could enter them (`notice` says so).
    pub fn open(root: &Path, notice: fn(&str)) -> Result<Store, StoreError> {
        let store = Store { root: root.to_path_buf(), notice };
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&store.root)
            .map_err(io_error("cannot create store folder", &store.root))?;
        guard::check_folder(&std::fs::canonicalize(&store.root).unwrap_or(store.root.clone()), notice)?;
        for folder in [store.root.join("machines"), store.root.join("certs")] {
            if !guard::check_folder(&folder, notice)? {
                match DirBuilder::new().mode(0o700).create(&folder) {
                    Ok(()) => {}
                    // Another rmachine made it meanwhile (two commands in a new store): it is
                    // checked as any folder found there.
                    Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                        guard::check_folder(&folder, notice)?;
                    }
                    Err(error) => return Err(io_error("cannot create store folder", &folder)(error)),
                }
            }
        }
        Ok(store)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Takes the store's exclusive lock, waiting for other rmachine processes to let go.
    pub fn lock(&self) -> Result<StoreLock, StoreError> {
        let path = self.root.join(".lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_error("cannot open the store lock", &path))?;
        file.lock().map_err(io_error("cannot take the store lock", &path))?;
        Ok(StoreLock { _file: file })
    }

    /// `machines/<name>`, relative to the store root.
    pub fn relative_machine_directory(name: &str) -> PathBuf {
        Path::new("machines").join(name)
    }

    pub fn machine_directory(&self, name: &str) -> PathBuf {
        self.root.join(Self::relative_machine_directory(name))
    }

    /// An absolute path for a path the store keeps relative to its root.
    pub fn resolve(&self, relative: &Path) -> PathBuf {
        self.root.join(relative)
    }

    /// The machine's folder, refused when it is a symbolic link; whether it exists.
    fn checked_machine_directory(&self, name: &str) -> Result<(PathBuf, bool), StoreError> {
        validate_machine_name(name)?;
        let folder = self.machine_directory(name);
        let exists = guard::check_folder(&folder, self.notice)?;
        Ok((folder, exists))
    }

    /// Adds a new machine with its first record, stamping `updated_at`; fails when the machine
    /// exists. The folder is made under a temporary name (which listings skip) with the record in
    /// it, then renamed: no listing ever sees a machine folder without its record.
    pub fn add(&self, record: &mut MachineRecord) -> Result<(), StoreError> {
        validate_machine_name(&record.name)?;
        let _lock = self.lock()?;
        let folder = self.machine_directory(&record.name);
        if std::fs::symlink_metadata(&folder).is_ok() {
            return Err(StoreError::AlreadyExists(record.name.clone()));
        }
        let machines = self.root.join("machines");
        let staging = tempfile::Builder::new()
            .prefix(".new-")
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .tempdir_in(&machines)
            .map_err(io_error("cannot create machine folder", &folder))?;
        record.updated_at = now_rfc3339();
        let path = staging.path().join(RECORD_FILE_NAME);
        write_atomically(&path, &record_json(record), 0o600)
            .map_err(io_error("cannot write machine record", &folder.join(RECORD_FILE_NAME)))?;
        let staged = staging.keep();
        if let Err(error) = std::fs::rename(&staged, &folder) {
            let _ = std::fs::remove_dir_all(&staged);
            return Err(io_error("cannot create machine folder", &folder)(error));
        }
        File::open(&machines).and_then(|folder| folder.sync_all()).map_err(io_error("cannot sync", &machines))
    }

    /// Writes the record atomically, stamping `updated_at`.
    pub fn save(&self, record: &mut MachineRecord) -> Result<(), StoreError> {
        let (folder, exists) = self.checked_machine_directory(&record.name)?;
        if !exists {
            return Err(StoreError::NotFound { name: record.name.clone(), store: self.root.clone() });
        }
        record.updated_at = now_rfc3339();
        let path = folder.join(RECORD_FILE_NAME);
        let _lock = self.lock()?;
        write_atomically(&path, &record_json(record), 0o600).map_err(io_error("cannot write machine record", &path))
    }

    pub fn exists(&self, name: &str) -> bool {
        validate_machine_name(name).is_ok() && self.machine_directory(name).is_dir()
    }

    pub fn load(&self, name: &str) -> Result<MachineRecord, StoreError> {
        let (folder, exists) = self.checked_machine_directory(name)?;
        if !exists {
            return Err(StoreError::NotFound { name: name.to_string(), store: self.root.clone() });
        }
        let path = folder.join(RECORD_FILE_NAME);
        let corrupt = |problem: String| StoreError::Corrupt { name: name.to_string(), path: path.clone(), problem };
        let text = match std::fs::read(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                // A `remove` that renamed the folder away after it was found: the machine is gone.
                if !folder.exists() {
                    return Err(StoreError::NotFound { name: name.to_string(), store: self.root.clone() });
                }
                return Err(corrupt("the machine folder has no record (an interrupted create?)".into()));
            }
            Err(error) => return Err(io_error("cannot read machine record", &path)(error)),
        };
        let value: serde_json::Value = serde_json::from_slice(&text).map_err(|error| corrupt(error.to_string()))?;
        let version = value.get("version").and_then(|version| version.as_u64()).unwrap_or(0);
        if version > u64::from(RECORD_VERSION) {
            return Err(StoreError::FutureVersion { path, found: version });
        }
        let value = record::migrate(value).map_err(corrupt)?;
        let record: MachineRecord = serde_json::from_value(value).map_err(|error| corrupt(error.to_string()))?;
        if record.name != name {
            return Err(corrupt(format!("it names machine '{}'", record.name)));
        }
        Ok(record)
    }

    /// Every machine folder's name in natural order, with its record or why it can't be read
    /// (a folder that is a symbolic link is listed with that error, never followed).
    pub fn list(&self) -> Result<Listing, StoreError> {
        let folder = self.root.join("machines");
        let entries = std::fs::read_dir(&folder).map_err(io_error("cannot list", &folder))?;
        let mut names: Vec<String> = entries
            .filter_map(|entry| entry.ok())
            .filter(|entry| entry.file_type().map(|kind| kind.is_dir() || kind.is_symlink()).unwrap_or(false))
            .filter_map(|entry| entry.file_name().into_string().ok())
            .filter(|name| !name.starts_with('.'))
            .collect();
        names.sort_by(|a, b| natural_cmp(a, b));
        // A machine removed since the folder was read is left out, not listed as missing.
        Ok(names
            .into_iter()
            .map(|name| {
                let record = self.load(&name);
                (name, record)
            })
            .filter(|(_, record)| !matches!(record, Err(StoreError::NotFound { .. })))
            .collect())
    }

    /// Deletes the machine's folder and everything in it; a folder that is a symbolic link loses
    /// only the link, never what it points to. What a killed `add` or `remove` left is deleted
    /// by the next removal.
    pub fn remove(&self, name: &str) -> Result<(), StoreError> {
        validate_machine_name(name)?;
        let _lock = self.lock()?;
        let folder = self.machine_directory(name);
        if std::fs::symlink_metadata(&folder).is_ok_and(|metadata| metadata.file_type().is_symlink()) {
            return std::fs::remove_file(&folder).map_err(io_error("cannot remove the link", &folder));
        }
        // Renamed first (listings skip names starting with '.'), so that no listing sees the
        // machine half deleted, then deleted.
        let removing = self.root.join("machines").join(format!(".removing-{name}-{}", std::process::id()));
        match std::fs::rename(&folder, &removing) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::NotFound { name: name.to_string(), store: self.root.clone() });
            }
            Err(error) => return Err(io_error("cannot remove", &folder)(error)),
        }
        std::fs::remove_dir_all(&removing).map_err(io_error("cannot remove", &removing))?;
        self.remove_leftovers();
        Ok(())
    }

    /// Deletes what a killed `add` or `remove` left (`.new-*`, `.removing-*`); called with the
    /// lock held, when no other `add` or `remove` runs.
    fn remove_leftovers(&self) {
        let Ok(entries) = std::fs::read_dir(self.root.join("machines")) else { return };
        for entry in entries.filter_map(|entry| entry.ok()) {
            let name = entry.file_name().to_string_lossy().into_owned();
            let is_folder = entry.file_type().is_ok_and(|kind| kind.is_dir());
            if is_folder && (name.starts_with(".new-") || name.starts_with(".removing-")) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }

    /// Writes a file the store owns (relative to the root), atomically.
    pub fn write_file(&self, relative: &Path, contents: &[u8], mode: u32) -> Result<(), StoreError> {
        self.write_files(&[(relative, contents, mode)])
    }

    /// Writes files that belong together (relative to the root): every one is written and synced
    /// under a temporary name first and renamed only when all are, so a failure (a full disk)
    /// leaves the previous files whole and no temporary file behind.
    pub fn write_files(&self, files: &[(&Path, &[u8], u32)]) -> Result<(), StoreError> {
        let mut staged = Vec::with_capacity(files.len());
        for (relative, contents, mode) in files {
            let path = guard::checked_path(&self.root, relative, self.notice)?;
            staged.push((atomic::stage(&path, contents, *mode).map_err(io_error("cannot write", &path))?, path));
        }
        for (file, path) in staged {
            file.commit().map_err(io_error("cannot write", &path))?;
        }
        Ok(())
    }

    pub fn read_file(&self, relative: &Path) -> Result<String, StoreError> {
        let path = guard::checked_path(&self.root, relative, self.notice)?;
        std::fs::read_to_string(&path).map_err(io_error("cannot read", &path))
    }

    /// Reads a private key the store keeps, refused when others can read it.
    pub fn read_private(&self, relative: &Path) -> Result<String, StoreError> {
        guard::read_private(&guard::checked_path(&self.root, relative, self.notice)?)
    }

    /// Fails when the private key at `relative` can be read by others (it is not read).
    pub fn check_private(&self, relative: &Path) -> Result<(), StoreError> {
        guard::check_private(&guard::checked_path(&self.root, relative, self.notice)?)
    }
}

#[cfg(test)]
mod guard_tests;
#[cfg(test)]
mod tests;
