//! The QMP client against a fake QEMU: a `UnixListener` that speaks the protocol as QEMU does
//! (greeting, events at any time, CRLF-delimited answers, errors, silence, a closed connection).

use super::*;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixListener;

const GREETING: &str = r#"{"QMP": {"version": {"qemu": {"micro": 2, "minor": 0, "major": 10}, "package": "Debian"}, "capabilities": ["oob"]}}"#;

/// A fake QEMU that answers each request through `reply` (request → lines to send, None = hang
/// up); it sends `before` right after the greeting. Returns the socket path and the requests seen.
async fn fake_qemu(
    before: &'static [&'static str],
    reply: fn(&Value) -> Option<Vec<String>>,
) -> (tempfile::TempDir, PathBuf, tokio::task::JoinHandle<Vec<Value>>) {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("qmp.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let task = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let (read, mut write) = stream.into_split();
        write.write_all(format!("{GREETING}\r\n").as_bytes()).await.unwrap();
        for line in before {
            write.write_all(format!("{line}\r\n").as_bytes()).await.unwrap();
        }
        let mut lines = BufReader::new(read).lines();
        let mut seen = Vec::new();
        while let Ok(Some(line)) = lines.next_line().await {
            let request: Value = serde_json::from_str(&line).unwrap();
            seen.push(request.clone());
            match reply(&request) {
                Some(answers) => {
                    for answer in answers {
                        write.write_all(format!("{answer}\r\n").as_bytes()).await.unwrap();
                    }
                }
                None => break,
            }
        }
        seen
    });
    (folder, path, task)
}

fn id(request: &Value) -> u64 {
    request["id"].as_u64().unwrap()
}

fn plain_answers(request: &Value) -> Option<Vec<String>> {
    let id = id(request);
    match request["execute"].as_str().unwrap() {
        "qmp_capabilities" => Some(vec![
            r#"{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "NIC_RX_FILTER_CHANGED", "data": {}}"#.into(),
            format!(r#"{{"return": {{}}, "id": {id}}}"#),
        ]),
        "query-status" => Some(vec![
            // a stale answer to another id is skipped, and so is an event
            r#"{"return": {"status": "paused"}, "id": 999}"#.into(),
            r#"{"event": "RESET", "data": {"guest": true}}"#.into(),
            format!(r#"{{"return": {{"status": "running", "singlestep": false, "running": true}}, "id": {id}}}"#),
        ]),
        "quit" => None,
        _ => Some(vec![format!(
            r#"{{"id": {id}, "error": {{"class": "CommandNotFound", "desc": "The command {} has not been found"}}}}"#,
            request["execute"].as_str().unwrap()
        )]),
    }
}

#[tokio::test]
async fn greeting_capabilities_and_a_command_skipping_events_and_stale_answers() {
    const EVENT: &str =
        r#"{"timestamp": {"seconds": 1, "microseconds": 0}, "event": "RTC_CHANGE", "data": {"offset": 0}}"#;
    let (_folder, path, task) = fake_qemu(&[EVENT], plain_answers).await;
    let mut qmp = Qmp::connect(&path, Duration::from_secs(5)).await.unwrap();
    assert_eq!(qmp.version, QemuVersion { major: 10, minor: 0, micro: 2 });
    let status = qmp.execute("query-status", None).await.unwrap();
    assert_eq!(status["status"], "running");
    drop(qmp);
    let seen = task.await.unwrap();
    assert_eq!(seen[0]["execute"], "qmp_capabilities");
    assert_eq!(seen[1]["execute"], "query-status");
    assert_ne!(seen[0]["id"], seen[1]["id"], "every request has its own id");
}

#[tokio::test]
async fn errors_carry_the_class_and_description() {
    let (_folder, path, _task) = fake_qemu(&[], plain_answers).await;
    let mut qmp = Qmp::connect(&path, Duration::from_secs(5)).await.unwrap();
    let error = qmp.execute("no-such-command", Some(json!({"x": 1}))).await.unwrap_err();
    assert!(matches!(&error, QmpError::Command { class, .. } if class == "CommandNotFound"), "{error:?}");
    assert_eq!(
        error.to_string(),
        "QMP command no-such-command failed: CommandNotFound: The command no-such-command has not been found"
    );
}

#[tokio::test]
async fn quit_accepts_a_connection_closed_before_the_answer() {
    let (_folder, path, task) = fake_qemu(&[], plain_answers).await;
    let mut qmp = Qmp::connect(&path, Duration::from_secs(5)).await.unwrap();
    qmp.execute_then_closed("quit").await.unwrap();
    assert_eq!(task.await.unwrap().last().unwrap()["execute"], "quit");
}

#[tokio::test]
async fn a_silent_qemu_times_out_and_a_missing_socket_fails_to_connect() {
    let (_folder, path, _task) = fake_qemu(&[], |request| match request["execute"].as_str() {
        Some("qmp_capabilities") => Some(vec![format!(r#"{{"return": {{}}, "id": {}}}"#, id(request))]),
        _ => Some(vec![]),
    })
    .await;
    let started = std::time::Instant::now();
    let error = query_status(&path, Duration::from_millis(300)).await.unwrap_err();
    assert!(matches!(error, QmpError::Timeout { .. }), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
    let missing = query_status(&path.with_file_name("gone.sock"), Duration::from_secs(1)).await.unwrap_err();
    assert!(matches!(missing, QmpError::Connect { .. }), "{missing:?}");
    assert!(missing.to_string().contains("gone.sock"), "{missing}");
}

#[tokio::test]
async fn something_that_is_not_qemu_is_named() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("other.sock");
    let listener = UnixListener::bind(&path).unwrap();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        stream.write_all(b"{\"hello\": 1}\r\n").await.unwrap();
        tokio::time::sleep(Duration::from_secs(2)).await;
    });
    let error = Qmp::connect(&path, Duration::from_secs(2)).await.err().unwrap();
    assert!(error.to_string().contains("not a QMP greeting"), "{error}");
}
