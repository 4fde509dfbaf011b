//! End to end for the provisioner's depth (issue 3), against real Debian 12 hosts from
//! tests/testbed at 10.211.0.30-49: storage drivers (vfs, btrfs on a loop file, the refusal of
//! overlay2 on overlayfs), user-namespace remapping with a named user and turned off again, and
//! youki as the default runtime (a featureless build refused; youki 0.7.0 built with seccomp refused
//! because `docker exec` escapes its filter, and accepted only when asked).
//! Needs root; `.ci/run` installs btrfs-progs and builds both youki binaries into $RMACHINE_CACHE.

mod common;

use common::{TestHost, fails, image_tarball, rmachine, ssh_keypair, succeeds, text, with_env};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

/// `rmachine create --driver generic` for `host` with `extra` flags.
fn create(store: &Path, key: &Path, host: &TestHost, name: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "create",
        "--driver",
        "generic",
        "--generic-ip-address",
        &host.ip,
        "--generic-ssh-key",
        key.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    args.push(name);
    rmachine(store, &args)
}

/// Runs `script` inside the host as root (through nsenter, not SSH); panics when it fails.
fn on_host(host: &TestHost, script: &str) -> String {
    succeeds(&format!("{script} on {}", host.name), host.exec(&["sh", "-c", script]))
}

/// Changes the machine record's engine options, as a later `rmachine provision` will use them.
fn set_engine_option(store: &Path, machine: &str, key: &str, value: serde_json::Value) {
    let path = store.join(format!("machines/{machine}/machine.json"));
    let mut record: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    record["engine"][key] = value;
    std::fs::write(&path, record.to_string()).unwrap();
}

fn driver_of(store: &Path, machine: &str) -> String {
    succeeds("docker info", with_env(store, machine, "docker info --format '{{.Driver}}'")).trim().to_string()
}

#[test]
fn vfs_is_configured_and_verified_and_a_switch_warns_about_hidden_images() {
    let folder = tempfile::tempdir().unwrap();
    let store = folder.path().join("store");
    let (key, public_key) = ssh_keypair(folder.path());
    let host = TestHost::start("p3-vfs", "10.211.0.30", &public_key, true);

    let created = create(&store, &key, &host, "vfs", &["--engine-storage-driver", "vfs"]);
    let stderr = text(&created.stderr);
    succeeds("create with vfs", created);
    assert!(stderr.contains("from overlay2 to vfs") && stderr.contains("hidden"), "{stderr}");
    assert_eq!(driver_of(&store, "vfs"), "vfs");

    // Unchanged: nothing is rewritten or restarted.
    let started = Instant::now();
    let again = rmachine(&store, &["provision", "vfs"]);
    let seconds = started.elapsed().as_secs_f64();
    let again_stderr = text(&again.stderr);
    succeeds("provision again", again);
    eprintln!("re-provisioning an unchanged host (vfs) took {seconds:.2}s");
    assert!(again_stderr.contains("no change"), "{again_stderr}");

    // With no driver in the record, the running engine's driver is kept, not reset to the default.
    set_engine_option(&store, "vfs", "storage-driver", serde_json::Value::Null);
    let kept = text(&succeeds_output("provision without a driver", rmachine(&store, &["provision", "vfs"])).stderr);
    assert!(kept.contains("no change"), "{kept}");
    assert_eq!(driver_of(&store, "vfs"), "vfs");
    succeeds("rm", rmachine(&store, &["rm", "-y", "vfs"]));
    drop(host);
}

fn succeeds_output(what: &str, output: Output) -> Output {
    succeeds(what, output.clone());
    output
}

