//! A fake host for pipeline tests: a small model of a Debian machine (files, hostname, whether
//! dockerd is installed and running) behind the `Remote` trait. It recognizes each provisioner
//! script by its `$0` name, records every command, and answers the way the real script would.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Mutex;

use rmachine_provision::{CommandOutput, Remote, RemoteError};
use sha2::{Digest, Sha256};

mod harness;
#[allow(unused_imports)] // not every test file uses every helper
pub use harness::{FakeCheck, certificates, run};

pub const DEBIAN_12: &str = include_str!("../fixtures/os-release/debian-12");
pub const DEBIAN_UNIT: &str = include_str!("../fixtures/units/debian-12-docker.io-20.10.24.service");

/// One command the provisioner ran.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub line: String,
    /// The script's `$0`, e.g. "rmachine-write-files".
    pub name: String,
    pub arguments: Vec<String>,
    pub through_sudo: bool,
    pub stdin: Option<Vec<u8>>,
}

/// Decides whether a restart of docker succeeds, from the host as it is then.
pub type RestartRule = Box<dyn Fn(&HostState) -> bool + Send>;

pub struct HostState {
    pub os_release: String,
    pub user_id: u32,
    pub user_name: String,
    /// The sudo section: "root", "passwordless", "missing" or "denied\n<message>".
    pub sudo: String,
    pub init_process: String,
    pub hostname: String,
    /// path → (content, mode)
    pub files: BTreeMap<String, (Vec<u8>, u32)>,
    pub dockerd: Option<String>,
    pub docker_active: bool,
    pub restart_rule: RestartRule,
    /// Forces write-files.sh's exit status.
    pub write_exit_status: Option<u32>,
    pub journal: String,
    pub commands: Vec<Recorded>,
    /// facts.sh's package-manager-holders lines: "PID LOCK COMMAND".
    pub lock_holders: Vec<String>,
    /// facts.sh's packages-interrupted lines: "iU docker.io".
    pub interrupted_packages: Vec<String>,
    /// What happens when package-manager.sh has waited for the holders: they are gone then,
    /// and this runs (the orphaned apt finished its install, or failed).
    pub when_holders_finish: Box<dyn Fn(&mut HostState) + Send>,
    /// Whether the holders outlast package-manager.sh's wait (it exits 3).
    pub holders_outlast_the_wait: bool,
    /// Whether `dpkg --configure -a` finishes the interrupted packages.
    pub repair_works: bool,
}

pub struct FakeHost {
    pub state: Mutex<HostState>,
}

impl FakeHost {
    /// A fresh Debian 12 host with systemd, logged into as root, without Docker.
    pub fn debian() -> Self {
        let mut files = BTreeMap::new();
        files.insert("/etc/hostname".to_string(), (b"debian\n".to_vec(), 0o644));
        files.insert("/etc/hosts".to_string(), (b"127.0.0.1\tlocalhost\n127.0.1.1\tdebian\n".to_vec(), 0o644));
        Self {
            state: Mutex::new(HostState {
                os_release: DEBIAN_12.to_string(),
                user_id: 0,
                user_name: "root".into(),
                sudo: "root".into(),
                init_process: "systemd".into(),
                hostname: "debian".into(),
                files,
                dockerd: None,
                docker_active: false,
                restart_rule: Box::new(|_| true),
                write_exit_status: None,
                journal: "dockerd[812]: time=\"...\" level=info msg=\"API listen on /run/docker.sock\"\n".into(),
                commands: Vec::new(),
                lock_holders: Vec::new(),
                interrupted_packages: Vec::new(),
                when_holders_finish: Box::new(|_| {}),
                holders_outlast_the_wait: false,
                repair_works: true,
            }),
        }
    }

    /// The same host with Debian's docker.io installed and running with its default config.
    pub fn debian_with_docker() -> Self {
        let host = Self::debian();
        {
            let mut state = host.state.lock().unwrap();
            state.dockerd = Some("/usr/sbin/dockerd".into());
            state.docker_active = true;
        }
        host
    }

    pub fn with(self, change: impl FnOnce(&mut HostState)) -> Self {
        change(&mut self.state.lock().unwrap());
        self
    }

    pub fn commands(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().commands.clone()
    }

    pub fn command_names(&self) -> Vec<String> {
        self.commands().into_iter().map(|command| command.name).collect()
    }

