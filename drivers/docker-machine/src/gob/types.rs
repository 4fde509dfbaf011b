//! gob's type system on the wire: the predefined type ids, the `wireType` definitions a stream
//! carries for its own types (array, slice, struct, map, and the opaque GobEncoder kinds), how
//! they are read and written, and the per-stream table of the types defined so far.

use super::GobError;
use super::wire::{Reader, put_bytes, put_int, put_uint};
use std::collections::HashMap;
use std::sync::Arc;

/// A gob type id. Ids below 64 are predefined; a stream defines its own from 64 up (Go starts at 65).
pub type TypeId = i64;

pub const BOOL: TypeId = 1;
pub const INT: TypeId = 2;
pub const UINT: TypeId = 3;
pub const FLOAT: TypeId = 4;
pub const BYTES: TypeId = 5;
pub const STRING: TypeId = 6;
pub const COMPLEX: TypeId = 7;
pub const INTERFACE: TypeId = 8;
/// The lowest id a stream may define.
pub const FIRST_USER_ID: TypeId = 64;

/// Which external marshaller an opaque type uses; its values travel as a byte string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpaqueKind {
    GobEncoder,
    BinaryMarshaler,
    TextMarshaler,
}

/// One field of a struct type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldType {
    pub name: String,
    pub id: TypeId,
}

/// A type definition as carried by the stream (Go's `wireType`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireType {
    Array { name: String, elem: TypeId, len: u64 },
    Slice { name: String, elem: TypeId },
    Struct { name: String, fields: Vec<FieldType> },
    Map { name: String, key: TypeId, elem: TypeId },
    Opaque { name: String, kind: OpaqueKind },
}

impl WireType {
    /// The type's name as the sender spelled it (empty for many unnamed types).
    pub fn name(&self) -> &str {
        match self {
            WireType::Array { name, .. }
            | WireType::Slice { name, .. }
            | WireType::Struct { name, .. }
            | WireType::Map { name, .. }
            | WireType::Opaque { name, .. } => name,
        }
    }
}

/// The name of a predefined type, `None` for ids that are not.
pub fn predefined_name(id: TypeId) -> Option<&'static str> {
    Some(match id {
        BOOL => "bool",
        INT => "int",
        UINT => "uint",
        FLOAT => "float",
        BYTES => "[]byte",
        STRING => "string",
        COMPLEX => "complex",
        INTERFACE => "interface",
        _ => return None,
    })
}

/// The types one stream has defined, by id.
#[derive(Debug, Clone, Default)]
pub struct TypeTable {
    types: HashMap<TypeId, Arc<WireType>>,
}

impl TypeTable {
    pub fn new() -> Self {
        TypeTable::default()
    }

    pub fn get(&self, id: TypeId) -> Option<&WireType> {
        self.types.get(&id).map(|wire| &**wire)
    }

    pub(crate) fn get_shared(&self, id: TypeId) -> Option<Arc<WireType>> {
        self.types.get(&id).cloned()
    }

    pub fn len(&self) -> usize {
        self.types.len()
    }

    pub fn is_empty(&self) -> bool {
        self.types.is_empty()
    }

    pub fn contains(&self, id: TypeId) -> bool {
        self.types.contains_key(&id)
    }

    pub(crate) fn insert(&mut self, id: TypeId, wire: Arc<WireType>) {
        self.types.insert(id, wire);
    }
}

