//! A Go `net/rpc` client over HTTP CONNECT, as `rpc.DialHTTP` speaks it: `CONNECT /_goRPC_
//! HTTP/1.0`, the answer `HTTP/1.0 200 Connected to Go RPC`, then one gob stream per direction
//! for the life of the connection. Each call is a `Request{ServiceMethod, Seq}` and its argument;
//! each reply a `Response{ServiceMethod, Seq, Error}` and its value. The server runs calls
//! concurrently and replies in any order (a Heartbeat is answered in the middle of a Create), so
//! a reader task hands each reply to its caller by Seq. A connection that drops, a reply to a
//! call never made, or bytes that are not gob fail every pending call with an error naming the
//! plugin and the method; so does [`RpcClient::fail_all`], which the heartbeat uses.

use crate::gob::{Body, Decoder, Encoder, GobError, Value};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The path net/rpc serves on (`rpc.DefaultRPCPath`).
pub const RPC_PATH: &str = "/_goRPC_";
/// The status line's text after `HTTP/1.0 `.
pub const CONNECTED: &str = "200 Connected to Go RPC";

/// Why a call failed below the level of the driver's own errors.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    #[error("cannot connect to the plugin {plugin} at {address}: {source}")]
    Connect { plugin: String, address: String, source: std::io::Error },
    #[error("the plugin {plugin} answered CONNECT with {answer:?}, not {CONNECTED:?}")]
    Handshake { plugin: String, answer: String },
    #[error("the plugin {plugin} closed the connection during {method}")]
    Closed { plugin: String, method: String },
    #[error("the plugin {plugin} did not answer {method} within {after:?}")]
    Timeout { plugin: String, method: String, after: Duration },
    #[error("the plugin {plugin} stopped answering heartbeats (none answered within {waited:?}) during {method}")]
    Unresponsive { plugin: String, method: String, waited: Duration },
    #[error("the plugin {plugin} replied to call number {seq}, which was never made (during {method})")]
    UnknownSeq { plugin: String, method: String, seq: u64 },
    #[error("the plugin {plugin} sent a reply that is not valid gob (during {method}): {detail}")]
    Protocol { plugin: String, method: String, detail: String },
    #[error("cannot send {method} to the plugin {plugin}: {source}")]
    Send { plugin: String, method: String, source: std::io::Error },
    /// The method ran and returned an error (Go's `error.Error()` text).
    #[error("the plugin {plugin} failed {method}: {message}")]
    Remote { plugin: String, method: String, message: String },
}

/// Why the connection is no longer usable.
#[derive(Debug, Clone)]
pub(crate) enum Dead {
    Closed,
    Unresponsive(Duration),
    UnknownSeq(u64),
    Protocol(String),
}

impl Dead {
    fn error(&self, plugin: &str, method: &str) -> RpcError {
        let (plugin, method) = (plugin.to_owned(), method.to_owned());
        match self {
            Dead::Closed => RpcError::Closed { plugin, method },
            Dead::Unresponsive(waited) => RpcError::Unresponsive { plugin, method, waited: *waited },
            Dead::UnknownSeq(seq) => RpcError::UnknownSeq { plugin, method, seq: *seq },
            Dead::Protocol(detail) => RpcError::Protocol { plugin, method, detail: detail.clone() },
        }
    }
}

struct Pending {
    method: String,
    reply: oneshot::Sender<Result<Value, RpcError>>,
}

#[derive(Default)]
struct Calls {
    pending: HashMap<u64, Pending>,
    /// Calls given up on (timed out): a late reply to one is read and dropped.
    abandoned: HashSet<u64>,
    dead: Option<Dead>,
}

struct Shared {
    plugin: String,
    calls: Mutex<Calls>,
}

impl Shared {
    fn calls(&self) -> MutexGuard<'_, Calls> {
        self.calls.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Marks the connection dead (the first reason wins) and fails every pending call.
    fn fail_all(&self, reason: Dead) {
        let pending: Vec<Pending> = {
            let mut calls = self.calls();
            calls.dead.get_or_insert(reason);
            calls.pending.drain().map(|(_, pending)| pending).collect()
        };
        let reason = self.calls().dead.clone().unwrap_or(Dead::Closed);
        for call in pending {
            let _ = call.reply.send(Err(reason.error(&self.plugin, &call.method)));
        }
    }
}

struct Writer {
    stream: OwnedWriteHalf,
    encoder: Encoder,
    next_seq: u64,
}

