//! A TCP probe: does anything answer on HOST:PORT within a timeout, and if not, why not.

use crate::{MachineState, StateReport};
use std::io::ErrorKind;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeOutcome {
    /// A TCP connection was accepted.
    Open,
    /// The host answered but nothing listens on the port.
    Refused,
    /// No answer within the timeout.
    TimedOut,
    /// Any other failure (no route, unreachable, bad address), with the system's words.
    Failed(String),
}

pub async fn probe_tcp(host: &str, port: u16, timeout: Duration) -> ProbeOutcome {
    let connect = tokio::net::TcpStream::connect((host, port));
    match tokio::time::timeout(timeout, connect).await {
        Err(_) => ProbeOutcome::TimedOut,
        Ok(Ok(_stream)) => ProbeOutcome::Open,
        Ok(Err(error)) if error.kind() == ErrorKind::ConnectionRefused => ProbeOutcome::Refused,
        Ok(Err(error)) if error.kind() == ErrorKind::TimedOut => ProbeOutcome::TimedOut,
        Ok(Err(error)) => ProbeOutcome::Failed(error.to_string()),
    }
}

/// The machine state a TCP probe of HOST:PORT tells; `refused` says what a refused port means.
pub async fn state_from_probe(host: &str, port: u16, timeout: Duration, refused: String) -> StateReport {
    match probe_tcp(host, port, timeout).await {
        ProbeOutcome::Open => StateReport::running(),
        ProbeOutcome::Refused => StateReport::with_reason(MachineState::Stopped, refused),
        ProbeOutcome::TimedOut => StateReport::with_reason(
            MachineState::Timeout,
            format!("{host}:{port} did not answer within {}s", timeout.as_secs()),
        ),
        ProbeOutcome::Failed(reason) => {
            StateReport::with_reason(MachineState::Error, format!("{host}:{port}: {reason}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn open_and_refused_ports_are_told_apart() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        assert_eq!(probe_tcp("127.0.0.1", port, Duration::from_secs(2)).await, ProbeOutcome::Open);
        drop(listener);
        assert_eq!(probe_tcp("127.0.0.1", port, Duration::from_secs(2)).await, ProbeOutcome::Refused);
    }
}
