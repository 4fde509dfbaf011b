//! The docker-machine store on disk, only ever read: its machine folders, their `config.json`,
//! and the files an import copies (the SSH key, the certificates). docker-machine wrote absolute
//! paths, which break when its store was moved or copied (`--from` a backup): a path is looked
//! for inside the store being read first (by its part after `/machines/` or `/certs/`), then in
//! the machine's folder by its usual file name, then where the configuration says.

use super::docker_machine_config::{self, Host};
use crate::store::Store;
use anyhow::{Context as _, bail};
use std::path::{Path, PathBuf};

pub struct SourceStore {
    root: PathBuf,
}

/// What was copied into the rmachine machine's folder.
pub struct Copied {
    /// The SSH key's copy, relative to the store root.
    pub ssh_key: Option<PathBuf>,
    /// Both the engine's certificate and key were there to copy.
    pub server_certificate: bool,
}

/// rmachine's name for the machine's copy of its SSH key (as the generic driver's).
const KEY_FILE: &str = rmachine_drivers::generic::KEY_FILE_NAME;

impl SourceStore {
    pub fn open(root: &Path) -> anyhow::Result<SourceStore> {
        let root = std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf());
        if !root.join("machines").is_dir() {
            bail!(
                "{} is not a docker-machine store (it has no machines folder); name one with --from DIR or MACHINE_STORAGE_PATH",
                root.display()
            );
        }
        Ok(SourceStore { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn machine_folder(&self, name: &str) -> PathBuf {
        self.root.join("machines").join(name)
    }

    /// The machine folders' names, as docker-machine lists them (folders not starting with '.').
    pub fn machine_names(&self) -> anyhow::Result<Vec<String>> {
        let folder = self.root.join("machines");
        let entries = std::fs::read_dir(&folder).with_context(|| format!("cannot list {}", folder.display()))?;
        Ok(entries
            .filter_map(Result::ok)
            .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_dir()))
            .filter_map(|entry| entry.file_name().into_string().ok())
            .filter(|name| !name.starts_with('.'))
            .collect())
    }

    pub fn read_host(&self, name: &str) -> anyhow::Result<Host> {
        let path = self.machine_folder(name).join("config.json");
        let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        docker_machine_config::parse(&bytes, &self.root)
            .with_context(|| format!("{} cannot be imported", path.display()))
    }

    /// Where a file the configuration names (`recorded`, possibly empty) is in this store, else
    /// `usual` in the machine's folder, else where it was recorded.
    fn locate(&self, machine: &str, recorded: &str, usual: &str) -> Option<PathBuf> {
        let mut candidates = Vec::new();
        for marker in ["/machines/", "/certs/"] {
            if let Some(start) = recorded.rfind(marker) {
                candidates.push(self.root.join(&recorded[start + 1..]));
            }
        }
        if !usual.is_empty() {
            candidates.push(self.machine_folder(machine).join(usual));
        }
        if !recorded.is_empty() {
            candidates.push(PathBuf::from(recorded));
        }
        candidates.into_iter().find(|candidate| candidate.is_file())
    }
}

fn copy(store: &Store, from: &Path, to: &Path, mode: u32) -> anyhow::Result<()> {
    let contents = std::fs::read(from).with_context(|| format!("cannot read {}", from.display()))?;
    Ok(store.write_file(to, &contents, mode)?)
}

/// Copies the machine's SSH key (and its `.pub`) and certificates into `folder` (relative to
/// the store root).
pub fn copy_machine_files(
    store: &Store,
    source: &SourceStore,
    name: &str,
    host: &Host,
    folder: &Path,
) -> anyhow::Result<Copied> {
    let recorded_key = host.driver.get("SSHKeyPath").and_then(serde_json::Value::as_str).unwrap_or_default();
    let ssh_key = match source.locate(name, recorded_key, "id_rsa") {
        Some(key) => {
            let target = folder.join(KEY_FILE);
            copy(store, &key, &target, 0o600)?;
            let public = PathBuf::from(format!("{}.pub", key.display()));
            if public.is_file() {
                copy(store, &public, &folder.join(format!("{KEY_FILE}.pub")), 0o644)?;
            }
            Some(target)
        }
        None => None,
    };
    let auth = &host.auth;
    let files = [
        ("ca.pem", auth.ca_cert_path.as_str(), 0o644),
        ("cert.pem", auth.client_cert_path.as_str(), 0o644),
        ("key.pem", auth.client_key_path.as_str(), 0o600),
        ("server.pem", auth.server_cert_path.as_str(), 0o644),
        ("server-key.pem", auth.server_key_path.as_str(), 0o600),
    ];
    let mut server_files = 0;
    for (file, recorded, mode) in files {
        // The machine's own copies first: docker-machine keeps DOCKER_CERT_PATH's files there.
        let found = Some(source.machine_folder(name).join(file))
            .filter(|path| path.is_file())
            .or_else(|| source.locate(name, recorded, ""));
        if let Some(path) = found {
            copy(store, &path, &folder.join(file), mode)?;
            server_files += usize::from(file.starts_with("server"));
        }
    }
    Ok(Copied { ssh_key, server_certificate: server_files == 2 })
}