#[test]
fn overlay2_on_an_overlayfs_backed_docker_root_is_refused_and_fuse_overlayfs_works() {
    let folder = tempfile::tempdir().unwrap();
    let store = folder.path().join("store");
    let (key, public_key) = ssh_keypair(folder.path());
    let host = TestHost::start("p3-ovl", "10.211.0.31", &public_key, true);
    // Take away the ext4 bind mount: /var/lib/docker is now on the host's overlayfs root.
    on_host(
        &host,
        "systemctl stop docker.socket docker.service && umount /var/lib/docker && stat -f -c %T /var/lib/docker",
    );

    let refused = fails(
        "create with overlay2 on overlayfs",
        create(&store, &key, &host, "ovl", &["--engine-storage-driver", "overlay2"]),
    );
    assert!(refused.contains("the storage driver overlay2 cannot run on"), "{refused}");
    assert!(refused.contains("/var/lib/docker is on overlayfs"), "{refused}");
    assert!(refused.contains("fuse-overlayfs") && refused.contains("would work on this host: "), "{refused}");
    assert_eq!(
        on_host(&host, "ls /etc/docker/daemon.json /etc/systemd/system/docker.service.d 2>&1 || true")
            .matches("No such file")
            .count(),
        2,
        "nothing was written"
    );

    // What the refusal suggests works: fuse-overlayfs, once installed.
    on_host(
        &host,
        "DEBIAN_FRONTEND=noninteractive apt-get -qq update && DEBIAN_FRONTEND=noninteractive apt-get -qq install -y fuse-overlayfs >/dev/null",
    );
    succeeds("provision with fuse-overlayfs", {
        set_engine_option(&store, "ovl", "storage-driver", serde_json::json!("fuse-overlayfs"));
        rmachine(&store, &["provision", "ovl"])
    });
    assert_eq!(driver_of(&store, "ovl"), "fuse-overlayfs");
    succeeds("rm", rmachine(&store, &["rm", "-y", "ovl"]));
    drop(host);
}

/// A loop device attached on this machine, detached when dropped (after the host is gone).
struct LoopDevice(String);

impl Drop for LoopDevice {
    fn drop(&mut self) {
        let _ = Command::new("losetup").args(["-d", &self.0]).status();
    }
}

#[test]
fn btrfs_on_a_loop_file_mounted_at_var_lib_docker() {
    let folder = tempfile::tempdir().unwrap();
    let store = folder.path().join("store");
    let (key, public_key) = ssh_keypair(folder.path());
    let image = folder.path().join("btrfs.img");
    succeeds("truncate", Command::new("truncate").args(["-s", "1G"]).arg(&image).output().unwrap());
    succeeds(
        "mkfs.btrfs (apt-get install btrfs-progs)",
        Command::new("mkfs.btrfs").arg("-q").arg(&image).output().unwrap(),
    );
    let device = succeeds("losetup", Command::new("losetup").args(["--find", "--show"]).arg(&image).output().unwrap());
    let device = LoopDevice(device.trim().to_string());
    let host = TestHost::start("p3-btrfs", "10.211.0.32", &public_key, true);
    on_host(&host, &format!("systemctl stop docker.socket docker.service && mount {} /var/lib/docker", device.0));

    succeeds("create with btrfs", create(&store, &key, &host, "btrfs", &["--engine-storage-driver", "btrfs"]));
    assert_eq!(driver_of(&store, "btrfs"), "btrfs");
    let tarball = image_tarball(folder.path());
    let ran = succeeds(
        "a container on btrfs",
        with_env(
            &store,
            "btrfs",
            &format!(
                "docker import '{}' rmtest/busybox:1 >/dev/null && docker run --rm rmtest/busybox:1 echo on-btrfs",
                tarball.display()
            ),
        ),
    );
    assert_eq!(ran.trim(), "on-btrfs");
    succeeds("rm", rmachine(&store, &["rm", "-y", "btrfs"]));
    drop(host);
    drop(device);
}

