//! Commands attached to the local terminal: `run_streaming` (for `rmachine ssh NAME -- command`:
//! output copied as it arrives, local stdin forwarded) and `interactive_shell` (a PTY login shell
//! with the local terminal in raw mode, resized on SIGWINCH and restored on exit). This is the only
//! place in the module that does terminal I/O.

use std::io::{IsTerminal, Read};

use russh::{ChannelMsg, ChannelReadHalf, ChannelWriteHalf};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use super::SshError;
use super::error::describe_command;
use super::session::{Session, signal_number};

/// The terminal type announced for the remote PTY when the caller gives none.
const DEFAULT_TERMINAL_TYPE: &str = "xterm-256color";

impl Session {
    /// Runs `command` without a PTY, copying its stdout and stderr to the local ones as they arrive
    /// and the local stdin to it; returns its exit status (128 + N if killed by signal N). No
    /// command timeout applies: the user is watching.
    pub async fn run_streaming(&self, command: &str) -> Result<u32, SshError> {
        let input = spawn_stdin_reader();
        let mut stdout = tokio::io::stdout();
        let mut stderr = tokio::io::stderr();
        self.stream_command(command, input, &mut stdout, &mut stderr).await
    }

    /// `run_streaming` with the input and outputs given: the part that does not touch the terminal.
    pub(crate) async fn stream_command(
        &self,
        command: &str,
        input: mpsc::Receiver<Vec<u8>>,
        stdout: &mut (impl AsyncWrite + Unpin),
        stderr: &mut (impl AsyncWrite + Unpin),
    ) -> Result<u32, SshError> {
        let _slot = self.take_channel_slot().await;
        let channel = self.open_channel(command).await?;
        let (reader, writer) = channel.split();
        writer.exec(true, command).await.map_err(|error| self.start_error(command, &error))?;
        let exit_status = pump(reader, &writer, input, stdout, stderr, None).await;
        let _ = writer.close().await;
        exit_status
            .ok_or_else(|| SshError::ConnectionLost { target: self.describe(), command: describe_command(command) })
    }

    /// Opens a login shell in a remote PTY sized like the local terminal, with the local terminal
    /// in raw mode until the shell exits; returns the shell's exit status.
    pub async fn interactive_shell(&self) -> Result<u32, SshError> {
        self.interactive_shell_with_terminal_type(DEFAULT_TERMINAL_TYPE).await
    }

    /// `interactive_shell` announcing `terminal_type` (the caller's TERM) to the remote side.
    pub async fn interactive_shell_with_terminal_type(&self, terminal_type: &str) -> Result<u32, SshError> {
        let terminal_error = |reason: String| SshError::Terminal { target: self.describe(), reason };
        if !std::io::stdin().is_terminal() {
            return Err(terminal_error("standard input is not a terminal; give a command to run instead".to_string()));
        }
        let (columns, rows) = crossterm::terminal::size().unwrap_or((80, 24));
        let mut window_changes = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::window_change())
            .map_err(|error| terminal_error(format!("cannot watch for terminal resizes: {error}")))?;

        let _slot = self.take_channel_slot().await;
        let channel = self.open_channel("<interactive shell>").await?;
        let (reader, writer) = channel.split();
        writer
            .request_pty(true, terminal_type, u32::from(columns), u32::from(rows), 0, 0, &[])
            .await
            .map_err(|error| terminal_error(format!("the server refused a PTY: {error}")))?;
        writer
            .request_shell(true)
            .await
            .map_err(|error| terminal_error(format!("the server refused a shell: {error}")))?;

        let raw_mode = RawModeGuard::enable()
            .map_err(|error| terminal_error(format!("cannot switch the terminal to raw mode: {error}")))?;
        let input = spawn_stdin_reader();
        let mut stdout = tokio::io::stdout();
        let mut stderr = tokio::io::stderr();
        let exit_status = pump(reader, &writer, input, &mut stdout, &mut stderr, Some(&mut window_changes)).await;
        drop(raw_mode);
        let _ = writer.close().await;
        exit_status.ok_or_else(|| SshError::ConnectionLost {
            target: self.describe(),
            command: "<interactive shell>".to_string(),
        })
    }
}

/// Copies channel output to `stdout`/`stderr` and `input` to the channel until the channel closes;
/// forwards terminal resizes when `window_changes` is given. Returns the exit status, if any.
async fn pump(
    mut reader: ChannelReadHalf,
    writer: &ChannelWriteHalf<russh::client::Msg>,
    mut input: mpsc::Receiver<Vec<u8>>,
    stdout: &mut (impl AsyncWrite + Unpin),
    stderr: &mut (impl AsyncWrite + Unpin),
    mut window_changes: Option<&mut tokio::signal::unix::Signal>,
) -> Option<u32> {
    let mut exit_status = None;
    let mut input_open = true;
    loop {
        tokio::select! {
            message = reader.wait() => match message {
                None => break,
                Some(ChannelMsg::Data { data }) => {
                    let _ = stdout.write_all(&data).await;
                    let _ = stdout.flush().await;
                }
                Some(ChannelMsg::ExtendedData { data, .. }) => {
                    let _ = stderr.write_all(&data).await;
                    let _ = stderr.flush().await;
                }
                Some(ChannelMsg::ExitStatus { exit_status: status }) => exit_status = Some(status),
                Some(ChannelMsg::ExitSignal { signal_name, .. }) => {
                    exit_status = Some(128 + signal_number(&signal_name));
                }
                Some(_) => {}
            },
            chunk = input.recv(), if input_open => match chunk {
                Some(bytes) => {
                    if writer.data(&bytes[..]).await.is_err() {
                        input_open = false;
                    }
                }
                None => {
                    input_open = false;
                    let _ = writer.eof().await;
                }
            },
            Some(()) = next_window_change(&mut window_changes) => {
                if let Ok((columns, rows)) = crossterm::terminal::size() {
                    let _ = writer.window_change(u32::from(columns), u32::from(rows), 0, 0).await;
                }
            }
        }
    }
    exit_status
}

async fn next_window_change(window_changes: &mut Option<&mut tokio::signal::unix::Signal>) -> Option<()> {
    match window_changes {
        Some(signal) => signal.recv().await,
        None => std::future::pending().await,
    }
}

/// Reads the local stdin on a plain thread (tokio's stdin would keep the runtime from shutting
/// down while a read is pending) and hands the chunks over; the channel closes at end of input.
fn spawn_stdin_reader() -> mpsc::Receiver<Vec<u8>> {
    let (sender, receiver) = mpsc::channel(16);
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut buffer = vec![0u8; 32 * 1024];
        loop {
            match stdin.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(count) => {
                    if sender.blocking_send(buffer[..count].to_vec()).is_err() {
                        break;
                    }
                }
            }
        }
    });
    receiver
}

/// Raw mode for as long as this lives; the terminal is restored on drop, also on early returns.
struct RawModeGuard;

impl RawModeGuard {
    fn enable() -> std::io::Result<RawModeGuard> {
        crossterm::terminal::enable_raw_mode()?;
        Ok(RawModeGuard)
    }
}

impl Drop for RawModeGuard {
    fn drop(&mut self) {
        let _ = crossterm::terminal::disable_raw_mode();
    }
}
