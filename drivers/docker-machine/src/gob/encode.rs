//! The gob encoder for what a net/rpc client sends a docker-machine plugin: the `Request`
//! header, `struct{}{}`, `[]byte`, `string`, and `*rpcdriver.RPCFlags` inside an interface,
//! whose map values are interfaces named `string`, `int`, `bool` and `[]string`.
//!
//! The output is byte-identical to Go's: type ids are given in the order Go's encoder gives them
//! (a type before its components, on first use), zero struct fields are omitted, and messages are
//! cut where Go cuts them. Go's encoder flushes the buffer it is writing into whenever it sends a
//! type definition, so a value that needs a new type inside an interface goes out as several
//! messages, the first holding the start of the value and the definition; the same happens
//! here, by the same rule, with the same buffers.

use super::types::{self, FieldType, TypeId, WireType, put_wire_type};
use super::wire::{put_bytes, put_int, put_uint};
use crate::flags::{FlagValue, FlagValues};
use std::collections::HashMap;

/// The concrete type name gob registers `*rpcdriver.RPCFlags` under.
pub const RPC_FLAGS_NAME: &str = "*rpcdriver.RPCFlags";

/// The argument of a call.
#[derive(Debug, Clone, Copy)]
pub enum Body<'a> {
    /// `struct{}{}`, what every method without arguments takes.
    Empty,
    /// `[]byte` (SetConfigRaw).
    Bytes(&'a [u8]),
    /// `string`.
    String(&'a str),
    /// `&drivers.DriverOptions` holding `*rpcdriver.RPCFlags` (SetConfigFromFlags).
    Flags(&'a FlagValues),
}

/// The types this encoder defines on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum ClientType {
    Request,
    Empty,
    RpcFlags,
    FlagMap,
    StringSlice,
}

impl ClientType {
    /// Component types that need definitions of their own, in field order.
    fn components(self) -> &'static [ClientType] {
        match self {
            ClientType::RpcFlags => &[ClientType::FlagMap],
            _ => &[],
        }
    }
}

/// The sending side of one gob stream (one per connection: type ids persist).
#[derive(Debug, Clone)]
pub struct Encoder {
    ids: HashMap<ClientType, TypeId>,
    next_id: TypeId,
}

impl Default for Encoder {
    fn default() -> Self {
        Encoder { ids: HashMap::new(), next_id: types::FIRST_USER_ID + 1 }
    }
}

/// Go's writeMessage: the buffer's bytes, prefixed by their count, go to `writer`; the buffer empties.
fn write_message(writer: &mut Vec<u8>, buffer: &mut Vec<u8>) {
    put_uint(writer, buffer.len() as u64);
    writer.append(buffer);
}

impl Encoder {
    pub fn new() -> Self {
        Encoder::default()
    }

    /// Appends `Request{ServiceMethod, Seq}` as one Encode call.
    pub fn encode_request(&mut self, out: &mut Vec<u8>, service_method: &str, seq: u64) {
        let mut buffer = Vec::new();
        self.send_type(out, &mut buffer, ClientType::Request);
        put_int(&mut buffer, self.ids[&ClientType::Request]);
        let mut delta = 1;
        if !service_method.is_empty() {
            put_uint(&mut buffer, delta);
            put_bytes(&mut buffer, service_method.as_bytes());
            delta = 0;
        }
        if seq != 0 {
            put_uint(&mut buffer, delta + 1);
            put_uint(&mut buffer, seq);
        }
        put_uint(&mut buffer, 0);
        write_message(out, &mut buffer);
    }

    /// Appends a call's argument as one Encode call.
    pub fn encode_body(&mut self, out: &mut Vec<u8>, body: &Body<'_>) {
        let mut buffer = Vec::new();
        match body {
            Body::Empty => {
                self.send_type(out, &mut buffer, ClientType::Empty);
                put_int(&mut buffer, self.ids[&ClientType::Empty]);
                put_uint(&mut buffer, 0);
            }
            Body::Bytes(bytes) => singleton(&mut buffer, types::BYTES, |b| put_bytes(b, bytes)),
            Body::String(text) => singleton(&mut buffer, types::STRING, |b| put_bytes(b, text.as_bytes())),
            Body::Flags(values) => {
                put_int(&mut buffer, types::INTERFACE);
                put_uint(&mut buffer, 0);
                self.encode_rpc_flags(out, &mut buffer, values);
            }
        }
        write_message(out, &mut buffer);
    }

