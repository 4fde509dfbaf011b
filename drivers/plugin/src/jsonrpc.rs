//! JSON-RPC 2.0 as rmachine's driver protocol carries it: one JSON object per line. This module
//! owns the bytes only, and is pure (no I/O), so that the fuzz target drives exactly what the
//! plugin reader runs: [`LineFramer`] cuts a byte stream into lines (bounded in length, chunking
//! never changes the result), [`parse_message`] reads one line as a response, a notification or a
//! request and says precisely what is wrong with anything else, and [`request_line`] /
//! [`notification_line`] write what rmachine sends.

use serde_json::{Map, Value};

/// The longest line a plugin may print (a whole message): 1 MiB.
pub const MAX_LINE: usize = 1 << 20;

/// JSON-RPC's own error codes, and the protocol's cancellation code (as LSP's).
pub const PARSE_ERROR: i64 = -32700;
pub const INVALID_REQUEST: i64 = -32600;
pub const METHOD_NOT_FOUND: i64 = -32601;
pub const INVALID_PARAMS: i64 = -32602;
pub const INTERNAL_ERROR: i64 = -32603;
pub const REQUEST_CANCELLED: i64 = -32800;

/// One piece cut from the stream by [`LineFramer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A line, without its `\n` (nor a `\r` before it); blank lines are never returned.
    Line(Vec<u8>),
    /// A line longer than the limit: its first bytes (the rest up to the next `\n` is dropped).
    TooLong(Vec<u8>),
}

/// Cuts a byte stream into lines of at most `max` bytes.
#[derive(Debug)]
pub struct LineFramer {
    buffer: Vec<u8>,
    /// Bytes of the current line seen so far (the buffer keeps at most `max + 1` of them).
    seen: usize,
    max: usize,
    /// Inside a line already reported as too long: drop bytes until its end.
    skipping: bool,
}

impl LineFramer {
    pub fn new(max: usize) -> LineFramer {
        LineFramer { buffer: Vec::new(), seen: 0, max, skipping: false }
    }

    /// Takes the next bytes of the stream; returns the lines they complete.
    pub fn push(&mut self, mut bytes: &[u8]) -> Vec<Frame> {
        let mut frames = Vec::new();
        while !bytes.is_empty() {
            let newline = bytes.iter().position(|byte| *byte == b'\n');
            let (piece, rest, ends_line) = match newline {
                Some(at) => (&bytes[..at], &bytes[at + 1..], true),
                None => (bytes, &[][..], false),
            };
            bytes = rest;
            if !self.skipping {
                let room = (self.max + 1).saturating_sub(self.buffer.len());
                self.buffer.extend_from_slice(&piece[..piece.len().min(room)]);
                self.seen += piece.len();
                if self.seen > self.max + 1 || trimmed_len(&self.buffer) > self.max {
                    self.buffer.truncate(self.max.min(256));
                    frames.push(Frame::TooLong(std::mem::take(&mut self.buffer)));
                    self.skipping = true;
                }
            }
            if ends_line {
                if !self.skipping {
                    frames.extend(finish_line(std::mem::take(&mut self.buffer)));
                }
                self.buffer.clear();
                self.seen = 0;
                self.skipping = false;
            }
        }
        frames
    }

    /// The stream ended: its last line, when it had no `\n`.
    pub fn finish(&mut self) -> Option<Frame> {
        let skipping = std::mem::replace(&mut self.skipping, false);
        self.seen = 0;
        let rest = std::mem::take(&mut self.buffer);
        if skipping { None } else { finish_line(rest) }
    }
}

/// The length of a line without a trailing `\r`.
fn trimmed_len(line: &[u8]) -> usize {
    if line.last() == Some(&b'\r') { line.len() - 1 } else { line.len() }
}

fn finish_line(mut line: Vec<u8>) -> Option<Frame> {
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    if line.iter().all(u8::is_ascii_whitespace) { None } else { Some(Frame::Line(line)) }
}

/// A JSON-RPC error object.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorObject {
    pub code: i64,
    pub message: String,
    pub data: Option<Value>,
}

/// A message a plugin sent.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// The answer to a request: `id` as sent (a number, a string or null).
    Response { id: Value, outcome: Result<Value, ErrorObject> },
    /// A message without an id (`log`).
    Notification { method: String, params: Value },
    /// A request to rmachine (none exist in version 1; answered with METHOD_NOT_FOUND).
    Request { id: Value, method: String },
}

