//! Machine states as docker-machine users know them, and a state with the reason behind it.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MachineState {
    Running,
    Starting,
    Stopping,
    Stopped,
    Error,
    Timeout,
    NotFound,
}

impl fmt::Display for MachineState {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            MachineState::Running => "Running",
            MachineState::Starting => "Starting",
            MachineState::Stopping => "Stopping",
            MachineState::Stopped => "Stopped",
            MachineState::Error => "Error",
            MachineState::Timeout => "Timeout",
            MachineState::NotFound => "NotFound",
        };
        formatter.write_str(text)
    }
}

/// A state and, when it is not plainly Running, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateReport {
    pub state: MachineState,
    pub reason: Option<String>,
}

impl StateReport {
    pub fn running() -> Self {
        StateReport { state: MachineState::Running, reason: None }
    }

    pub fn with_reason(state: MachineState, reason: impl Into<String>) -> Self {
        StateReport { state, reason: Some(reason.into()) }
    }
}
