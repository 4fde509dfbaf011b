//! A small QMP client (QEMU's JSON control protocol over the machine's UNIX socket): read the
//! greeting, negotiate with `qmp_capabilities`, then run commands one at a time with ids, skipping
//! the asynchronous events QEMU sends in between (even during negotiation). Every read has a
//! timeout; QEMU's errors come back with their class and description. A QMP chardev serves one
//! client at a time, so a connection is opened per operation and never kept.

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};

#[derive(Debug, thiserror::Error)]
pub enum QmpError {
    #[error("cannot connect to QEMU's QMP socket {path}: {source}")]
    Connect { path: PathBuf, source: std::io::Error },
    #[error("QEMU's QMP socket {path} gave no answer to {what} within {seconds}s")]
    Timeout { path: PathBuf, what: String, seconds: u64 },
    #[error("QEMU closed its QMP socket {path} while rmachine waited for {what}")]
    Closed { path: PathBuf, what: String },
    #[error("QEMU's QMP socket {path}: {problem}")]
    Protocol { path: PathBuf, problem: String },
    #[error("QMP command {command} failed: {class}: {description}")]
    Command { command: String, class: String, description: String },
}

/// The QEMU version the greeting announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct QemuVersion {
    pub major: u64,
    pub minor: u64,
    pub micro: u64,
}

impl std::fmt::Display for QemuVersion {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{}.{}.{}", self.major, self.minor, self.micro)
    }
}

/// One negotiated QMP connection.
pub struct Qmp {
    path: PathBuf,
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    timeout: Duration,
    next_id: u64,
    pub version: QemuVersion,
}

impl Qmp {
    /// Connects, reads the greeting and leaves capabilities negotiation mode; each step may take
    /// up to `timeout`.
    pub async fn connect(path: &Path, timeout: Duration) -> Result<Qmp, QmpError> {
        let stream = match tokio::time::timeout(timeout, UnixStream::connect(path)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(source)) => return Err(QmpError::Connect { path: path.to_path_buf(), source }),
            Err(_) => return Err(timed_out(path, "the connection", timeout)),
        };
        let (reader, writer) = stream.into_split();
        let mut qmp = Qmp {
            path: path.to_path_buf(),
            reader: BufReader::new(reader),
            writer,
            timeout,
            next_id: 1,
            version: QemuVersion { major: 0, minor: 0, micro: 0 },
        };
        let greeting = qmp.read_message("the greeting").await?;
        qmp.version = greeting_version(&greeting).ok_or_else(|| QmpError::Protocol {
            path: path.to_path_buf(),
            problem: format!("the first message is not a QMP greeting: {greeting}"),
        })?;
        qmp.execute("qmp_capabilities", None).await?;
        Ok(qmp)
    }

    /// Runs `command` and returns its `return` value.
    pub async fn execute(&mut self, command: &str, arguments: Option<Value>) -> Result<Value, QmpError> {
        let id = self.send(command, arguments).await?;
        loop {
            let message = self.read_message(command).await?;
            match message.get("id") {
                Some(Value::Number(number)) if number.as_u64() == Some(id) => {}
                // QEMU answers a request it cannot parse without an id
                None if message.get("error").is_some() => {}
                _ => continue,
            }
            return answer(command, message, &self.path);
        }
    }

    /// Runs a command after which QEMU may close the connection before answering (`quit`).
    pub async fn execute_then_closed(&mut self, command: &str) -> Result<(), QmpError> {
        match self.execute(command, None).await {
            Ok(_) | Err(QmpError::Closed { .. }) => Ok(()),
            Err(error) => Err(error),
        }
    }

    async fn send(&mut self, command: &str, arguments: Option<Value>) -> Result<u64, QmpError> {
        let id = self.next_id;
        self.next_id += 1;
        let mut request = json!({ "execute": command, "id": id });
        if let Some(arguments) = arguments {
            request["arguments"] = arguments;
        }
        let mut line = request.to_string();
        line.push_str("\r\n");
        let write = self.writer.write_all(line.as_bytes());
        match tokio::time::timeout(self.timeout, write).await {
            Ok(Ok(())) => Ok(id),
            Ok(Err(_)) => Err(QmpError::Closed { path: self.path.clone(), what: format!("sending {command}") }),
            Err(_) => Err(timed_out(&self.path, &format!("sending {command}"), self.timeout)),
        }
    }

    /// The next message that is not an event.
    async fn read_message(&mut self, what: &str) -> Result<Value, QmpError> {
        loop {
            let mut line = String::new();
            let read = self.reader.read_line(&mut line);
            let count = match tokio::time::timeout(self.timeout, read).await {
                Ok(Ok(count)) => count,
                Ok(Err(_)) => 0,
                Err(_) => return Err(timed_out(&self.path, what, self.timeout)),
            };
            if count == 0 {
                return Err(QmpError::Closed { path: self.path.clone(), what: what.to_string() });
            }
            let text = line.trim();
            if text.is_empty() {
                continue;
            }
            let message: Value = serde_json::from_str(text).map_err(|error| QmpError::Protocol {
                path: self.path.clone(),
                problem: format!("not JSON ({error}): {text}"),
            })?;
            if message.get("event").is_none() {
                return Ok(message);
            }
        }
    }
}

fn timed_out(path: &Path, what: &str, timeout: Duration) -> QmpError {
    QmpError::Timeout { path: path.to_path_buf(), what: what.to_string(), seconds: timeout.as_secs().max(1) }
}

fn greeting_version(greeting: &Value) -> Option<QemuVersion> {
    let version = &greeting.get("QMP")?["version"]["qemu"];
    Some(QemuVersion {
        major: version["major"].as_u64()?,
        minor: version["minor"].as_u64()?,
        micro: version["micro"].as_u64().unwrap_or(0),
    })
}

fn answer(command: &str, message: Value, path: &Path) -> Result<Value, QmpError> {
    if let Some(error) = message.get("error") {
        return Err(QmpError::Command {
            command: command.to_string(),
            class: error["class"].as_str().unwrap_or("GenericError").to_string(),
            description: error["desc"].as_str().unwrap_or("no description").to_string(),
        });
    }
    match message.get("return") {
        Some(value) => Ok(value.clone()),
        None => Err(QmpError::Protocol {
            path: path.to_path_buf(),
            problem: format!("the answer to {command} has neither return nor error: {message}"),
        }),
    }
}

/// Connects, runs one command, and disconnects.
pub async fn run(path: &Path, command: &str, timeout: Duration) -> Result<Value, QmpError> {
    Qmp::connect(path, timeout).await?.execute(command, None).await
}

/// The run state `query-status` reports: `running`, `paused`, `shutdown`, `prelaunch`...
pub async fn query_status(path: &Path, timeout: Duration) -> Result<String, QmpError> {
    let status = run(path, "query-status", timeout).await?;
    status["status"].as_str().map(str::to_string).ok_or_else(|| QmpError::Protocol {
        path: path.to_path_buf(),
        problem: format!("query-status returned no status: {status}"),
    })
}

#[cfg(test)]
#[path = "qmp_tests.rs"]
mod tests;
