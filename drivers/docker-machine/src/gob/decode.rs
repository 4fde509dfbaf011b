//! The dynamic gob decoder: reads one top-level value at a time from the bytes of a stream into a
//! [`Value`] (or skips it), learning the stream's type definitions as they come.
//!
//! It follows Go's decoder step by step, message boundaries included: a value starts at a fresh
//! message; type definitions at the top level are whole messages; inside an interface value the
//! type sequence may define types inline and may continue into the next messages (Go's encoder
//! flushes a partly written value together with a definition it needs), after which the value
//! goes on in the new message. Input is hostile until proven otherwise: every length is checked
//! against the bytes there are, nesting is bounded, each loop step consumes input, and a value
//! whose bytes have not all arrived yet gives [`GobError::Incomplete`] rather than an error.

use super::GobError;
use super::types::{self, OpaqueKind, TypeId, TypeTable, WireType, read_wire_type};
use super::value::{Concrete, Value};
use super::wire::{Reader, read_uint_prefix};
use std::collections::HashMap;
use std::sync::Arc;

/// Bounds on what the decoder accepts from a peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest message, in bytes (Go's own limit is 1 GiB).
    pub max_message: usize,
    /// How deeply values may nest (structs, slices, maps, interfaces).
    pub max_depth: usize,
    /// How many types one stream may define.
    pub max_types: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_message: 64 << 20, max_depth: 64, max_types: 4096 }
    }
}

/// The longest concrete type name an interface value may carry (Go's limit too).
const MAX_NAME: u64 = 1024;

/// A decoded value and how many bytes of the stream it took (the caller drops them).
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded<T> {
    pub value: T,
    pub consumed: usize,
}

/// The receiving side of one gob stream. Keep one per connection direction: type ids persist.
#[derive(Debug, Clone, Default)]
pub struct Decoder {
    types: TypeTable,
    limits: Limits,
}

impl Decoder {
    pub fn new() -> Self {
        Decoder::default()
    }

    pub fn with_limits(limits: Limits) -> Self {
        Decoder { types: TypeTable::new(), limits }
    }

    /// The types the stream has defined so far.
    pub fn types(&self) -> &TypeTable {
        &self.types
    }

    /// Decodes the next top-level value at the start of `stream`. On
    /// [`GobError::Incomplete`] nothing was learnt: call again with more bytes.
    pub fn decode(&mut self, stream: &[u8]) -> Result<Decoded<Value>, GobError> {
        self.run(stream, true)
    }

    /// Reads past the next top-level value (learning its type definitions) without keeping it.
    pub fn skip(&mut self, stream: &[u8]) -> Result<Decoded<()>, GobError> {
        self.run(stream, false).map(|decoded| Decoded { value: (), consumed: decoded.consumed })
    }

    fn run(&mut self, stream: &[u8], keep: bool) -> Result<Decoded<Value>, GobError> {
        let mut walk = Walk {
            committed: &self.types,
            staged: HashMap::new(),
            limits: self.limits,
            stream,
            next: 0,
            buf: Reader::new(&[]),
            keep,
        };
        let id = walk.type_sequence(false)?;
        let value = walk.value(id, 0)?;
        let consumed = walk.next;
        let staged = walk.staged;
        for (id, wire) in staged {
            self.types.insert(id, wire);
        }
        Ok(Decoded { value, consumed })
    }
}

/// One attempt at one top-level value. Types it defines are staged until it succeeds.
struct Walk<'a> {
    committed: &'a TypeTable,
    staged: HashMap<TypeId, Arc<WireType>>,
    limits: Limits,
    stream: &'a [u8],
    /// Offset in `stream` of the next message.
    next: usize,
    /// What is left of the current message.
    buf: Reader<'a>,
    keep: bool,
}

