//! Lifecycle operations (start, stop, restart, kill) and what a driver answers to them: done by
//! the driver itself (a cloud API call), or a command the core must run on the host over SSH,
//! since a driver never opens SSH itself.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerOperation {
    Start,
    Stop,
    Restart,
    Kill,
}

impl PowerOperation {
    /// The verb as users type it: "start", "stop", "restart", "kill".
    pub fn verb(self) -> &'static str {
        match self {
            PowerOperation::Start => "start",
            PowerOperation::Stop => "stop",
            PowerOperation::Restart => "restart",
            PowerOperation::Kill => "kill",
        }
    }
}

impl fmt::Display for PowerOperation {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.verb())
    }
}

/// How a driver carried out (or wants the core to carry out) a lifecycle operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PowerOutcome {
    /// The driver did it (e.g. a cloud API call was accepted).
    Done,
    /// The core must run this shell command on the host over SSH; the connection may drop
    /// while it runs (a reboot), which is expected.
    RunOverSsh(String),
}

/// The command the generic driver asks the core to run to reboot a host: `shutdown -r now`,
/// falling back to `systemctl reboot`, through sudo when not root.
pub const REBOOT_COMMAND: &str = "if [ \"$(id -u)\" -ne 0 ]; then SUDO='sudo -n'; else SUDO=; fi; \
     ( sleep 1; $SUDO shutdown -r now || $SUDO systemctl reboot ) >/dev/null 2>&1 </dev/null & echo rebooting";
