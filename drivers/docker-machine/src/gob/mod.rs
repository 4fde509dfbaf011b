//! Go's `encoding/gob`, the subset docker-machine's plugin protocol needs: a dynamic decoder for
//! any value (skipping what it does not need, interface values included, values spanning several
//! messages), and an encoder for what a net/rpc client sends. Byte-compatible with Go, which the
//! tests check against transcripts recorded from Go (`golden/`).

mod decode;
mod encode;
pub mod types;
mod value;
pub(crate) mod wire;

pub use decode::{Decoded, Decoder, Limits};
pub use encode::{Body, Encoder, RPC_FLAGS_NAME};
pub use types::{FieldType, OpaqueKind, TypeId, TypeTable, WireType};
pub use value::{Concrete, Field, Value};

#[cfg(test)]
mod golden_tests;

/// What can go wrong reading gob, and values of an unexpected shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GobError {
    /// Not an error of the stream: the value's bytes have not all arrived. `needed` is the
    /// stream length to wait for before trying again.
    #[error("the gob value is incomplete: {needed} bytes are needed")]
    Incomplete { needed: usize },
    #[error("gob message ended while reading {reading}")]
    UnexpectedEnd { reading: &'static str },
    #[error("bad gob unsigned integer (first byte {first:#04x})")]
    BadUint { first: u8 },
    #[error("bad gob bool {0}")]
    BadBool(u64),
    #[error("{reading} of {length} bytes is longer than the {remaining} bytes left in its message")]
    LengthBeyondMessage { reading: &'static str, length: u64, remaining: usize },
    #[error("gob message of {length} bytes exceeds the limit of {max}")]
    MessageTooLarge { length: u64, max: usize },
    #[error("empty gob message")]
    EmptyMessage,
    #[error("extra data after a gob type definition")]
    ExtraData,
    #[error("gob type id {0} cannot be defined")]
    BadTypeId(i64),
    #[error("gob type id {0} defined twice")]
    DuplicateType(i64),
    #[error("more than {0} gob types defined")]
    TooManyTypes(usize),
    #[error("bad gob type definition: {0}")]
    BadTypeDefinition(String),
    #[error("gob type id {0} is not defined")]
    UnknownType(i64),
    #[error("gob singleton value with non-zero field delta {0}")]
    SingletonDelta(u64),
    #[error("gob struct {type_name:?} has no field number {field}")]
    FieldOutOfRange { type_name: String, field: u64 },
    #[error("gob array {name:?} of length {expected} carries {found} elements")]
    ArrayLength { name: String, expected: u64, found: u64 },
    #[error("gob interface type name of {0} bytes is too long")]
    NameTooLong(u64),
    #[error("gob values nested more than {0} deep")]
    TooDeep(usize),
    #[error("expected {expected}, found {found}")]
    UnexpectedValue { expected: &'static str, found: &'static str },
    #[error("unknown concrete type {0:?} in an interface value")]
    UnknownConcreteType(String),
}

impl GobError {
    pub fn is_incomplete(&self) -> bool {
        matches!(self, GobError::Incomplete { .. })
    }
}
