//! docker-machine's dialect end to end, against real Debian hosts started by tests/testbed
//! (10.211.0.201-219, names d-*): the storage-driver rule on both engines (overlay accepted with
//! a deprecation warning by Debian 12's docker.io 20.10, refused by Debian 13's 26.1 before
//! anything is configured), `ssh NAME OPTIONS... COMMAND` and `--external-ssh` through the
//! system ssh with the pinned host key, `mount`/`mount -u` with sshfs, and `scp -d` (rsync) that
//! sends only what changed, with the bytes it sent measured. Needs root; `.ci/run` installs
//! sshfs, fuse3 and rsync.

mod common;

use common::{TestHost, create_generic, fails, rmachine, rmachine_command, ssh_keypair, succeeds, text, with_env};

#[test]
fn overlay_is_deprecated_on_docker_20_10_and_refused_on_docker_26() {
    let folder = tempfile::tempdir().unwrap();
    let store = folder.path().join("store");
    let (key, public_key) = ssh_keypair(folder.path());
    let bookworm = TestHost::start_suite("d-ovl12", "10.211.0.203", &public_key, true, "bookworm");
    let trixie = TestHost::start_suite("d-ovl13", "10.211.0.204", &public_key, true, "trixie");

    let accepted = create_generic(&store, &key, &bookworm.ip, "ovl12", &["--engine-storage-driver", "overlay"]);
    let log = text(&accepted.stderr);
    succeeds("create with overlay on docker.io 20.10", accepted);
    assert!(
        log.contains("storage driver overlay is deprecated: Docker 24.0 removed it; this host's engine 20.10.24+dfsg1 still has it"),
        "{log}"
    );
    let driver = succeeds("docker info", with_env(&store, "ovl12", "docker info --format '{{.Driver}}'"));
    assert_eq!(driver.trim(), "overlay");

    let daemon_json_before = trixie.shell("cat /etc/docker/daemon.json 2>/dev/null || echo none");
    let refused = fails(
        "create with overlay on docker.io 26.1",
        create_generic(&store, &key, &trixie.ip, "ovl13", &["--engine-storage-driver", "overlay"]),
    );
    assert!(
        refused.contains("storage driver overlay was removed in Docker 24.0 and this host's engine is 26.1.5+dfsg1")
            && refused.contains("overlay2")
            && refused.contains("nothing was configured"),
        "{refused}"
    );
    assert_eq!(trixie.shell("cat /etc/docker/daemon.json 2>/dev/null || echo none"), daemon_json_before);
    assert_eq!(trixie.shell("docker info --format '{{.Driver}}'").trim(), "overlay2", "the engine kept its driver");
    // overlay2 works there, on the same machine record's retry.
    let record = store.join("machines/ovl13/machine.json");
    let fixed = std::fs::read_to_string(&record)
        .unwrap()
        .replace("\"storage-driver\": \"overlay\"", "\"storage-driver\": \"overlay2\"");
    std::fs::write(&record, fixed).unwrap();
    succeeds("provision with overlay2", rmachine(&store, &["provision", "ovl13"]));
    let driver = succeeds("docker info", with_env(&store, "ovl13", "docker info --format '{{.Driver}}'"));
    assert_eq!(driver.trim(), "overlay2");
    succeeds("rm", rmachine(&store, &["rm", "-y", "ovl12", "ovl13"]));
}

