//! The codec against Go's own bytes: transcripts of a Go net/rpc client talking to the fake
//! plugin (`golden/call-*.bin`, recorded by tests/fake-docker-machine-plugin/cmd/golden) and
//! standalone gob streams (`golden/stream-*.bin`). The encoder must produce the requests byte for
//! byte; the decoder must read the replies, the requests, and the streams.

use super::{Body, Decoder, Encoder, GobError, Value};
use crate::flags::{Flag, FlagKind, FlagValue, FlagValues};

macro_rules! golden {
    ($name:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/golden/", $name))
    };
}

enum Arg {
    Empty,
    Raw,
    Flags(FlagValues),
}

const RAW_CONFIG: &[u8] = "{\"MachineName\":\"golden\",\"StorePath\":\"/store/é\"}".as_bytes();

fn one(name: &str, value: FlagValue) -> Arg {
    Arg::Flags([(name, value)].into_iter().collect())
}

/// A recorded call: Seq, method, argument, request bytes, reply bytes.
type Call = (u64, &'static str, Arg, &'static [u8], &'static [u8]);

/// The calls the recorder made, in order, with the files holding their bytes.
fn calls() -> Vec<Call> {
    vec![
        (
            0,
            "RPCServerDriver.GetVersion",
            Arg::Empty,
            golden!("call-000-GetVersion.request.bin"),
            golden!("call-000-GetVersion.reply.bin"),
        ),
        (
            1,
            "RPCServerDriver.SetConfigRaw",
            Arg::Raw,
            golden!("call-001-SetConfigRaw.request.bin"),
            golden!("call-001-SetConfigRaw.reply.bin"),
        ),
        (
            2,
            "RPCServerDriver.GetMachineName",
            Arg::Empty,
            golden!("call-002-GetMachineName.request.bin"),
            golden!("call-002-GetMachineName.reply.bin"),
        ),
        (
            3,
            "RPCServerDriver.DriverName",
            Arg::Empty,
            golden!("call-003-DriverName.request.bin"),
            golden!("call-003-DriverName.reply.bin"),
        ),
        (
            4,
            "RPCServerDriver.GetCreateFlags",
            Arg::Empty,
            golden!("call-004-GetCreateFlags.request.bin"),
            golden!("call-004-GetCreateFlags.reply.bin"),
        ),
        (
            5,
            "RPCServerDriver.SetConfigFromFlags",
            one("fake-ip-address", FlagValue::String("127.0.0.1".into())),
            golden!("call-005-SetConfigFromFlags-string.request.bin"),
            golden!("call-005-SetConfigFromFlags-string.reply.bin"),
        ),
        (
            6,
            "RPCServerDriver.SetConfigFromFlags",
            one("fake-ssh-port", FlagValue::Int(2222)),
            golden!("call-006-SetConfigFromFlags-int.request.bin"),
            golden!("call-006-SetConfigFromFlags-int.reply.bin"),
        ),
        (
            7,
            "RPCServerDriver.SetConfigFromFlags",
            one("fake-tags", FlagValue::StringSlice(vec!["a=1".into(), "b=2".into()])),
            golden!("call-007-SetConfigFromFlags-stringslice.request.bin"),
            golden!("call-007-SetConfigFromFlags-stringslice.reply.bin"),
        ),
        (
            8,
            "RPCServerDriver.SetConfigFromFlags",
            Arg::Flags(FlagValues::new()),
            golden!("call-008-SetConfigFromFlags-empty.request.bin"),
            golden!("call-008-SetConfigFromFlags-empty.reply.bin"),
        ),
        (
            9,
            "RPCServerDriver.SetConfigFromFlags",
            one("swarm-master", FlagValue::Bool(false)),
            golden!("call-009-SetConfigFromFlags-boolfalse.request.bin"),
            golden!("call-009-SetConfigFromFlags-boolfalse.reply.bin"),
        ),
        (
            10,
            "RPCServerDriver.SetConfigFromFlags",
            one("fake-fail", FlagValue::Bool(true)),
            golden!("call-010-SetConfigFromFlags-booltrue.request.bin"),
            golden!("call-010-SetConfigFromFlags-booltrue.reply.bin"),
        ),
        (
            11,
            "RPCServerDriver.PreCreateCheck",
            Arg::Empty,
            golden!("call-011-PreCreateCheck.request.bin"),
            golden!("call-011-PreCreateCheck.reply.bin"),
        ),
        (
            12,
            "RPCServerDriver.GetState",
            Arg::Empty,
            golden!("call-012-GetState-none.request.bin"),
            golden!("call-012-GetState-none.reply.bin"),
        ),
        (
            13,
            "RPCServerDriver.Start",
            Arg::Empty,
            golden!("call-013-Start.request.bin"),
            golden!("call-013-Start.reply.bin"),
        ),
        (
            14,
            "RPCServerDriver.GetState",
            Arg::Empty,
            golden!("call-014-GetState-running.request.bin"),
            golden!("call-014-GetState-running.reply.bin"),
        ),
        (
            15,
            "RPCServerDriver.GetSSHPort",
            Arg::Empty,
            golden!("call-015-GetSSHPort.request.bin"),
            golden!("call-015-GetSSHPort.reply.bin"),
        ),
        (
            16,
            "RPCServerDriver.GetURL",
            Arg::Empty,
            golden!("call-016-GetURL.request.bin"),
            golden!("call-016-GetURL.reply.bin"),
        ),
        (
            17,
            "RPCServerDriver.GetConfigRaw",
            Arg::Empty,
            golden!("call-017-GetConfigRaw.request.bin"),
            golden!("call-017-GetConfigRaw.reply.bin"),
        ),
        (
            18,
            "RPCServerDriver.Heartbeat",
            Arg::Empty,
            golden!("call-018-Heartbeat.request.bin"),
            golden!("call-018-Heartbeat.reply.bin"),
        ),
        (
            19,
            "RPCServerDriver.Upgrade",
            Arg::Empty,
            golden!("call-019-Upgrade.request.bin"),
            golden!("call-019-Upgrade.reply.bin"),
        ),
        (
            20,
            "RpcServerDriver.GetVersion",
            Arg::Empty,
            golden!("call-020-GetVersion-V0.request.bin"),
            golden!("call-020-GetVersion-V0.reply.bin"),
        ),
        (
            300,
            "RPCServerDriver.Heartbeat",
            Arg::Empty,
            golden!("call-300-Heartbeat.request.bin"),
            golden!("call-300-Heartbeat.reply.bin"),
        ),
    ]
}

fn encode_call(encoder: &mut Encoder, method: &str, seq: u64, arg: &Arg) -> Vec<u8> {
    let mut out = Vec::new();
    encoder.encode_request(&mut out, method, seq);
    let body = match arg {
        Arg::Empty => Body::Empty,
        Arg::Raw => Body::Bytes(RAW_CONFIG),
        Arg::Flags(values) => Body::Flags(values),
    };
    encoder.encode_body(&mut out, &body);
    out
}

#[test]
fn the_encoder_writes_what_gos_net_rpc_client_writes_byte_for_byte() {
    let mut encoder = Encoder::new();
    let mut seq_done = 0;
    for (seq, method, arg, request, _) in calls() {
        // The recorder sent heartbeats 21..=299 between the last two recorded calls.
        for skipped in seq_done + 1..seq {
            encode_call(&mut encoder, "RPCServerDriver.Heartbeat", skipped, &Arg::Empty);
        }
        seq_done = seq;
        assert_eq!(encode_call(&mut encoder, method, seq, &arg), request, "call {seq} {method}");
    }
}

/// Decodes one value from `stream`, returning it and the rest.
fn next<'s>(decoder: &mut Decoder, stream: &'s [u8]) -> (Value, &'s [u8]) {
    let decoded =
        decoder.decode(stream).unwrap_or_else(|e| panic!("decoding {:x?}: {e}", &stream[..stream.len().min(64)]));
    (decoded.value, &stream[decoded.consumed..])
}

