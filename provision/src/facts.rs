//! What a host is like, as `scripts/facts.sh` reports it in one command: its sections parsed into
//! [`HostFacts`]. Nothing here decides anything; the pipeline and its helpers do.

use std::collections::BTreeMap;

use crate::os_release::OsRelease;

/// The line that opens a section of the facts output (followed by a space and the name).
const SECTION_MARKER: &str = "@@rmachine-section@@ ";

/// Whether the login user can act as root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SudoState {
    /// The login user is root.
    Root,
    /// `sudo -n true` works.
    Passwordless,
    /// sudo is not installed.
    Missing,
    /// sudo refused; what it said.
    Denied(String),
}

/// A managed file's SHA-256 (hex) and octal mode ("644"), as the host has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileState {
    pub sha256: String,
    pub mode: String,
}

/// A process that holds a package manager's lock (another apt run, unattended-upgrades, or the
/// apt of an earlier, killed rmachine run, which goes on by itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LockHolder {
    pub pid: u32,
    /// The lock file: /var/lib/dpkg/lock-frontend.
    pub lock: String,
    /// Its command line (cut to 160 characters).
    pub command: String,
}

/// docker.service as systemd sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ServiceFacts {
    /// `systemctl is-active docker.service`: "active", "inactive", "failed"…
    pub active_state: String,
    /// "loaded", "not-found", "masked"…
    pub load_state: String,
    pub fragment_path: String,
    /// The unit file's text (the fragment, without drop-ins).
    pub unit_text: Option<String>,
    /// Every drop-in for docker.service: (path, text).
    pub drop_ins: Vec<(String, String)>,
    /// LoadState of docker.socket.
    pub socket_load_state: String,
}

/// Everything the provisioner learned about a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HostFacts {
    pub os_release: OsRelease,
    pub has_os_release: bool,
    pub user_id: u32,
    pub user_name: String,
    pub sudo: SudoState,
    pub hostname: String,
    /// The name of PID 1 (`/proc/1/comm`).
    pub init_process: String,
    /// `/run/systemd/system` exists: systemd is the running init.
    pub systemd_booted: bool,
    programs: BTreeMap<String, String>,
    /// On systemd hosts.
    pub docker_service: Option<ServiceFacts>,
    /// Contents of text files: /etc/hostname, /etc/hosts, /etc/default/docker, daemon.json.
    files: BTreeMap<String, String>,
    /// Hash and mode of each managed file that exists.
    file_states: BTreeMap<String, FileState>,
    /// `stat -f -c %T` of /var/lib/docker (or /var/lib).
    pub docker_root_filesystem: Option<String>,
    pub overlay_filesystem: bool,
    /// On xfs: whether it was made with ftype=1 (None: not xfs, or unknown).
    pub xfs_ftype: Option<bool>,
    pub fuse_device: bool,
    /// A dockerd process runs (reported on hosts without systemd).
    pub dockerd_running: bool,
    /// `dockerd --version`: "Docker version 20.10.24+dfsg1, build 297e128".
    pub dockerd_version: Option<String>,
    /// The engine's init script (/etc/init.d/docker), when there is one.
    pub init_script: Option<String>,
    /// The running engine's storage driver (`docker info`), when it runs.
    pub storage_driver_in_use: Option<String>,
    /// Processes holding a package manager's lock right now.
    pub package_manager_holders: Vec<LockHolder>,
    /// Packages dpkg left half-done, as "STATE PACKAGE" ("iU docker.io").
    pub interrupted_packages: Vec<String>,
}