    pub fn file(&self, path: &str) -> Option<String> {
        let state = self.state.lock().unwrap();
        state.files.get(path).map(|(content, _)| String::from_utf8_lossy(content).into_owned())
    }

    pub fn mode(&self, path: &str) -> Option<u32> {
        self.state.lock().unwrap().files.get(path).map(|(_, mode)| *mode)
    }

    pub fn clear_commands(&self) {
        self.state.lock().unwrap().commands.clear();
    }
}

impl Remote for FakeHost {
    fn run(
        &self,
        command: &str,
        stdin: Option<&[u8]>,
    ) -> impl std::future::Future<Output = Result<CommandOutput, RemoteError>> + Send {
        let mut state = self.state.lock().unwrap();
        let output = state.answer(command, stdin);
        std::future::ready(output)
    }

    fn describe(&self) -> String {
        let state = self.state.lock().unwrap();
        format!("{}@10.0.0.5:22", state.user_name)
    }
}

fn output(exit_status: u32, stdout: impl Into<Vec<u8>>, stderr: impl Into<Vec<u8>>) -> CommandOutput {
    CommandOutput { exit_status, stdout: stdout.into(), stderr: stderr.into() }
}

impl HostState {
    fn answer(&mut self, line: &str, stdin: Option<&[u8]>) -> Result<CommandOutput, RemoteError> {
        let words = split_shell_words(line);
        let through_sudo = words.starts_with(&["sudo".to_string(), "-n".to_string()]);
        let words = if through_sudo { &words[2..] } else { &words[..] };
        assert_eq!(&words[..2], ["sh", "-c"], "every command runs a script: {line}");
        let name = words[3].clone();
        let arguments = words[4..].to_vec();
        self.commands.push(Recorded {
            line: line.to_string(),
            name: name.clone(),
            arguments: arguments.clone(),
            through_sudo,
            stdin: stdin.map(<[u8]>::to_vec),
        });
        if through_sudo && self.sudo != "passwordless" {
            return Ok(output(1, "", "sudo: a password is required\n"));
        }
        if !through_sudo && self.user_id != 0 && name != "rmachine-facts" {
            return Ok(output(1, "", format!("{name}: Permission denied\n")));
        }
        Ok(match name.as_str() {
            "rmachine-facts" => output(0, self.facts(&arguments), ""),
            "rmachine-set-hostname" => {
                let hostname = &arguments[0];
                self.hostname = hostname.clone();
                self.write("/etc/hostname", format!("{hostname}\n").into_bytes(), 0o644);
                let hosts = format!("127.0.0.1\tlocalhost\n127.0.1.1\t{hostname}\n");
                self.write("/etc/hosts", hosts.into_bytes(), 0o644);
                output(0, "wrote /etc/hostname\n", "")
            }
            "rmachine-install-packages" => {
                if arguments.iter().any(|package| package == "docker.io") {
                    self.dockerd = Some("/usr/sbin/dockerd".into());
                    self.docker_active = true;
                }
                output(0, "Setting up docker.io (20.10.24+dfsg1-1+deb12u1+b6) ...\n", "")
            }
            "rmachine-packages" => {
                if arguments[1] == "install" {
                    self.dockerd = Some("/usr/bin/dockerd".into());
                    self.docker_active = true;
                }
                output(0, "", "")
            }
            "rmachine-install-from-url" => {
                self.dockerd = Some("/usr/bin/dockerd".into());
                self.docker_active = true;
                output(0, "", "")
            }
            "rmachine-write-files" => self.write_files(&arguments, stdin.unwrap_or_default()),
            "rmachine-restore-files" => self.restore_files(&arguments),
            "rmachine-restart-docker" => {
                self.docker_active = (self.restart_rule)(self);
                if self.docker_active {
                    output(0, "docker.service: active\n", "")
                } else {
                    output(1, "docker.service: failed\n", "Job for docker.service failed.\n")
                }
            }
            "rmachine-journal" => output(0, self.journal.clone(), ""),
            "rmachine-package-manager" => self.package_manager(&arguments),
            "rmachine-verify-engine" => output(0, self.verify_engine(&arguments), ""),
            "rmachine-ensure-remap-user" => {
                let (user, group, start, count) = (&arguments[0], &arguments[1], &arguments[2], &arguments[3]);
                for (path, line) in [
                    ("/etc/passwd", format!("{user}:x:999:999::/:/usr/sbin/nologin\n")),
                    ("/etc/group", format!("{group}:x:999:\n")),
                    ("/etc/subuid", format!("{user}:{start}:{count}\n")),
                    ("/etc/subgid", format!("{group}:{start}:{count}\n")),
                ] {
                    let text = self.text(path) + &line;
                    self.write(path, text.into_bytes(), 0o644);
                }
                output(0, format!("created user {user}\n"), "")
            }
            other => panic!("unexpected script {other}"),
        })
    }