fn reply_body(seq: u64) -> Option<Value> {
    let empty = Value::Struct { name: String::new(), fields: vec![] };
    Some(match seq {
        0 | 20 => Value::Int(1),
        2 => Value::String("golden".into()),
        3 => Value::String("fake".into()),
        12 => Value::Int(0),
        14 => Value::Int(1),
        15 => Value::Int(22),
        4 | 17 => return None, // checked apart
        _ => empty,
    })
}

fn reply_error(seq: u64) -> &'static str {
    match seq {
        6..=10 => "fake driver requires the --fake-ip-address option",
        11 => "fake: the pre-create check fails, as --fake-fail asks",
        16 => "IP address is not set",
        19 => "rpc: can't find method RPCServerDriver.Upgrade",
        _ => "",
    }
}

fn check_flags(body: &Value) {
    let flags = Flag::list_from_value(body).unwrap();
    let names: Vec<_> = flags.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "fake-ip-address",
            "fake-ssh-user",
            "fake-ssh-port",
            "fake-ssh-key",
            "fake-tags",
            "fake-api-token",
            "fake-call-log",
            "fake-fail"
        ]
    );
    assert_eq!(flags[0].env_var, "FAKE_IP_ADDRESS");
    assert_eq!(flags[0].usage, "IP address of the existing host");
    assert_eq!(flags[0].default, FlagValue::String(String::new()));
    assert_eq!(flags[1].default, FlagValue::String("root".into()));
    assert_eq!((flags[2].kind, &flags[2].default), (FlagKind::Int, &FlagValue::Int(22)));
    assert_eq!(flags[4].default, FlagValue::StringSlice(vec!["team=rmachine".into()]));
    assert_eq!((flags[7].kind, &flags[7].default), (FlagKind::Bool, &FlagValue::Bool(false)));
}

