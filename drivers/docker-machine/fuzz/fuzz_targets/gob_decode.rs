//! Any bytes as a gob stream: decoding never panics, never loops, takes at least one byte per
//! value and never more than there is; skipping agrees with decoding; the typed accessors
//! never panic on what comes out.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rmachine_driver_docker_machine::Flag;
use rmachine_driver_docker_machine::gob::{Decoder, Limits, Value};

fn poke(value: &Value) {
    let _ = Flag::list_from_value(value);
    let _ = Flag::from_value(value);
    let _ = (value.field_str("Name"), value.field_uint("Seq"), value.field_strings("Value"), value.as_interface());
    if let Ok(items) = value.as_list() {
        items.iter().take(16).for_each(poke);
    }
}

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_message: 1 << 16, max_depth: 32, max_types: 256 };
    let mut decoding = Decoder::with_limits(limits);
    let mut skipping = Decoder::with_limits(limits);
    let mut rest = data;
    while !rest.is_empty() {
        let Ok(decoded) = decoding.decode(rest) else { break };
        assert!(decoded.consumed > 0 && decoded.consumed <= rest.len());
        let skipped = skipping.skip(rest).expect("skip fails where decode succeeds");
        assert_eq!(skipped.consumed, decoded.consumed);
        poke(&decoded.value);
        rest = &rest[decoded.consumed..];
    }
});
