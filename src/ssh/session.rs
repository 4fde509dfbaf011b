//! One authenticated SSH connection (`Session`): connecting with a timeout, checking the host key,
//! authenticating (see `authentication`), and running commands (with stdin, a per-command
//! timeout and concurrent use from several tasks) and uploading files over it.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use russh::client::{self, Handle};
use russh::{ChannelMsg, Disconnect, Sig};
use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::time::Instant;

use super::authentication::authenticate;
use super::error::{describe_command, format_duration};
use super::host_key::{self, HostKeyCheck, SeenHostKey};
use super::{CommandOutput, SshError, keys};

/// Where and how to connect.
#[derive(Debug, Clone)]
pub struct SshTarget {
    pub host: String,
    pub port: u16,
    pub user: String,
    /// ed25519 or RSA key, OpenSSH or PEM format, unencrypted. `None`: ssh-agent only.
    pub private_key: Option<PathBuf>,
    /// The value of SSH_AUTH_SOCK, when set; its identities are tried after the key file.
    pub agent_socket: Option<PathBuf>,
    /// OpenSSH public key line ("ssh-ed25519 AAAA..."); `None`: trust on first use.
    pub pinned_host_key: Option<String>,
    /// Covers TCP connect, handshake and authentication together.
    pub connect_timeout: Duration,
    /// Applies to each `run`/`upload` on the session.
    pub command_timeout: Duration,
}

impl SshTarget {
    /// "10.0.0.5:22" ("[fd00::5]:22" for IPv6).
    pub fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// "root@10.0.0.5:22".
    pub fn describe(&self) -> String {
        format!("{}@{}", self.user, self.address())
    }
}

/// How often to probe a silent server, and how many unanswered probes mean it is gone. A command
/// that prints nothing for minutes (apt-get install) keeps the connection alive because the server
/// answers the probes; a dead host is noticed after about a minute.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(15);
const KEEPALIVE_MAX_UNANSWERED: usize = 4;
/// OpenSSH's sshd allows 10 sessions per connection (MaxSessions); stay below it so concurrent
/// `run` calls wait for a free channel instead of failing.
const MAX_CONCURRENT_CHANNELS: usize = 8;

/// One authenticated connection; many commands over it, concurrently if wanted (`&self`).
pub struct Session {
    pub(crate) handle: Handle<HostKeyCheck>,
    pub(crate) target_description: String,
    host_key_line: String,
    command_timeout: Duration,
    commands_run: AtomicUsize,
    channel_slots: Semaphore,
}

impl Session {
    /// Connects, checks the host key against the pin (or records it), and authenticates with the
    /// key file, then the agent's identities.
    pub async fn connect(target: &SshTarget) -> Result<Session, SshError> {
        let address = target.address();
        let pinned = match target.pinned_host_key.as_deref() {
            Some(line) => Some(host_key::parse_public_key_line(line).map_err(|error| {
                SshError::InvalidPinnedHostKey { address: address.clone(), reason: error.to_string() }
            })?),
            None => None,
        };
        if target.private_key.is_none() && target.agent_socket.is_none() {
            return Err(SshError::NoCredentials { target: target.describe() });
        }
        let private_key = match &target.private_key {
            Some(path) => Some((path.clone(), keys::load_private_key(path)?)),
            None => None,
        };

        let deadline = Instant::now() + target.connect_timeout;
        let stream = match tokio::time::timeout_at(
            deadline,
            tokio::net::TcpStream::connect((target.host.as_str(), target.port)),
        )
        .await
        {
            Err(_elapsed) => {
                return Err(SshError::Unreachable {
                    address,
                    reason: format!("connection timed out after {}", format_duration(target.connect_timeout)),
                });
            }
            Ok(Err(error)) => {
                return Err(SshError::Unreachable { address, reason: describe_io_error(&error) });
            }
            Ok(Ok(stream)) => stream,
        };
        let _ = stream.set_nodelay(true);

        let config = Arc::new(client::Config {
            keepalive_interval: Some(KEEPALIVE_INTERVAL),
            keepalive_max: KEEPALIVE_MAX_UNANSWERED,
            // Any packet, including the answer to a keepalive, resets russh's inactivity timer,
            // so keepalives alone detect dead hosts; an inactivity limit would add nothing.
            inactivity_timeout: None,
            preferred: russh::Preferred {
                key: host_key::preferred_host_key_algorithms(pinned.as_ref()),
                ..Default::default()
            },
            ..Default::default()
        });
        let seen: SeenHostKey = Arc::new(Mutex::new(None));
        let handler = HostKeyCheck { pinned: pinned.clone(), seen: seen.clone() };
        let handshake_and_authentication = async {
            let mut handle = client::connect_stream(config, stream, handler).await.map_err(|error| {
                host_key::host_key_change(&address, pinned.as_ref(), &seen).unwrap_or_else(|| {
                    SshError::HandshakeFailed { address: address.clone(), reason: error.to_string() }
                })
            })?;
            authenticate(&mut handle, target, private_key).await?;
            Ok::<_, SshError>(handle)
        };
        let handle = match tokio::time::timeout_at(deadline, handshake_and_authentication).await {
            Err(_elapsed) => {
                return Err(SshError::HandshakeTimedOut { target: target.describe(), timeout: target.connect_timeout });
            }
            Ok(result) => result?,
        };
        let offered = seen.lock().ok().and_then(|seen| seen.clone());
        let host_key_line = offered.as_ref().map(host_key::openssh_line).unwrap_or_default();
        Ok(Session {
            handle,
            target_description: target.describe(),
            host_key_line,
            command_timeout: target.command_timeout,
            commands_run: AtomicUsize::new(0),
            channel_slots: Semaphore::new(MAX_CONCURRENT_CHANNELS),
        })
    }

