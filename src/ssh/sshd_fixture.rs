//! Test fixtures for the SSH tests: a real OpenSSH sshd on 127.0.0.1 with a random port, its own
//! host key and authorized_keys file (needs /usr/sbin/sshd: `apt-get install -y openssh-server`;
//! the system service is never started), an ssh-agent, and client keys made by ssh-keygen.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tempfile::TempDir;

use super::{Session, SshTarget};

const SSHD: &str = "/usr/sbin/sshd";

/// An sshd child process serving one test; killed on drop.
pub(super) struct TestSshd {
    child: Child,
    pub(super) port: u16,
    pub(super) directory: TempDir,
    pub(super) host_public_key: String,
    pub(super) user: String,
}

impl TestSshd {
    pub(super) fn start(authorized_public_keys: &[&str]) -> TestSshd {
        assert!(
            Path::new(SSHD).exists(),
            "{SSHD} is missing: install OpenSSH's server (apt-get install -y openssh-server) to run the SSH tests"
        );
        let directory = tempfile::tempdir().unwrap();
        let host_key = directory.path().join("host_ed25519");
        ssh_keygen(&host_key, &["-t", "ed25519"]);
        let host_public_key = read_public_line(&host_key);
        let authorized_keys = directory.path().join("authorized_keys");
        std::fs::write(&authorized_keys, authorized_public_keys.join("\n") + "\n").unwrap();
        let config = directory.path().join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "ListenAddress 127.0.0.1\nHostKey {}\nPidFile none\nAuthorizedKeysFile {}\n\
                 PermitRootLogin prohibit-password\nPasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nLogLevel VERBOSE\n",
                host_key.display(),
                authorized_keys.display()
            ),
        )
        .unwrap();
        // Debian's sshd refuses to start without its privilege separation directory.
        std::fs::create_dir_all("/run/sshd").unwrap();
        let port = free_port();
        let log = std::fs::File::create(directory.path().join("sshd.log")).unwrap();
        let child = Command::new(SSHD)
            .args(["-D", "-e", "-f"])
            .arg(&config)
            .args(["-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start sshd");
        let user = String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout).unwrap();
        let mut sshd = TestSshd { child, port, directory, host_public_key, user: user.trim().to_string() };
        sshd.wait_until_listening();
        sshd
    }

    fn wait_until_listening(&mut self) {
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("sshd exited with {status}: {}", self.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("sshd did not listen on port {} within 5s: {}", self.port, self.log());
    }

    pub(super) fn log(&self) -> String {
        std::fs::read_to_string(self.directory.path().join("sshd.log")).unwrap_or_default()
    }

    pub(super) fn path(&self, name: &str) -> PathBuf {
        self.directory.path().join(name)
    }

    pub(super) fn target(&self, private_key: Option<PathBuf>) -> SshTarget {
        SshTarget {
            host: "127.0.0.1".into(),
            port: self.port,
            user: self.user.clone(),
            private_key,
            agent_socket: None,
            pinned_host_key: None,
            connect_timeout: Duration::from_secs(10),
            command_timeout: Duration::from_secs(30),
        }
    }

    pub(super) async fn connect(&self, target: &SshTarget) -> Session {
        match Session::connect(target).await {
            Ok(session) => session,
            Err(error) => panic!("{error}\nsshd log:\n{}", self.log()),
        }
    }
}

impl Drop for TestSshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(super) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn ssh_keygen(path: &Path, arguments: &[&str]) {
    let status = Command::new("ssh-keygen")
        .args(["-q", "-N", "", "-C", "test-key", "-f"])
        .arg(path)
        .args(arguments)
        .status()
        .expect("ssh-keygen runs (apt-get install -y openssh-client)");
    assert!(status.success(), "ssh-keygen {arguments:?} failed");
}

fn read_public_line(private_path: &Path) -> String {
    let public = std::fs::read_to_string(format!("{}.pub", private_path.display())).unwrap();
    public.trim().to_string()
}

/// A fresh client key of the given ssh-keygen kind; returns its path and public line.
pub(super) fn client_key(directory: &Path, name: &str, arguments: &[&str]) -> (PathBuf, String) {
    let path = directory.join(name);
    ssh_keygen(&path, arguments);
    let public_line = read_public_line(&path);
    (path, public_line)
}

/// An ssh-agent child holding `keys`; killed on drop.
pub(super) struct TestAgent {
    child: Child,
    pub(super) socket: PathBuf,
}

impl TestAgent {
    pub(super) fn start(directory: &Path, keys: &[&Path]) -> TestAgent {
        let socket = directory.join("agent.sock");
        let child = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&socket)
            .stdout(Stdio::null())
            .spawn()
            .expect("start ssh-agent");
        for _ in 0..100 {
            if socket.exists() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        for key in keys {
            let status = Command::new("ssh-add").arg("-q").arg(key).env("SSH_AUTH_SOCK", &socket).status().unwrap();
            assert!(status.success(), "ssh-add {}", key.display());
        }
        TestAgent { child, socket }
    }
}

impl Drop for TestAgent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
