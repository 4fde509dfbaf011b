//! The one place that prints: data for scripts on stdout, status and progress for people on
//! stderr. Progress is a spinner on a terminal and plain lines everywhere else.

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Writes command output (env, ls, inspect, ip...) to stdout.
pub fn data(text: &str) {
    data_bytes(text.as_bytes());
}

/// Writes command output that need not be UTF-8 (`env`: paths and variables are bytes).
pub fn data_bytes(bytes: &[u8]) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(bytes);
    let _ = stdout.flush();
}

/// A status line for people, on stderr.
pub fn status(message: &str) {
    line_to_stderr(message);
}

pub fn warning(message: &str) {
    line_to_stderr(&format!("warning: {message}"));
}

/// An error line, the one `main` prints.
pub fn error(message: &str) {
    line_to_stderr(&format!("error: {message}"));
}

/// Writes a line on stderr; a closed stderr (`2>&1 | head -1`) loses the line, it does not stop
/// rmachine halfway (eprintln! would panic).
fn line_to_stderr(line: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{line}");
}

/// Progress of one machine's long operation. It remembers the last phase and whether the host's
/// rollback watchdog is armed, so that a stopped rmachine can say where it stopped.
pub struct Progress {
    machine: String,
    spinner: Option<ProgressBar>,
    state: Mutex<ProgressState>,
}

#[derive(Default)]
struct ProgressState {
    last_phase: Option<String>,
    /// When the host restores the previous engine configuration by itself unless confirmed.
    host_rollback_due: Option<Instant>,
}

/// Progress of several machines at once: one line per machine with its phase (spinners under one
/// `MultiProgress` on a terminal, plain "(machine) phase" lines elsewhere).
pub struct ProgressGroup {
    multi: Option<MultiProgress>,
}

impl ProgressGroup {
    pub fn new(on_terminal: bool) -> ProgressGroup {
        ProgressGroup { multi: on_terminal.then(MultiProgress::new) }
    }

    /// A line for `machine` in the group.
    pub fn machine(&self, machine: &str) -> Progress {
        Progress::with_group(machine, self.multi.is_some(), self.multi.as_ref())
    }

    /// A status line printed above the group's spinners.
    pub fn status(&self, message: &str) {
        match &self.multi {
            Some(multi) => {
                let _ = multi.println(message);
            }
            None => status(message),
        }
    }
}

impl Progress {
    pub fn new(machine: &str, on_terminal: bool) -> Progress {
        Progress::with_group(machine, on_terminal, None)
    }

    fn with_group(machine: &str, on_terminal: bool, group: Option<&MultiProgress>) -> Progress {
        let spinner = on_terminal.then(|| {
            let spinner = match group {
                Some(group) => group.add(ProgressBar::new_spinner()),
                None => ProgressBar::new_spinner(),
            };
            if let Ok(style) = ProgressStyle::with_template("{spinner} {prefix}: {msg} ({elapsed})") {
                spinner.set_style(style);
            }
            spinner.set_prefix(machine.to_string());
            spinner.enable_steady_tick(Duration::from_millis(120));
            spinner
        });
        Progress { machine: machine.to_string(), spinner, state: Mutex::default() }
    }

    /// The last phase announced.
    pub fn last_phase(&self) -> Option<String> {
        self.state.lock().ok()?.last_phase.clone()
    }

    /// How long until the host restores the previous engine configuration by itself, when a
    /// new one is on the host unconfirmed.
    pub fn host_rollback_due_in(&self) -> Option<Duration> {
        let due = self.state.lock().ok()?.host_rollback_due?;
        Some(due.saturating_duration_since(Instant::now()))
    }

    /// Announces the phase the operation has reached.
    pub fn phase(&self, message: &str) {
        if let Ok(mut state) = self.state.lock() {
            state.last_phase = Some(message.to_string());
        }
        match &self.spinner {
            Some(spinner) => {
                spinner.println(format!("({}) {message}", self.machine));
                spinner.set_message(message.to_string());
            }
            None => line_to_stderr(&format!("({}) {message}", self.machine)),
        }
    }

    pub fn warning(&self, message: &str) {
        match &self.spinner {
            Some(spinner) => spinner.println(format!("warning: ({}) {message}", self.machine)),
            None => line_to_stderr(&format!("warning: ({}) {message}", self.machine)),
        }
    }

    pub fn finish(&self) {
        if let Some(spinner) = &self.spinner {
            spinner.finish_and_clear();
        }
    }
}

impl rmachine_provision::ProvisionObserver for Progress {
    fn phase(&self, phase: &str) {
        Progress::phase(self, phase);
    }

    fn rollback_armed(&self, within: Duration) {
        if let Ok(mut state) = self.state.lock() {
            state.host_rollback_due = Some(Instant::now() + within);
        }
    }

    fn rollback_settled(&self) {
        if let Ok(mut state) = self.state.lock() {
            state.host_rollback_due = None;
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// A byte-count progress bar for a large copy, drawn only on a terminal.
pub struct TransferProgress {
    bar: Option<ProgressBar>,
}

impl TransferProgress {
    pub fn new(label: &str, total_bytes: u64, on_terminal: bool) -> TransferProgress {
        let bar = on_terminal.then(|| {
            let bar = ProgressBar::new(total_bytes);
            if let Ok(style) =
                ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}")
            {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_message(label.to_string());
            bar
        });
        TransferProgress { bar }
    }

    pub fn advance(&self, bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(bytes);
        }
    }
}

impl Drop for TransferProgress {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Drivers' messages outside a machine's progress (plugins' log lines, warnings): on stderr,
/// debug lines only with `--debug`.
pub struct GlobalDriverLog {
    pub debug: bool,
}

impl rmachine_drivers::DriverLog for GlobalDriverLog {
    fn phase(&self, message: &str) {
        status(message);
    }

    fn warning(&self, message: &str) {
        warning(message);
    }

    fn debug(&self, line: &str) {
        if self.debug {
            line_to_stderr(line);
        }
    }

    fn transfer(&self, label: &str, total_bytes: Option<u64>) -> Box<dyn rmachine_drivers::TransferLog> {
        Box::new(TransferProgress::new(label, total_bytes.unwrap_or(0), false))
    }
}

/// A machine's driver reports its steps on the machine's progress line.
pub struct MachineDriverLog<'a> {
    pub progress: &'a Progress,
    pub debug: bool,
    pub on_terminal: bool,
}

impl rmachine_drivers::DriverLog for MachineDriverLog<'_> {
    fn phase(&self, message: &str) {
        self.progress.phase(message);
    }

    fn warning(&self, message: &str) {
        self.progress.warning(message);
    }

    fn debug(&self, line: &str) {
        if self.debug {
            self.progress.phase(line);
        }
    }

    fn transfer(&self, label: &str, total_bytes: Option<u64>) -> Box<dyn rmachine_drivers::TransferLog> {
        Box::new(TransferProgress::new(label, total_bytes.unwrap_or(0), self.on_terminal))
    }
}

impl rmachine_drivers::TransferLog for TransferProgress {
    fn position(&self, bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(bytes);
        }
    }
}
