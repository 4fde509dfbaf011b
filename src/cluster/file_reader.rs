//! Reading a cluster file's YAML against the driver registry, so that every unknown key and bad
//! value is an error at its own line and column: a machine's keys are the file's own (`name`,
//! `role`, `driver`, `engine`, ...) or a driver's name, whose map is read against that driver's
//! declared options (each value checked by its type and the driver's check); `engine:` maps are
//! checked by the provisioner's `EngineOptions`.

use crate::store::validate_machine_name;
use rmachine_drivers::{DriverKind, OptionKind, OptionSpec, OptionValue, Registry};
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

/// A machine's part in the swarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Manager,
    Worker,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Manager => "manager",
            Role::Worker => "worker",
        }
    }
}

/// The file as read: `defaults` is a machine without name or role.
pub struct RawFile {
    pub name: Option<String>,
    pub defaults: RawMachine,
    pub machines: Vec<RawMachine>,
    /// `swarm:` is there; its `advertise` value.
    pub swarm: Option<Option<String>>,
}

#[derive(Default)]
pub struct RawMachine {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub driver: Option<String>,
    /// Each driver map, by the driver's name: option name → value.
    pub drivers: BTreeMap<String, BTreeMap<String, OptionValue>>,
    /// The `engine:` map with canonical keys, checked.
    pub engine: Option<serde_norway::Mapping>,
    pub tls_san: Option<Vec<String>>,
    pub ssh_timeout: Option<u64>,
    pub engine_timeout: Option<u64>,
}

/// Reads `text`; errors carry their location.
pub fn read_file(
    text: &str,
    registry: &Registry,
    folder: &Path,
    home: Option<&Path>,
) -> Result<RawFile, serde_norway::Error> {
    let context = ReadContext { registry, folder, home };
    FileSeed(&context).deserialize(serde_norway::Deserializer::from_str(text))
}

/// A driver map's key for option `option` of `driver`: the option's name without the driver's prefix.
pub fn map_key<'a>(driver: &str, option: &'a str) -> &'a str {
    option.strip_prefix(driver).and_then(|rest| rest.strip_prefix('-')).unwrap_or(option)
}

struct ReadContext<'a> {
    registry: &'a Registry,
    folder: &'a Path,
    home: Option<&'a Path>,
}

const FILE_KEYS: &[&str] = &["name", "defaults", "machines", "swarm"];
const MACHINE_KEYS: &[&str] = &["name", "role", "driver", "engine", "tls-san", "ssh-timeout", "engine-timeout"];
const DEFAULTS_KEYS: &[&str] = &["driver", "engine", "tls-san", "ssh-timeout", "engine-timeout"];

/// A key of a map: one of the map's own, or (in machines) a driver's name.
enum Key {
    Field(&'static str),
    Driver(Arc<dyn DriverKind>),
}

struct KeySeed<'a> {
    fields: &'static [&'static str],
    registry: Option<&'a Registry>,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Key;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Key, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = Key;
    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a key")
    }
    fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
        if let Some(field) = self.fields.iter().find(|field| **field == key) {
            return Ok(Key::Field(field));
        }
        let expected = self.fields.iter().map(|field| format!("`{field}`")).collect::<Vec<_>>().join(", ");
        let Some(registry) = self.registry else {
            return Err(E::custom(format!("unknown field `{key}`, expected one of {expected}")));
        };
        match registry.kind(key) {
            Ok(kind) => Ok(Key::Driver(kind)),
            Err(_) => {
                let drivers: Vec<String> = registry.builtin().iter().map(|kind| kind.name().to_string()).collect();
                Err(E::custom(format!(
                    "unknown field `{key}`, expected one of {expected}, or a driver's settings ({})",
                    drivers.join(", ")
                )))
            }
        }
    }
}

struct FileSeed<'a>(&'a ReadContext<'a>);

impl<'de> DeserializeSeed<'de> for FileSeed<'_> {
    type Value = RawFile;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<RawFile, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for FileSeed<'_> {
    type Value = RawFile;
    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a cluster file: a map with `machines:`")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawFile, A::Error> {
        let mut file = RawFile { name: None, defaults: RawMachine::default(), machines: Vec::new(), swarm: None };
        let mut saw_machines = false;
        while let Some(key) = map.next_key_seed(KeySeed { fields: FILE_KEYS, registry: None })? {
            match key {
                Key::Field("name") => file.name = Some(map.next_value::<Checked<MachineNameRule>>()?.0),
                Key::Field("defaults") => {
                    file.defaults = map.next_value_seed(MachineSeed { context: self.0, defaults: true })?
                }
                Key::Field("machines") => {
                    saw_machines = true;
                    file.machines = map.next_value_seed(MachinesSeed(self.0))?;
                }
                Key::Field(_) => file.swarm = Some(map.next_value::<RawSwarm>()?.advertise.map(|value| value.0)),
                Key::Driver(_) => unreachable!("the file's top level has no driver keys"),
            }
        }
        if !saw_machines {
            return Err(de::Error::missing_field("machines"));
        }
        Ok(file)
    }
}

