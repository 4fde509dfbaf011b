//! Driver options: what a driver declares it takes ([`OptionSpec`]: name, type, help, environment
//! variable, default, required, secret), and the values a user gave for them ([`DriverOptions`]),
//! from `create` flags or a cluster file's `DRIVER:` map alike.

use crate::DriverError;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// The type of an option's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OptionKind {
    String,
    Int,
    Bool,
    /// Repeatable: `--x a --x b`, or a list in a cluster file.
    StringList,
    /// A file: `~/` and, in a cluster file, relative paths are resolved before the driver sees it.
    Path,
}

impl OptionKind {
    /// How the type is named in help and errors.
    pub fn describe(self) -> &'static str {
        match self {
            OptionKind::String => "a string",
            OptionKind::Int => "an integer",
            OptionKind::Bool => "true or false",
            OptionKind::StringList => "a list of strings",
            OptionKind::Path => "a path",
        }
    }
}

/// A value of an option.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OptionValue {
    Bool(bool),
    Int(i64),
    String(String),
    List(Vec<String>),
}

impl OptionValue {
    /// The value as a flag's argument text (lists: comma-separated).
    pub fn to_text(&self) -> String {
        match self {
            OptionValue::Bool(flag) => flag.to_string(),
            OptionValue::Int(number) => number.to_string(),
            OptionValue::String(text) => text.clone(),
            OptionValue::List(items) => items.join(","),
        }
    }
}

/// A check of one value, for built-in drivers: `Err` says what is wrong with it.
pub type OptionCheck = fn(&OptionValue) -> Result<(), String>;

/// One option a driver takes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OptionSpec {
    /// The flag's name without dashes, with the driver's prefix: `aws-region`, `generic-ip-address`.
    pub name: String,
    #[serde(rename = "type")]
    pub kind: OptionKind,
    /// One line of help.
    #[serde(default, rename = "usage", alias = "help")]
    pub help: String,
    /// The environment variable that gives a value when the flag does not.
    #[serde(default)]
    pub env: Option<String>,
    /// Further variables read, in order, when `env` is unset (docker-machine's `AWS_DEFAULT_REGION`
    /// beside `AWS_REGION`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env_aliases: Vec<String>,
    #[serde(default)]
    pub default: Option<OptionValue>,
    #[serde(default)]
    pub required: bool,
    /// Never written to the machine record (tokens, passwords): the driver re-reads it.
    #[serde(default)]
    pub secret: bool,
    /// Other flag names for the same option (docker-machine's `amazonec2-region`).
    #[serde(default)]
    pub aliases: Vec<String>,
    /// The placeholder in help: `ADDRESS`, `SECONDS`.
    #[serde(default)]
    pub value_name: Option<String>,
    /// Left out of `create --help` (docker-machine's spellings that take their own values).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hidden: bool,
    #[serde(skip)]
    pub check: Option<OptionCheck>,
}

impl OptionSpec {
    pub fn new(name: &str, kind: OptionKind, help: &str) -> OptionSpec {
        OptionSpec {
            name: name.to_string(),
            kind,
            help: help.to_string(),
            env: None,
            env_aliases: Vec::new(),
            default: None,
            required: false,
            secret: false,
            aliases: Vec::new(),
            value_name: None,
            hidden: false,
            check: None,
        }
    }

    pub fn env(mut self, variable: &str) -> OptionSpec {
        self.env = Some(variable.to_string());
        self
    }

    /// Another variable read when the option's own is unset.
    pub fn env_alias(mut self, variable: &str) -> OptionSpec {
        self.env_aliases.push(variable.to_string());
        self
    }