impl HostFacts {
    /// Parses the output of `scripts/facts.sh`.
    pub(crate) fn parse(output: &str) -> Result<Self, String> {
        let sections = split_sections(output)?;
        let single = |name: &str| sections.get(name).map(|body| body.trim().to_string());
        let user_id_text = single("user-id").ok_or("no user-id section")?;
        let user_id = user_id_text.parse().map_err(|_| format!("user-id {user_id_text:?} is not a number"))?;
        let sudo_text = sections.get("sudo").ok_or("no sudo section")?;
        let (sudo_word, sudo_message) = sudo_text.split_once('\n').unwrap_or((sudo_text, ""));
        let sudo = match sudo_word.trim() {
            "root" => SudoState::Root,
            "passwordless" => SudoState::Passwordless,
            "missing" => SudoState::Missing,
            "denied" => SudoState::Denied(sudo_message.trim().to_string()),
            other => return Err(format!("unknown sudo state {other:?}")),
        };
        let mut programs = BTreeMap::new();
        let mut files = BTreeMap::new();
        let mut file_states = BTreeMap::new();
        let mut drop_ins = Vec::new();
        for (name, body) in &sections {
            if let Some(program) = name.strip_prefix("program ") {
                let path = body.trim();
                if !path.is_empty() {
                    programs.insert(program.to_string(), path.to_string());
                }
            } else if let Some(path) = name.strip_prefix("file ") {
                files.insert(path.to_string(), body.clone());
            } else if let Some(path) = name.strip_prefix("drop-in ") {
                drop_ins.push((path.to_string(), body.clone()));
            } else if let Some(path) = name.strip_prefix("file-state ") {
                let mut words = body.split_whitespace();
                let sha256 = words.next().unwrap_or("unreadable").to_string();
                let mode = words.next().unwrap_or("unknown").to_string();
                file_states.insert(path.to_string(), FileState { sha256, mode });
            }
        }
        let docker_service = sections.get("docker-service").map(|properties| {
            let properties = properties_of(properties);
            let socket = properties_of(sections.get("docker-socket").map_or("", String::as_str));
            ServiceFacts {
                active_state: single("docker-service-active").unwrap_or_default(),
                load_state: properties.get("LoadState").cloned().unwrap_or_default(),
                fragment_path: properties.get("FragmentPath").cloned().unwrap_or_default(),
                unit_text: sections.get("docker-unit").cloned(),
                drop_ins,
                socket_load_state: socket.get("LoadState").cloned().unwrap_or_default(),
            }
        });
        Ok(Self {
            os_release: OsRelease::parse(sections.get("os-release").map_or("", String::as_str)),
            has_os_release: sections.contains_key("os-release"),
            user_id,
            user_name: single("user-name").filter(|name| !name.is_empty()).unwrap_or(user_id_text),
            sudo,
            hostname: single("hostname").unwrap_or_default(),
            init_process: single("init-process").unwrap_or_default(),
            systemd_booted: sections.contains_key("systemd-booted"),
            programs,
            docker_service,
            files,
            file_states,
            docker_root_filesystem: single("docker-root-filesystem").filter(|name| !name.is_empty()),
            overlay_filesystem: sections.contains_key("overlay-filesystem"),
            xfs_ftype: single("xfs-ftype").filter(|text| !text.is_empty()).map(|text| text == "ftype=1"),
            fuse_device: sections.contains_key("fuse-device"),
            dockerd_running: sections.contains_key("dockerd-running"),
            init_script: single("init-script").filter(|path| !path.is_empty()),
            dockerd_version: single("dockerd-version").filter(|text| !text.is_empty()),
            storage_driver_in_use: single("docker-storage-driver").filter(|name| !name.is_empty()),
            package_manager_holders: sections
                .get("package-manager-holders")
                .map_or_else(Vec::new, |body| lock_holders(body)),
            interrupted_packages: sections.get("packages-interrupted").map_or_else(Vec::new, |body| {
                body.lines().map(str::trim).filter(|line| !line.is_empty()).map(str::to_string).collect()
            }),
        })
    }

    /// Where `command -v NAME` found a program (facts.sh asks for dockerd, docker, curl, wget,
    /// rc-service, fuse-overlayfs, the package managers and update-rc.d).
    pub(crate) fn program(&self, name: &str) -> Option<&str> {
        self.programs.get(name).map(String::as_str)
    }

    /// A text file's content, when it exists.
    pub(crate) fn file(&self, path: &str) -> Option<&str> {
        self.files.get(path).map(String::as_str)
    }

    /// A managed file's hash and mode, when it exists.
    pub(crate) fn file_state(&self, path: &str) -> Option<&FileState> {
        self.file_states.get(path)
    }

    /// Whether docker.service is running (systemd hosts).
    pub(crate) fn docker_service_active(&self) -> bool {
        self.docker_service.as_ref().is_some_and(|service| service.active_state == "active")
    }

    /// Whether a dockerd process runs (hosts without systemd).
    pub(crate) fn dockerd_process_running(&self) -> bool {
        self.dockerd_running
    }

    #[cfg(test)]
    pub(crate) fn for_tests() -> Self {
        Self::parse("@@rmachine-section@@ user-id\n0\n@@rmachine-section@@ sudo\nroot\n\n").unwrap()
    }

    #[cfg(test)]
    pub(crate) fn set_file(&mut self, path: &str, text: &str) {
        self.files.insert(path.to_string(), text.to_string());
    }

    #[cfg(test)]
    pub(crate) fn set_program(&mut self, name: &str, path: &str) {
        self.programs.insert(name.to_string(), path.to_string());
    }
}

/// Splits facts output into sections; each body loses the one newline facts.sh adds after it.
fn split_sections(output: &str) -> Result<BTreeMap<String, String>, String> {
    let mut sections = BTreeMap::new();
    let mut current: Option<(String, String)> = None;
    let mut finish = |section: Option<(String, String)>| {
        if let Some((name, mut body)) = section {
            if body.ends_with('\n') {
                body.pop();
            }
            sections.insert(name, body);
        }
    };
    for line in output.split_inclusive('\n') {
        if let Some(name) = line.strip_prefix(SECTION_MARKER) {
            finish(current.take());
            current = Some((name.trim_end_matches(['\n', '\r']).to_string(), String::new()));
        } else if let Some((_, body)) = current.as_mut() {
            body.push_str(line);
        } else if !line.trim().is_empty() {
            return Err(format!("unexpected output before the first section: {line:?}"));
        }
    }
    finish(current.take());
    Ok(sections)
}

/// "PID LOCK COMMAND" lines of the package-manager-holders section.
fn lock_holders(text: &str) -> Vec<LockHolder> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.trim().splitn(3, ' ');
            let pid = words.next()?.parse().ok()?;
            let lock = words.next()?.to_string();
            Some(LockHolder { pid, lock, command: words.next().unwrap_or_default().trim().to_string() })
        })
        .collect()
}

/// `KEY=value` lines of `systemctl show`.
fn properties_of(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| (key.trim().to_string(), value.trim().to_string()))
        .collect()
}

#[cfg(test)]
#[path = "facts_tests.rs"]
mod tests;
