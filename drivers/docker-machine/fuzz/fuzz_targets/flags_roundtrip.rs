//! Flag values built from any bytes, encoded as SetConfigFromFlags' argument, decode back to
//! the same values (the encoder's output is well-formed gob for every input).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rmachine_driver_docker_machine::gob::{Body, Decoder, Encoder, Value};
use rmachine_driver_docker_machine::{FlagValue, FlagValues};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Splits the input at 0xff bytes; each piece's first byte picks the value's type.
fn values(data: &[u8]) -> FlagValues {
    let mut values = FlagValues::new();
    for (index, piece) in data.split(|b| *b == 0xff).enumerate() {
        let Some((&kind, rest)) = piece.split_first() else { continue };
        let value = match kind % 4 {
            0 => FlagValue::String(text(rest)),
            1 => {
                FlagValue::Int(rest.iter().fold(0i64, |acc, b| acc.wrapping_mul(251).wrapping_add(i64::from(*b)) ^ -7))
            }
            2 => FlagValue::Bool(rest.len() % 2 == 1),
            _ => FlagValue::StringSlice(rest.split(|b| *b == b',').map(text).collect()),
        };
        values.insert(format!("{index}-{}", text(rest.get(..4).unwrap_or(rest))), value);
    }
    values
}

fn back(value: &Value) -> FlagValue {
    let concrete = value.as_interface().unwrap().unwrap();
    match concrete.name.as_str() {
        "string" => FlagValue::String(concrete.value.as_str().unwrap().to_owned()),
        "int" => FlagValue::Int(concrete.value.as_int().unwrap()),
        "bool" => FlagValue::Bool(concrete.value.as_bool().unwrap()),
        "[]string" => FlagValue::StringSlice(concrete.value.as_strings().unwrap()),
        other => panic!("unexpected concrete type {other}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let values = values(data);
    let mut encoder = Encoder::new();
    let mut decoder = Decoder::new();
    for seq in 0..2 {
        let mut bytes = Vec::new();
        encoder.encode_request(&mut bytes, "RPCServerDriver.SetConfigFromFlags", seq);
        encoder.encode_body(&mut bytes, &Body::Flags(&values));
        let header = decoder.decode(&bytes).unwrap();
        assert_eq!(header.value.field_uint("Seq").unwrap(), seq);
        let body = decoder.decode(&bytes[header.consumed..]).unwrap();
        assert_eq!(header.consumed + body.consumed, bytes.len());
        let flags = body.value.as_interface().unwrap().unwrap();
        assert_eq!(flags.name, "*rpcdriver.RPCFlags");
        let map = flags.value.field("Values").unwrap().unwrap();
        let Value::Map(pairs) = map else { panic!("{map:?}") };
        let decoded: FlagValues = pairs.iter().map(|(k, v)| (k.as_str().unwrap().to_owned(), back(v))).collect();
        assert_eq!(decoded, values);
    }
});
