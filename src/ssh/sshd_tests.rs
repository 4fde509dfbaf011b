//! Tests of `Session` against a real OpenSSH sshd (see `sshd_fixture`): authentication with each
//! key kind and the agent, command output and exit status, stdin, uploads, concurrency, host key
//! pinning, timeouts and the error messages.

use std::sync::Arc;
use std::time::Duration;

use super::sshd_fixture::{TestAgent, TestSshd, client_key, free_port};
use super::{Session, SshTarget, fingerprint};

#[tokio::test]
async fn ed25519_key_runs_commands_with_separate_output_and_exit_status() {
    let keys = tempfile::tempdir().unwrap();
    let (key, public_line) = client_key(keys.path(), "id_ed25519", &["-t", "ed25519"]);
    let sshd = TestSshd::start(&[&public_line]);
    let session = sshd.connect(&sshd.target(Some(key))).await;

    let output = session.run("echo out; echo err >&2; exit 3", None).await.unwrap();
    assert_eq!(output.exit_status, 3);
    assert_eq!(output.stdout, b"out\n");
    assert_eq!(output.stderr, b"err\n");
    let killed = session.run("kill -TERM $$", None).await.unwrap();
    assert_eq!(killed.exit_status, 128 + 15);

    let offered = sshd.host_public_key.rsplit_once(' ').unwrap().0;
    assert_eq!(session.host_key(), offered, "host_key() is the server's key without comment");
    assert_eq!(session.commands_run(), 2);
    session.close().await;
}

#[tokio::test]
async fn many_commands_run_concurrently_on_one_session() {
    let keys = tempfile::tempdir().unwrap();
    let (key, public_line) = client_key(keys.path(), "id_ed25519", &["-t", "ed25519"]);
    let sshd = TestSshd::start(&[&public_line]);
    let session = Arc::new(sshd.connect(&sshd.target(Some(key))).await);

    // More than sshd's MaxSessions (10) at once: the session queues them instead of failing.
    let mut tasks = tokio::task::JoinSet::new();
    for number in 0..14 {
        let session = session.clone();
        tasks.spawn(async move { (number, session.run(&format!("sleep 0.3; echo {number}"), None).await) });
    }
    while let Some(joined) = tasks.join_next().await {
        let (number, result) = joined.unwrap();
        let output = result.unwrap_or_else(|error| panic!("command {number}: {error}"));
        assert_eq!(String::from_utf8(output.stdout).unwrap(), format!("{number}\n"));
    }
    assert_eq!(session.commands_run(), 14);
}

#[tokio::test]
async fn rsa_3072_keys_in_openssh_and_pem_format_authenticate() {
    let keys = tempfile::tempdir().unwrap();
    let (openssh_key, openssh_public) = client_key(keys.path(), "id_rsa", &["-t", "rsa", "-b", "3072"]);
    let (pem_key, pem_public) = client_key(keys.path(), "id_rsa_pem", &["-t", "rsa", "-b", "3072", "-m", "PEM"]);
    assert!(std::fs::read_to_string(&pem_key).unwrap().starts_with("-----BEGIN RSA PRIVATE KEY-----"));
    let sshd = TestSshd::start(&[&openssh_public, &pem_public]);

    for key in [openssh_key, pem_key] {
        let session = sshd.connect(&sshd.target(Some(key))).await;
        let output = session.run("echo rsa-ok", None).await.unwrap();
        assert_eq!(output.stdout, b"rsa-ok\n");
        session.close().await;
    }
}

#[tokio::test]
async fn stdin_reaches_the_command_and_uploads_keep_their_mode() {
    let keys = tempfile::tempdir().unwrap();
    let (key, public_line) = client_key(keys.path(), "id_ed25519", &["-t", "ed25519"]);
    let sshd = TestSshd::start(&[&public_line]);
    let session = sshd.connect(&sshd.target(Some(key))).await;

    let payload: Vec<u8> = (0..300_000u32).map(|index| (index % 251) as u8).collect();
    let echoed = session.run("cat", Some(&payload)).await.unwrap();
    assert_eq!(echoed.exit_status, 0);
    assert!(echoed.stdout == payload, "cat returned {} bytes, sent {}", echoed.stdout.len(), payload.len());
    let without_input = session.run("cat; echo done", None).await.unwrap();
    assert_eq!(without_input.stdout, b"done\n", "stdin gets end-of-file when none is given");

    let destination = sshd.path("daemon's config.json");
    let remote_path = destination.to_str().unwrap();
    session.upload(remote_path, b"{\"debug\": true}\n", 0o640).await.unwrap();
    assert_eq!(std::fs::read(&destination).unwrap(), b"{\"debug\": true}\n");
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&destination).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o640);
    session.upload(remote_path, b"second", 0o600).await.unwrap();
    assert_eq!(std::fs::read(&destination).unwrap(), b"second", "upload replaces the file");
    let leftovers: Vec<_> = std::fs::read_dir(sshd.directory.path())
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.contains("rmachine-upload"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");

    let error = session.upload("/nonexistent-directory/file", b"x", 0o644).await.unwrap_err();
    let message = error.to_string();
    assert!(message.starts_with("upload of /nonexistent-directory/file to "), "{message}");
    assert!(
        message.contains("failed with exit status 1") && message.contains("No such file or directory"),
        "{message}"
    );
}