#[test]
fn the_decoder_reads_every_reply_a_go_plugin_sent() {
    let mut decoder = Decoder::new();
    for (seq, method, _, _, reply) in calls() {
        let (header, rest) = next(&mut decoder, reply);
        assert_eq!(header.as_struct().unwrap().0, "Response");
        assert_eq!(header.field_str("ServiceMethod").unwrap(), method);
        assert_eq!(header.field_uint("Seq").unwrap(), seq);
        assert_eq!(header.field_str("Error").unwrap(), reply_error(seq), "call {seq}");
        let (body, rest) = next(&mut decoder, rest);
        assert!(rest.is_empty(), "call {seq}: {} bytes left", rest.len());
        match seq {
            4 => check_flags(&body),
            17 => assert!(body.as_bytes().unwrap().starts_with(b"{\"IPAddress\":\"\",\"MachineName\":\"golden\"")),
            _ => assert_eq!(Some(body), reply_body(seq), "call {seq}"),
        }
    }
}

#[test]
fn the_decoder_reads_what_gos_client_sent_interfaces_and_inline_definitions_included() {
    let mut decoder = Decoder::new();
    let mut flag_maps = Vec::new();
    for (seq, method, _, request, _) in calls() {
        let (header, rest) = next(&mut decoder, request);
        assert_eq!(header.field_str("ServiceMethod").unwrap(), method);
        assert_eq!(header.field_uint("Seq").unwrap(), seq);
        let (body, rest) = next(&mut decoder, rest);
        assert!(rest.is_empty());
        if seq == 1 {
            assert_eq!(body, Value::Bytes(RAW_CONFIG.to_vec()));
        }
        if let Ok(Some(concrete)) = body.as_interface() {
            assert_eq!(concrete.name, "*rpcdriver.RPCFlags");
            flag_maps.push(concrete.value.field("Values").unwrap().cloned().unwrap());
        }
    }
    let interface =
        |name: &str, value: Value| Value::Interface(Some(Box::new(super::Concrete { name: name.into(), value })));
    let key = |k: &str| Value::String(k.into());
    assert_eq!(
        flag_maps,
        [
            Value::Map(vec![(key("fake-ip-address"), interface("string", Value::String("127.0.0.1".into())))]),
            Value::Map(vec![(key("fake-ssh-port"), interface("int", Value::Int(2222)))]),
            Value::Map(vec![(
                key("fake-tags"),
                interface("[]string", Value::Slice(vec![Value::String("a=1".into()), Value::String("b=2".into())]))
            )]),
            Value::Map(vec![]),
            Value::Map(vec![(key("swarm-master"), interface("bool", Value::Bool(false)))]),
            Value::Map(vec![(key("fake-fail"), interface("bool", Value::Bool(true)))]),
        ]
    );
}

/// Every strict prefix of a valid stream is incomplete, never an error; then the whole decodes.
#[test]
fn bytes_arriving_one_at_a_time_give_incomplete_until_the_value_is_whole() {
    let stream: Vec<u8> = calls().iter().flat_map(|c| c.4.iter().copied()).collect();
    let mut decoder = Decoder::new();
    let mut start = 0;
    let mut values = 0;
    while start < stream.len() {
        let mut end = start;
        let decoded = loop {
            match decoder.decode(&stream[start..end]) {
                Ok(decoded) => break decoded,
                Err(GobError::Incomplete { needed }) => {
                    assert!(needed > end - start, "needed {needed} with {} bytes", end - start);
                    end += 1;
                }
                Err(e) => panic!("at {start}..{end}: {e}"),
            }
        };
        start += decoded.consumed;
        values += 1;
    }
    assert_eq!(values, 2 * calls().len());
}