/// One net/rpc connection to a plugin.
pub struct RpcClient {
    shared: Arc<Shared>,
    writer: tokio::sync::Mutex<Writer>,
    reader: JoinHandle<()>,
}

/// `Service.Method` → `Method`, for messages.
fn short(service_method: &str) -> &str {
    service_method.rsplit_once('.').map_or(service_method, |(_, method)| method)
}

async fn handshake(plugin: &str, stream: TcpStream) -> Result<(BufReader<OwnedReadHalf>, OwnedWriteHalf), RpcError> {
    let (read, mut write) = stream.into_split();
    let send_error = |source| RpcError::Send { plugin: plugin.into(), method: "CONNECT".into(), source };
    write.write_all(format!("CONNECT {RPC_PATH} HTTP/1.0\n\n").as_bytes()).await.map_err(send_error)?;
    let mut reader = BufReader::new(read);
    let mut status = String::new();
    let mut line = String::new();
    for index in 0..32 {
        line.clear();
        let read = (&mut reader).take(1024).read_line(&mut line).await;
        let closed = || RpcError::Closed { plugin: plugin.into(), method: "CONNECT".into() };
        if read.map_err(|_| closed())? == 0 {
            return Err(closed());
        }
        if index == 0 {
            status = line.trim_end().to_owned();
        } else if line.trim_end().is_empty() {
            break;
        }
    }
    match status.split_once(' ') {
        Some((version, text)) if version.starts_with("HTTP/1.") && text == CONNECTED => Ok((reader, write)),
        _ => Err(RpcError::Handshake { plugin: plugin.into(), answer: status }),
    }
}

impl RpcClient {
    /// Connects to `address` (`127.0.0.1:PORT`), giving up after `timeout`. `plugin` names the
    /// plugin in errors (`docker-machine-driver-NAME`).
    pub async fn connect(plugin: &str, address: &str, timeout: Duration) -> Result<RpcClient, RpcError> {
        let connect_error = |source| RpcError::Connect { plugin: plugin.into(), address: address.into(), source };
        let timed_out = || std::io::Error::new(std::io::ErrorKind::TimedOut, format!("no answer within {timeout:?}"));
        let stream = tokio::time::timeout(timeout, TcpStream::connect(address))
            .await
            .map_err(|_| connect_error(timed_out()))?
            .map_err(connect_error)?;
        let _ = stream.set_nodelay(true);
        let (reader, stream) = tokio::time::timeout(timeout, handshake(plugin, stream))
            .await
            .map_err(|_| connect_error(timed_out()))??;
        let shared = Arc::new(Shared { plugin: plugin.into(), calls: Mutex::new(Calls::default()) });
        let reader = tokio::spawn(read_replies(reader, shared.clone()));
        let writer = tokio::sync::Mutex::new(Writer { stream, encoder: Encoder::new(), next_seq: 0 });
        Ok(RpcClient { shared, writer, reader })
    }

    /// The plugin's name, as errors give it.
    pub fn plugin(&self) -> &str {
        &self.shared.plugin
    }

    /// Calls `service_method` (`RPCServerDriver.Create`) with `body`. `timeout` bounds the wait
    /// for the reply; a late reply is then dropped. A method's own error is [`RpcError::Remote`].
    pub async fn call(
        &self,
        service_method: &str,
        body: Body<'_>,
        timeout: Option<Duration>,
    ) -> Result<Value, RpcError> {
        let method = short(service_method);
        let (reply, answer) = oneshot::channel();
        let seq = self.send(service_method, method, body, reply).await?;
        let outcome = match timeout {
            Some(limit) => tokio::time::timeout(limit, answer).await.map_err(|_| limit),
            None => Ok(answer.await),
        };
        match outcome {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(self.dead_reason().error(self.plugin(), method)),
            Err(after) => {
                let mut calls = self.shared.calls();
                if calls.pending.remove(&seq).is_some() {
                    calls.abandoned.insert(seq);
                }
                Err(RpcError::Timeout { plugin: self.plugin().into(), method: method.into(), after })
            }
        }
    }