#[test]
fn userns_remap_with_a_named_user_then_off() {
    let folder = tempfile::tempdir().unwrap();
    let store = folder.path().join("store");
    let (key, public_key) = ssh_keypair(folder.path());
    let host = TestHost::start("p3-userns", "10.211.0.33", &public_key, true);
    // Somebody already holds 100000-165535: the new user's range must not overlap it.
    on_host(&host, "echo 'someone:100000:65536' >>/etc/subuid && echo 'someone:100000:65536' >>/etc/subgid");

    let created = create(&store, &key, &host, "remapped", &["--engine-userns-remap", "remapper"]);
    let stderr = text(&created.stderr);
    succeeds("create with a named remap user", created);
    assert!(stderr.contains("--userns=host"), "the remap warning names --userns=host: {stderr}");
    let subuid = on_host(&host, "grep '^remapper:' /etc/subuid; grep '^remapper:' /etc/subgid; id -un remapper");
    assert_eq!(subuid, "remapper:165536:65536\nremapper:165536:65536\nremapper\n");

    let tarball = image_tarball(folder.path());
    let run = format!(
        "docker import '{}' rmtest/busybox:1 >/dev/null && docker run --rm rmtest/busybox:1 cat /proc/self/uid_map",
        tarball.display()
    );
    let uid_map = succeeds("a remapped container", with_env(&store, "remapped", &run));
    assert_eq!(uid_map.split_whitespace().collect::<Vec<_>>(), ["0", "165536", "65536"], "{uid_map}");
    let options =
        succeeds("docker info", with_env(&store, "remapped", "docker info --format '{{json .SecurityOptions}}'"));
    assert!(options.contains("name=userns"), "{options}");

    set_engine_option(&store, "remapped", "userns-remap", serde_json::json!("off"));
    let off = rmachine(&store, &["provision", "remapped"]);
    let off_stderr = text(&off.stderr);
    succeeds("provision with userns-remap off", off);
    assert!(off_stderr.contains("is now off"), "{off_stderr}");
    let options =
        succeeds("docker info", with_env(&store, "remapped", "docker info --format '{{json .SecurityOptions}}'"));
    assert!(!options.contains("name=userns"), "{options}");
    let uid_map = succeeds("a container without remapping", with_env(&store, "remapped", &run));
    assert_eq!(uid_map.split_whitespace().collect::<Vec<_>>(), ["0", "0", "4294967295"], "{uid_map}");
    succeeds("rm", rmachine(&store, &["rm", "-y", "remapped"]));
    drop(host);
}

/// A youki binary .ci/run built into $RMACHINE_CACHE (`youki` with seccomp, `youki-featureless`).
fn youki_build(folder: &str) -> PathBuf {
    let cache = std::env::var("RMACHINE_CACHE").unwrap_or_else(|_| "/var/cache/rmachine-ci".into());
    let path = PathBuf::from(cache).join(folder).join("bin/youki");
    assert!(
        path.is_file(),
        "{} is missing: .ci/run builds it (cargo install youki --version 0.7.0 --locked ...)",
        path.display()
    );
    path
}