impl Message {
    /// The response's id as rmachine numbers its requests, when it is one.
    pub fn response_id(&self) -> Option<u64> {
        match self {
            Message::Response { id, .. } => id.as_u64(),
            _ => None,
        }
    }
}

/// Reads one line as a JSON-RPC 2.0 message; `Err` says what is wrong with it, in words for a
/// plugin's author.
pub fn parse_message(line: &[u8]) -> Result<Message, String> {
    let value: Value = serde_json::from_slice(line).map_err(|error| format!("not JSON ({error})"))?;
    let Value::Object(mut object) = value else {
        return Err(format!("JSON but not an object ({})", kind_of(&value)));
    };
    match object.get("jsonrpc") {
        Some(Value::String(version)) if version == "2.0" => {}
        Some(other) => return Err(format!("\"jsonrpc\" is {other}, not \"2.0\"")),
        None => return Err("an object without \"jsonrpc\": \"2.0\"".into()),
    }
    if let Some(method) = object.remove("method") {
        let Value::String(method) = method else { return Err("\"method\" is not a string".into()) };
        return Ok(match object.remove("id") {
            Some(id) => Message::Request { id, method },
            None => Message::Notification { method, params: object.remove("params").unwrap_or(Value::Null) },
        });
    }
    let Some(id) = object.remove("id") else { return Err("neither a response (no \"id\") nor a notification".into()) };
    if !matches!(id, Value::Number(_) | Value::String(_) | Value::Null) {
        return Err(format!("a response whose \"id\" is {}", kind_of(&id)));
    }
    let outcome = match (object.remove("result"), object.remove("error")) {
        (Some(result), None) => Ok(result),
        (None, Some(error)) => Err(error_object(error)?),
        (Some(_), Some(_)) => return Err("a response with both \"result\" and \"error\"".into()),
        (None, None) => return Err("a response with neither \"result\" nor \"error\"".into()),
    };
    Ok(Message::Response { id, outcome })
}

