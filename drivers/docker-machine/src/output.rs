//! A plugin's own output: its stdout lines after the address and its stderr lines go to the
//! caller's [`LogSink`], tagged as docker-machine tags them (`(MACHINE) line` for stdout, at info
//! level; `(MACHINE) DBG | line` for stderr, at debug level). The last stderr lines are kept to
//! attach to errors. Nothing here prints.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

/// Which of the plugin's streams a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputStream {
    /// Lines after the address: libmachine logs info and warnings there.
    Stdout,
    /// libmachine logs debug and errors there (plugins run with debug on).
    Stderr,
}

/// One line of a plugin's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PluginLine<'a> {
    /// The driver's name (`hetzner`).
    pub driver: &'a str,
    /// The machine the plugin serves, once known (else the driver's name).
    pub label: &'a str,
    pub stream: OutputStream,
    /// The line, without its line ending.
    pub text: &'a str,
}

impl PluginLine<'_> {
    /// The line as docker-machine shows it.
    pub fn tagged(&self) -> String {
        match self.stream {
            OutputStream::Stdout => format!("({}) {}", self.label, self.text),
            OutputStream::Stderr => format!("({}) DBG | {}", self.label, self.text),
        }
    }
}

/// Where a plugin's output goes. Closures `Fn(&PluginLine)` are sinks.
pub trait LogSink: Send + Sync {
    fn line(&self, line: &PluginLine<'_>);
}

impl<F: Fn(&PluginLine<'_>) + Send + Sync> LogSink for F {
    fn line(&self, line: &PluginLine<'_>) {
        self(line)
    }
}

/// A sink that drops everything.
pub fn discard() -> Arc<dyn LogSink> {
    Arc::new(|_: &PluginLine<'_>| {})
}

/// What the output readers share with the plugin: the label, and the stderr tail.
pub(crate) struct OutputState {
    pub driver: String,
    label: Mutex<String>,
    tail: Mutex<VecDeque<String>>,
    tail_size: usize,
    stderr_closed: AtomicBool,
    sink: Arc<dyn LogSink>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl OutputState {
    pub fn new(driver: &str, label: &str, tail_size: usize, sink: Arc<dyn LogSink>) -> Arc<OutputState> {
        let label = if label.is_empty() { driver } else { label };
        Arc::new(OutputState {
            driver: driver.into(),
            label: Mutex::new(label.into()),
            tail: Mutex::new(VecDeque::with_capacity(tail_size)),
            tail_size,
            stderr_closed: AtomicBool::new(false),
            sink,
        })
    }

    pub fn set_label(&self, label: &str) {
        if !label.is_empty() {
            *lock(&self.label) = label.into();
        }
    }

    /// The last stderr lines, oldest first.
    pub fn tail(&self) -> Vec<String> {
        lock(&self.tail).iter().cloned().collect()
    }

    pub fn stderr_closed(&self) -> bool {
        self.stderr_closed.load(Ordering::Acquire)
    }

    pub fn emit(&self, stream: OutputStream, text: &str) {
        if stream == OutputStream::Stderr {
            let mut tail = lock(&self.tail);
            if tail.len() == self.tail_size {
                tail.pop_front();
            }
            if self.tail_size > 0 {
                tail.push_back(text.to_owned());
            }
        }
        let label = lock(&self.label).clone();
        self.sink.line(&PluginLine { driver: &self.driver, label: &label, stream, text });
    }
}

/// Reads one line (lossily decoded, line ending removed); `None` at the end of the stream.
pub(crate) async fn read_line<R: AsyncRead + Unpin>(reader: &mut BufReader<R>) -> Option<String> {
    let mut bytes = Vec::new();
    match reader.read_until(b'\n', &mut bytes).await {
        Ok(0) | Err(_) => None,
        Ok(_) => {
            while matches!(bytes.last(), Some(b'\n' | b'\r')) {
                bytes.pop();
            }
            Some(String::from_utf8_lossy(&bytes).into_owned())
        }
    }
}

/// Forwards every line of `reader` to the sink until the stream ends.
pub(crate) async fn forward<R: AsyncRead + Unpin>(
    mut reader: BufReader<R>,
    stream: OutputStream,
    state: Arc<OutputState>,
) {
    while let Some(line) = read_line(&mut reader).await {
        state.emit(stream, &line);
    }
    if stream == OutputStream::Stderr {
        state.stderr_closed.store(true, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_tagged_as_docker_machine_tags_them_and_the_tail_keeps_the_last() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = {
            let seen = seen.clone();
            Arc::new(move |line: &PluginLine<'_>| lock(&seen).push(line.tagged()))
        };
        let state = OutputState::new("fake", "", 2, sink);
        state.emit(OutputStream::Stdout, "Creating");
        state.set_label("node1");
        for text in ["one", "two", "three"] {
            state.emit(OutputStream::Stderr, text);
        }
        assert_eq!(*lock(&seen), ["(fake) Creating", "(node1) DBG | one", "(node1) DBG | two", "(node1) DBG | three"]);
        assert_eq!(state.tail(), ["two", "three"]);
    }
}