/// The Seccomp: mode (/proc/self/status) of a container's first process and of processes
/// `docker exec` starts in it, under `runtime`, as a user sees them: "first exec".
fn seccomp_of_first_and_exec(store: &Path, machine: &str, runtime: &str) -> String {
    let name = format!("under-{runtime}");
    let show = "while read -r key value; do [ \"$key\" = Seccomp: ] && echo $value; done </proc/self/status; true";
    let script = format!(
        "docker run -d --runtime {runtime} --name {name} rmtest/busybox:1 sh -c '{show}; exec sleep 300' >/dev/null && sleep 1 && docker logs {name} && docker exec {name} sh -c '{show}' && docker rm -f {name} >/dev/null"
    );
    let ran =
        succeeds(&format!("a container under {runtime} and docker exec in it"), with_env(store, machine, &script));
    ran.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn youki_0_7_0_is_refused_as_exec_escapes_seccomp_unless_accepted_and_a_featureless_build_is_refused() {
    let folder = tempfile::tempdir().unwrap();
    let store = folder.path().join("store");
    let (key, public_key) = ssh_keypair(folder.path());
    let host = TestHost::start("p3-youki", "10.211.0.34", &public_key, true);
    let featureless = youki_build("youki-featureless");
    let seccomp = youki_build("youki");

    // A youki without seccomp is refused; the host keeps a working engine with runc.
    let refused = fails(
        "create with a featureless youki",
        create(
            &store,
            &key,
            &host,
            "youki",
            &[
                "--engine-runtime",
                "youki",
                "--engine-default-runtime",
                "youki",
                "--engine-runtime-binary",
                featureless.to_str().unwrap(),
            ],
        ),
    );
    // On this cgroup v1 host youki's own error says why (on a cgroup v2 host it would run the
    // smoke container with Seccomp: 0, refused the same way: see provision/src/verify_tests.rs).
    assert!(refused.contains("a smoke container failed to run"), "{refused}");
    assert!(
        refused.contains("the runtime's own error: ") && refused.contains("v1 cgroup feature is required"),
        "{refused}"
    );
    assert!(refused.contains("previous configuration was restored") && refused.contains("running again"), "{refused}");
    let runtime = on_host(&host, "docker info --format '{{.DefaultRuntime}}'");
    assert_eq!(runtime.trim(), "runc");

    // youki 0.7.0 built with seccomp filters a container's first process but not the processes
    // `docker exec` starts in it: refused too, runc stays the default.
    set_engine_option(&store, "youki", "runtime-binary", serde_json::json!(seccomp.to_str().unwrap()));
    let refused = fails("provision with youki 0.7.0 built with seccomp", rmachine(&store, &["provision", "youki"]));
    assert!(
        refused.contains(
            "a process started with `docker exec` in a container under youki shows Seccomp: \"0\", not 2, while the container's first process shows 2"
        ) && refused.contains("--engine-runtime-accept-exec-without-seccomp"),
        "{refused}"
    );
    assert!(refused.contains("previous configuration was restored") && refused.contains("running again"), "{refused}");
    assert_eq!(on_host(&host, "docker info --format '{{.DefaultRuntime}}'").trim(), "runc");

    // Accepted explicitly: youki becomes the default, with a warning naming the gap, which is real.
    set_engine_option(&store, "youki", "runtime-accept-exec-without-seccomp", serde_json::json!(true));
    let accepted = rmachine(&store, &["provision", "youki"]);
    let warned = text(&accepted.stderr);
    succeeds("provision with youki, its exec gap accepted", accepted);
    assert!(warned.contains("registered as asked, although a process started with `docker exec`"), "{warned}");
    let info = succeeds(
        "docker info",
        with_env(
            &store,
            "youki",
            "docker info --format '{{.DefaultRuntime}}|{{range $name, $_ := .Runtimes}}{{$name}} {{end}}'",
        ),
    );
    assert!(info.starts_with("youki|") && info.contains("runc"), "{info}");
    let tarball = image_tarball(folder.path());
    let import = format!("docker import '{}' rmtest/busybox:1 >/dev/null", tarball.display());
    succeeds("docker import", with_env(&store, "youki", &import));
    assert_eq!(
        seccomp_of_first_and_exec(&store, "youki", "youki"),
        "2 0",
        "youki 0.7.0 filters only the first process"
    );
    assert_eq!(seccomp_of_first_and_exec(&store, "youki", "runc"), "2 2", "runc filters both");

    // Under userns-remap youki 0.7.0 runs exec'd processes outside the container's user
    // namespace, as the host's root: refused whatever was accepted, and the engine rolled back.
    set_engine_option(&store, "youki", "userns-remap", serde_json::json!("default"));
    let refused = fails("provision youki with userns-remap", rmachine(&store, &["provision", "youki"]));
    assert!(
        refused.contains(
            "the /proc/self/uid_map of a process started with `docker exec` reads \"0 0 4294967295\", not \"0 100000 65536\""
        ) && refused.contains("outside the container's user namespace, as the host's root"),
        "{refused}"
    );
    assert!(refused.contains("previous configuration was restored") && refused.contains("running again"), "{refused}");
    assert_eq!(on_host(&host, "docker info --format '{{.DefaultRuntime}}'").trim(), "youki");
    succeeds("rm", rmachine(&store, &["rm", "-y", "youki"]));
    drop(host);
}

#[test]
fn an_engine_version_pin_is_honoured_or_refused_and_upgrade_keeps_it() {
    let folder = tempfile::tempdir().unwrap();
    let store = folder.path().join("store");
    let (key, public_key) = ssh_keypair(folder.path());
    let host = TestHost::start("p3-pin", "10.211.0.36", &public_key, false);

    // Debian 12's docker.io is 20.10.24 only: a pin of 27.3.1 is an error, and nothing is installed.
    let refused = fails(
        "create with a pin bookworm cannot honour",
        create(&store, &key, &host, "pinned", &["--engine-version", "27.3.1"]),
    );
    assert!(refused.contains("the engine version 27.3.1 was asked for"), "{refused}");
    assert!(refused.contains("offers only 20.10.24+dfsg1"), "{refused}");
    assert!(refused.contains("--engine-install-url https://get.docker.com"), "{refused}");
    assert!(on_host(&host, "command -v dockerd || echo none").trim() == "none", "nothing was installed");
    succeeds("rm", rmachine(&store, &["rm", "-y", "pinned"]));

    succeeds(
        "create with a pin it can honour",
        create(&store, &key, &host, "pinned", &["--engine-version", "20.10.24"]),
    );
    let version = succeeds("version", rmachine(&store, &["version", "pinned"]));
    assert!(version.starts_with("20.10.24"), "{version}");

    let upgraded = rmachine(&store, &["upgrade", "pinned"]);
    let upgraded_stderr = text(&upgraded.stderr);
    succeeds("upgrade", upgraded);
    assert!(
        upgraded_stderr.contains("Docker 20.10.24+dfsg1 is running (docker.io=20.10.24+dfsg1-"),
        "{upgraded_stderr}"
    );
    succeeds("rm", rmachine(&store, &["rm", "-y", "pinned"]));
    drop(host);
}

#[test]
fn a_changed_ip_is_noticed_and_regenerate_certs_fixes_it() {
    let folder = tempfile::tempdir().unwrap();
    let store = folder.path().join("store");
    let (key, public_key) = ssh_keypair(folder.path());
    let host = TestHost::start("p3-certs", "10.211.0.37", &public_key, true);
    succeeds("create", create(&store, &key, &host, "moved", &[]));
    let old_key = std::fs::read_to_string(store.join("machines/moved/server-key.pem")).unwrap();

    // The host moves to 10.211.0.38 (a second address here), and its record follows.
    on_host(&host, "ip addr add 10.211.0.38/24 dev eth0");
    let record_path = store.join("machines/moved/machine.json");
    let record = std::fs::read_to_string(&record_path).unwrap().replace("10.211.0.37", "10.211.0.38");
    std::fs::write(&record_path, record).unwrap();

    let env = rmachine(&store, &["env", "moved"]);
    assert!(text(&env.stderr).contains("'rmachine regenerate-certs moved' fixes it"), "{}", text(&env.stderr));
    let config = rmachine(&store, &["config", "moved"]);
    assert!(
        text(&config.stderr).contains("10.211.0.38, which its engine certificate does not name"),
        "{}",
        text(&config.stderr)
    );
    let listing = succeeds("ls", rmachine(&store, &["ls"]));
    assert!(listing.contains("regenerate-certs moved"), "{listing}");

    let unconfirmed =
        fails("regenerate-certs without -y and no terminal", rmachine(&store, &["regenerate-certs", "moved"]));
    assert!(unconfirmed.contains("without confirmation: pass -y"), "{unconfirmed}");
    succeeds("regenerate-certs", rmachine(&store, &["regenerate-certs", "-y", "moved"]));
    assert_ne!(std::fs::read_to_string(store.join("machines/moved/server-key.pem")).unwrap(), old_key);
    let env = rmachine(&store, &["env", "moved"]);
    assert!(!text(&env.stderr).contains("regenerate-certs"), "{}", text(&env.stderr));
    let info =
        succeeds("docker info at the new address", with_env(&store, "moved", "docker info --format '{{.Name}}'"));
    assert_eq!(info.trim(), "moved");

    // --client-certs renews the CA and the client certificate too; the engine trusts the new ones.
    let old_ca = std::fs::read_to_string(store.join("certs/ca.pem")).unwrap();
    succeeds(
        "regenerate-certs --client-certs",
        rmachine(&store, &["regenerate-certs", "-f", "--client-certs", "moved"]),
    );
    assert_ne!(std::fs::read_to_string(store.join("certs/ca.pem")).unwrap(), old_ca);
    let info = succeeds(
        "docker info with the new client certificate",
        with_env(&store, "moved", "docker info --format '{{.Name}}'"),
    );
    assert_eq!(info.trim(), "moved");
    succeeds("rm", rmachine(&store, &["rm", "-y", "moved"]));
    drop(host);
}

#[test]
fn a_sysvinit_debian_host_is_provisioned_through_its_init_script() {
    let folder = tempfile::tempdir().unwrap();
    let store = folder.path().join("store");
    let (key, public_key) = ssh_keypair(folder.path());
    common::net_up();
    let host = match common::run_testbed(&[
        "host-up",
        "p3-sysv",
        "10.211.0.39",
        "--authorized-key",
        public_key.to_str().unwrap(),
        "--init",
        "sysvinit",
    ]) {
        Ok(_) => TestHost { name: "p3-sysv".into(), ip: "10.211.0.39".into() },
        Err(error) => panic!("starting the sysvinit host: {error}"),
    };
    assert_eq!(on_host(&host, "cat /proc/1/comm; [ -d /run/systemd/system ] || echo no-systemd"), "init\nno-systemd\n");

    succeeds("create on sysvinit", create(&store, &key, &host, "sysv", &["--engine-label", "init=sysvinit"]));
    let labels = succeeds("docker info", with_env(&store, "sysv", "docker info --format '{{json .Labels}}'"));
    assert!(labels.contains("init=sysvinit"), "{labels}");
    assert_eq!(
        on_host(&host, "ls /etc/systemd/system/docker.service.d 2>/dev/null | wc -l").trim(),
        "0",
        "no drop-in without systemd"
    );
    let tarball = image_tarball(folder.path());
    let ran = succeeds(
        "a container",
        with_env(
            &store,
            "sysv",
            &format!(
                "docker import '{}' rmtest/busybox:1 >/dev/null && docker run --rm rmtest/busybox:1 echo under-sysvinit",
                tarball.display()
            ),
        ),
    );
    assert_eq!(ran.trim(), "under-sysvinit");
    let again = rmachine(&store, &["provision", "sysv"]);
    assert!(text(&again.stderr).contains("no change"), "{}", text(&again.stderr));

    // A setting dockerd refuses: rolled back, with the daemon's own words from /var/log/docker.log.
    let record_path = store.join("machines/sysv/machine.json");
    let original = std::fs::read_to_string(&record_path).unwrap();
    set_engine_option(&store, "sysv", "options", serde_json::json!(["no-such-directive=1"]));
    let broken = fails("provision with a bad option", rmachine(&store, &["provision", "sysv"]));
    assert!(broken.contains("no-such-directive"), "{broken}");
    assert!(broken.contains("previous configuration was restored") && broken.contains("running again"), "{broken}");
    std::fs::write(&record_path, &original).unwrap();
    let labels =
        succeeds("docker info after the rollback", with_env(&store, "sysv", "docker info --format '{{json .Labels}}'"));
    assert!(labels.contains("init=sysvinit"), "{labels}");

    // -H in DOCKER_OPTS would clash with daemon.json's hosts: refused before anything changes.
    on_host(&host, "echo 'DOCKER_OPTS=\"-H tcp://0.0.0.0:2375\"' >>/etc/default/docker");
    set_engine_option(&store, "sysv", "labels", serde_json::json!(["init=sysvinit", "changed=yes"]));
    let clash = fails("provision with -H in DOCKER_OPTS", rmachine(&store, &["provision", "sysv"]));
    assert!(
        clash.contains("/etc/default/docker") && clash.contains("-H") && clash.contains("Nothing was changed"),
        "{clash}"
    );
    succeeds("rm", rmachine(&store, &["rm", "-y", "sysv"]));
    drop(host);
}

/// Serves `body` over plain HTTP on the test bridge (the hosts reach 10.211.0.1), forever.
fn serve_on_bridge(body: Vec<u8>) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind((common::BRIDGE_IP, 0)).expect("bind on the test bridge");
    let url = format!("http://{}/youki-0.7.0-x86_64-gnu.tar.gz", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let header =
                format!("HTTP/1.0 200 OK\r\nContent-Length: {}\r\nContent-Type: application/gzip\r\n\r\n", body.len());
            let _ = stream.write_all(header.as_bytes()).and_then(|()| stream.write_all(&body));
        }
    });
    url
}