/// Reads the (field number, value) pairs of a struct whose fields `read_field` knows by index,
/// up to the terminating zero delta.
fn read_struct(
    reader: &mut Reader<'_>,
    field_count: u64,
    what: &'static str,
    mut read_field: impl FnMut(u64, &mut Reader<'_>) -> Result<(), GobError>,
) -> Result<(), GobError> {
    let mut field: u64 = u64::MAX; // -1: the first delta of 1 names field 0
    loop {
        let delta = reader.uint()?;
        if delta == 0 {
            return Ok(());
        }
        field = field.wrapping_add(delta);
        if field >= field_count || delta > field_count {
            return Err(GobError::BadTypeDefinition(format!("{what} has no field number {field}")));
        }
        read_field(field, reader)?;
    }
}

fn read_string(reader: &mut Reader<'_>) -> Result<String, GobError> {
    Ok(String::from_utf8_lossy(reader.bytes("a type or field name")?).into_owned())
}

/// CommonType{Name string; Id typeId}: only the name matters (the id is repeated from outside).
fn read_common(reader: &mut Reader<'_>) -> Result<String, GobError> {
    let mut name = String::new();
    read_struct(reader, 2, "CommonType", |field, reader| {
        match field {
            0 => name = read_string(reader)?,
            _ => {
                reader.int()?;
            }
        }
        Ok(())
    })?;
    Ok(name)
}

fn read_fields(reader: &mut Reader<'_>) -> Result<Vec<FieldType>, GobError> {
    let count = reader.uint()?;
    if count > reader.remaining() as u64 {
        return Err(GobError::BadTypeDefinition(format!("{count} struct fields in a shorter message")));
    }
    let mut fields = Vec::new();
    for _ in 0..count {
        let mut field = FieldType { name: String::new(), id: 0 };
        read_struct(reader, 2, "fieldType", |index, reader| {
            match index {
                0 => field.name = read_string(reader)?,
                _ => field.id = reader.int()?,
            }
            Ok(())
        })?;
        fields.push(field);
    }
    Ok(fields)
}

/// The parts of any kind of definition: its name, then up to three ids or numbers.
#[derive(Default)]
struct Parts {
    name: String,
    ids: [i64; 3],
    fields: Vec<FieldType>,
}

fn read_parts(reader: &mut Reader<'_>, field_count: u64, what: &'static str) -> Result<Parts, GobError> {
    let mut parts = Parts::default();
    read_struct(reader, field_count, what, |index, reader| {
        match (what, index) {
            (_, 0) => parts.name = read_common(reader)?,
            ("structType", 1) => parts.fields = read_fields(reader)?,
            (_, i) => parts.ids[(i - 1) as usize] = reader.int()?,
        }
        Ok(())
    })?;
    Ok(parts)
}

/// Reads a `wireType` value: exactly one of its seven fields must be set.
pub fn read_wire_type(reader: &mut Reader<'_>) -> Result<WireType, GobError> {
    let mut found: Option<WireType> = None;
    read_struct(reader, 7, "wireType", |index, reader| {
        let wire = match index {
            0 => {
                let p = read_parts(reader, 3, "arrayType")?;
                let len = u64::try_from(p.ids[1])
                    .map_err(|_| GobError::BadTypeDefinition(format!("array {} of length {}", p.name, p.ids[1])))?;
                WireType::Array { name: p.name, elem: p.ids[0], len }
            }
            1 => {
                let p = read_parts(reader, 2, "sliceType")?;
                WireType::Slice { name: p.name, elem: p.ids[0] }
            }
            2 => {
                let p = read_parts(reader, 2, "structType")?;
                WireType::Struct { name: p.name, fields: p.fields }
            }
            3 => {
                let p = read_parts(reader, 3, "mapType")?;
                WireType::Map { name: p.name, key: p.ids[0], elem: p.ids[1] }
            }
            i => {
                let p = read_parts(reader, 1, "gobEncoderType")?;
                let kind = match i {
                    4 => OpaqueKind::GobEncoder,
                    5 => OpaqueKind::BinaryMarshaler,
                    _ => OpaqueKind::TextMarshaler,
                };
                WireType::Opaque { name: p.name, kind }
            }
        };
        if found.replace(wire).is_some() {
            return Err(GobError::BadTypeDefinition("a type definition of two kinds".into()));
        }
        Ok(())
    })?;
    found.ok_or_else(|| GobError::BadTypeDefinition("a type definition of no kind".into()))
}

/// Appends CommonType{name, id}, omitting an empty name as Go does.
fn put_common(out: &mut Vec<u8>, name: &str, id: TypeId) {
    put_uint(out, 1); // field 0 of the enclosing type: its CommonType
    if name.is_empty() {
        put_uint(out, 2);
    } else {
        put_uint(out, 1);
        put_bytes(out, name.as_bytes());
        put_uint(out, 1);
    }
    put_int(out, id);
    put_uint(out, 0);
}

/// Appends the `wireType` encoding of `wire`, whose own id is `id`, as Go's encoder writes it.
pub fn put_wire_type(out: &mut Vec<u8>, id: TypeId, wire: &WireType) {
    match wire {
        WireType::Slice { name, elem } => {
            put_uint(out, 2);
            put_common(out, name, id);
            put_uint(out, 1);
            put_int(out, *elem);
        }
        WireType::Struct { name, fields } => {
            put_uint(out, 3);
            put_common(out, name, id);
            if !fields.is_empty() {
                put_uint(out, 1);
                put_uint(out, fields.len() as u64);
                for field in fields {
                    put_uint(out, 1);
                    put_bytes(out, field.name.as_bytes());
                    put_uint(out, 1);
                    put_int(out, field.id);
                    put_uint(out, 0);
                }
            }
        }
        WireType::Map { name, key, elem } => {
            put_uint(out, 4);
            put_common(out, name, id);
            put_uint(out, 1);
            put_int(out, *key);
            put_uint(out, 1);
            put_int(out, *elem);
        }
        WireType::Array { name, elem, len } => {
            put_uint(out, 1);
            put_common(out, name, id);
            put_uint(out, 1);
            put_int(out, *elem);
            put_uint(out, 1);
            put_int(out, i64::try_from(*len).unwrap_or(i64::MAX));
        }
        WireType::Opaque { name, kind } => {
            let field = match kind {
                OpaqueKind::GobEncoder => 5,
                OpaqueKind::BinaryMarshaler => 6,
                OpaqueKind::TextMarshaler => 7,
            };
            put_uint(out, field);
            put_common(out, name, id);
        }
    }
    put_uint(out, 0); // end of the kind's struct
    put_uint(out, 0); // end of wireType
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Go's own example (doc.go): `type Point struct {X, Y int}` defined as id 65.
    const POINT_DEFINITION: [u8; 28] = [
        0x03, 0x01, 0x01, 0x05, 0x50, 0x6f, 0x69, 0x6e, 0x74, 0x01, 0xff, 0x82, 0x00, 0x01, 0x02, 0x01, 0x01, 0x58,
        0x01, 0x04, 0x00, 0x01, 0x01, 0x59, 0x01, 0x04, 0x00, 0x00,
    ];

    fn point() -> WireType {
        let field = |name: &str| FieldType { name: name.into(), id: INT };
        WireType::Struct { name: "Point".into(), fields: vec![field("X"), field("Y")] }
    }

    #[test]
    fn reads_and_writes_the_point_example_of_gobs_documentation() {
        let mut bytes = POINT_DEFINITION.to_vec();
        bytes.push(0x00);
        let mut reader = Reader::new(&bytes);
        assert_eq!(read_wire_type(&mut reader).unwrap(), point());
        assert!(reader.is_empty());
        let mut out = Vec::new();
        put_wire_type(&mut out, 65, &point());
        assert_eq!(out, bytes);
    }

    #[test]
    fn every_kind_round_trips() {
        let kinds = [
            WireType::Array { name: "[3]int".into(), elem: INT, len: 3 },
            WireType::Slice { name: String::new(), elem: STRING },
            WireType::Map { name: "map[string]interface {}".into(), key: STRING, elem: INTERFACE },
            WireType::Struct { name: String::new(), fields: vec![] },
            WireType::Opaque { name: "Time".into(), kind: OpaqueKind::GobEncoder },
            WireType::Opaque { name: "B".into(), kind: OpaqueKind::BinaryMarshaler },
            WireType::Opaque { name: "T".into(), kind: OpaqueKind::TextMarshaler },
        ];
        for wire in kinds {
            let mut out = Vec::new();
            put_wire_type(&mut out, 70, &wire);
            assert_eq!(read_wire_type(&mut Reader::new(&out)).unwrap(), wire);
        }
    }

    #[test]
    fn malformed_definitions_are_refused() {
        for bytes in [&[0x00][..], &[0x08, 0x01, 0x00, 0x00], &[0x02, 0x01, 0x00, 0x00, 0x01, 0x01, 0x00, 0x00], &[]] {
            assert!(read_wire_type(&mut Reader::new(bytes)).is_err(), "{bytes:x?}");
        }
        // A struct claiming a million fields in a few bytes.
        assert!(read_wire_type(&mut Reader::new(&[0x03, 0x01, 0x00, 0x01, 0xfd, 0x0f, 0x42, 0x40])).is_err());
    }
}
