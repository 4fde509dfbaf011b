//! A driver's create flags (what GetCreateFlags returns, `[]mcnflag.Flag`) and the flag values
//! sent back with SetConfigFromFlags, including docker-machine's rule for which values to send.

use crate::gob::{GobError, Value};
use std::collections::BTreeMap;

/// The concrete type names gob registers docker-machine's four flag types under.
pub const STRING_FLAG: &str = "*mcnflag.StringFlag";
pub const INT_FLAG: &str = "*mcnflag.IntFlag";
pub const STRING_SLICE_FLAG: &str = "*mcnflag.StringSliceFlag";
pub const BOOL_FLAG: &str = "*mcnflag.BoolFlag";

/// The type of a flag's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FlagKind {
    String,
    Int,
    StringSlice,
    Bool,
}

/// One flag's value, as a driver reads it (`opts.String(name)`, `.Int`, `.Bool`, `.StringSlice`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlagValue {
    String(String),
    Int(i64),
    Bool(bool),
    StringSlice(Vec<String>),
}

impl FlagValue {
    pub fn kind(&self) -> FlagKind {
        match self {
            FlagValue::String(_) => FlagKind::String,
            FlagValue::Int(_) => FlagKind::Int,
            FlagValue::Bool(_) => FlagKind::Bool,
            FlagValue::StringSlice(_) => FlagKind::StringSlice,
        }
    }
}

/// A create flag a driver declares, e.g. `--hetzner-api-token` (names come without dashes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    pub name: String,
    pub usage: String,
    /// The environment variable the *client* reads the value from when the flag is not given
    /// (empty when none); docker-machine resolved it in its CLI, and so must rmachine.
    pub env_var: String,
    pub kind: FlagKind,
    /// The driver's default; `Bool(false)` for bool flags, which have none.
    pub default: FlagValue,
}

impl Flag {
    /// One element of GetCreateFlags' reply: an interface holding one of the four flag types.
    pub fn from_value(value: &Value) -> Result<Flag, GobError> {
        let concrete = value
            .as_interface()?
            .ok_or(GobError::UnexpectedValue { expected: "a create flag", found: "a nil interface" })?;
        let fields = &concrete.value;
        let (kind, default) = match concrete.name.as_str() {
            STRING_FLAG => (FlagKind::String, FlagValue::String(fields.field_str("Value")?.to_owned())),
            INT_FLAG => (FlagKind::Int, FlagValue::Int(fields.field_int("Value")?)),
            STRING_SLICE_FLAG => (FlagKind::StringSlice, FlagValue::StringSlice(fields.field_strings("Value")?)),
            BOOL_FLAG => (FlagKind::Bool, FlagValue::Bool(false)),
            other => return Err(GobError::UnknownConcreteType(other.to_owned())),
        };
        Ok(Flag {
            name: fields.field_str("Name")?.to_owned(),
            usage: fields.field_str("Usage")?.to_owned(),
            env_var: fields.field_str("EnvVar")?.to_owned(),
            kind,
            default,
        })
    }

    /// GetCreateFlags' whole reply.
    pub fn list_from_value(value: &Value) -> Result<Vec<Flag>, GobError> {
        value.as_list()?.iter().map(Flag::from_value).collect()
    }
}

/// The values SetConfigFromFlags carries (`RPCFlags.Values`), by flag name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlagValues {
    values: BTreeMap<String, FlagValue>,
}

impl FlagValues {
    pub fn new() -> Self {
        FlagValues::default()
    }

    /// Sets a value, replacing any earlier one.
    pub fn insert(&mut self, name: impl Into<String>, value: FlagValue) -> &mut Self {
        self.values.insert(name.into(), value);
        self
    }

