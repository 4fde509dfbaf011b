//! One plugin process of rmachine's driver protocol: started in a process group of its own with
//! rmachine's environment, requests written to its stdin one line each, its stdout read as
//! JSON-RPC lines (responses matched to the request in flight, `log` notifications forwarded,
//! anything else a protocol violation), its stderr kept as a log (the last lines go with every
//! error; `--debug` shows them as they come).
//!
//! A process ends when it is dropped. With no request in flight, its stdin is closed and it has
//! [`GRACE`] to exit. With one in flight (the caller gave up: Ctrl-C dropped the create, `ls`
//! reached its deadline), it is sent `$/cancel` first; a [`Cancelled`] shared with the driver
//! keeps that wind-down (and the late answer, which may carry settings) for the driver's next
//! call. After the grace its process group gets SIGTERM, then SIGKILL; if rmachine's runtime
//! shuts down first, SIGKILL at once. A plugin that misbehaved is killed at once.

use crate::jsonrpc::{self, ErrorObject, Frame, LineFramer, MAX_LINE, Message};
use rmachine_drivers::DriverLog;
use serde_json::Value;
use std::collections::{BTreeMap, VecDeque};
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, ChildStdin};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::task::JoinHandle;

/// How long a plugin has to exit after its stdin closed (or after `$/cancel`) before its
/// process group gets SIGTERM; SIGKILL follows [`KILL_AFTER_TERM`] later.
pub const GRACE: Duration = Duration::from_secs(5);
const KILL_AFTER_TERM: Duration = Duration::from_secs(2);
/// How many stderr lines are kept for errors.
pub const LOG_LINES: usize = 20;

/// What to start.
pub struct Launch<'a> {
    /// `rmachine-driver-NAME`, as errors name it.
    pub plugin: &'a str,
    /// NAME.
    pub driver: &'a str,
    pub path: &'a Path,
    /// The plugin's environment (rmachine's own).
    pub variables: &'a BTreeMap<String, String>,
    /// Where stderr lines go (shown with `--debug`).
    pub log: Arc<dyn DriverLog>,
    /// What log lines are tagged with: the machine's name, else the driver's.
    pub label: &'a str,
    /// The driver's record of cancelled requests, if it keeps one.
    pub cancelled: Option<Arc<Cancelled>>,
}

/// How a call failed.
#[derive(Debug, Clone, PartialEq)]
pub enum CallError {
    /// The plugin answered with an error.
    Remote(ErrorObject),
    /// The plugin did something the protocol does not allow, or nothing in time: what it did,
    /// in words ("exited with status 3 during `state`").
    Misbehaved(String),
}

/// What the stdout reader hands to the caller.
enum Event {
    Message(Message),
    Invalid { problem: String, line: Vec<u8> },
    TooLong,
    Closed,
}

/// The last lines a plugin wrote to stderr.
#[derive(Default)]
pub struct LogTail {
    lines: Mutex<VecDeque<String>>,
}

impl LogTail {
    fn push(&self, line: String) {
        let mut lines = self.lines.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if lines.len() == LOG_LINES {
            lines.pop_front();
        }
        lines.push_back(line);
    }

    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).iter().cloned().collect()
    }
}

/// The answer a cancelled request got after all (when it came within the grace).
pub type LateAnswer = Option<Result<Value, ErrorObject>>;

/// Requests a driver's callers gave up on, still winding down: the driver waits for them before
/// its next call, and takes the late answers (a cancelled create's settings).
#[derive(Default)]
pub struct Cancelled {
    wind_downs: Mutex<Vec<JoinHandle<LateAnswer>>>,
}

impl Cancelled {
    /// Waits for every cancelled request's process to end; the answers that came late.
    pub async fn settle(&self) -> Vec<Result<Value, ErrorObject>> {
        let handles: Vec<_> = std::mem::take(&mut *self.wind_downs.lock().unwrap_or_else(|p| p.into_inner()));
        let mut answers = Vec::new();
        for handle in handles {
            if let Ok(Some(answer)) = handle.await {
                answers.push(answer);
            }
        }
        answers
    }
}

/// Sends `signal` to a process group. Group ids are the leaders' pids, never reused while the
/// group has members.
fn signal_group(pgid: i32, signal: libc::c_int) {
    if pgid > 1 {
        // SAFETY: killpg has no memory effects; a group that no longer exists gives ESRCH.
        unsafe {
            libc::killpg(pgid, signal);
        }
    }
}