struct MachinesSeed<'a>(&'a ReadContext<'a>);

impl<'de> DeserializeSeed<'de> for MachinesSeed<'_> {
    type Value = Vec<RawMachine>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Vec<RawMachine>, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for MachinesSeed<'_> {
    type Value = Vec<RawMachine>;
    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a list of machines")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut sequence: A) -> Result<Vec<RawMachine>, A::Error> {
        let mut machines = Vec::new();
        while let Some(machine) = sequence.next_element_seed(MachineSeed { context: self.0, defaults: false })? {
            machines.push(machine);
        }
        Ok(machines)
    }
}

struct MachineSeed<'a> {
    context: &'a ReadContext<'a>,
    defaults: bool,
}

impl<'de> DeserializeSeed<'de> for MachineSeed<'_> {
    type Value = RawMachine;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<RawMachine, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for MachineSeed<'_> {
    type Value = RawMachine;
    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str(if self.defaults { "the defaults: a map" } else { "a machine: a map with `name:`" })
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawMachine, A::Error> {
        let mut machine = RawMachine::default();
        let fields = if self.defaults { DEFAULTS_KEYS } else { MACHINE_KEYS };
        while let Some(key) = map.next_key_seed(KeySeed { fields, registry: Some(self.context.registry) })? {
            match key {
                Key::Field("name") => machine.name = Some(map.next_value::<Checked<MachineNameRule>>()?.0),
                Key::Field("role") => machine.role = Some(map.next_value()?),
                Key::Field("driver") => machine.driver = Some(map.next_value()?),
                Key::Field("engine") => machine.engine = Some(map.next_value_seed(EngineSeed)?),
                Key::Field("tls-san") => machine.tls_san = Some(map.next_value()?),
                Key::Field("ssh-timeout") => machine.ssh_timeout = Some(map.next_value()?),
                Key::Field(_) => machine.engine_timeout = Some(map.next_value()?),
                Key::Driver(kind) => {
                    let options = map.next_value_seed(DriverMapSeed { context: self.context, kind: kind.as_ref() })?;
                    machine.drivers.insert(kind.name().to_string(), options);
                }
            }
        }
        if !self.defaults && machine.name.is_none() {
            return Err(de::Error::missing_field("name"));
        }
        Ok(machine)
    }
}

/// `engine:`: the provisioner's options, checked by the provisioner.
struct EngineSeed;

impl<'de> DeserializeSeed<'de> for EngineSeed {
    type Value = serde_norway::Mapping;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<serde_norway::Mapping, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for EngineSeed {
    type Value = serde_norway::Mapping;
    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a map of engine settings")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<serde_norway::Mapping, A::Error> {
        let mut mapping = serde_norway::Mapping::new();
        while let Some((key, value)) = map.next_entry::<serde_norway::Value, serde_norway::Value>()? {
            mapping.insert(key, value);
        }
        super::file::check_engine_map(&mapping).map_err(de::Error::custom)
    }
}

/// A driver's map: each key one of its options (without the driver's prefix).
struct DriverMapSeed<'a> {
    context: &'a ReadContext<'a>,
    kind: &'a dyn DriverKind,
}

impl<'de> DeserializeSeed<'de> for DriverMapSeed<'_> {
    type Value = BTreeMap<String, OptionValue>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for DriverMapSeed<'_> {
    type Value = BTreeMap<String, OptionValue>;
    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        write!(formatter, "a map of {} driver settings", self.kind.name())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let specs = self.kind.options();
        let mut values = BTreeMap::new();
        while let Some(spec) = map.next_key_seed(OptionKeySeed { driver: self.kind.name(), specs: &specs })? {
            let value = map.next_value_seed(OptionValueSeed { context: self.context, spec })?;
            values.insert(spec.name.clone(), value);
        }
        Ok(values)
    }
}

struct OptionKeySeed<'a> {
    driver: &'a str,
    specs: &'a [OptionSpec],
}

impl<'de, 'a> DeserializeSeed<'de> for OptionKeySeed<'a> {
    type Value = &'a OptionSpec;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<&'a OptionSpec, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de, 'a> Visitor<'de> for OptionKeySeed<'a> {
    type Value = &'a OptionSpec;
    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        write!(formatter, "a {} driver setting", self.driver)
    }
    fn visit_str<E: de::Error>(self, key: &str) -> Result<&'a OptionSpec, E> {
        let matches = |spec: &&OptionSpec| {
            map_key(self.driver, &spec.name) == key
                || spec.name == key
                || spec.aliases.iter().any(|alias| alias == key || map_key(self.driver, alias) == key)
        };
        // Hidden options are docker-machine's flag spellings: a cluster file uses rmachine's keys.
        let visible = || self.specs.iter().filter(|spec| !spec.hidden);
        visible().find(matches).ok_or_else(|| {
            let known: Vec<String> = visible().map(|spec| format!("`{}`", map_key(self.driver, &spec.name))).collect();
            E::custom(format!("unknown field `{key}`, expected one of {}", known.join(", ")))
        })
    }
}