    /// The variables that give the option a value, in the order they are read.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.env.iter().chain(&self.env_aliases).map(String::as_str)
    }

    pub fn hidden(mut self) -> OptionSpec {
        self.hidden = true;
        self
    }

    pub fn default_value(mut self, value: OptionValue) -> OptionSpec {
        self.default = Some(value);
        self
    }

    pub fn required(mut self) -> OptionSpec {
        self.required = true;
        self
    }

    pub fn secret(mut self) -> OptionSpec {
        self.secret = true;
        self
    }

    pub fn alias(mut self, name: &str) -> OptionSpec {
        self.aliases.push(name.to_string());
        self
    }

    pub fn value_name(mut self, placeholder: &str) -> OptionSpec {
        self.value_name = Some(placeholder.to_string());
        self
    }

    pub fn check(mut self, check: OptionCheck) -> OptionSpec {
        self.check = Some(check);
        self
    }

    /// Parses a flag's text into this option's type, and checks it.
    pub fn parse_text(&self, text: &str) -> Result<OptionValue, String> {
        let value = match self.kind {
            OptionKind::String | OptionKind::Path => OptionValue::String(text.to_string()),
            OptionKind::StringList => OptionValue::List(vec![text.to_string()]),
            OptionKind::Int => {
                OptionValue::Int(text.trim().parse().map_err(|_| format!("'{text}' is not an integer"))?)
            }
            OptionKind::Bool => match text.trim() {
                "true" | "1" | "yes" => OptionValue::Bool(true),
                "false" | "0" | "no" | "" => OptionValue::Bool(false),
                other => return Err(format!("'{other}' is neither true nor false")),
            },
        };
        self.check_value(&value)?;
        Ok(value)
    }

    /// Checks a value's type against the option's, then the driver's own check.
    pub fn check_value(&self, value: &OptionValue) -> Result<(), String> {
        let fits = matches!(
            (self.kind, value),
            (OptionKind::String | OptionKind::Path, OptionValue::String(_))
                | (OptionKind::Int, OptionValue::Int(_))
                | (OptionKind::Bool, OptionValue::Bool(_))
                | (OptionKind::StringList, OptionValue::List(_))
        );
        if !fits {
            return Err(format!("takes {}", self.kind.describe()));
        }
        match self.check {
            Some(check) => check(value),
            None => Ok(()),
        }
    }
}

/// Shorthands for built-in drivers' option lists.
pub fn string_option(name: &str, help: &str) -> OptionSpec {
    OptionSpec::new(name, OptionKind::String, help)
}

pub fn int_option(name: &str, help: &str, default: i64) -> OptionSpec {
    OptionSpec::new(name, OptionKind::Int, help).default_value(OptionValue::Int(default))
}

pub fn bool_option(name: &str, help: &str) -> OptionSpec {
    OptionSpec::new(name, OptionKind::Bool, help)
}

pub fn list_option(name: &str, help: &str) -> OptionSpec {
    OptionSpec::new(name, OptionKind::StringList, help)
}

pub fn path_option(name: &str, help: &str) -> OptionSpec {
    OptionSpec::new(name, OptionKind::Path, help)
}

/// A check for port options: 1 to 65535.
pub fn check_port(value: &OptionValue) -> Result<(), String> {
    match value {
        OptionValue::Int(port) if (1..=65535).contains(port) => Ok(()),
        OptionValue::Int(port) => Err(format!("{port} is not a port number: use a nonzero port from 1 to 65535")),
        _ => Err("takes a port number".into()),
    }
}

/// An IP address or a host name.
pub fn check_address(address: &str) -> Result<(), String> {
    let valid_hostname = !address.is_empty()
        && address.len() <= 253
        && address.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        && !address.starts_with('-');
    if address.parse::<std::net::IpAddr>().is_ok() || valid_hostname {
        Ok(())
    } else {
        Err(format!("'{address}' is neither an IP address nor a host name"))
    }
}

/// A login name for SSH: letters, digits, '.', '_', '-' and '@' (a domain user), not starting
/// with '-' (the system `ssh` the docker CLI runs would take it for an option).
pub fn check_ssh_user(user: &str) -> Result<(), String> {
    let allowed = |character: char| character.is_ascii_alphanumeric() || "._-@".contains(character);
    if user.is_empty() {
        Err("must not be empty".into())
    } else if user.starts_with('-') {
        Err(format!("'{user}' must not start with '-'"))
    } else if user.len() > 256 || !user.chars().all(allowed) {
        Err(format!("'{user}' is not a user name: use letters, digits, '.', '_', '-' and '@'"))
    } else {
        Ok(())
    }
}

/// An option check for SSH users (`check_ssh_user`).
pub fn check_ssh_user_value(value: &OptionValue) -> Result<(), String> {
    match value {
        OptionValue::String(user) => check_ssh_user(user),
        _ => Err("takes a user name".into()),
    }
}

/// Whether the file at `path` holds a private key in OpenSSH or PEM form (what it says of
/// itself: "-----BEGIN ... PRIVATE KEY-----"); the reason when not.
pub fn check_private_key_file(path: &std::path::Path) -> Result<(), String> {
    let metadata = std::fs::metadata(path).map_err(|error| error.to_string())?;
    if !metadata.is_file() {
        return Err("is not a file".into());
    }
    let mut start = vec![0; 4096];
    let read = std::io::Read::read(&mut std::fs::File::open(path).map_err(|error| error.to_string())?, &mut start)
        .map_err(|error| error.to_string())?;
    let head = String::from_utf8_lossy(&start[..read]);
    let first = head.lines().find(|line| !line.trim().is_empty()).unwrap_or_default().trim();
    if first.starts_with("-----BEGIN ") && first.ends_with("PRIVATE KEY-----") {
        Ok(())
    } else {
        Err("is not an SSH private key (it must start with '-----BEGIN OPENSSH PRIVATE KEY-----' or another PEM private key line; give the private key, not the .pub file)".into())
    }
}