    /// The server's host key as an OpenSSH public key line, for pinning on first use.
    pub fn host_key(&self) -> &str {
        &self.host_key_line
    }

    /// How many commands this session ran (each `run`, `upload`, streaming command or shell).
    pub fn commands_run(&self) -> usize {
        self.commands_run.load(Ordering::Relaxed)
    }

    /// "root@10.0.0.5:22".
    pub fn describe(&self) -> String {
        self.target_description.clone()
    }

    /// Runs `command` (through the login shell), feeding it `stdin` if given (end-of-file follows
    /// either way), and collects its output. A non-zero exit is not an error: it is in the
    /// output's `exit_status` (128 + N for a command killed by signal N, like a shell reports).
    /// Fails if the command does not finish within the target's command timeout.
    pub async fn run(&self, command: &str, stdin: Option<&[u8]>) -> Result<CommandOutput, SshError> {
        let _slot = self.take_channel_slot().await;
        let channel = self.open_channel(command).await?;
        let (mut reader, writer) = channel.split();
        let timeout = self.command_timeout;
        let exchange = async {
            writer.exec(true, command).await.map_err(|error| self.start_error(command, &error))?;
            let feeding = async {
                if let Some(input) = stdin {
                    writer.data(input).await?;
                }
                writer.eof().await
            };
            let collecting = collect_output(&mut reader);
            tokio::pin!(feeding, collecting);
            let mut feeding_finished = false;
            loop {
                tokio::select! {
                    // A command may exit without reading its input: stop feeding, keep the output.
                    _ = &mut feeding, if !feeding_finished => feeding_finished = true,
                    output = &mut collecting => break Ok(output),
                }
            }
        };
        let collected = match tokio::time::timeout(timeout, exchange).await {
            Ok(result) => result?,
            Err(_elapsed) => {
                let _ = writer.signal(Sig::TERM).await;
                let _ = writer.close().await;
                return Err(SshError::CommandTimedOut {
                    target: self.describe(),
                    command: describe_command(command),
                    timeout,
                });
            }
        };
        let _ = writer.close().await;
        collected
            .into_output()
            .ok_or_else(|| SshError::ConnectionLost { target: self.describe(), command: describe_command(command) })
    }

    /// Writes `contents` to `remote_path` with permissions `mode` (e.g. 0o644), atomically: into a
    /// private temporary file next to it, then `chmod` and `mv`. Needs write access to the
    /// directory (use a root login, or upload elsewhere and `sudo mv`).
    pub async fn upload(&self, remote_path: &str, contents: &[u8], mode: u32) -> Result<(), SshError> {
        let unique = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.subsec_nanos());
        let temporary_path =
            format!("{remote_path}.rmachine-upload-{}-{}-{unique}", std::process::id(), self.commands_run());
        let command = format!(
            "umask 077; cat > {temporary} && chmod {mode:o} {temporary} && mv -f {temporary} {path} || {{ status=$?; rm -f {temporary}; exit $status; }}",
            temporary = shell_quote(&temporary_path),
            path = shell_quote(remote_path),
        );
        let output = self.run(&command, Some(contents)).await?;
        if output.exit_status != 0 {
            return Err(SshError::UploadFailed {
                target: self.describe(),
                remote_path: remote_path.to_string(),
                exit_status: output.exit_status,
                stderr: output.stderr,
            });
        }
        Ok(())
    }

    /// Tells the server the connection is finished and drops it.
    pub async fn close(self) {
        let _ = self.handle.disconnect(Disconnect::ByApplication, "", "en").await;
    }

    pub(crate) async fn take_channel_slot(&self) -> SemaphorePermit<'_> {
        self.channel_slots.acquire().await.expect("the channel semaphore is never closed")
    }

    pub(crate) async fn open_channel(&self, command: &str) -> Result<russh::Channel<client::Msg>, SshError> {
        self.commands_run.fetch_add(1, Ordering::Relaxed);
        let opening = self.handle.channel_open_session();
        match tokio::time::timeout(self.command_timeout, opening).await {
            Ok(Ok(channel)) => Ok(channel),
            Ok(Err(error)) => Err(self.start_error(command, &error)),
            Err(_elapsed) => Err(SshError::CommandTimedOut {
                target: self.describe(),
                command: describe_command(command),
                timeout: self.command_timeout,
            }),
        }
    }

    pub(crate) fn start_error(&self, command: &str, error: &russh::Error) -> SshError {
        let reason = match error {
            russh::Error::SendError | russh::Error::Disconnect => format!(
                "the SSH connection is closed (the host closed it, or answered none of {KEEPALIVE_MAX_UNANSWERED} keepalives sent {} apart)",
                super::error::format_duration(KEEPALIVE_INTERVAL)
            ),
            other => other.to_string(),
        };
        SshError::CommandFailedToStart { target: self.describe(), command: describe_command(command), reason }
    }
}