#[tokio::test]
async fn pinned_host_key_is_enforced_and_a_change_names_both_fingerprints() {
    let keys = tempfile::tempdir().unwrap();
    let (key, public_line) = client_key(keys.path(), "id_ed25519", &["-t", "ed25519"]);
    let (_, other_host_key) = client_key(keys.path(), "other_host", &["-t", "ed25519"]);
    let sshd = TestSshd::start(&[&public_line]);

    let pinned_right =
        SshTarget { pinned_host_key: Some(sshd.host_public_key.clone()), ..sshd.target(Some(key.clone())) };
    sshd.connect(&pinned_right).await.close().await;

    let pinned_wrong = SshTarget { pinned_host_key: Some(other_host_key.clone()), ..sshd.target(Some(key)) };
    let message = Session::connect(&pinned_wrong).await.err().expect("a changed host key is refused").to_string();
    let expected_start = format!(
        "host key for 127.0.0.1:{} has changed: pinned {} (ssh-ed25519), host now offers {} (ssh-ed25519). If the host was reinstalled on purpose",
        sshd.port,
        fingerprint(&other_host_key).unwrap(),
        fingerprint(&sshd.host_public_key).unwrap()
    );
    assert!(message.starts_with(&expected_start), "{message}\nexpected start: {expected_start}");
    assert!(message.contains("rmachine rm"), "{message}");
}

#[tokio::test]
async fn refused_key_message_names_the_key_and_the_agent_identities() {
    let keys = tempfile::tempdir().unwrap();
    let (_, authorized) = client_key(keys.path(), "authorized", &["-t", "ed25519"]);
    let (wrong_key, wrong_public) = client_key(keys.path(), "id_wrong", &["-t", "ed25519"]);
    let sshd = TestSshd::start(&[&authorized]);

    let message = Session::connect(&sshd.target(Some(wrong_key.clone()))).await.err().unwrap().to_string();
    let expected = format!(
        "SSH authentication failed for {user}@127.0.0.1:{port}: the server refused key {path} (ssh-ed25519 {fingerprint}) \
         and 0 ssh-agent identities; check the machine's SSH key (the driver's key option) and that the public key is in ~{user}/.ssh/authorized_keys",
        user = sshd.user,
        port = sshd.port,
        path = wrong_key.display(),
        fingerprint = fingerprint(&wrong_public).unwrap(),
    );
    assert_eq!(message, expected);
}

#[tokio::test]
async fn ssh_agent_identities_authenticate_after_a_refused_key_file() {
    let keys = tempfile::tempdir().unwrap();
    let (agent_key, agent_public) = client_key(keys.path(), "id_agent", &["-t", "rsa", "-b", "3072"]);
    let (other_agent_key, _) = client_key(keys.path(), "id_other", &["-t", "ed25519"]);
    let (wrong_file_key, _) = client_key(keys.path(), "id_wrong", &["-t", "ed25519"]);
    let agent = TestAgent::start(keys.path(), &[&other_agent_key, &agent_key]);
    let sshd = TestSshd::start(&[&agent_public]);

    let agent_only = SshTarget { agent_socket: Some(agent.socket.clone()), ..sshd.target(None) };
    let session = sshd.connect(&agent_only).await;
    assert_eq!(session.run("echo via-agent", None).await.unwrap().stdout, b"via-agent\n");

    let file_then_agent = SshTarget { agent_socket: Some(agent.socket.clone()), ..sshd.target(Some(wrong_file_key)) };
    sshd.connect(&file_then_agent).await.close().await;

    let second_directory = keys.path().join("second");
    std::fs::create_dir(&second_directory).unwrap();
    let unauthorized_agent = TestAgent::start(&second_directory, &[&other_agent_key]);
    let refused = SshTarget { agent_socket: Some(unauthorized_agent.socket.clone()), ..sshd.target(None) };
    let message = Session::connect(&refused).await.err().unwrap().to_string();
    assert!(message.contains("the server refused no key file and 1 ssh-agent identities (agent "), "{message}");
}

