//! Running planned commands over the [`Remote`]: builds each command line with the host's
//! privilege, counts the commands, separates what the host prints before a command (a login
//! banner, a sudo notice) from its output, and turns failures into errors that name the host,
//! the command, its exit status and its stderr.

use crate::error::ProvisionError;
use crate::facts::HostFacts;
use crate::plan::{self, RemoteCommand};
use crate::remote::{CommandOutput, Remote};
use crate::shell::{Privilege, split_output};

pub(crate) struct Session<'a, R: Remote> {
    remote: &'a R,
    /// As the remote describes itself: "root@10.0.0.5:22".
    pub host: String,
    /// How root commands run; Root until detection says otherwise.
    pub privilege: Privilege,
    /// Commands run so far.
    pub commands: usize,
    /// What the host printed before a command's own output, the first time it did.
    pub host_noise: Option<String>,
}

impl<'a, R: Remote> Session<'a, R> {
    pub(crate) fn new(remote: &'a R) -> Self {
        Self { remote, host: remote.describe(), privilege: Privilege::Root, commands: 0, host_noise: None }
    }

    /// Runs `command`; Err only when it could not be run.
    pub(crate) async fn run(&mut self, command: &RemoteCommand) -> Result<CommandOutput, ProvisionError> {
        let line = command.command_line(self.privilege);
        self.commands += 1;
        let output = self.remote.run(&line, command.stdin.as_deref()).await.map_err(|reason| {
            ProvisionError::Connection { host: self.host.clone(), command: command.description.clone(), reason }
        })?;
        let (noise_out, stdout) = split_output(&output.stdout);
        let (noise_err, stderr) = split_output(&output.stderr);
        let noise = format!("{}{}", text_of(noise_out), text_of(noise_err));
        if self.host_noise.is_none() && !noise.trim().is_empty() {
            self.host_noise = Some(noise.trim().to_string());
        }
        Ok(CommandOutput { exit_status: output.exit_status, stdout: stdout.to_vec(), stderr: stderr.to_vec() })
    }

    /// Runs `command`; Err also when it exits with a non-zero status.
    pub(crate) async fn run_checked(&mut self, command: &RemoteCommand) -> Result<CommandOutput, ProvisionError> {
        let output = self.run(command).await?;
        if output.exit_status == 0 { Ok(output) } else { Err(self.failure(command, &output)) }
    }

    /// The error for `command` having exited with `output`.
    pub(crate) fn failure(&self, command: &RemoteCommand, output: &CommandOutput) -> ProvisionError {
        ProvisionError::CommandFailed {
            host: self.host.clone(),
            command: command.description.clone(),
            exit_status: output.exit_status,
            stderr: tail(&text_of(&output.stderr), 40),
        }
    }

    /// Runs the detection script and parses what it prints.
    pub(crate) async fn detect(&mut self, managed_paths: &[String]) -> Result<HostFacts, ProvisionError> {
        let output = self.run_checked(&plan::detect_facts(managed_paths)).await?;
        HostFacts::parse(&text_of(&output.stdout))
            .map_err(|message| ProvisionError::UnreadableFacts { host: self.host.clone(), message })
    }
}

/// Bytes from the host as text (lossy: messages only need to be readable).
pub(crate) fn text_of(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The last `lines` lines of `text`.
pub(crate) fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.trim_end().lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// stdout and stderr of `output`, together, trimmed.
pub(crate) fn combined_output(output: &CommandOutput) -> String {
    let mut text = text_of(&output.stdout).trim_end().to_string();
    let stderr = text_of(&output.stderr);
    if !stderr.trim().is_empty() {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(stderr.trim_end());
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_last_lines() {
        assert_eq!(tail("a\nb\nc\n", 2), "b\nc");
        assert_eq!(tail("a", 5), "a");
        assert_eq!(tail("", 5), "");
    }

    #[test]
    fn combined_output_joins_both_streams() {
        let output = CommandOutput { exit_status: 1, stdout: b"out\n".to_vec(), stderr: b"err\n".to_vec() };
        assert_eq!(combined_output(&output), "out\nerr");
    }
}