/// What a command's channel delivered.
#[derive(Default)]
struct CollectedOutput {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    exit_status: Option<u32>,
}

impl CollectedOutput {
    fn into_output(self) -> Option<CommandOutput> {
        Some(CommandOutput { exit_status: self.exit_status?, stdout: self.stdout, stderr: self.stderr })
    }
}

/// Reads until the channel closes: the exit status can arrive before the last output.
async fn collect_output(reader: &mut russh::ChannelReadHalf) -> CollectedOutput {
    let mut collected = CollectedOutput::default();
    while let Some(message) = reader.wait().await {
        match message {
            ChannelMsg::Data { data } => collected.stdout.extend_from_slice(&data),
            ChannelMsg::ExtendedData { data, ext: 1 } => collected.stderr.extend_from_slice(&data),
            ChannelMsg::ExitStatus { exit_status } => collected.exit_status = Some(exit_status),
            ChannelMsg::ExitSignal { signal_name, .. } => {
                collected.exit_status = Some(128 + signal_number(&signal_name));
            }
            _ => {}
        }
    }
    collected
}

/// The Linux number of a signal reported by the server (for the 128 + N exit status convention).
pub(crate) fn signal_number(signal: &Sig) -> u32 {
    match signal {
        Sig::HUP => 1,
        Sig::INT => 2,
        Sig::QUIT => 3,
        Sig::ILL => 4,
        Sig::ABRT => 6,
        Sig::FPE => 8,
        Sig::KILL => 9,
        Sig::USR1 => 10,
        Sig::SEGV => 11,
        Sig::PIPE => 13,
        Sig::ALRM => 14,
        Sig::TERM => 15,
        Sig::Custom(_) => 127,
    }
}

/// Names the cause of a failed TCP connect the way a user would say it.
fn describe_io_error(error: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match error.kind() {
        ErrorKind::ConnectionRefused => "connection refused (is sshd running on that port?)".to_string(),
        ErrorKind::TimedOut => "connection timed out".to_string(),
        ErrorKind::HostUnreachable => "host unreachable".to_string(),
        ErrorKind::NetworkUnreachable => "network unreachable".to_string(),
        ErrorKind::ConnectionReset => "connection reset by peer".to_string(),
        ErrorKind::AddrNotAvailable => "address not available".to_string(),
        _ => error.to_string(),
    }
}

/// Quotes a string for a POSIX shell: 'it'\''s'.
pub(crate) fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quote_survives_quotes_and_spaces() {
        assert_eq!(shell_quote("/etc/docker/daemon.json"), "'/etc/docker/daemon.json'");
        assert_eq!(shell_quote("it's a file"), r"'it'\''s a file'");
    }

    #[test]
    fn target_descriptions_name_user_host_and_port() {
        let target = SshTarget {
            host: "10.211.0.11".into(),
            port: 22,
            user: "root".into(),
            private_key: None,
            agent_socket: None,
            pinned_host_key: None,
            connect_timeout: Duration::from_secs(10),
            command_timeout: Duration::from_secs(60),
        };
        assert_eq!(target.describe(), "root@10.211.0.11:22");
        let ipv6 = SshTarget { host: "fd00::5".into(), ..target };
        assert_eq!(ipv6.address(), "[fd00::5]:22");
    }

    #[tokio::test]
    async fn connect_without_credentials_says_so() {
        let target = SshTarget {
            host: "127.0.0.1".into(),
            port: 1,
            user: "root".into(),
            private_key: None,
            agent_socket: None,
            pinned_host_key: None,
            connect_timeout: Duration::from_secs(1),
            command_timeout: Duration::from_secs(1),
        };
        let message = Session::connect(&target).await.err().unwrap().to_string();
        assert!(message.contains("no SSH credentials for root@127.0.0.1:1"), "{message}");
    }
}
