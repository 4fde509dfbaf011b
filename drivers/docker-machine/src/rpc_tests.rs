//! The net/rpc client against a peer on loopback that answers with bytes a Go plugin sent
//! (golden/), or with broken ones: replies to calls never made, garbage, a bad handshake, a
//! connection closed mid-call.

use super::*;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

const REPLY_SEQ_0: &[u8] = include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/golden/call-000-GetVersion.reply.bin"));
const REPLY_SEQ_18: &[u8] = include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/golden/call-018-Heartbeat.reply.bin"));

/// A one-connection server: reads the CONNECT request, answers `status`, waits for `wait_for`
/// bytes of requests, then writes `reply` and, if `close`, hangs up (else it lingers).
async fn serve(status: &'static str, wait_for: usize, reply: Vec<u8>, close: bool) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut request = Vec::new();
        while !request.ends_with(b"\n\n") {
            let mut byte = [0u8];
            if stream.read_exact(&mut byte).await.is_err() {
                return;
            }
            request.push(byte[0]);
        }
        assert_eq!(request, b"CONNECT /_goRPC_ HTTP/1.0\n\n");
        stream.write_all(status.as_bytes()).await.unwrap();
        let mut seen = vec![0u8; wait_for];
        if stream.read_exact(&mut seen).await.is_err() {
            return;
        }
        stream.write_all(&reply).await.unwrap();
        if !close {
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
    });
    address
}

const CONNECTED_ANSWER: &str = "HTTP/1.0 200 Connected to Go RPC\n\n";

async fn client(address: &str) -> RpcClient {
    RpcClient::connect("docker-machine-driver-test", address, Duration::from_secs(5)).await.unwrap()
}

#[tokio::test]
async fn a_reply_is_handed_to_its_call_and_one_to_a_call_never_made_fails_the_others() {
    let reply = [REPLY_SEQ_0, REPLY_SEQ_18].concat();
    let address = serve(CONNECTED_ANSWER, 1, reply, false).await;
    let client = client(&address).await;
    let timeout = Some(Duration::from_secs(5));
    let (version, state) = tokio::join!(
        client.call("RPCServerDriver.GetVersion", Body::Empty, timeout),
        client.call("RPCServerDriver.GetState", Body::Empty, timeout),
    );
    assert_eq!(version.unwrap(), Value::Int(1));
    let error = state.unwrap_err();
    assert!(matches!(&error, RpcError::UnknownSeq { seq: 18, method, .. } if method == "GetState"), "{error:?}");
    assert_eq!(
        error.to_string(),
        "the plugin docker-machine-driver-test replied to call number 18, which was never made (during GetState)"
    );
    assert!(client.is_dead());
}

#[tokio::test]
async fn a_connection_closed_mid_call_names_the_method() {
    let address = serve(CONNECTED_ANSWER, 1, Vec::new(), true).await;
    let client = client(&address).await;
    let error = client.call("RPCServerDriver.Create", Body::Empty, None).await.unwrap_err();
    assert_eq!(error.to_string(), "the plugin docker-machine-driver-test closed the connection during Create");
    let later = client.call("RPCServerDriver.GetIP", Body::Empty, None).await.unwrap_err();
    assert_eq!(later.to_string(), "the plugin docker-machine-driver-test closed the connection during GetIP");
}

#[tokio::test]
async fn garbage_in_place_of_a_reply_is_a_protocol_error() {
    let address = serve(CONNECTED_ANSWER, 1, vec![0x05, 0xff, 0xff, 0xff, 0xff, 0xff], false).await;
    let client = client(&address).await;
    let error = client.call("RPCServerDriver.GetURL", Body::Empty, None).await.unwrap_err();
    assert!(matches!(&error, RpcError::Protocol { method, .. } if method == "GetURL"), "{error:?}");
}

#[tokio::test]
async fn a_server_that_is_not_net_rpc_fails_the_handshake() {
    let address = serve("HTTP/1.0 404 Not Found\nContent-Length: 0\n\n", 1, Vec::new(), false).await;
    let error = RpcClient::connect("docker-machine-driver-test", &address, Duration::from_secs(5)).await.err().unwrap();
    assert!(matches!(&error, RpcError::Handshake { answer, .. } if answer == "HTTP/1.0 404 Not Found"), "{error:?}");
}

#[tokio::test]
async fn a_timed_out_call_leaves_the_connection_usable_and_its_late_reply_is_dropped() {
    // The reply to seq 0 comes only after the second request (seq 1) has arrived: the first
    // request is 95 bytes (golden/call-000-GetVersion.request.bin), the second 36.
    assert_eq!(
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/golden/call-000-GetVersion.request.bin")).len(),
        95
    );
    let address = serve(CONNECTED_ANSWER, 100, REPLY_SEQ_0.to_vec(), false).await;
    let client = client(&address).await;
    let first = client.call("RPCServerDriver.GetVersion", Body::Empty, Some(Duration::from_millis(200))).await;
    assert!(matches!(first, Err(RpcError::Timeout { .. })), "{first:?}");
    let second = client.call("RPCServerDriver.GetVersion", Body::Empty, Some(Duration::from_millis(500))).await;
    // Seq 0's late reply is read and dropped; seq 1 gets no reply from this server.
    assert!(matches!(second, Err(RpcError::Timeout { .. })), "{second:?}");
    assert!(!client.is_dead());
}
