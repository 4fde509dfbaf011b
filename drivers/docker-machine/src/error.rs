//! The error every plugin operation returns, carrying what a user needs to act on it: the
//! plugin, the method, the driver's own message, and for a plugin that died or hung, its exit
//! status and the last lines it wrote to stderr.

use crate::gob::GobError;
use crate::rpc::RpcError;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// The last lines a plugin wrote to stderr, and its exit status when it has exited.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FailureContext {
    pub exit: Option<String>,
    pub stderr: Vec<String>,
}

impl fmt::Display for FailureContext {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(exit) = &self.exit {
            write!(formatter, " (it {exit})")?;
        }
        if !self.stderr.is_empty() {
            formatter.write_str("\nlast lines of its stderr:")?;
            for line in &self.stderr {
                write!(formatter, "\n  | {line}")?;
            }
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error("cannot start the plugin {path}: {source}")]
    Spawn { path: PathBuf, source: std::io::Error },
    #[error("the plugin {plugin} did not print its address within {}s{context}", waited.as_secs())]
    NoAddress { plugin: String, waited: Duration, context: FailureContext },
    #[error("the plugin {plugin} printed {line:?} instead of its address (HOST:PORT){context}")]
    BadAddress { plugin: String, line: String, context: FailureContext },
    #[error("the plugin {plugin} stopped before printing its address{context}")]
    ExitedEarly { plugin: String, context: FailureContext },
    #[error("the plugin {plugin} speaks plugin API version {version}, not 1")]
    IncompatibleVersion { plugin: String, version: i64 },
    /// The connection failed, dropped, timed out or carried garbage.
    #[error("{source}{context}")]
    Rpc { source: Box<RpcError>, context: FailureContext },
    /// The driver ran the method and returned this error.
    #[error("the plugin {plugin} failed {method}: {message}")]
    Driver { plugin: String, method: String, message: String },
    #[error("the plugin {plugin} answered {method} with a value of the wrong shape: {source}")]
    BadReply { plugin: String, method: String, source: GobError },
}

impl PluginError {
    /// The driver's own error message, for [`PluginError::Driver`].
    pub fn driver_message(&self) -> Option<&str> {
        match self {
            PluginError::Driver { message, .. } => Some(message),
            _ => None,
        }
    }

    /// The plugin's last stderr lines, when the error carries them.
    pub fn stderr_lines(&self) -> &[String] {
        match self {
            PluginError::NoAddress { context, .. }
            | PluginError::BadAddress { context, .. }
            | PluginError::ExitedEarly { context, .. }
            | PluginError::Rpc { context, .. } => &context.stderr,
            _ => &[],
        }
    }
}