#[tokio::test]
async fn unreachable_and_silent_hosts_fail_within_the_connect_timeout() {
    let keys = tempfile::tempdir().unwrap();
    let (key, _) = client_key(keys.path(), "id_ed25519", &["-t", "ed25519"]);
    let closed_port = free_port();
    let target = SshTarget {
        host: "127.0.0.1".into(),
        port: closed_port,
        user: "root".into(),
        private_key: Some(key),
        agent_socket: None,
        pinned_host_key: None,
        connect_timeout: Duration::from_secs(2),
        command_timeout: Duration::from_secs(2),
    };
    let message = Session::connect(&target).await.err().unwrap().to_string();
    assert!(
        message.starts_with(&format!("cannot reach 127.0.0.1:{closed_port} over SSH: connection refused")),
        "{message}"
    );

    // Accepts TCP but never speaks SSH.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let silent_target = SshTarget { port: silent_port, connect_timeout: Duration::from_millis(700), ..target };
    let started = std::time::Instant::now();
    let message = Session::connect(&silent_target).await.err().unwrap().to_string();
    // The silent server would hold the connection forever: the timeout, not the server, ended it.
    assert!(started.elapsed() < Duration::from_secs(60));
    assert_eq!(
        message,
        format!(
            "SSH connection to root@127.0.0.1:{silent_port} did not finish its handshake and authentication within 700ms"
        )
    );
    drop(silent);
}

#[tokio::test]
async fn a_command_over_its_timeout_is_stopped_and_the_session_stays_usable() {
    let keys = tempfile::tempdir().unwrap();
    let (key, public_line) = client_key(keys.path(), "id_ed25519", &["-t", "ed25519"]);
    let sshd = TestSshd::start(&[&public_line]);
    let target = SshTarget { command_timeout: Duration::from_secs(1), ..sshd.target(Some(key)) };
    let session = sshd.connect(&target).await;

    let started = std::time::Instant::now();
    let message = session.run("sleep 30", None).await.err().unwrap().to_string();
    // Stopped well before `sleep 30` would have ended (a bound, not a speed target).
    assert!(started.elapsed() < Duration::from_secs(25));
    assert_eq!(
        message,
        format!("command `sleep 30` on {}@127.0.0.1:{} did not finish within 1s and was stopped", sshd.user, sshd.port)
    );
    assert_eq!(session.run("echo still-here", None).await.unwrap().stdout, b"still-here\n");
}

#[tokio::test]
async fn streaming_copies_input_and_both_outputs_and_returns_the_exit_status() {
    let keys = tempfile::tempdir().unwrap();
    let (key, public_line) = client_key(keys.path(), "id_ed25519", &["-t", "ed25519"]);
    let sshd = TestSshd::start(&[&public_line]);
    let session = sshd.connect(&sshd.target(Some(key))).await;

    let (input, receiver) = tokio::sync::mpsc::channel(4);
    input.send(b"hello ".to_vec()).await.unwrap();
    input.send(b"world".to_vec()).await.unwrap();
    drop(input);
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let status = session
        .stream_command("cat; echo; echo problem >&2; exit 5", receiver, &mut stdout, &mut stderr)
        .await
        .unwrap();
    assert_eq!(status, 5);
    assert_eq!(stdout, b"hello world\n");
    assert_eq!(stderr, b"problem\n");
}

#[tokio::test]
async fn the_provisioner_runs_commands_through_the_remote_trait() {
    use rmachine_provision::Remote;
    async fn kernel_name(remote: &impl Remote) -> (String, String) {
        let output = remote.run("uname -s", None).await.unwrap();
        (remote.describe(), String::from_utf8(output.stdout).unwrap())
    }
    let keys = tempfile::tempdir().unwrap();
    let (key, public_line) = client_key(keys.path(), "id_ed25519", &["-t", "ed25519"]);
    let sshd = TestSshd::start(&[&public_line]);
    let session = sshd.connect(&sshd.target(Some(key))).await;
    let (description, kernel) = kernel_name(&session).await;
    assert_eq!(description, format!("{}@127.0.0.1:{}", sshd.user, sshd.port));
    assert_eq!(kernel, "Linux\n");
}
