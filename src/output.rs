//! The one place that prints: data for scripts on stdout, status and progress for people on
//! stderr. Progress is a spinner on a terminal and plain lines everywhere else.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::Write;
use std::time::Duration;

/// Writes command output (env, ls, inspect, ip...) to stdout.
pub fn data(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

/// A status line for people, on stderr.
pub fn status(message: &str) {
    eprintln!("{message}");
}

pub fn warning(message: &str) {
    eprintln!("warning: {message}");
}

/// Progress of one machine's long operation.
pub struct Progress {
    machine: String,
    spinner: Option<ProgressBar>,
}

impl Progress {
    pub fn new(machine: &str, on_terminal: bool) -> Progress {
        let spinner = on_terminal.then(|| {
            let spinner = ProgressBar::new_spinner();
            if let Ok(style) = ProgressStyle::with_template("{spinner} {prefix}: {msg} ({elapsed})") {
                spinner.set_style(style);
            }
            spinner.set_prefix(machine.to_string());
            spinner.enable_steady_tick(Duration::from_millis(120));
            spinner
        });
        Progress { machine: machine.to_string(), spinner }
    }

    /// Announces the phase the operation has reached.
    pub fn phase(&self, message: &str) {
        match &self.spinner {
            Some(spinner) => {
                spinner.println(format!("({}) {message}", self.machine));
                spinner.set_message(message.to_string());
            }
            None => eprintln!("({}) {message}", self.machine),
        }
    }

    pub fn warning(&self, message: &str) {
        match &self.spinner {
            Some(spinner) => spinner.println(format!("warning: ({}) {message}", self.machine)),
            None => eprintln!("warning: ({}) {message}", self.machine),
        }
    }

    pub fn finish(&self) {
        if let Some(spinner) = &self.spinner {
            spinner.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}
