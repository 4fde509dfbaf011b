//! Any bytes as what a plugin prints on stdout, read as the plugin reader does (a LineFramer,
//! then parse_message per line), fed in chunks of any size: never panics, chunking never changes
//! the outcome, lines keep their bounds; and whatever rmachine sends is exactly one line that
//! reads back as what was sent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rmachine_driver_plugin::jsonrpc::{self, Frame, LineFramer, Message};

/// A small limit, so that too-long lines are reached.
const MAX: usize = 96;

fn read(stream: &[u8], chunk: usize) -> Vec<Result<Result<Message, String>, Vec<u8>>> {
    let mut framer = LineFramer::new(MAX);
    let mut frames: Vec<Frame> = stream.chunks(chunk).flat_map(|piece| framer.push(piece)).collect();
    frames.extend(framer.finish());
    frames
        .into_iter()
        .map(|frame| match frame {
            Frame::Line(line) => {
                assert!(!line.is_empty() && line.len() <= MAX && !line.contains(&b'\n'));
                assert!(!line.iter().all(u8::is_ascii_whitespace));
                let message = jsonrpc::parse_message(&line);
                if let Ok(message) = &message {
                    let _ = message.response_id();
                }
                let _ = jsonrpc::quote(&line);
                Ok(message)
            }
            Frame::TooLong(prefix) => {
                assert!(prefix.len() <= MAX.min(256));
                Err(prefix)
            }
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, stream)) = data.split_first() else { return };
    let whole = read(stream, stream.len().max(1));
    let chunked = read(stream, usize::from(chunk % 32) + 1);
    assert_eq!(whole, chunked);
    let text = String::from_utf8_lossy(stream);
    let line = jsonrpc::request_line(u64::from(chunk), &text, &serde_json::json!({ "text": text }));
    assert!(line.ends_with('\n') && !line[..line.len() - 1].contains('\n'));
    match jsonrpc::parse_message(line.trim_end().as_bytes()) {
        Ok(Message::Request { id, method }) => assert!(id == u64::from(chunk) && method == text),
        other => panic!("a request rmachine sends reads back as {other:?}"),
    }
});
