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

    /// A cloud API call failed; `message` is one line that names the provider's error code.
    #[error("{service} {operation} failed: {message}")]
    Api { service: &'static str, operation: &'static str, message: String },

    /// A driver step failed for a reason other than an API error (a timeout, a host that vanished).
    #[error("{operation}: {reason}")]
    Failed { operation: String, reason: String },

    #[error("the {driver} driver cannot {operation}: {reason}")]
    Unsupported { driver: &'static str, operation: &'static str, reason: &'static str },
}