/// The values given for a driver's options: from the command line, the environment or the
/// option's default, each checked against its [`OptionSpec`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DriverOptions {
    values: BTreeMap<String, OptionValue>,
    /// The options the user set (flag, environment variable or cluster file), not defaults.
    given: BTreeSet<String>,
}

impl DriverOptions {
    /// Sets an option the user gave.
    pub fn give(&mut self, name: &str, value: OptionValue) {
        self.values.insert(name.to_string(), value);
        self.given.insert(name.to_string());
    }

    /// Sets an option's default (not counted as given).
    pub fn set_default(&mut self, name: &str, value: OptionValue) {
        self.values.insert(name.to_string(), value);
    }

    /// Whether the user set the option (rather than its default applying).
    pub fn is_given(&self, name: &str) -> bool {
        self.given.contains(name)
    }

    pub fn values(&self) -> &BTreeMap<String, OptionValue> {
        &self.values
    }

    /// The options the user set, by name.
    pub fn given(&self) -> impl Iterator<Item = (&String, &OptionValue)> {
        self.values.iter().filter(|(name, _)| self.given.contains(*name))
    }

    /// Fills what was not given from `environment` (an option's variables, in order), then from
    /// defaults, and fails when a required option is missing.
    pub fn complete(
        mut self,
        specs: &[OptionSpec],
        environment: &dyn Fn(&str) -> Option<String>,
    ) -> Result<DriverOptions, DriverError> {
        for spec in specs {
            if self.is_given(&spec.name) {
                continue;
            }
            let from_environment = spec.variables().find_map(|variable| {
                environment(variable).filter(|text| !text.is_empty()).map(|text| (variable, text))
            });
            if let Some((variable, text)) = from_environment {
                let value = spec.parse_text(&text).map_err(|problem| DriverError::InvalidSetting {
                    flag: format!("--{}", spec.name),
                    problem: format!("from ${variable}: {problem}"),
                })?;
                self.give(&spec.name, value);
            } else if self.values.contains_key(&spec.name) {
                continue;
            } else if let Some(default) = &spec.default {
                self.set_default(&spec.name, default.clone());
            } else if spec.required {
                let from_environment = spec.env.as_ref().map(|env| format!(" (or set {env})")).unwrap_or_default();
                return Err(DriverError::InvalidSetting {
                    flag: format!("--{}", spec.name),
                    problem: format!("is required: {}{from_environment}", spec.help),
                });
            }
        }
        Ok(self)
    }

    pub fn string(&self, name: &str) -> Option<String> {
        match self.values.get(name) {
            Some(OptionValue::String(text)) => Some(text.clone()),
            Some(other @ (OptionValue::Int(_) | OptionValue::Bool(_))) => Some(other.to_text()),
            _ => None,
        }
    }

    pub fn string_or(&self, name: &str, default: &str) -> String {
        self.string(name).unwrap_or_else(|| default.to_string())
    }

    pub fn int(&self, name: &str) -> Option<i64> {
        match self.values.get(name) {
            Some(OptionValue::Int(number)) => Some(*number),
            Some(OptionValue::String(text)) => text.trim().parse().ok(),
            _ => None,
        }
    }

    /// A port option: `default` when not set; an error naming the flag when out of range.
    pub fn port(&self, name: &str, default: u16) -> Result<u16, DriverError> {
        match self.int(name) {
            None => Ok(default),
            Some(port) => {
                u16::try_from(port).ok().filter(|port| *port > 0).ok_or_else(|| DriverError::InvalidSetting {
                    flag: format!("--{name}"),
                    problem: format!("{port} is not a port number: use a nonzero port from 1 to 65535"),
                })
            }
        }
    }

    pub fn bool(&self, name: &str) -> bool {
        matches!(self.values.get(name), Some(OptionValue::Bool(true)))
    }

    pub fn list(&self, name: &str) -> Vec<String> {
        match self.values.get(name) {
            Some(OptionValue::List(items)) => items.clone(),
            Some(OptionValue::String(text)) if !text.is_empty() => vec![text.clone()],
            _ => Vec::new(),
        }
    }