#[test]
fn ssh_options_mount_and_scp_delta_go_through_the_system_tools_with_the_pinned_host_key() {
    let folder = tempfile::tempdir().unwrap();
    let store = folder.path().join("store");
    let (key, public_key) = ssh_keypair(folder.path());
    let host = TestHost::start_suite("d-tools", "10.211.0.205", &public_key, true, "bookworm");
    succeeds("create", create_generic(&store, &key, &host.ip, "tools", &[]));
    // env first asks the driver whether the machine runs: for generic, a TCP connect to port 22.
    let mut milliseconds: Vec<f64> = (0..31)
        .map(|_| {
            let started = std::time::Instant::now();
            succeeds("env", rmachine(&store, &["env", "tools"]));
            started.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    milliseconds.sort_by(f64::total_cmp);
    eprintln!("figure: env_generic_median_ms {:.2} ms (31 runs, debug build)", milliseconds[15]);

    // Options before the command go to the system ssh, which checks the pinned key.
    let verbose = rmachine(&store, &["ssh", "tools", "-C", "-v", "-o", "ServerAliveInterval=5", "uname", "-n"]);
    let debug = text(&verbose.stderr);
    assert_eq!(succeeds("ssh with options", verbose), "tools\n");
    assert!(debug.contains("is known and matches the ED25519 host key"), "{debug}");
    assert!(debug.contains("compression: zlib"), "-C was not passed on: {debug}");
    let quoted = succeeds("ssh -- with a command", rmachine(&store, &["ssh", "tools", "--", "echo", "a", "-b"]));
    assert_eq!(quoted, "a -b\n");
    assert_eq!(rmachine(&store, &["ssh", "--external-ssh", "tools", "exit", "7"]).status.code(), Some(7));
    assert_eq!(rmachine(&store, &["ssh", "tools", "exit", "5"]).status.code(), Some(5), "rmachine's own client");

    // mount: sshfs over the same settings; -u unmounts.
    let mountpoint = folder.path().join("etc-of-tools");
    std::fs::create_dir_all(&mountpoint).unwrap();
    let mountpoint_text = mountpoint.to_str().unwrap();
    succeeds("mount", rmachine(&store, &["mount", "tools:/etc", mountpoint_text]));
    let hostname = std::fs::read_to_string(mountpoint.join("hostname"));
    let unmounted = rmachine(&store, &["mount", "-u", mountpoint_text]);
    assert_eq!(hostname.unwrap(), "tools\n", "the machine's /etc/hostname through sshfs");
    succeeds("mount -u", unmounted);
    assert!(!mountpoint.join("hostname").exists(), "still mounted after mount -u");
    let missing = fails("mount on a missing folder", rmachine(&store, &["mount", "tools:/etc", "/nonexistent/mnt"]));
    assert!(missing.contains("mkdir -p /nonexistent/mnt"), "{missing}");

    // scp -d: rsync over ssh; the second upload of a barely changed file sends a fraction of it.
    // rsync is in the test hosts' root (tests/testbed/testbed.sh PACKAGES): no apt run through the proxy.
    host.shell("command -v rsync >/dev/null");
    let counting = folder.path().join("counting-ssh");
    std::fs::create_dir_all(&counting).unwrap();
    let sent = folder.path().join("sent-bytes");
    let wrapper = counting.join("ssh");
    // The real ssh, fed through tee: rsync waits for ssh alone, tee counts what it sends.
    let script = "#!/bin/bash\nexec /usr/bin/ssh \"$@\" < <(exec tee -a \"$SENT_BYTES\")\n";
    std::fs::write(&wrapper, script).unwrap();
    std::fs::set_permissions(&wrapper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", counting.display(), std::env::var("PATH").unwrap_or_default());
    let local = folder.path().join("blob");
    let mut blob: Vec<u8> =
        (0..8u32 * 1024 * 1024).map(|index| (index.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    std::fs::write(&local, &blob).unwrap();
    let upload = |quiet: bool| {
        let _ = std::fs::remove_file(&sent);
        let mut args = vec!["scp", "-d"];
        if quiet {
            args.push("-q");
        }
        args.extend([local.to_str().unwrap(), "tools:/root/blob"]);
        let output = rmachine_command(&store).args(&args).env("PATH", &path).env("SENT_BYTES", &sent).output().unwrap();
        succeeds("scp -d", output);
        std::fs::metadata(&sent).map(|meta| meta.len()).unwrap_or(0)
    };
    let first = upload(false);
    blob[4 * 1024 * 1024..4 * 1024 * 1024 + 1024].fill(0xAB);
    std::fs::write(&local, &blob).unwrap();
    // rsync's quick check compares size and whole-second mtimes: a rewrite within the same second
    // looks unchanged, as it would to any rsync user. Move the mtime on, as an edit a moment later.
    let rewritten = std::fs::File::options().write(true).open(&local).unwrap();
    rewritten.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(2)).unwrap();
    drop(rewritten);
    let second = upload(true);
    eprintln!("figure: scp_delta_first_upload {first} bytes");
    eprintln!("figure: scp_delta_after_1KiB_change {second} bytes");
    assert!(first > 7 * 1024 * 1024, "the first upload sent the whole file: {first} bytes");
    assert!(second < 512 * 1024, "the second upload sent more than the differences: {second} bytes");
    let remote = host.shell("sha256sum /root/blob | cut -d' ' -f1");
    let local_sum = std::process::Command::new("sha256sum").arg(&local).output().unwrap();
    assert_eq!(remote.trim(), text(&local_sum.stdout).split_whitespace().next().unwrap());
    let back = folder.path().join("back");
    succeeds("scp -d back", rmachine(&store, &["scp", "-d", "-q", "tools:/root/blob", back.to_str().unwrap()]));
    assert_eq!(std::fs::read(&back).unwrap(), blob);
    let both = fails("scp -d between machines", rmachine(&store, &["scp", "-d", "tools:/root/blob", "tools:/tmp/x"]));
    assert!(both.contains("rsync cannot copy between two remote hosts"), "{both}");

    // A changed host key: the system tools refuse it too.
    host.shell("rm -f /etc/ssh/ssh_host_* && ssh-keygen -A >/dev/null && systemctl restart ssh");
    let refused = rmachine(&store, &["ssh", "--external-ssh", "tools", "true"]);
    assert_eq!(refused.status.code(), Some(255), "{}", text(&refused.stderr));
    assert!(text(&refused.stderr).contains("REMOTE HOST IDENTIFICATION HAS CHANGED"), "{}", text(&refused.stderr));
    succeeds("rm", rmachine(&store, &["rm", "-y", "tools"]));
}
