//! Machine names: what is allowed, checked before anything touches disk.

use std::fmt;

pub const MAXIMUM_NAME_LENGTH: usize = 63;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidName {
    pub name: String,
    pub problem: &'static str,
}

impl fmt::Display for InvalidName {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "invalid machine name '{}': {}; a name is 1 to {MAXIMUM_NAME_LENGTH} characters of letters, digits, '.' and '-', starting with a letter or digit",
            self.name.escape_debug(),
            self.problem
        )
    }
}

impl std::error::Error for InvalidName {}

/// Checks `^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$`, naming what is wrong.
pub fn validate_machine_name(name: &str) -> Result<(), InvalidName> {
    let invalid = |problem| Err(InvalidName { name: name.to_string(), problem });
    let Some(first) = name.chars().next() else { return invalid("it is empty") };
    if name.len() > MAXIMUM_NAME_LENGTH {
        return invalid("it is longer than 63 characters");
    }
    if name.contains('/') || name.contains('\\') {
        return invalid("it contains a path separator");
    }
    if name.contains("..") {
        return invalid("it contains '..'");
    }
    if !first.is_ascii_alphanumeric() {
        return invalid("it must start with a letter or digit");
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-') {
        return invalid("it contains a character other than letters, digits, '.' and '-'");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_names_pass() {
        for name in ["node1", "a", "Node-1.example", "0", &"x".repeat(63)] {
            validate_machine_name(name).unwrap();
        }
    }

    #[test]
    fn bad_names_say_why() {
        let cases = [
            ("", "empty"),
            ("..", "'..'"),
            ("a..b", "'..'"),
            ("a/b", "path separator"),
            ("-node", "start with a letter or digit"),
            (".hidden", "start with a letter or digit"),
            ("node_1", "other than"),
            ("nöde", "other than"),
            ("node 1", "other than"),
        ];
        for (name, problem) in cases {
            let error = validate_machine_name(name).unwrap_err().to_string();
            assert!(error.contains(problem), "{name:?}: {error}");
        }
        let long = "x".repeat(64);
        assert!(validate_machine_name(&long).unwrap_err().to_string().contains("longer than 63"));
    }
}