    pub fn get(&self, name: &str) -> Option<&FlagValue> {
        self.values.get(name)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &FlagValue)> {
        self.values.iter()
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

impl<K: Into<String>> FromIterator<(K, FlagValue)> for FlagValues {
    fn from_iter<I: IntoIterator<Item = (K, FlagValue)>>(iter: I) -> Self {
        FlagValues { values: iter.into_iter().map(|(k, v)| (k.into(), v)).collect() }
    }
}

/// Keys drivers read besides their own flags, with docker-machine's CLI defaults: drivers call
/// `BaseDriver.SetSwarmConfigFromFlags` (hetzner, linode, harvester …) and some read the
/// engine install URL. A missing key makes a driver log "THIS ***WILL*** CAUSE UNEXPECTED BEHAVIOR".
pub fn common_flag_defaults() -> [(&'static str, FlagValue); 4] {
    [
        ("swarm-master", FlagValue::Bool(false)),
        ("swarm-host", FlagValue::String("tcp://0.0.0.0:3376".into())),
        ("swarm-discovery", FlagValue::String(String::new())),
        ("engine-install-url", FlagValue::String("https://get.docker.com".into())),
    ]
}

/// What docker-machine's `getDriverOpts` sends: every flag's default (bool flags: false), the
/// four common keys, then every value in `given` (which wins). `given` should already hold the
/// values resolved from each flag's `env_var` where the user gave no flag.
pub fn flag_values_with_defaults(flags: &[Flag], given: &FlagValues) -> FlagValues {
    let mut values = FlagValues::new();
    for flag in flags {
        values.insert(flag.name.clone(), flag.default.clone());
    }
    for (name, value) in common_flag_defaults() {
        values.insert(name, value);
    }
    for (name, value) in given.iter() {
        values.insert(name.clone(), value.clone());
    }
    values
}

/// The values the flags' environment variables give, read through `lookup` (e.g.
/// `|name| std::env::var(name).ok()`), parsed as docker-machine's CLI (codegangsta/cli) parses
/// them: strings as they are, ints in Go's base-prefixed syntax (`0x1f`), bools as Go's
/// `strconv.ParseBool`, string slices split at commas and trimmed. A value that does not parse is
/// ignored, as there. Layer the command line over the result, then pass it to
/// [`flag_values_with_defaults`].
pub fn flag_values_from_env(flags: &[Flag], lookup: impl Fn(&str) -> Option<String>) -> FlagValues {
    let mut values = FlagValues::new();
    for flag in flags.iter().filter(|flag| !flag.env_var.is_empty()) {
        let Some(raw) = lookup(&flag.env_var) else { continue };
        let value = match flag.kind {
            FlagKind::String => Some(FlagValue::String(raw)),
            FlagKind::Int => parse_go_int(raw.trim()).map(FlagValue::Int),
            FlagKind::Bool => parse_go_bool(raw.trim()).map(FlagValue::Bool),
            FlagKind::StringSlice => {
                Some(FlagValue::StringSlice(raw.split(',').map(|item| item.trim().to_owned()).collect()))
            }
        };
        if let Some(value) = value {
            values.insert(flag.name.clone(), value);
        }
    }
    values
}

/// Go's `strconv.ParseInt(s, 0, 64)`: an optional sign, then decimal, `0x`, `0o`/`0`, or `0b`.
fn parse_go_int(text: &str) -> Option<i64> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let digits = digits.replace('_', "");
    let lower = digits.to_ascii_lowercase();
    let (radix, body) = if let Some(hex) = lower.strip_prefix("0x") {
        (16, hex)
    } else if let Some(binary) = lower.strip_prefix("0b") {
        (2, binary)
    } else if let Some(octal) = lower.strip_prefix("0o") {
        (8, octal)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if body.starts_with(['+', '-']) {
        return None;
    }
    let magnitude = i128::from_str_radix(body, radix).ok()?;
    i64::try_from(if negative { -magnitude } else { magnitude }).ok()
}

/// Go's `strconv.ParseBool`.
fn parse_go_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_variables_parse_as_docker_machines_cli_parses_them() {
        let with_env = |name: &str, env: &str, default: FlagValue| Flag { env_var: env.into(), ..flag(name, default) };
        let flags = [
            with_env("x-token", "X_TOKEN", FlagValue::String(String::new())),
            with_env("x-port", "X_PORT", FlagValue::Int(22)),
            with_env("x-debug", "X_DEBUG", FlagValue::Bool(false)),
            with_env("x-tags", "X_TAGS", FlagValue::StringSlice(vec![])),
            with_env("x-bad", "X_BAD", FlagValue::Int(1)),
            flag("x-none", FlagValue::String(String::new())),
        ];
        let env = |name: &str| {
            let value = match name {
                "X_TOKEN" => " secret ",
                "X_PORT" => "0x10",
                "X_DEBUG" => "True",
                "X_TAGS" => "a=1, b=2",
                "X_BAD" => "twelve",
                _ => return None,
            };
            Some(value.to_owned())
        };
        let values = flag_values_from_env(&flags, env);
        assert_eq!(values.len(), 4);
        assert_eq!(values.get("x-token"), Some(&FlagValue::String(" secret ".into())));
        assert_eq!(values.get("x-port"), Some(&FlagValue::Int(16)));
        assert_eq!(values.get("x-debug"), Some(&FlagValue::Bool(true)));
        assert_eq!(values.get("x-tags"), Some(&FlagValue::StringSlice(vec!["a=1".into(), "b=2".into()])));
        for (text, want) in
            [("42", Some(42)), ("-0b101", Some(-5)), ("017", Some(15)), ("0o17", Some(15)), ("9e9", None)]
        {
            assert_eq!(parse_go_int(text), want, "{text}");
        }
        assert_eq!(parse_go_int("-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_go_int("9223372036854775808"), None);
        assert_eq!(parse_go_int("--5"), None);
    }

    fn flag(name: &str, default: FlagValue) -> Flag {
        Flag { name: name.into(), usage: String::new(), env_var: String::new(), kind: default.kind(), default }
    }

    #[test]
    fn defaults_common_keys_and_given_values_are_all_sent_given_last() {
        let flags = [
            flag("x-token", FlagValue::String(String::new())),
            flag("x-port", FlagValue::Int(22)),
            flag("x-debug", FlagValue::Bool(false)),
            flag("x-tags", FlagValue::StringSlice(vec!["a".into()])),
        ];
        let given: FlagValues =
            [("x-port", FlagValue::Int(2222)), ("swarm-master", FlagValue::Bool(true))].into_iter().collect();
        let values = flag_values_with_defaults(&flags, &given);
        assert_eq!(values.len(), 8);
        assert_eq!(values.get("x-port"), Some(&FlagValue::Int(2222)));
        assert_eq!(values.get("x-debug"), Some(&FlagValue::Bool(false)));
        assert_eq!(values.get("x-tags"), Some(&FlagValue::StringSlice(vec!["a".into()])));
        assert_eq!(values.get("swarm-master"), Some(&FlagValue::Bool(true)));
        assert_eq!(values.get("swarm-discovery"), Some(&FlagValue::String(String::new())));
        assert_eq!(values.get("engine-install-url"), Some(&FlagValue::String("https://get.docker.com".into())));
    }
}
