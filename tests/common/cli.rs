// tests/common/cli.rs — owns running the real rmachine binary in tests: a command with a clean
// environment (no DOCKER_HOST, no ssh-agent, a bash $SHELL), the checks every test makes of its
// output, and running a shell snippet after `eval "$(rmachine env NAME)"` as a user would.

use std::path::Path;
use std::process::{Command, Output};

/// `rmachine -s STORE` with an environment that can't leak into the test.
pub fn rmachine_command(store: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rmachine"));
    command
        .arg("-s")
        .arg(store)
        .env_remove("DOCKER_HOST")
        .env_remove("SSH_AUTH_SOCK")
        .env_remove("RMACHINE_STORAGE_PATH")
        .env("SHELL", "/bin/bash");
    command
}

pub fn rmachine(store: &Path, args: &[&str]) -> Output {
    rmachine_command(store).args(args).output().expect("rmachine runs")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Asserts success and returns stdout.
pub fn succeeds(what: &str, output: Output) -> String {
    assert!(
        output.status.success(),
        "{what} failed ({}):\nstdout: {}\nstderr: {}",
        output.status,
        text(&output.stdout),
        text(&output.stderr)
    );
    text(&output.stdout)
}

/// Asserts failure and returns stderr.
pub fn fails(what: &str, output: Output) -> String {
    assert!(
        !output.status.success(),
        "{what} succeeded but should have failed:\nstdout: {}\nstderr: {}",
        text(&output.stdout),
        text(&output.stderr)
    );
    text(&output.stderr)
}

/// Runs a shell snippet the way a user would after `eval "$(rmachine env NAME)"`.
pub fn with_env(store: &Path, machine: &str, script: &str) -> Output {
    let eval = format!(
        "set -e; eval \"$('{}' -s '{}' env --shell bash {machine})\"; {script}",
        env!("CARGO_BIN_EXE_rmachine"),
        store.display()
    );
    Command::new("bash").arg("-c").arg(eval).env_remove("DOCKER_HOST").output().expect("bash runs")
}

/// `rmachine create --driver generic` for the host at `ip` with `key` and `extra` flags.
pub fn create_generic(store: &Path, key: &Path, ip: &str, name: &str, extra: &[&str]) -> Output {
    let key = key.to_str().expect("key path must be UTF-8");
    let mut args = vec!["create", "--driver", "generic", "--generic-ip-address", ip, "--generic-ssh-key", key];
    args.extend_from_slice(extra);
    args.push(name);
    rmachine(store, &args)
}

/// `create --driver generic NAME` for the host at `ip` with `key`, userns-remap on and
/// `engine_timeout` seconds for the engine: the slow path the reliability tests drive.
pub fn generic_create_arguments(ip: &str, key: &Path, engine_timeout: &str, name: &str) -> Vec<String> {
    let key = key.to_str().expect("key path must be UTF-8");
    [
        "create",
        "--driver",
        "generic",
        "--generic-ip-address",
        ip,
        "--generic-ssh-key",
        key,
        "--engine-userns-remap",
        "default",
        "--engine-timeout",
        engine_timeout,
        name,
    ]
    .iter()
    .map(|word| word.to_string())
    .collect()
}

/// Gives a machine's record these engine labels, as a changed flag or cluster file would; the
/// next `provision` applies them.
pub fn set_engine_labels(store: &Path, machine: &str, labels: &[&str]) {
    let path = store.join(format!("machines/{machine}/machine.json"));
    let mut record: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    record["engine"]["labels"] = serde_json::json!(labels);
    std::fs::write(&path, record.to_string()).unwrap();
}
