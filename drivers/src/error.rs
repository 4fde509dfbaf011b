//! The error every driver operation returns.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error("{flag}: {problem}")]
    InvalidSetting { flag: &'static str, problem: String },

    #[error("cannot read SSH key {path}: {source}")]
    KeyUnreadable { path: PathBuf, source: std::io::Error },

    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },

    #[error("the {driver} driver cannot {operation}: {reason}")]
    Unsupported { driver: &'static str, operation: &'static str, reason: &'static str },
}
