//! Errors that carry their own exit code (a remote command's status for `ssh`, docker-machine's 3
//! for a failed pre-create check), which `main` turns into the process's exit status, and how an
//! error is told ([`describe`]).

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

/// An error and its causes in one line ("context: cause: cause"), each cause once: an error whose
/// message already ends with its cause's text (`cannot create X: File exists`, whose cause is
/// `File exists`) does not repeat it.
pub fn describe(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let cause = cause.to_string();
        if cause.is_empty() || text.ends_with(&cause) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&cause);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_the_message_already_tells_is_not_repeated() {
        let io = std::io::Error::from(std::io::ErrorKind::AlreadyExists);
        #[derive(Debug, thiserror::Error)]
        #[error("cannot create store folder /x: {source}")]
        struct Create {
            source: std::io::Error,
        }
        let error = anyhow::Error::new(Create { source: io }).context("opening the store");
        assert_eq!(describe(&error), "opening the store: cannot create store folder /x: entity already exists");
        let plain = anyhow::anyhow!("inner").context("outer");
        assert_eq!(describe(&plain), "outer: inner");
    }
}