/// Kills the process group when dropped, unless disarmed.
struct GroupGuard {
    pgid: i32,
    armed: bool,
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if self.armed {
            signal_group(self.pgid, libc::SIGKILL);
        }
    }
}

/// A running plugin process.
pub struct PluginProcess {
    plugin: String,
    child: Option<Child>,
    guard: GroupGuard,
    outgoing: Option<UnboundedSender<String>>,
    incoming: UnboundedReceiver<Event>,
    tail: Arc<LogTail>,
    stderr_task: Option<JoinHandle<()>>,
    next_id: u64,
    in_flight: Option<u64>,
    broken: bool,
    label: String,
    cancelled: Option<Arc<Cancelled>>,
}

impl PluginProcess {
    /// Starts the plugin; `Err` says why it could not be started.
    pub fn launch(launch: Launch<'_>) -> Result<PluginProcess, String> {
        let mut command = tokio::process::Command::new(launch.path);
        command
            .env_clear()
            .envs(launch.variables)
            .env("RMACHINE_DRIVER_PROTOCOL", "1")
            .env("RMACHINE_DRIVER_NAME", launch.driver)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let mut child = command.spawn().map_err(|error| format!("cannot start {}: {error}", launch.path.display()))?;
        let pgid = child.id().and_then(|pid| i32::try_from(pid).ok()).unwrap_or(0);
        let (stdin, stdout, stderr) = (child.stdin.take(), child.stdout.take(), child.stderr.take());
        let (outgoing, lines) = unbounded_channel();
        if let Some(stdin) = stdin {
            tokio::spawn(write_lines(stdin, lines));
        }
        let (events, incoming) = unbounded_channel();
        if let Some(stdout) = stdout {
            tokio::spawn(read_messages(stdout, events));
        }
        let tail = Arc::new(LogTail::default());
        let stderr_task = stderr.map(|stderr| {
            let (tail, log, label) = (tail.clone(), launch.log.clone(), launch.label.to_string());
            tokio::spawn(read_log(stderr, tail, log, label))
        });
        Ok(PluginProcess {
            plugin: launch.plugin.to_string(),
            child: Some(child),
            guard: GroupGuard { pgid, armed: pgid > 1 },
            outgoing: Some(outgoing),
            incoming,
            tail,
            stderr_task,
            next_id: 1,
            in_flight: None,
            broken: false,
            label: launch.label.to_string(),
            cancelled: launch.cancelled,
        })
    }

    /// `rmachine-driver-NAME`.
    pub fn plugin(&self) -> &str {
        &self.plugin
    }

    /// The last lines of its stderr.
    pub fn log_tail(&self) -> Vec<String> {
        self.tail.lines()
    }

    /// Sends `method` and waits for its answer, at most `limit`. `log` notifications go to
    /// `log`: `info` as progress when `progress`, else as debug lines.
    pub async fn call(
        &mut self,
        method: &str,
        params: &Value,
        limit: Option<Duration>,
        log: &dyn DriverLog,
        progress: bool,
    ) -> Result<Value, CallError> {
        if self.broken {
            return Err(CallError::Misbehaved(format!("cannot take `{method}`: it misbehaved before")));
        }
        let id = self.next_id;
        self.next_id += 1;
        let sent =
            self.outgoing.as_ref().is_some_and(|out| out.send(jsonrpc::request_line(id, method, params)).is_ok());
        if !sent {
            return Err(self.misbehaved(format!("closed its stdin before `{method}`")).await);
        }
        self.in_flight = Some(id);
        let answer = match limit {
            Some(limit) => match tokio::time::timeout(limit, self.answer(id, log, progress)).await {
                Ok(answer) => answer,
                Err(_) => Err(Misbehaviour::TimedOut(limit)),
            },
            None => self.answer(id, log, progress).await,
        };
        match answer {
            Ok(outcome) => {
                self.in_flight = None;
                outcome.map_err(CallError::Remote)
            }
            // The request stays in flight: dropping the process cancels it, with the grace.
            Err(Misbehaviour::TimedOut(limit)) => {
                Err(CallError::Misbehaved(format!("did not answer `{method}` within {}", seconds(limit))))
            }
            Err(Misbehaviour::Did { what, detail }) => {
                self.in_flight = None;
                let detail = detail.map(|detail| format!(": {detail}")).unwrap_or_default();
                Err(self.misbehaved(format!("{what} during `{method}`{detail}")).await)
            }
        }
    }

