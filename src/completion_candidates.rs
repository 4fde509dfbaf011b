//! Machine names for shell completion. The shell runs `rmachine` with `RMACHINE_COMPLETE` set
//! before any command line is parsed, so this reads the store location from the environment
//! itself (`RMACHINE_STORAGE_PATH`, else the default): the one exception to "environment read
//! once into Context", because no Context exists yet.

use clap_complete::CompletionCandidate;
use std::path::PathBuf;

/// The variable the completion scripts set when they call rmachine back.
pub const COMPLETE_VARIABLE: &str = "RMACHINE_COMPLETE";

fn storage_path() -> Option<PathBuf> {
    match std::env::var_os("RMACHINE_STORAGE_PATH").filter(|value| !value.is_empty()) {
        Some(path) => Some(PathBuf::from(path)),
        None => dirs::data_dir().map(|data| data.join("rmachine")),
    }
}

/// The names of the machines in the store, in natural order.
pub fn machine_names() -> Vec<CompletionCandidate> {
    let Some(root) = storage_path() else { return Vec::new() };
    let Ok(entries) = std::fs::read_dir(root.join("machines")) else { return Vec::new() };
    let mut names: Vec<String> = entries
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| crate::store::validate_machine_name(name).is_ok())
        .collect();
    names.sort_by(|left, right| crate::natural_order::natural_cmp(left, right));
    names.into_iter().map(CompletionCandidate::new).collect()
}
