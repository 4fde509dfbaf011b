//! A TCP probe: does anything answer on HOST:PORT within a timeout, and if not, why not; for an
//! SSH port, one that waits for the server's first line before it hangs up.

use crate::{MachineState, StateReport};
use std::io::ErrorKind;
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;

/// How long an SSH probe waits for the server's identification line once connected.
const SSH_BANNER_WAIT: Duration = Duration::from_secs(3);

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
    probe(host, port, timeout, false).await
}

/// [`probe_tcp`] for an SSH server: once connected it waits (within `timeout`, at most
/// [`SSH_BANNER_WAIT`]) for the server's identification line before it hangs up. A connection
/// closed at once is gone before sshd has even forked for it; a script's `rmachine env` in a loop
/// then piles up sshd's unauthenticated connections past its MaxStartups (10), and sshd drops the
/// next real login ("Exceeded MaxStartups"). An open port counts as answering, line or not.
pub async fn probe_ssh(host: &str, port: u16, timeout: Duration) -> ProbeOutcome {
    probe(host, port, timeout, true).await
}

async fn probe(host: &str, port: u16, timeout: Duration, wait_for_banner: bool) -> ProbeOutcome {
    let started = Instant::now();
    let connect = tokio::net::TcpStream::connect((host, port));
    match tokio::time::timeout(timeout, connect).await {
        Err(_) => ProbeOutcome::TimedOut,
        Ok(Ok(mut stream)) => {
            if wait_for_banner {
                let wait = timeout.saturating_sub(started.elapsed()).min(SSH_BANNER_WAIT);
                let mut first = [0u8; 256];
                let _ = tokio::time::timeout(wait, stream.read(&mut first)).await;
            }
            ProbeOutcome::Open
        }
        Ok(Err(error)) if error.kind() == ErrorKind::ConnectionRefused => ProbeOutcome::Refused,
        Ok(Err(error)) if error.kind() == ErrorKind::TimedOut => ProbeOutcome::TimedOut,
        Ok(Err(error)) => ProbeOutcome::Failed(error.to_string()),
    }
}

/// The machine state a TCP probe of HOST:PORT tells; `refused` says what a refused port means.
pub async fn state_from_probe(host: &str, port: u16, timeout: Duration, refused: String) -> StateReport {
    report(host, port, timeout, refused, probe_tcp(host, port, timeout).await)
}

/// The machine state a probe of an SSH server on HOST:PORT tells ([`probe_ssh`]).
pub async fn state_from_ssh_probe(host: &str, port: u16, timeout: Duration, refused: String) -> StateReport {
    report(host, port, timeout, refused, probe_ssh(host, port, timeout).await)
}

fn report(host: &str, port: u16, timeout: Duration, refused: String, outcome: ProbeOutcome) -> StateReport {
    match outcome {
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

    #[tokio::test]
    async fn an_ssh_probe_hangs_up_only_after_the_server_s_first_line() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            let (mut stream, _) = listener.accept().await.unwrap();
            // A slow sshd: the probe must still be connected when the line comes, then leave.
            tokio::time::sleep(Duration::from_millis(300)).await;
            let mut byte = [0u8; 1];
            let early = stream.try_read(&mut byte);
            assert!(
                matches!(&early, Err(error) if error.kind() == ErrorKind::WouldBlock),
                "the probe hung up before the banner: {early:?}"
            );
            stream.write_all(b"SSH-2.0-OpenSSH_9.2p1\r\n").await.unwrap();
            assert_eq!(stream.read(&mut byte).await.unwrap(), 0, "the probe hangs up after the banner");
        });
        assert_eq!(probe_ssh("127.0.0.1", port, Duration::from_secs(5)).await, ProbeOutcome::Open);
        server.await.unwrap();
    }

    #[tokio::test]
    async fn an_ssh_probe_of_a_silent_server_still_finds_the_port_open() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        assert_eq!(probe_ssh("127.0.0.1", port, Duration::from_millis(500)).await, ProbeOutcome::Open);
    }
}
