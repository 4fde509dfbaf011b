// tests/common/watch.rs — owns running rmachine while reading its progress lines as they come
// (stderr, one line each), to act at a chosen line: send it a signal (crash points), cut the
// test host's link (network faults). Signals go through the system `kill`. std only.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

/// A signal the tests send rmachine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// SIGKILL: rmachine gets no chance to do anything.
    Kill,
    /// SIGINT, as Ctrl-C sends it.
    Interrupt,
    /// SIGTERM, as `kill`, systemd and CI runners send it.
    Terminate,
}

impl Stop {
    pub fn all() -> [Stop; 3] {
        [Stop::Kill, Stop::Interrupt, Stop::Terminate]
    }

    pub fn name(self) -> &'static str {
        match self {
            Stop::Kill => "KILL",
            Stop::Interrupt => "INT",
            Stop::Terminate => "TERM",
        }
    }

    /// The exit code rmachine must end with after a graceful stop (None: SIGKILL, no code).
    pub fn graceful_exit_code(self) -> Option<i32> {
        match self {
            Stop::Kill => None,
            Stop::Interrupt => Some(130),
            Stop::Terminate => Some(143),
        }
    }
}

/// rmachine running, its stderr read by a thread into a channel.
pub struct Watched {
    child: Child,
    lines: Receiver<String>,
    /// Every stderr line read so far.
    pub printed: Vec<String>,
    started: Instant,
}

/// How a watched run ended.
pub struct Ended {
    pub status: ExitStatus,
    pub printed: Vec<String>,
    /// From the signal (or the start) to the exit.
    pub took: Duration,
}

impl Ended {
    pub fn stderr(&self) -> String {
        self.printed.join("\n")
    }
}

impl Watched {
    /// Starts `rmachine -s STORE ARGS...` (stdin and stdout closed).
    pub fn start(store: &Path, args: &[&str]) -> Watched {
        let mut child = super::rmachine_command(store)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("rmachine starts");
        let stderr = child.stderr.take().expect("stderr is piped");
        let (sender, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Watched { child, lines, printed: Vec::new(), started: Instant::now() }
    }

    /// Reads lines until one contains `needle` (true), or rmachine ends or `limit` passes first
    /// (false).
    pub fn wait_for_line(&mut self, needle: &str, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let found = line.contains(needle);
                    self.printed.push(line);
                    if found {
                        return true;
                    }
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return false,
            }
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `kill`; the time of the exit is measured from here.
    pub fn signal(&mut self, kill: Stop) {
        self.started = Instant::now();
        if kill == Stop::Kill {
            self.child.kill().expect("SIGKILL rmachine");
            return;
        }
        let status = std::process::Command::new("kill")
            .args(["-s", kill.name(), &self.pid().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -s {} failed", kill.name());
    }

    /// Waits for rmachine to end, reading the rest of its stderr; panics after `limit`.
    pub fn finish(mut self, limit: Duration) -> Ended {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait for rmachine") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("rmachine did not end within {limit:?}; it printed:\n{}", self.printed.join("\n"));
            }
            while let Ok(line) = self.lines.try_recv() {
                self.printed.push(line);
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let took = self.started.elapsed();
        // The reader thread ends at EOF; take what it still holds.
        while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(500)) {
            self.printed.push(line);
        }
        Ended { status, printed: self.printed, took }
    }
}
