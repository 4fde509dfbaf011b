//! Errors that carry their own exit code (a remote command's status for `ssh`, docker-machine's 3
//! for a failed pre-create check); `main` turns them into the process's exit status.

use std::fmt;

/// An error that carries a specific exit code.
#[derive(Debug)]
pub struct ExitStatus {
    code: u8,
    message: String,
}

impl ExitStatus {
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        ExitStatus { code, message: message.into() }
    }

    pub fn code(&self) -> u8 {
        self.code
    }
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.message)
    }
}

impl std::error::Error for ExitStatus {}

/// Exit code for a failed pre-create check, as docker-machine.
pub const EXIT_PRECREATE_CHECK: u8 = 3;