    /// package-manager.sh: `wait SECONDS PID...` or `repair apt`.
    fn package_manager(&mut self, arguments: &[String]) -> CommandOutput {
        match arguments[0].as_str() {
            "wait" if self.holders_outlast_the_wait => {
                output(3, "", format!("package-manager: still running after {} s: 251\n", arguments[1]))
            }
            "wait" => {
                self.lock_holders.clear();
                let finish = std::mem::replace(&mut self.when_holders_finish, Box::new(|_| {}));
                finish(self);
                output(0, "waited 12 s\n", "")
            }
            "repair" if self.repair_works => {
                self.interrupted_packages.clear();
                self.dockerd = Some("/usr/sbin/dockerd".into());
                self.docker_active = true;
                output(0, "Setting up docker.io (20.10.24+dfsg1-1+deb12u1+b6) ...\n", "")
            }
            "repair" => output(0, "", ""),
            other => panic!("package-manager.sh has no action {other}"),
        }
    }

    /// What verify-engine.sh reports: the engine does what daemon.json says.
    fn verify_engine(&self, arguments: &[String]) -> String {
        let daemon: serde_json::Value = serde_json::from_str(&self.text("/etc/docker/daemon.json")).unwrap_or_default();
        let driver = daemon["storage-driver"].as_str().unwrap_or("overlay2");
        let userns = daemon["userns-remap"].as_str().is_some();
        let mut lines = vec![
            format!("driver={driver}"),
            format!(
                "security-options=[\"name=seccomp,profile=default\"{}]",
                if userns { ",\"name=userns\"" } else { "" }
            ),
            "default-runtime=runc".to_string(),
            "runtimes=io.containerd.runc.v2 runc ".to_string(),
        ];
        if let Some(position) = arguments.iter().position(|argument| argument == "--remap-user") {
            let user = &arguments[position + 1];
            let line = self
                .text("/etc/subuid")
                .lines()
                .find(|line| line.starts_with(&format!("{user}:")))
                .unwrap_or("dockremap:100000:65536")
                .to_string();
            let fields: Vec<&str> = line.split(':').collect();
            lines.push(format!("subuid={line}"));
            lines.push(format!("uid-map=0 {} {}", fields[1], fields[2]));
            lines.push("seccomp=2".into());
            lines.push("container-runtime=runc".into());
            lines.push(format!("exec-uid-map=0 {} {}", fields[1], fields[2]));
            lines.push("exec-seccomp=2".into());
        }
        lines.join("\n") + "\n"
    }

    fn write(&mut self, path: &str, content: Vec<u8>, mode: u32) {
        self.files.insert(path.to_string(), (content, mode));
    }

    pub fn text(&self, path: &str) -> String {
        self.files.get(path).map(|(content, _)| String::from_utf8_lossy(content).into_owned()).unwrap_or_default()
    }