/// One option's value, by the option's type: a scalar for strings, integers and booleans (a
/// number where a string is expected is its text), a list or one scalar for lists; paths expanded.
struct OptionValueSeed<'a> {
    context: &'a ReadContext<'a>,
    spec: &'a OptionSpec,
}

impl<'de> DeserializeSeed<'de> for OptionValueSeed<'_> {
    type Value = OptionValue;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<OptionValue, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl OptionValueSeed<'_> {
    fn text<E: de::Error>(&self, text: String) -> Result<OptionValue, E> {
        let value = match self.spec.kind {
            OptionKind::Path => OptionValue::String(
                super::file::expand_path(&text, self.context.folder, self.context.home).map_err(E::custom)?,
            ),
            OptionKind::String => OptionValue::String(text),
            OptionKind::StringList => OptionValue::List(vec![text]),
            OptionKind::Int | OptionKind::Bool => self.spec.parse_text(&text).map_err(E::custom)?,
        };
        self.checked(value)
    }

    fn checked<E: de::Error>(&self, value: OptionValue) -> Result<OptionValue, E> {
        self.spec.check_value(&value).map_err(E::custom)?;
        Ok(value)
    }
}

impl<'de> Visitor<'de> for OptionValueSeed<'_> {
    type Value = OptionValue;
    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str(self.spec.kind.describe())
    }
    fn visit_str<E: de::Error>(self, text: &str) -> Result<OptionValue, E> {
        self.text(text.to_string())
    }
    fn visit_i64<E: de::Error>(self, number: i64) -> Result<OptionValue, E> {
        match self.spec.kind {
            OptionKind::Int => self.checked(OptionValue::Int(number)),
            _ => self.text(number.to_string()),
        }
    }
    fn visit_u64<E: de::Error>(self, number: u64) -> Result<OptionValue, E> {
        match i64::try_from(number) {
            Ok(number) => self.visit_i64(number),
            Err(_) => Err(E::custom(format!("{number} is too large"))),
        }
    }
    fn visit_f64<E: de::Error>(self, number: f64) -> Result<OptionValue, E> {
        self.text(number.to_string())
    }
    fn visit_bool<E: de::Error>(self, flag: bool) -> Result<OptionValue, E> {
        match self.spec.kind {
            OptionKind::Bool => self.checked(OptionValue::Bool(flag)),
            OptionKind::Int => Err(E::invalid_type(de::Unexpected::Bool(flag), &self)),
            _ => self.text(flag.to_string()),
        }
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut sequence: A) -> Result<OptionValue, A::Error> {
        if self.spec.kind != OptionKind::StringList {
            return Err(de::Error::invalid_type(de::Unexpected::Seq, &self));
        }
        let mut items = Vec::new();
        while let Some(item) = sequence.next_element::<Scalar>()? {
            items.push(item.0);
        }
        self.checked(OptionValue::List(items))
    }
}

/// A scalar as its text: `80`, `true`, `web`.
struct Scalar(String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Scalar, D::Error> {
        match serde_norway::Value::deserialize(deserializer)? {
            serde_norway::Value::String(text) => Ok(Scalar(text)),
            serde_norway::Value::Number(number) => Ok(Scalar(number.to_string())),
            serde_norway::Value::Bool(flag) => Ok(Scalar(flag.to_string())),
            _ => Err(de::Error::custom("a list item must be a value, not a list or map")),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSwarm {
    advertise: Option<Checked<AdvertiseRule>>,
}

/// A string checked by rule `R` while the file is read, so a bad value is reported at its place.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "String", bound = "R: Rule")]
struct Checked<R>(String, std::marker::PhantomData<R>);

impl<R: Rule> TryFrom<String> for Checked<R> {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        R::check(&value)?;
        Ok(Checked(value, std::marker::PhantomData))
    }
}

trait Rule {
    fn check(value: &str) -> Result<(), String>;
}

#[derive(Debug, Clone)]
struct MachineNameRule;
impl Rule for MachineNameRule {
    fn check(value: &str) -> Result<(), String> {
        validate_machine_name(value).map_err(|error| error.to_string())
    }
}

#[derive(Debug, Clone)]
struct AdvertiseRule;
impl Rule for AdvertiseRule {
    fn check(value: &str) -> Result<(), String> {
        match value {
            "private" | "public" => Ok(()),
            address => rmachine_drivers::check_address(address)
                .map_err(|_| format!("advertise '{value}' must be private, public or an address")),
        }
    }
}