    pub fn path(&self, name: &str) -> Option<PathBuf> {
        self.string(name).filter(|text| !text.is_empty()).map(PathBuf::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specs() -> Vec<OptionSpec> {
        vec![
            string_option("x-address", "the host's address").env("X_ADDRESS").required(),
            int_option("x-port", "SSH port", 22).check(check_port),
            list_option("x-tag", "a tag"),
            bool_option("x-fast", "go fast"),
        ]
    }

    #[test]
    fn given_values_win_over_the_environment_and_defaults() {
        let mut options = DriverOptions::default();
        options.give("x-address", OptionValue::String("10.0.0.1".into()));
        let environment = |name: &str| (name == "X_ADDRESS").then(|| "10.9.9.9".to_string());
        let options = options.complete(&specs(), &environment).unwrap();
        assert_eq!(options.string("x-address").as_deref(), Some("10.0.0.1"));
        assert_eq!(options.port("x-port", 1).unwrap(), 22);
        assert!(!options.is_given("x-port"));
        assert!(options.list("x-tag").is_empty());
        assert!(!options.bool("x-fast"));
    }

    #[test]
    fn the_environment_fills_what_was_not_given_and_required_options_are_named() {
        let environment = |name: &str| (name == "X_ADDRESS").then(|| "10.9.9.9".to_string());
        let options = DriverOptions::default().complete(&specs(), &environment).unwrap();
        assert_eq!(options.string("x-address").as_deref(), Some("10.9.9.9"));
        assert!(options.is_given("x-address"));
        let error = DriverOptions::default().complete(&specs(), &|_: &str| None).unwrap_err().to_string();
        assert_eq!(error, "--x-address: is required: the host's address (or set X_ADDRESS)");
    }

    #[test]
    fn further_variables_are_read_in_order_and_override_a_parsed_default() {
        let specs = vec![
            string_option("x-region", "region").env("X_REGION").env_alias("X_DEFAULT_REGION"),
            string_option("x-size", "size")
                .env("X_SIZE")
                .env_alias("OLD_SIZE")
                .default_value(OptionValue::String("s".into())),
        ];
        let only_alias = |name: &str| (name == "X_DEFAULT_REGION" || name == "OLD_SIZE").then(|| "old".to_string());
        let mut parsed = DriverOptions::default();
        parsed.set_default("x-size", OptionValue::String("s".into()));
        let options = parsed.complete(&specs, &only_alias).unwrap();
        assert_eq!(options.string("x-region").as_deref(), Some("old"));
        assert!(options.is_given("x-region"));
        assert_eq!(options.string("x-size").as_deref(), Some("old"), "a variable wins over the flag's default");
        let both = |name: &str| match name {
            "X_REGION" => Some("new".to_string()),
            "X_DEFAULT_REGION" => Some("old".to_string()),
            _ => None,
        };
        let options = DriverOptions::default().complete(&specs, &both).unwrap();
        assert_eq!(options.string("x-region").as_deref(), Some("new"));
        assert_eq!(options.string("x-size").as_deref(), Some("s"));
        assert!(!options.is_given("x-size"));
    }

    #[test]
    fn values_are_parsed_and_checked_by_type() {
        let port = &specs()[1];
        assert_eq!(port.parse_text("2222").unwrap(), OptionValue::Int(2222));
        assert!(port.parse_text("0").unwrap_err().contains("nonzero"));
        assert!(port.parse_text("ssh").unwrap_err().contains("not an integer"));
        assert!(port.check_value(&OptionValue::String("22".into())).unwrap_err().contains("an integer"));
        assert_eq!(specs()[3].parse_text("true").unwrap(), OptionValue::Bool(true));
        assert!(specs()[3].parse_text("maybe").is_err());
    }

    #[test]
    fn specs_read_from_json_as_plugins_send_them() {
        let spec: OptionSpec = serde_json::from_value(serde_json::json!({
            "name": "example-ip", "type": "string", "usage": "host address", "env": "EXAMPLE_IP", "required": true
        }))
        .unwrap();
        assert_eq!(spec.kind, OptionKind::String);
        assert!(spec.required && !spec.secret);
        assert_eq!(spec.env.as_deref(), Some("EXAMPLE_IP"));
        let list: OptionSpec =
            serde_json::from_value(serde_json::json!({"name": "e-tag", "type": "string-list", "default": ["a"]}))
                .unwrap();
        assert_eq!(list.default, Some(OptionValue::List(vec!["a".into()])));
        let written = serde_json::to_value(&spec).unwrap();
        assert!(written.get("env_aliases").is_none() && written.get("hidden").is_none(), "{written}");
    }
}
