//! A QEMU machine's state from what rmachine can see of it: whether a process holds the pidfile
//! lock (none: Stopped, whatever the file says) and what `query-status` answers.

use crate::qmp::QmpError;
use rmachine_drivers::{MachineState, StateReport};

/// The state told by the pidfile lock's holder and QMP's `query-status` (or why QMP failed).
pub fn state_report(holder: Option<i32>, status: Option<Result<String, QmpError>>) -> StateReport {
    let Some(pid) = holder else {
        return StateReport { state: MachineState::Stopped, reason: None };
    };
    match status {
        None => StateReport::with_reason(MachineState::Error, format!("QEMU pid {pid} runs; QMP was not asked")),
        Some(Ok(status)) => from_run_state(&status),
        Some(Err(QmpError::Timeout { seconds, .. })) => StateReport::with_reason(
            MachineState::Timeout,
            format!("QEMU pid {pid} is alive but its QMP socket was silent for {seconds}s"),
        ),
        Some(Err(QmpError::Connect { path, source })) => StateReport::with_reason(
            MachineState::Error,
            format!("QEMU pid {pid} runs but its QMP socket {} cannot be reached: {source}", path.display()),
        ),
        Some(Err(error)) => StateReport::with_reason(MachineState::Error, format!("QEMU pid {pid}: {error}")),
    }
}

/// QEMU's run states (qapi `RunState`) as machine states.
pub fn from_run_state(status: &str) -> StateReport {
    match status {
        "running" => StateReport::running(),
        "prelaunch" | "inmigrate" | "restore-vm" => StateReport::with_reason(MachineState::Starting, status),
        "shutdown" => StateReport::with_reason(MachineState::Stopping, "the guest shut down; QEMU is exiting"),
        "paused" | "suspended" | "debug" => StateReport::with_reason(
            MachineState::Error,
            format!("the guest is {status}: 'rmachine restart' resets it, 'rmachine kill' stops QEMU"),
        ),
        "guest-panicked" => StateReport::with_reason(
            MachineState::Error,
            "the guest kernel panicked (its serial log shows why): 'rmachine restart' resets it",
        ),
        "internal-error" | "io-error" | "watchdog" => StateReport::with_reason(
            MachineState::Error,
            format!("QEMU stopped the guest: {status} (see the machine's qemu.log; a full disk gives io-error)"),
        ),
        other => StateReport::with_reason(MachineState::Error, format!("QEMU reports the run state '{other}'")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn no_lock_holder_is_stopped_whatever_qmp_would_say() {
        let report = state_report(None, Some(Ok("running".into())));
        assert_eq!(report.state, MachineState::Stopped);
    }

    #[test]
    fn run_states_map_to_machine_states_with_reasons() {
        assert_eq!(state_report(Some(42), Some(Ok("running".into()))), StateReport::running());
        assert_eq!(from_run_state("prelaunch").state, MachineState::Starting);
        assert_eq!(from_run_state("shutdown").state, MachineState::Stopping);
        let paused = from_run_state("paused");
        assert_eq!(paused.state, MachineState::Error);
        assert!(paused.reason.unwrap().contains("paused"));
        assert!(from_run_state("io-error").reason.unwrap().contains("full disk"));
        assert!(from_run_state("guest-panicked").reason.unwrap().contains("panicked"));
        assert!(from_run_state("colo-new").reason.unwrap().contains("colo-new"));
    }

    #[test]
    fn a_silent_or_missing_qmp_socket_is_reported_with_the_pid() {
        let silent = QmpError::Timeout { path: PathBuf::from("/run/x.qmp"), what: "query-status".into(), seconds: 2 };
        let report = state_report(Some(4242), Some(Err(silent)));
        assert_eq!(report.state, MachineState::Timeout);
        assert_eq!(report.reason.unwrap(), "QEMU pid 4242 is alive but its QMP socket was silent for 2s");
        let gone = QmpError::Connect {
            path: PathBuf::from("/run/x.qmp"),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        };
        let report = state_report(Some(4242), Some(Err(gone)));
        assert_eq!(report.state, MachineState::Error);
        assert!(report.reason.unwrap().contains("/run/x.qmp"));
    }
}