    async fn send(
        &self,
        service_method: &str,
        method: &str,
        body: Body<'_>,
        reply: oneshot::Sender<Result<Value, RpcError>>,
    ) -> Result<u64, RpcError> {
        let mut writer = self.writer.lock().await;
        let seq = writer.next_seq;
        {
            let mut calls = self.shared.calls();
            if let Some(dead) = &calls.dead {
                return Err(dead.error(self.plugin(), method));
            }
            calls.pending.insert(seq, Pending { method: method.into(), reply });
        }
        writer.next_seq += 1;
        let mut bytes = Vec::new();
        writer.encoder.encode_request(&mut bytes, service_method, seq);
        writer.encoder.encode_body(&mut bytes, &body);
        // A write cut short (an error, or this future dropped) leaves the stream unusable.
        let guard = BrokenOnDrop(&self.shared);
        let written = writer.stream.write_all(&bytes).await;
        std::mem::forget(guard);
        if let Err(source) = written {
            self.shared.calls().pending.remove(&seq);
            self.shared.fail_all(Dead::Closed);
            return Err(RpcError::Send { plugin: self.plugin().into(), method: method.into(), source });
        }
        Ok(seq)
    }

    fn dead_reason(&self) -> Dead {
        self.shared.calls().dead.clone().unwrap_or(Dead::Closed)
    }

    /// Whether the connection can no longer carry calls.
    pub fn is_dead(&self) -> bool {
        self.shared.calls().dead.is_some()
    }

    /// Fails every pending call and every later one with `reason`, and stops reading.
    pub(crate) fn fail_all(&self, reason: Dead) {
        self.shared.fail_all(reason);
        self.reader.abort();
    }
}

impl Drop for RpcClient {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

struct BrokenOnDrop<'a>(&'a Shared);

impl Drop for BrokenOnDrop<'_> {
    fn drop(&mut self) {
        self.0.fail_all(Dead::Protocol("a call was cancelled half-sent".into()));
    }
}

/// Decodes (or skips) the next value, reading more bytes as the decoder asks for them.
async fn next_value(
    reader: &mut BufReader<OwnedReadHalf>,
    buffer: &mut Vec<u8>,
    decoder: &mut Decoder,
    keep: bool,
) -> Result<Value, Dead> {
    loop {
        let attempt = if keep {
            decoder.decode(buffer)
        } else {
            decoder.skip(buffer).map(|d| crate::gob::Decoded { value: Value::Bool(false), consumed: d.consumed })
        };
        match attempt {
            Ok(decoded) => {
                buffer.drain(..decoded.consumed);
                return Ok(decoded.value);
            }
            Err(GobError::Incomplete { needed }) => loop {
                buffer.reserve(needed.saturating_sub(buffer.len()).min(1 << 20));
                match reader.read_buf(buffer).await {
                    Ok(0) | Err(_) => return Err(Dead::Closed),
                    Ok(_) if buffer.len() >= needed => break,
                    Ok(_) => {}
                }
            },
            Err(other) => return Err(Dead::Protocol(other.to_string())),
        }
    }
}

/// The reader task: one Response header and one body per reply, handed over by Seq.
async fn read_replies(mut reader: BufReader<OwnedReadHalf>, shared: Arc<Shared>) {
    let mut decoder = Decoder::new();
    let mut buffer = reader.buffer().to_vec();
    reader.consume(buffer.len());
    let reason = loop {
        let header = match next_value(&mut reader, &mut buffer, &mut decoder, true).await {
            Ok(header) => header,
            Err(reason) => break reason,
        };
        let fields = (header.field_uint("Seq"), header.field_str("Error"));
        let (Ok(seq), Ok(error)) = fields else {
            break Dead::Protocol(format!("a reply header that is not a Response: {header:?}"));
        };
        let error = error.to_owned();
        let pending = {
            let mut calls = shared.calls();
            let pending = calls.pending.remove(&seq);
            if pending.is_none() && !calls.abandoned.remove(&seq) {
                break Dead::UnknownSeq(seq);
            }
            pending
        };
        let keep = pending.is_some() && error.is_empty();
        let body = match next_value(&mut reader, &mut buffer, &mut decoder, keep).await {
            Ok(body) => body,
            Err(reason) => {
                if let Some(call) = pending {
                    let _ = call.reply.send(Err(reason.error(&shared.plugin, &call.method)));
                }
                break reason;
            }
        };
        if let Some(call) = pending {
            let result = if error.is_empty() {
                Ok(body)
            } else {
                Err(RpcError::Remote { plugin: shared.plugin.clone(), method: call.method, message: error })
            };
            let _ = call.reply.send(result);
        }
    };
    shared.fail_all(reason);
}

#[cfg(test)]
#[path = "rpc_tests.rs"]
mod tests;
