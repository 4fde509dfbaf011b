//! docker-machine's machine states (`state.State`, an int on the wire), as GetState returns them.

use std::fmt;

/// A machine's state as a plugin reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PluginState {
    None,
    Running,
    Paused,
    Saved,
    Stopped,
    Stopping,
    Starting,
    Error,
    Timeout,
}

impl PluginState {
    /// The state docker-machine's `state.State` number `code` stands for.
    pub fn from_code(code: i64) -> Option<PluginState> {
        Some(match code {
            0 => PluginState::None,
            1 => PluginState::Running,
            2 => PluginState::Paused,
            3 => PluginState::Saved,
            4 => PluginState::Stopped,
            5 => PluginState::Stopping,
            6 => PluginState::Starting,
            7 => PluginState::Error,
            8 => PluginState::Timeout,
            _ => return None,
        })
    }

    pub fn code(self) -> i64 {
        self as i64
    }

    /// docker-machine's spelling (`state.State.String()`); `None` is the empty string there.
    pub fn as_str(self) -> &'static str {
        match self {
            PluginState::None => "",
            PluginState::Running => "Running",
            PluginState::Paused => "Paused",
            PluginState::Saved => "Saved",
            PluginState::Stopped => "Stopped",
            PluginState::Stopping => "Stopping",
            PluginState::Starting => "Starting",
            PluginState::Error => "Error",
            PluginState::Timeout => "Timeout",
        }
    }
}

impl fmt::Display for PluginState {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::PluginState;

    #[test]
    fn codes_are_docker_machines() {
        for code in 0..=8 {
            assert_eq!(PluginState::from_code(code).map(PluginState::code), Some(code));
        }
        assert_eq!(PluginState::from_code(1), Some(PluginState::Running));
        assert_eq!(PluginState::from_code(4), Some(PluginState::Stopped));
        assert_eq!(PluginState::from_code(9), None);
        assert_eq!(PluginState::from_code(-1), None);
    }
}