    fn facts(&self, managed_paths: &[String]) -> String {
        let mut sections: Vec<(String, String)> = vec![
            ("os-release".into(), self.os_release.clone()),
            ("user-id".into(), self.user_id.to_string()),
            ("user-name".into(), self.user_name.clone()),
            ("sudo".into(), self.sudo.clone()),
            ("hostname".into(), self.hostname.clone()),
            ("init-process".into(), self.init_process.clone()),
            ("program dockerd".into(), self.dockerd.clone().unwrap_or_default()),
            ("program curl".into(), "/usr/bin/curl".into()),
        ];
        let systemd = self.init_process == "systemd";
        if systemd {
            sections.push(("systemd-booted".into(), "yes".into()));
            let installed = self.dockerd.is_some();
            let active = if self.docker_active { "active" } else { "inactive" };
            sections.push(("docker-service-active".into(), active.into()));
            let load_state = if installed { "loaded" } else { "not-found" };
            sections.push((
                "docker-service".into(),
                format!(
                    "LoadState={load_state}\nFragmentPath={}\nDropInPaths=",
                    if installed { "/lib/systemd/system/docker.service" } else { "" }
                ),
            ));
            sections.push(("docker-socket".into(), format!("LoadState={load_state}\nActiveState={active}")));
            if installed {
                sections.push(("docker-unit".into(), DEBIAN_UNIT.into()));
            }
            for (path, (content, _)) in &self.files {
                if path.starts_with("/etc/systemd/system/docker.service.d/") && path.ends_with(".conf") {
                    sections.push((format!("drop-in {path}"), String::from_utf8_lossy(content).into()));
                }
            }
            if self.docker_active {
                sections.push(("docker-storage-driver".into(), "overlay2".into()));
            }
        }
        for path in [
            "/etc/hostname",
            "/etc/hosts",
            "/etc/default/docker",
            "/etc/docker/daemon.json",
            "/etc/subuid",
            "/etc/subgid",
            "/etc/passwd",
            "/etc/group",
        ] {
            if self.files.contains_key(path) {
                sections.push((format!("file {path}"), self.text(path)));
            }
        }
        sections.push(("package-manager-holders".into(), self.lock_holders.join("\n")));
        sections.push(("packages-interrupted".into(), self.interrupted_packages.join("\n")));
        sections.push(("docker-root-filesystem".into(), "ext2/ext3".into()));
        sections.push(("overlay-filesystem".into(), "yes".into()));
        for path in managed_paths {
            if let Some((content, mode)) = self.files.get(path) {
                let hash: String = Sha256::digest(content).iter().map(|byte| format!("{byte:02x}")).collect();
                sections.push((format!("file-state {path}"), format!("{hash} {mode:o}")));
            }
        }
        sections.into_iter().map(|(name, body)| format!("@@rmachine-section@@ {name}\n{body}\n")).collect()
    }

    fn write_files(&mut self, arguments: &[String], input: &[u8]) -> CommandOutput {
        if let Some(status) = self.write_exit_status {
            return output(status, "", "write-files: cannot stage the new files; nothing was changed\n");
        }
        let (marker, run_identifier) = (&arguments[0], &arguments[1]);
        let mut offset = 0;
        let mut staged = Vec::new();
        for triple in arguments[2..].chunks(3) {
            let mode = u32::from_str_radix(&triple[1], 8).unwrap();
            let length: usize = triple[2].parse().unwrap();
            staged.push((triple[0].clone(), mode, input[offset..offset + length].to_vec()));
            offset += length;
        }
        assert_eq!(offset, input.len(), "stdin holds exactly the listed lengths");
        for (path, _, _) in &staged {
            let backup = format!("{path}.rmachine-bak");
            match self.files.get(path).cloned() {
                Some(previous) => {
                    self.files.insert(backup, previous);
                }
                None => {
                    self.files.remove(&backup);
                }
            }
        }
        self.write(marker, format!("{run_identifier}\n").into_bytes(), 0o600);
        for (path, mode, content) in staged {
            self.write(&path, content, mode);
        }
        output(0, "", "")
    }

    fn restore_files(&mut self, arguments: &[String]) -> CommandOutput {
        let (marker, run_identifier) = (&arguments[0], &arguments[1]);
        if self.text(marker) != format!("{run_identifier}\n") {
            return output(0, "nothing to restore: no file was replaced\n", "");
        }
        let mut printed = String::new();
        for path in &arguments[2..] {
            match self.files.remove(&format!("{path}.rmachine-bak")) {
                Some(previous) => {
                    self.files.insert(path.clone(), previous);
                    printed.push_str(&format!("restored {path}\n"));
                }
                None => {
                    self.files.remove(path);
                    printed.push_str(&format!("removed {path} (it did not exist before)\n"));
                }
            }
        }
        self.files.remove(marker);
        output(0, printed, "")
    }
}

/// Splits a command line the way sh would for the words our quoting produces.
pub fn split_shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut characters = line.chars();
    while let Some(character) = characters.next() {
        match character {
            '\'' => {
                in_word = true;
                for quoted in characters.by_ref() {
                    if quoted == '\'' {
                        break;
                    }
                    word.push(quoted);
                }
            }
            '\\' => {
                in_word = true;
                word.extend(characters.next());
            }
            ' ' | '\t' | '\n' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            other => {
                in_word = true;
                word.push(other);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}