#[test]
fn skipping_reads_past_the_same_bytes_as_decoding() {
    let mut decoding = Decoder::new();
    let mut skipping = Decoder::new();
    for (_, _, _, _, reply) in calls() {
        let mut rest: &[u8] = reply;
        while !rest.is_empty() {
            let decoded = decoding.decode(rest).unwrap();
            assert_eq!(skipping.skip(rest).unwrap().consumed, decoded.consumed);
            rest = &rest[decoded.consumed..];
        }
    }
    assert_eq!(decoding.types().len(), skipping.types().len());
}

#[test]
fn the_decoder_reads_standalone_streams_of_every_kind() {
    let mut decoder = Decoder::new();
    let stream = golden!("stream-everything.bin");
    let (first, rest) = next(&mut decoder, stream);
    let (second, rest) = next(&mut decoder, rest);
    assert!(rest.is_empty());
    assert_eq!(first, second);
    let field = |name: &str| first.field(name).unwrap().cloned();
    assert_eq!(field("Bool"), Some(Value::Bool(true)));
    assert_eq!(field("Int"), Some(Value::Int(300)));
    assert_eq!(field("Neg"), Some(Value::Int(-129)));
    assert_eq!(field("Big"), Some(Value::Int(i64::MIN)));
    assert_eq!(field("Uint"), Some(Value::Uint(u64::MAX)));
    assert_eq!(field("Float"), Some(Value::Float(17.0)));
    assert_eq!(field("Complex"), Some(Value::Complex(1.5, -2.0)));
    assert_eq!(field("Bytes"), Some(Value::Bytes(vec![0, 1, 2])));
    assert_eq!(field("String"), Some(Value::String("héllo".into())));
    assert_eq!(field("Array"), Some(Value::Array(vec![Value::Int(1), Value::Int(0), Value::Int(3)])));
    assert_eq!(field("Skipped"), None);
    let slice = field("Slice").unwrap();
    assert_eq!(slice.as_list().unwrap()[0].field_str("B").unwrap(), "x");
    assert_eq!(slice.as_list().unwrap()[1], Value::Struct { name: "Inner".into(), fields: vec![] });
    assert_eq!(field("Map"), Some(Value::Map(vec![(Value::String("k".into()), Value::Int(7))])));
    assert_eq!(field("Struct").unwrap().field_int("A").unwrap(), -1);
    assert_eq!(field("Pointer").unwrap().field_str("B").unwrap(), "p");
    let any = field("Any").unwrap();
    let concrete = any.as_interface().unwrap().unwrap();
    assert_eq!((concrete.name.as_str(), concrete.value.field_int("ID").unwrap()), ("main.Ext", 9));
    let Some(Value::Opaque { name, data }) = field("When") else { panic!("When: {:?}", field("When")) };
    assert_eq!((name.as_str(), data.len()), ("Time", 15));
    let tree = field("Tree").unwrap();
    assert_eq!(tree.field_list("Kids")[0].field_str("Name").unwrap(), "leaf");
}

#[test]
fn the_decoder_reads_nil_interfaces_and_singletons() {
    let mut decoder = Decoder::new();
    let (map, _) = next(&mut decoder, golden!("stream-nil-interface.bin"));
    assert_eq!(map, Value::Map(vec![(Value::String("nil".into()), Value::Interface(None))]));

    let mut decoder = Decoder::new();
    let mut rest: &[u8] = golden!("stream-singletons.bin");
    let mut values = Vec::new();
    while !rest.is_empty() {
        let (value, tail) = next(&mut decoder, rest);
        values.push(value);
        rest = tail;
    }
    let strings = Value::Slice(vec![Value::String("x".into()), Value::String(String::new())]);
    assert_eq!(
        values,
        [
            Value::Int(7),
            Value::Int(-7),
            Value::String("s".into()),
            Value::Bytes(b"b".to_vec()),
            Value::Bool(true),
            Value::Float(2.5),
            strings,
            Value::Map(vec![(Value::Int(1), Value::Bool(true))]),
        ]
    );
}

impl Value {
    fn field_list(&self, name: &str) -> Vec<Value> {
        self.field(name).unwrap().map(|v| v.as_list().unwrap().to_vec()).unwrap_or_default()
    }
}