#[test]
fn a_downloaded_runtime_is_checked_against_its_sha256() {
    let folder = tempfile::tempdir().unwrap();
    let store = folder.path().join("store");
    let (key, public_key) = ssh_keypair(folder.path());
    let host = TestHost::start("p3-download", "10.211.0.40", &public_key, true);
    let seccomp = youki_build("youki");
    let tarball = folder.path().join("youki.tar.gz");
    succeeds(
        "tar",
        Command::new("tar")
            .arg("-czf")
            .arg(&tarball)
            .arg("-C")
            .arg(seccomp.parent().unwrap())
            .arg("youki")
            .output()
            .unwrap(),
    );
    let bytes = std::fs::read(&tarball).unwrap();
    let sha = text(&succeeds_output("sha256sum", Command::new("sha256sum").arg(&tarball).output().unwrap()).stdout)
        [..64]
        .to_string();
    let url = serve_on_bridge(bytes);

    let wrong = "0".repeat(64);
    let refused = fails(
        "create with a wrong checksum",
        create(
            &store,
            &key,
            &host,
            "download",
            // youki 0.7.0 leaves `docker exec` unfiltered (see the test above): accepted here.
            &[
                "--engine-runtime",
                "youki",
                "--engine-runtime-url",
                &url,
                "--engine-runtime-sha256",
                &wrong,
                "--engine-runtime-accept-exec-without-seccomp",
            ],
        ),
    );
    assert!(refused.contains(&format!("expected {wrong}: not installed")), "{refused}");
    assert_eq!(on_host(&host, "ls /usr/local/bin/youki 2>/dev/null || echo absent").trim(), "absent");

    set_engine_option(&store, "download", "runtime-sha256", serde_json::json!(sha));
    succeeds("provision with the right checksum", rmachine(&store, &["provision", "download"]));
    let info = succeeds(
        "docker info",
        with_env(
            &store,
            "download",
            "docker info --format '{{.DefaultRuntime}}|{{range $name, $_ := .Runtimes}}{{$name}} {{end}}'",
        ),
    );
    assert!(info.starts_with("runc|") && info.contains("youki"), "registered, runc stays the default: {info}");
    succeeds("rm", rmachine(&store, &["rm", "-y", "download"]));
    drop(host);
}
