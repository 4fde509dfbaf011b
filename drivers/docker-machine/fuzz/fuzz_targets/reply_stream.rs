//! Any bytes as what a plugin sends back: the reply path of the client (a Response header,
//! then the body kept or skipped as the header says), fed in arbitrary chunks as a socket
//! delivers them. Must never panic, and chunking must not change the outcome.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rmachine_driver_docker_machine::Flag;
use rmachine_driver_docker_machine::gob::{Decoder, GobError};

/// Reads replies from `stream` as the reader task does; returns (Seq, Error, body) triples.
fn replies(stream: &[u8], chunk: usize) -> (Vec<(u64, String, bool)>, Option<GobError>) {
    let mut decoder = Decoder::new();
    let mut out = Vec::new();
    let (mut start, mut end) = (0, 0);
    let mut header: Option<(u64, String)> = None;
    loop {
        let attempt = match &header {
            None => decoder.decode(&stream[start..end]).map(|d| (d.consumed, Some(d.value))),
            Some((_, error)) if !error.is_empty() => decoder.skip(&stream[start..end]).map(|d| (d.consumed, None)),
            Some(_) => decoder.decode(&stream[start..end]).map(|d| (d.consumed, Some(d.value))),
        };
        match attempt {
            Ok((consumed, value)) => {
                start += consumed;
                match header.take() {
                    None => {
                        let Some(value) = value else { return (out, None) };
                        let (Ok(seq), Ok(error)) = (value.field_uint("Seq"), value.field_str("Error")) else {
                            return (out, None);
                        };
                        header = Some((seq, error.to_owned()));
                    }
                    Some((seq, error)) => {
                        let flags = value.as_ref().map(|v| Flag::list_from_value(v).is_ok()).unwrap_or(false);
                        out.push((seq, error, flags));
                    }
                }
            }
            // As the reader task: read until the decoder's `needed`, in reads of `chunk` bytes.
            Err(GobError::Incomplete { needed }) if end < stream.len() => {
                assert!(needed > end - start, "Incomplete asks for bytes it has");
                end = (start + needed).max(end + chunk).min(stream.len());
            }
            Err(error) => return (out, Some(error)),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, stream)) = data.split_first() else { return };
    let whole = replies(stream, stream.len().max(1));
    let chunked = replies(stream, usize::from(chunk % 16) + 1);
    assert_eq!(whole, chunked);
});
