//! The error every driver operation returns, built-in drivers and plugins alike.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error("{flag}: {problem}")]
    InvalidSetting { flag: String, problem: String },

    #[error("cannot read SSH key {path}: {source}")]
    KeyUnreadable { path: PathBuf, source: std::io::Error },

    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },

    /// A cloud API call failed; `message` is one line that names the provider's error code.
    #[error("{service} {operation} failed: {message}")]
    Api { service: String, operation: String, message: String },

    /// A driver step failed for a reason other than an API error (a timeout, a host that vanished).
    #[error("{operation}: {reason}")]
    Failed { operation: String, reason: String },

    #[error("the {driver} driver cannot {operation}: {reason}")]
    Unsupported { driver: String, operation: String, reason: String },

    /// No built-in driver and no installed plugin has this name.
    #[error("unknown driver '{name}'; rmachine knows: {known}{hint}")]
    UnknownDriver { name: String, known: String, hint: String },

    /// An external driver (plugin) misbehaved or failed: `problem` says how; `log` holds the last
    /// lines it wrote to stderr.
    #[error("driver plugin {plugin}: {problem}{}", log_tail(log))]
    Plugin { plugin: String, problem: String, log: Vec<String> },

    /// The operation was interrupted (Ctrl-C) before it finished.
    #[error("{operation} was interrupted")]
    Interrupted { operation: String },
}

fn log_tail(log: &[String]) -> String {
    if log.is_empty() {
        return String::new();
    }
    let mut text = String::from("\n  its last log lines:");
    for line in log {
        text.push_str("\n    ");
        text.push_str(line);
    }
    text
}

impl DriverError {
    pub fn invalid(flag: impl Into<String>, problem: impl Into<String>) -> DriverError {
        DriverError::InvalidSetting { flag: flag.into(), problem: problem.into() }
    }

    pub fn failed(operation: impl Into<String>, reason: impl Into<String>) -> DriverError {
        DriverError::Failed { operation: operation.into(), reason: reason.into() }
    }

    pub fn unsupported(driver: &str, operation: &str, reason: impl Into<String>) -> DriverError {
        DriverError::Unsupported { driver: driver.into(), operation: operation.into(), reason: reason.into() }
    }
}