    /// Reads events until the answer to request `id`.
    async fn answer(
        &mut self,
        id: u64,
        log: &dyn DriverLog,
        progress: bool,
    ) -> Result<Result<Value, ErrorObject>, Misbehaviour> {
        loop {
            let event = self.incoming.recv().await.unwrap_or(Event::Closed);
            match event {
                Event::Message(Message::Response { id: answered, outcome }) => {
                    if answered.as_u64() == Some(id) {
                        return Ok(outcome);
                    }
                    if answered.is_null()
                        && let Err(error) = outcome
                    {
                        // What a JSON-RPC server answers to a request it could not read.
                        return Ok(Err(error));
                    }
                    return Err(Misbehaviour::did(format!("answered request {id} with id {answered}"), None));
                }
                Event::Message(Message::Notification { method: note, params }) => {
                    if note == "log" {
                        self.forward_log(&params, log, progress);
                    }
                }
                Event::Message(Message::Request { id: asked, method: wanted }) => {
                    let message = format!("rmachine answers no requests (asked for `{wanted}`)");
                    if let Some(out) = &self.outgoing {
                        let _ = out.send(jsonrpc::error_line(&asked, jsonrpc::METHOD_NOT_FOUND, &message));
                    }
                }
                Event::Invalid { problem, line } => {
                    let what = "printed something that is not a JSON-RPC message on stdout".to_string();
                    return Err(Misbehaviour::did(what, Some(format!("{} ({problem})", jsonrpc::quote(&line)))));
                }
                Event::TooLong => {
                    let what = format!("printed a line longer than {} MiB on stdout", MAX_LINE >> 20);
                    return Err(Misbehaviour::did(what, None));
                }
                Event::Closed => return Err(Misbehaviour::did(self.how_it_ended().await, None)),
            }
        }
    }

    fn forward_log(&self, params: &Value, log: &dyn DriverLog, progress: bool) {
        let message = params.get("message").and_then(Value::as_str).unwrap_or_default();
        let tagged = format!("({}) {message}", self.label);
        match params.get("level").and_then(Value::as_str).unwrap_or("info") {
            "warning" | "warn" => log.warning(&tagged),
            "info" if progress => log.phase(message),
            _ => log.debug(&tagged),
        }
    }

    /// Its stdout closed: how the process ended (waiting a moment for its exit and last log lines).
    async fn how_it_ended(&mut self) -> String {
        let waited = match self.child.as_mut() {
            Some(child) => tokio::time::timeout(Duration::from_secs(1), child.wait()).await.ok().and_then(Result::ok),
            None => None,
        };
        self.settle_log().await;
        match waited {
            Some(status) => describe_exit(status),
            None => "closed its stdout".into(),
        }
    }

    async fn settle_log(&mut self) {
        if let Some(task) = self.stderr_task.take() {
            let _ = tokio::time::timeout(Duration::from_millis(500), task).await;
        }
    }

    /// Marks the process broken and kills it now: after a protocol violation nothing it says
    /// can be trusted. Returns the error for `what`.
    async fn misbehaved(&mut self, what: String) -> CallError {
        self.broken = true;
        signal_group(self.guard.pgid, libc::SIGKILL);
        self.settle_log().await;
        CallError::Misbehaved(what)
    }
}

enum Misbehaviour {
    TimedOut(Duration),
    /// What it did ("exited with status 3"), and what to quote after the method.
    Did {
        what: String,
        detail: Option<String>,
    },
}

impl Misbehaviour {
    fn did(what: String, detail: Option<String>) -> Misbehaviour {
        Misbehaviour::Did { what, detail }
    }
}

fn seconds(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{:.1}s", duration.as_secs_f64())
    }
}

/// "exited with status 3", "was killed by signal 9".
pub fn describe_exit(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(signal)) => format!("was killed by signal {signal}"),
        _ => format!("ended ({status})"),
    }
}