impl<'a> Walk<'a> {
    fn recv_message(&mut self) -> Result<(), GobError> {
        let rest = &self.stream[self.next..];
        let Some((length, used)) = read_uint_prefix(rest)? else {
            return Err(GobError::Incomplete { needed: self.stream.len() + 1 });
        };
        if length > self.limits.max_message as u64 {
            return Err(GobError::MessageTooLarge { length, max: self.limits.max_message });
        }
        if length == 0 {
            return Err(GobError::EmptyMessage);
        }
        let start = self.next + used;
        let end = start + length as usize;
        if end > self.stream.len() {
            return Err(GobError::Incomplete { needed: end });
        }
        self.buf = Reader::new(&self.stream[start..end]);
        self.next = end;
        Ok(())
    }

    fn lookup(&self, id: TypeId) -> Option<Arc<WireType>> {
        self.staged.get(&id).cloned().or_else(|| self.committed.get_shared(id))
    }

    fn recv_type(&mut self, id: TypeId) -> Result<(), GobError> {
        if id < types::FIRST_USER_ID {
            return Err(GobError::BadTypeId(id));
        }
        if self.lookup(id).is_some() {
            return Err(GobError::DuplicateType(id));
        }
        if self.committed.len() + self.staged.len() >= self.limits.max_types {
            return Err(GobError::TooManyTypes(self.limits.max_types));
        }
        let wire = read_wire_type(&mut self.buf)?;
        self.staged.insert(id, Arc::new(wire));
        Ok(())
    }

    /// Go's decodeTypeSequence: type definitions, then the id of the value that follows.
    fn type_sequence(&mut self, in_interface: bool) -> Result<TypeId, GobError> {
        loop {
            if self.buf.is_empty() {
                self.recv_message()?;
            }
            let id = self.buf.int()?;
            if id >= 0 {
                return Ok(id);
            }
            self.recv_type(id.checked_neg().ok_or(GobError::BadTypeId(id))?)?;
            if !self.buf.is_empty() {
                if !in_interface {
                    return Err(GobError::ExtraData);
                }
                // The count of the delimited value that follows; the value is read, not skipped.
                self.buf.uint()?;
            }
        }
    }

    /// A value as Encode sends it: a struct, or any other type as a singleton (delta 0, value).
    fn value(&mut self, id: TypeId, depth: usize) -> Result<Value, GobError> {
        if let Some(wire) = self.lookup(id)
            && let WireType::Struct { name, fields } = &*wire
        {
            return self.struct_value(name, fields, depth);
        }
        let delta = self.buf.uint()?;
        if delta != 0 {
            return Err(GobError::SingletonDelta(delta));
        }
        self.field_value(id, depth)
    }

    fn field_value(&mut self, id: TypeId, depth: usize) -> Result<Value, GobError> {
        if depth > self.limits.max_depth {
            return Err(GobError::TooDeep(self.limits.max_depth));
        }
        let keep = self.keep;
        Ok(match id {
            types::BOOL => Value::Bool(self.buf.bool()?),
            types::INT => Value::Int(self.buf.int()?),
            types::UINT => Value::Uint(self.buf.uint()?),
            types::FLOAT => Value::Float(self.buf.float()?),
            types::COMPLEX => Value::Complex(self.buf.float()?, self.buf.float()?),
            types::BYTES => {
                let bytes = self.buf.bytes("a byte slice")?;
                if keep { Value::Bytes(bytes.to_vec()) } else { Value::Bool(false) }
            }
            types::STRING => {
                let bytes = self.buf.bytes("a string")?;
                if keep { Value::String(String::from_utf8_lossy(bytes).into_owned()) } else { Value::Bool(false) }
            }
            types::INTERFACE => self.interface_value(depth + 1)?,
            _ => {
                let wire = self.lookup(id).ok_or(GobError::UnknownType(id))?;
                self.composite(&wire, depth + 1)?
            }
        })
    }

