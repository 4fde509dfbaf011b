// tests/common/testbed.rs — owns the Rust side of the end-to-end test hosts: starting and stopping
// hosts (Debian 12 or 13) through tests/testbed/testbed.sh, SSH key pairs, SSH commands against a host, and the tiny
// image tarball for `docker import`. Needs root (namespaces, mounts, a bridge). std only.
//
// Hosts live at 10.211.0.2-254 on the bridge rmtest0 (10.211.0.1); apt inside goes through the
// proxy http://10.211.0.1:8888. Each host has root, `tester` (passwordless sudo) and `pwuser`
// (sudo asks for the password `PWUSER_PASSWORD`), all with the key given to `TestHost::start`.
// Tests in one binary run as threads: give each host its own name and IP.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// Password of the `pwuser` account inside every test host.
pub const PWUSER_PASSWORD: &str = "pwuser-password";
/// Address of the machine on the test bridge (the hosts' gateway and apt proxy).
pub const BRIDGE_IP: &str = "10.211.0.1";
/// The apt forward proxy the hosts use.
pub const APT_PROXY: &str = "http://10.211.0.1:8888";

/// tests/testbed/testbed.sh of this checkout.
pub fn testbed_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/testbed/testbed.sh")
}

fn describe(what: &str, out: &Output) -> String {
    format!(
        "{what} failed ({})\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs `bash testbed.sh ARGS...`; Err carries the script's whole output.
pub fn run_testbed(args: &[&str]) -> Result<Output, String> {
    let script = testbed_script();
    let out = Command::new("bash")
        .arg(&script)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if out.status.success() { Ok(out) } else { Err(describe(&format!("testbed.sh {}", args.join(" ")), &out)) }
}

fn require_root() {
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    if uid != "0" {
        panic!("the end-to-end test hosts need root (namespaces, mounts, a bridge): run the tests as root");
    }
}

/// Brings up the bridge, iptables rules and apt proxy once per test process (the script itself
/// holds a file lock, so parallel processes don't race). Panics with the script's output.
pub fn net_up() {
    static NET: OnceLock<Result<(), String>> = OnceLock::new();
    let res = NET.get_or_init(|| {
        require_root();
        run_testbed(&["net-up"]).map(|_| ())
    });
    if let Err(e) = res {
        panic!("testbed net-up: {e}");
    }
}

/// A running test host. Dropping it runs `testbed.sh host-down` (unless RMACHINE_KEEP_HOSTS=1).
#[derive(Debug)]
pub struct TestHost {
    pub name: String,
    pub ip: String,
}

impl TestHost {
    /// Starts host `name` at `ip` (10.211.0.2-254) accepting `authorized_key` (a public key file)
    /// for root, tester and pwuser; `with_docker` gives a host with docker.io already installed
    /// and dockerd running. Returns once sshd answers and systemd has finished booting.
    pub fn start(name: &str, ip: &str, authorized_key: &Path, with_docker: bool) -> TestHost {
        TestHost::start_suite(name, ip, authorized_key, with_docker, "bookworm")
    }

    /// [`TestHost::start`] with the Debian release to boot: `bookworm` (Debian 12, docker.io
    /// 20.10) or `trixie` (Debian 13, docker.io 26.1).
    pub fn start_suite(name: &str, ip: &str, authorized_key: &Path, with_docker: bool, suite: &str) -> TestHost {
        net_up();
        let key = authorized_key.to_str().expect("key path must be UTF-8");
        let mut args = vec!["host-up", name, ip, "--authorized-key", key, "--suite", suite];
        if with_docker {
            args.push("--docker");
        }
        match run_testbed(&args) {
            Ok(out) => {
                eprint!("{}", String::from_utf8_lossy(&out.stderr));
                TestHost { name: name.to_string(), ip: ip.to_string() }
            }
            Err(e) => panic!("starting test host {name} at {ip}: {e}"),
        }
    }

    /// `ssh` to this host as `user` with `key`, options for throwaway hosts, not yet run.
    pub fn ssh_command(&self, key: &Path, user: &str) -> Command {
        ssh_command(key, user, &self.ip)
    }

    /// Runs `command` (a shell command line) over SSH as `user`; returns its output.
    pub fn ssh(&self, key: &Path, user: &str, command: &str) -> Output {
        self.ssh_command(key, user).arg(command).stdin(Stdio::null()).output().expect("cannot run ssh")
    }

    /// Like `ssh` but panics unless the command succeeds; returns its stdout.
    pub fn ssh_ok(&self, key: &Path, user: &str, command: &str) -> String {
        let out = self.ssh(key, user, command);
        if !out.status.success() {
            panic!("{}", describe(&format!("ssh {user}@{} {command:?}", self.ip), &out));
        }
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs `script` (sh) inside the host as root without SSH; panics unless it succeeds; stdout.
    pub fn shell(&self, script: &str) -> String {
        let out = self.exec(&["sh", "-c", script]);
        if !out.status.success() {
            panic!("{}", describe(&format!("{script:?} on {}", self.name), &out));
        }
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs a command inside the host as root without SSH (nsenter via `testbed.sh exec`).
    pub fn exec(&self, args: &[&str]) -> Output {
        let mut all = vec!["exec", self.name.as_str()];
        all.extend_from_slice(args);
        let script = testbed_script();
        Command::new("bash").arg(&script).args(&all).stdin(Stdio::null()).output().expect("cannot run testbed.sh exec")
    }

    /// Stops the host now (what Drop does), panicking on failure.
    pub fn stop(self) {
        let name = self.name.clone();
        std::mem::forget(self);
        if let Err(e) = run_testbed(&["host-down", &name]) {
            panic!("stopping test host {name}: {e}");
        }
    }
}

impl Drop for TestHost {
    fn drop(&mut self) {
        if std::env::var("RMACHINE_KEEP_HOSTS").as_deref() == Ok("1") {
            eprintln!(
                "RMACHINE_KEEP_HOSTS=1: keeping test host {} at {} (stop it with: {} host-down {})",
                self.name,
                self.ip,
                testbed_script().display(),
                self.name
            );
            return;
        }
        // never panic in drop (it may run while unwinding)
        if let Err(e) = run_testbed(&["host-down", &self.name]) {
            eprintln!("warning: stopping test host {}: {e}", self.name);
        }
    }
}

/// `ssh -i KEY` with the options for throwaway hosts (no known_hosts, batch mode), not yet run.
pub fn ssh_command(key: &Path, user: &str, ip: &str) -> Command {
    let mut c = Command::new("ssh");
    c.arg("-i")
        .arg(key)
        .args([
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "BatchMode=yes",
            "-o",
            "ConnectTimeout=10",
            "-o",
            "LogLevel=ERROR",
        ])
        .arg(format!("{user}@{ip}"));
    c
}

/// Generates a fresh ed25519 key pair `DIR/id_ed25519{,.pub}` (no passphrase).
/// Returns (private key, public key).
pub fn ssh_keypair(dir: &Path) -> (PathBuf, PathBuf) {
    std::fs::create_dir_all(dir).expect("cannot create the key directory");
    let private = dir.join("id_ed25519");
    let public = dir.join("id_ed25519.pub");
    let _ = std::fs::remove_file(&private);
    let _ = std::fs::remove_file(&public);
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "rmachine-test", "-f"])
        .arg(&private)
        .stdin(Stdio::null())
        .output()
        .expect("cannot run ssh-keygen (apt-get install openssh-client)");
    if !out.status.success() {
        panic!("{}", describe("ssh-keygen", &out));
    }
    (private, public)
}

/// Writes `DIR/tiny-image.tar`: a busybox root for `docker import` (sh, cat, id, sleep, uname,
/// ls, echo). Returns its path.
pub fn image_tarball(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).expect("cannot create the tarball directory");
    let out = dir.join("tiny-image.tar");
    if let Err(e) = run_testbed(&["image-tarball", out.to_str().expect("path must be UTF-8")]) {
        panic!("{e}");
    }
    out
}

/// Mount points on this machine that still belong to host `name` (empty once it is down).
pub fn leftover_mounts(name: &str) -> Vec<String> {
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    let host_dir = format!("/hosts/{name}/");
    let netns = format!("/run/netns/rmt-{name}");
    mounts
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .filter(|m| format!("{m}/").contains(&host_dir) || *m == netns)
        .map(str::to_string)
        .collect()
}

/// A fresh, empty scratch directory for one test (not removed automatically).
pub fn scratch_dir(test: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rmachine-test-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("cannot create a scratch directory");
    d
}
