//! The dynamic [`Value`] the decoder produces for any gob value, and typed accessors that turn
//! one into the Rust types the protocol needs (an absent struct field reads as its zero value,
//! as it does in Go, since gob omits zero fields).

use super::GobError;

/// A struct field present on the wire: its name and value.
pub type Field = (String, Value);

/// A decoded gob value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Bool(bool),
    /// Any signed integer (Go's int, int8 … int64, and named types such as `state.State`).
    Int(i64),
    /// Any unsigned integer.
    Uint(u64),
    Float(f64),
    Complex(f64, f64),
    Bytes(Vec<u8>),
    /// A string; bytes that are not UTF-8 are replaced (U+FFFD).
    String(String),
    Array(Vec<Value>),
    Slice(Vec<Value>),
    /// Key/value pairs in wire order.
    Map(Vec<(Value, Value)>),
    /// The fields present on the wire, in field order: zero fields are absent.
    Struct {
        name: String,
        fields: Vec<(String, Value)>,
    },
    /// An interface value: `None` is a nil interface.
    Interface(Option<Box<Concrete>>),
    /// The bytes of a value whose type marshals itself (GobEncoder, BinaryMarshaler, TextMarshaler).
    Opaque {
        name: String,
        data: Vec<u8>,
    },
}

/// The concrete value inside a non-nil interface, with the name it was registered under.
#[derive(Debug, Clone, PartialEq)]
pub struct Concrete {
    pub name: String,
    pub value: Value,
}

impl Value {
    /// A short description of the value's kind, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Bool(_) => "a bool",
            Value::Int(_) => "a signed integer",
            Value::Uint(_) => "an unsigned integer",
            Value::Float(_) => "a float",
            Value::Complex(..) => "a complex number",
            Value::Bytes(_) => "a byte slice",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Slice(_) => "a slice",
            Value::Map(_) => "a map",
            Value::Struct { .. } => "a struct",
            Value::Interface(None) => "a nil interface",
            Value::Interface(Some(_)) => "an interface value",
            Value::Opaque { .. } => "a self-marshalled value",
        }
    }

    /// The error for a value that is not `expected`.
    pub fn unexpected(&self, expected: &'static str) -> GobError {
        GobError::UnexpectedValue { expected, found: self.kind() }
    }

    pub fn as_bool(&self) -> Result<bool, GobError> {
        match self {
            Value::Bool(b) => Ok(*b),
            other => Err(other.unexpected("a bool")),
        }
    }

    pub fn as_int(&self) -> Result<i64, GobError> {
        match self {
            Value::Int(i) => Ok(*i),
            other => Err(other.unexpected("a signed integer")),
        }
    }

    pub fn as_uint(&self) -> Result<u64, GobError> {
        match self {
            Value::Uint(u) => Ok(*u),
            other => Err(other.unexpected("an unsigned integer")),
        }
    }

    pub fn as_str(&self) -> Result<&str, GobError> {
        match self {
            Value::String(s) => Ok(s),
            other => Err(other.unexpected("a string")),
        }
    }

    pub fn as_bytes(&self) -> Result<&[u8], GobError> {
        match self {
            Value::Bytes(b) => Ok(b),
            other => Err(other.unexpected("a byte slice")),
        }
    }

    /// The elements of a slice or an array.
    pub fn as_list(&self) -> Result<&[Value], GobError> {
        match self {
            Value::Slice(items) | Value::Array(items) => Ok(items),
            other => Err(other.unexpected("a slice")),
        }
    }

    /// A `[]string` (a nil slice is absent from a struct: see [`Value::field_strings`]).
    pub fn as_strings(&self) -> Result<Vec<String>, GobError> {
        self.as_list()?.iter().map(|item| item.as_str().map(str::to_owned)).collect()
    }

    /// The concrete value of an interface: `None` for a nil interface.
    pub fn as_interface(&self) -> Result<Option<&Concrete>, GobError> {
        match self {
            Value::Interface(concrete) => Ok(concrete.as_deref()),
            other => Err(other.unexpected("an interface value")),
        }
    }

    /// A struct's type name and fields.
    pub fn as_struct(&self) -> Result<(&str, &[Field]), GobError> {
        match self {
            Value::Struct { name, fields } => Ok((name, fields)),
            other => Err(other.unexpected("a struct")),
        }
    }

    /// A field of a struct, `None` when absent (zero) on the wire.
    pub fn field(&self, name: &str) -> Result<Option<&Value>, GobError> {
        let (_, fields) = self.as_struct()?;
        Ok(fields.iter().find(|(field, _)| field == name).map(|(_, value)| value))
    }

    /// A string field; absent reads as "".
    pub fn field_str(&self, name: &str) -> Result<&str, GobError> {
        self.field(name)?.map_or(Ok(""), Value::as_str)
    }

    /// A signed integer field; absent reads as 0.
    pub fn field_int(&self, name: &str) -> Result<i64, GobError> {
        self.field(name)?.map_or(Ok(0), Value::as_int)
    }

    /// An unsigned integer field; absent reads as 0.
    pub fn field_uint(&self, name: &str) -> Result<u64, GobError> {
        self.field(name)?.map_or(Ok(0), Value::as_uint)
    }

    /// A bool field; absent reads as false.
    pub fn field_bool(&self, name: &str) -> Result<bool, GobError> {
        self.field(name)?.map_or(Ok(false), Value::as_bool)
    }

    /// A `[]string` field; absent reads as empty.
    pub fn field_strings(&self, name: &str) -> Result<Vec<String>, GobError> {
        self.field(name)?.map_or(Ok(Vec::new()), Value::as_strings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_fields_read_as_zero_and_wrong_kinds_are_errors() {
        let value = Value::Struct {
            name: "Response".into(),
            fields: vec![("ServiceMethod".into(), Value::String("X.Y".into())), ("Seq".into(), Value::Uint(3))],
        };
        assert_eq!(value.field_str("ServiceMethod").unwrap(), "X.Y");
        assert_eq!(value.field_uint("Seq").unwrap(), 3);
        assert_eq!(value.field_str("Error").unwrap(), "");
        assert_eq!(value.field_int("Missing").unwrap(), 0);
        assert!(!value.field_bool("Missing").unwrap());
        assert!(value.field_strings("Missing").unwrap().is_empty());
        assert!(matches!(value.field_int("Seq"), Err(GobError::UnexpectedValue { .. })));
        assert!(Value::Int(1).field("x").is_err());
        assert!(Value::Interface(None).as_interface().unwrap().is_none());
    }
}