    fn composite(&mut self, wire: &WireType, depth: usize) -> Result<Value, GobError> {
        match wire {
            WireType::Struct { name, fields } => self.struct_value(name, fields, depth),
            WireType::Slice { elem, .. } => {
                let count = self.buf.uint()?;
                self.elements(count, *elem, depth).map(Value::Slice)
            }
            WireType::Array { name, elem, len } => {
                let count = self.buf.uint()?;
                if count != *len {
                    return Err(GobError::ArrayLength { name: name.clone(), expected: *len, found: count });
                }
                self.elements(count, *elem, depth).map(Value::Array)
            }
            WireType::Map { key, elem, .. } => self.map_value(*key, *elem, depth),
            WireType::Opaque { name, kind } => {
                let reading = match kind {
                    OpaqueKind::GobEncoder => "a GobEncoder's bytes",
                    OpaqueKind::BinaryMarshaler => "a BinaryMarshaler's bytes",
                    OpaqueKind::TextMarshaler => "a TextMarshaler's bytes",
                };
                let data = self.buf.bytes(reading)?;
                Ok(Value::Opaque { name: name.clone(), data: if self.keep { data.to_vec() } else { Vec::new() } })
            }
        }
    }

    /// Every element takes at least one byte, so `count` cannot run on past the input; memory
    /// grows only with elements actually read.
    fn elements(&mut self, count: u64, elem: TypeId, depth: usize) -> Result<Vec<Value>, GobError> {
        let mut items = Vec::with_capacity(if self.keep { (count as usize).min(self.buf.remaining()) } else { 0 });
        for _ in 0..count {
            let item = self.field_value(elem, depth)?;
            if self.keep {
                items.push(item);
            }
        }
        Ok(items)
    }

    fn map_value(&mut self, key: TypeId, elem: TypeId, depth: usize) -> Result<Value, GobError> {
        let count = self.buf.uint()?;
        let mut pairs = Vec::with_capacity(if self.keep { (count as usize).min(self.buf.remaining() / 2) } else { 0 });
        for _ in 0..count {
            let k = self.field_value(key, depth)?;
            let v = self.field_value(elem, depth)?;
            if self.keep {
                pairs.push((k, v));
            }
        }
        Ok(Value::Map(pairs))
    }

    fn struct_value(&mut self, name: &str, fields: &[types::FieldType], depth: usize) -> Result<Value, GobError> {
        if depth > self.limits.max_depth {
            return Err(GobError::TooDeep(self.limits.max_depth));
        }
        let mut present = Vec::new();
        let mut number: u64 = u64::MAX; // -1: a first delta of 1 names field 0
        loop {
            let delta = self.buf.uint()?;
            if delta == 0 {
                break;
            }
            number = number.wrapping_add(delta);
            let field =
                usize::try_from(number).ok().filter(|_| delta <= fields.len() as u64).and_then(|i| fields.get(i));
            let Some(field) = field else {
                return Err(GobError::FieldOutOfRange { type_name: name.to_owned(), field: number });
            };
            let value = self.field_value(field.id, depth + 1)?;
            if self.keep {
                present.push((field.name.clone(), value));
            }
        }
        Ok(Value::Struct { name: if self.keep { name.to_owned() } else { String::new() }, fields: present })
    }

    /// Go's decodeInterface: name, type sequence (possibly defining types), a byte count (not
    /// used: Go's own encoder makes it cover only part of the value at times), the value.
    fn interface_value(&mut self, depth: usize) -> Result<Value, GobError> {
        let length = self.buf.uint()?;
        if length == 0 {
            return Ok(Value::Interface(None));
        }
        if length > MAX_NAME {
            return Err(GobError::NameTooLong(length));
        }
        let name = String::from_utf8_lossy(self.buf.take(length, "an interface's type name")?).into_owned();
        let id = self.type_sequence(true)?;
        self.buf.uint()?;
        let value = self.value(id, depth)?;
        Ok(Value::Interface(Some(Box::new(Concrete { name, value }))))
    }
}