impl Drop for PluginProcess {
    fn drop(&mut self) {
        let cancelled_id = self.in_flight.take();
        if let (Some(id), Some(out)) = (cancelled_id, &self.outgoing) {
            let _ = out.send(jsonrpc::notification_line("$/cancel", &serde_json::json!({ "id": id })));
        }
        // The writer sends what is queued, then closes the plugin's stdin.
        self.outgoing = None;
        // A broken process was killed already; without a runtime there is no waiting: the
        // guard kills the group when it goes.
        let Some(child) = self.child.take() else { return };
        if self.broken {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let guard = GroupGuard { pgid: self.guard.pgid, armed: self.guard.armed };
        self.guard.armed = false;
        let incoming = std::mem::replace(&mut self.incoming, unbounded_channel().1);
        let wind_down = runtime.spawn(wind_down(child, guard, incoming, cancelled_id));
        match (&self.cancelled, cancelled_id) {
            (Some(cancelled), Some(_)) => {
                cancelled.wind_downs.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(wind_down)
            }
            _ => drop(wind_down),
        }
    }
}

/// Waits up to the grace for the process to exit (catching the answer to a cancelled request),
/// then ends its group: SIGTERM, then SIGKILL.
async fn wind_down(
    mut child: Child,
    mut guard: GroupGuard,
    mut incoming: UnboundedReceiver<Event>,
    cancelled_id: Option<u64>,
) -> LateAnswer {
    let mut late = None;
    let deadline = tokio::time::Instant::now() + GRACE;
    let drained = tokio::time::timeout_at(deadline, async {
        while let Some(event) = incoming.recv().await {
            match event {
                Event::Message(Message::Response { id, outcome })
                    if cancelled_id.is_some() && id.as_u64() == cancelled_id =>
                {
                    late = Some(outcome)
                }
                Event::Closed => break,
                _ => {}
            }
        }
    })
    .await;
    let exited = match drained {
        Ok(()) => tokio::time::timeout_at(deadline, child.wait()).await.is_ok(),
        Err(_) => false,
    };
    if !exited {
        signal_group(guard.pgid, libc::SIGTERM);
        if tokio::time::timeout(KILL_AFTER_TERM, child.wait()).await.is_err() {
            signal_group(guard.pgid, libc::SIGKILL);
            let _ = child.wait().await;
        }
    }
    // Whatever the plugin left running in its group goes with it.
    signal_group(guard.pgid, libc::SIGKILL);
    guard.armed = false;
    late
}

async fn write_lines(mut stdin: ChildStdin, mut lines: UnboundedReceiver<String>) {
    while let Some(line) = lines.recv().await {
        if stdin.write_all(line.as_bytes()).await.is_err() || stdin.flush().await.is_err() {
            return;
        }
    }
}

/// Reads `stream` through a [`LineFramer`]: each frame, in order, then `None` at its end.
async fn read_frames<R: AsyncRead + Unpin>(mut stream: R, mut each: impl FnMut(Frame) -> bool) {
    let mut framer = LineFramer::new(MAX_LINE);
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let read = stream.read(&mut buffer).await.unwrap_or(0);
        if read == 0 {
            if let Some(frame) = framer.finish() {
                each(frame);
            }
            return;
        }
        for frame in framer.push(&buffer[..read]) {
            if !each(frame) {
                return;
            }
        }
    }
}

async fn read_messages<R: AsyncRead + Unpin>(stdout: R, events: UnboundedSender<Event>) {
    read_frames(stdout, |frame| {
        let event = match frame {
            Frame::Line(line) => match jsonrpc::parse_message(&line) {
                Ok(message) => Event::Message(message),
                Err(problem) => Event::Invalid { problem, line },
            },
            Frame::TooLong(_) => Event::TooLong,
        };
        events.send(event).is_ok()
    })
    .await;
    let _ = events.send(Event::Closed);
}

async fn read_log<R: AsyncRead + Unpin>(stderr: R, tail: Arc<LogTail>, log: Arc<dyn DriverLog>, label: String) {
    read_frames(stderr, |frame| {
        let line = match frame {
            Frame::Line(line) => String::from_utf8_lossy(&line).into_owned(),
            Frame::TooLong(prefix) => format!("{}… (line cut)", String::from_utf8_lossy(&prefix)),
        };
        log.debug(&format!("({label}) {line}"));
        tail.push(line);
        true
    })
    .await;
}