    fn wire_type(&self, kind: ClientType) -> WireType {
        let field = |name: &str, id: TypeId| FieldType { name: name.into(), id };
        match kind {
            ClientType::Request => WireType::Struct {
                name: "Request".into(),
                fields: vec![field("ServiceMethod", types::STRING), field("Seq", types::UINT)],
            },
            ClientType::Empty => WireType::Struct { name: String::new(), fields: vec![] },
            ClientType::RpcFlags => WireType::Struct {
                name: "RPCFlags".into(),
                fields: vec![field("Values", self.ids[&ClientType::FlagMap])],
            },
            ClientType::FlagMap => {
                WireType::Map { name: "map[string]interface {}".into(), key: types::STRING, elem: types::INTERFACE }
            }
            ClientType::StringSlice => WireType::Slice { name: String::new(), elem: types::STRING },
        }
    }

    /// Go gives a type its id before its components', recursively.
    fn allocate(&mut self, kind: ClientType) {
        if self.ids.contains_key(&kind) {
            return;
        }
        self.ids.insert(kind, self.next_id);
        self.next_id += 1;
        for &component in kind.components() {
            self.allocate(component);
        }
    }

    /// Go's sendType: a definition not sent yet goes into `buffer`, which is then flushed to
    /// `writer` as one message, whatever `buffer` held before; then the components'.
    fn send_type(&mut self, writer: &mut Vec<u8>, buffer: &mut Vec<u8>, kind: ClientType) {
        if self.ids.contains_key(&kind) {
            return;
        }
        self.allocate(kind);
        self.send_allocated(writer, buffer, kind);
    }

    fn send_allocated(&mut self, writer: &mut Vec<u8>, buffer: &mut Vec<u8>, kind: ClientType) {
        let id = self.ids[&kind];
        put_int(buffer, -id);
        put_wire_type(buffer, id, &self.wire_type(kind));
        write_message(writer, buffer);
        for &component in kind.components() {
            self.send_allocated(writer, buffer, component);
        }
    }

    /// Go's encodeInterface for `*rpcdriver.RPCFlags` written into `buffer`, with `writer` the
    /// innermost writer (the stream itself at the top level).
    fn encode_rpc_flags(&mut self, writer: &mut Vec<u8>, buffer: &mut Vec<u8>, values: &FlagValues) {
        put_bytes(buffer, RPC_FLAGS_NAME.as_bytes());
        self.send_type(writer, buffer, ClientType::RpcFlags);
        put_int(buffer, self.ids[&ClientType::RpcFlags]);
        // The value is encoded into a buffer of its own; nested definitions go to `buffer`.
        let mut data = Vec::new();
        put_uint(&mut data, 1); // field 0, Values: a non-nil map is sent even when empty
        put_uint(&mut data, values.len() as u64);
        for (key, value) in values.iter() {
            put_bytes(&mut data, key.as_bytes());
            self.encode_flag_value(buffer, &mut data, value);
        }
        put_uint(&mut data, 0);
        write_message(buffer, &mut data);
    }

    /// One map value: an interface holding a string, int, bool or []string.
    fn encode_flag_value(&mut self, writer: &mut Vec<u8>, buffer: &mut Vec<u8>, value: &FlagValue) {
        let name = match value {
            FlagValue::String(_) => "string",
            FlagValue::Int(_) => "int",
            FlagValue::Bool(_) => "bool",
            FlagValue::StringSlice(_) => "[]string",
        };
        put_bytes(buffer, name.as_bytes());
        let id = match value {
            FlagValue::String(_) => types::STRING,
            FlagValue::Int(_) => types::INT,
            FlagValue::Bool(_) => types::BOOL,
            FlagValue::StringSlice(_) => {
                self.send_type(writer, buffer, ClientType::StringSlice);
                self.ids[&ClientType::StringSlice]
            }
        };
        put_int(buffer, id);
        let mut data = vec![0]; // a non-struct value is a singleton: delta 0, then the value
        match value {
            FlagValue::String(text) => put_bytes(&mut data, text.as_bytes()),
            FlagValue::Int(i) => put_int(&mut data, *i),
            FlagValue::Bool(b) => put_uint(&mut data, u64::from(*b)),
            FlagValue::StringSlice(items) => {
                put_uint(&mut data, items.len() as u64);
                for item in items {
                    put_bytes(&mut data, item.as_bytes());
                }
            }
        }
        write_message(buffer, &mut data);
    }
}

fn singleton(buffer: &mut Vec<u8>, id: TypeId, value: impl FnOnce(&mut Vec<u8>)) {
    put_int(buffer, id);
    put_uint(buffer, 0);
    value(buffer);
}