fn error_object(error: Value) -> Result<ErrorObject, String> {
    let Value::Object(mut error) = error else { return Err("\"error\" is not an object".into()) };
    let Some(code) = error.get("code").and_then(Value::as_i64) else {
        return Err("\"error\" without an integer \"code\"".into());
    };
    let message = match error.remove("message") {
        Some(Value::String(message)) => message,
        _ => return Err("\"error\" without a string \"message\"".into()),
    };
    Ok(ErrorObject { code, message, data: error.remove("data") })
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A request, as one line.
pub fn request_line(id: u64, method: &str, params: &Value) -> String {
    let mut object = Map::new();
    object.insert("jsonrpc".into(), "2.0".into());
    object.insert("id".into(), id.into());
    object.insert("method".into(), method.into());
    object.insert("params".into(), params.clone());
    line(object)
}

/// A notification, as one line.
pub fn notification_line(method: &str, params: &Value) -> String {
    let mut object = Map::new();
    object.insert("jsonrpc".into(), "2.0".into());
    object.insert("method".into(), method.into());
    object.insert("params".into(), params.clone());
    line(object)
}

/// An error response (to a request a plugin made), as one line.
pub fn error_line(id: &Value, code: i64, message: &str) -> String {
    let mut object = Map::new();
    object.insert("jsonrpc".into(), "2.0".into());
    object.insert("id".into(), id.clone());
    object.insert("error".into(), serde_json::json!({"code": code, "message": message}));
    line(object)
}

fn line(object: Map<String, Value>) -> String {
    let mut text = Value::Object(object).to_string();
    text.push('\n');
    text
}

/// A line as an error quotes it: at most 120 characters, lossily decoded.
pub fn quote(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(line);
    let mut quoted: String = text.chars().take(120).collect();
    if text.chars().count() > 120 {
        quoted.push('…');
    }
    format!("{quoted:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(frames: &[Frame]) -> Vec<String> {
        frames
            .iter()
            .map(|frame| match frame {
                Frame::Line(line) => String::from_utf8_lossy(line).into_owned(),
                Frame::TooLong(prefix) => format!("TOO LONG {}", String::from_utf8_lossy(prefix)),
            })
            .collect()
    }

    #[test]
    fn lines_come_out_whole_whatever_the_chunks() {
        let stream = b"{\"a\":1}\r\n\n  \n{\"b\":2}\n{\"c\"";
        let mut whole = LineFramer::new(64);
        let mut all = whole.push(stream);
        all.extend(whole.finish());
        assert_eq!(lines(&all), ["{\"a\":1}", "{\"b\":2}", "{\"c\""]);
        let mut chunked = LineFramer::new(64);
        let mut pieces: Vec<Frame> = stream.chunks(3).flat_map(|chunk| chunked.push(chunk)).collect();
        pieces.extend(chunked.finish());
        assert_eq!(pieces, all);
    }

    #[test]
    fn a_line_longer_than_the_limit_is_reported_once_and_skipped() {
        let mut framer = LineFramer::new(8);
        let frames = framer.push(b"0123456789abcdef\nok\n12345678\r\n");
        assert_eq!(lines(&frames), ["TOO LONG 01234567", "ok", "12345678"]);
        let mut framer = LineFramer::new(8);
        let mut frames: Vec<Frame> = b"0123456789abcdef\nok\n".chunks(1).flat_map(|byte| framer.push(byte)).collect();
        frames.extend(framer.finish());
        assert_eq!(lines(&frames), ["TOO LONG 01234567", "ok"]);
        assert_eq!(LineFramer::new(4).push(b"12345"), vec![Frame::TooLong(b"1234".to_vec())]);
        // A `\r` at the limit is not the end of the line when more follows.
        let mut framer = LineFramer::new(8);
        let mut frames = framer.push(b"12345678\r");
        frames.extend(framer.push(b"X\n"));
        assert_eq!(lines(&frames), ["TOO LONG 12345678"]);
    }

    #[test]
    fn responses_notifications_and_requests_are_told_apart() {
        let response = parse_message(br#"{"jsonrpc":"2.0","id":3,"result":{"state":"Running"}}"#).unwrap();
        assert_eq!(response.response_id(), Some(3));
        let error = parse_message(br#"{"jsonrpc":"2.0","id":4,"error":{"code":-32601,"message":"no","data":{}}}"#);
        let Ok(Message::Response { outcome: Err(error), .. }) = error else { panic!("{error:?}") };
        assert_eq!((error.code, error.message.as_str()), (METHOD_NOT_FOUND, "no"));
        let log = parse_message(br#"{"jsonrpc":"2.0","method":"log","params":{"message":"hi"}}"#).unwrap();
        assert!(matches!(log, Message::Notification { ref method, .. } if method == "log"));
        let request = parse_message(br#"{"jsonrpc":"2.0","id":"x","method":"ask"}"#).unwrap();
        assert!(matches!(request, Message::Request { ref method, .. } if method == "ask"));
        let string_id = parse_message(br#"{"jsonrpc":"2.0","id":"3","result":null}"#).unwrap();
        assert_eq!(string_id.response_id(), None);
    }

    #[test]
    fn what_is_wrong_with_a_line_is_said() {
        for (line, expected) in [
            (&b"hello"[..], "not JSON"),
            (b"[1]", "not an object (an array)"),
            (b"{\"id\":1,\"result\":1}", "without \"jsonrpc\""),
            (b"{\"jsonrpc\":\"1.0\",\"id\":1,\"result\":1}", "not \"2.0\""),
            (b"{\"jsonrpc\":\"2.0\",\"result\":1}", "neither a response"),
            (b"{\"jsonrpc\":\"2.0\",\"id\":1}", "neither \"result\" nor \"error\""),
            (b"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":1,\"error\":{}}", "both"),
            (b"{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"message\":\"x\"}}", "integer \"code\""),
            (b"{\"jsonrpc\":\"2.0\",\"id\":[1],\"result\":1}", "\"id\" is an array"),
            (b"{\"jsonrpc\":\"2.0\",\"method\":5}", "\"method\" is not a string"),
        ] {
            let problem = parse_message(line).unwrap_err();
            assert!(problem.contains(expected), "{}: {problem}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn what_rmachine_sends_is_one_line_of_json_rpc() {
        let line = request_line(7, "state", &serde_json::json!({"timeout_ms": 1000, "note": "a\nb"}));
        assert!(line.ends_with('\n') && !line[..line.len() - 1].contains('\n'));
        let value: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["jsonrpc"], "2.0");
        assert_eq!(value["id"], 7);
        assert_eq!(value["params"]["note"], "a\nb");
        let cancel: Value =
            serde_json::from_str(&notification_line("$/cancel", &serde_json::json!({"id": 7}))).unwrap();
        assert!(cancel.get("id").is_none());
        assert_eq!(quote(&[b'x'; 200]).chars().count(), 123);
    }
}
