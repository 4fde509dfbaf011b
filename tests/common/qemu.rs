// tests/common/qemu.rs — owns what the QEMU end-to-end tests share: the cached test guest images
// (tests/qemu/guest-image.sh), an HTTP server on 127.0.0.1 serving them with a SHA512SUMS, a
// store with its own cache and runtime folders for rmachine, a limit on guests running at once
// (TCG guests are CPU-heavy), and the checks that a machine left no QEMU process, socket or file.

use super::http_server::TestServer;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Condvar, Mutex};

/// The test images' names in $RMACHINE_CACHE/images.
pub const PLAIN_IMAGE: &str = "debian-12-rmachine-test.qcow2";
pub const DOCKER_IMAGE: &str = "debian-12-rmachine-test-docker.qcow2";
/// Guests running at once in this test process.
const GUEST_SLOTS: usize = 3;

/// The folder holding the built test images and their SHA512SUMS; panics saying how to build them.
pub fn images_folder() -> PathBuf {
    let cache =
        std::env::var_os("RMACHINE_CACHE").map_or_else(|| PathBuf::from("/var/cache/rmachine-ci"), PathBuf::from);
    let folder = cache.join("images");
    for name in [PLAIN_IMAGE, DOCKER_IMAGE, "SHA512SUMS"] {
        if !folder.join(name).is_file() {
            panic!(
                "{} is missing: build the QEMU test images with 'sudo bash tests/qemu/guest-image.sh build' (about 2 minutes once; .ci/run does it)",
                folder.join(name).display()
            );
        }
    }
    let qemu = Command::new("qemu-system-x86_64").arg("--version").output();
    if !qemu.is_ok_and(|output| output.status.success()) {
        panic!(
            "qemu-system-x86_64 is missing: install qemu-system-x86 and qemu-utils from bookworm-backports (see .ci/run)"
        );
    }
    folder
}

/// An HTTP server on 127.0.0.1 serving the test images and their SHA512SUMS from a folder of
/// links (so a test may add files, e.g. a broken image, without touching the cache).
pub struct ImageServer {
    pub server: TestServer,
    pub folder: tempfile::TempDir,
}

impl ImageServer {
    pub fn start() -> ImageServer {
        let images = images_folder();
        let folder = tempfile::tempdir().unwrap();
        for name in [PLAIN_IMAGE, DOCKER_IMAGE, "SHA512SUMS"] {
            std::os::unix::fs::symlink(images.join(name), folder.path().join(name)).unwrap();
        }
        ImageServer { server: TestServer::serve(folder.path()), folder }
    }

    pub fn url(&self, name: &str) -> String {
        self.server.url(name)
    }
}

/// A store for rmachine with its own image cache, runtime folder (short, for sockets) and home.
pub struct QemuStore {
    pub folder: tempfile::TempDir,
    pub runtime: tempfile::TempDir,
}

impl QemuStore {
    pub fn new() -> QemuStore {
        let runtime = tempfile::Builder::new().prefix("rmq").tempdir_in("/tmp").unwrap();
        QemuStore { folder: tempfile::tempdir().unwrap(), runtime }
    }

    pub fn store(&self) -> PathBuf {
        self.folder.path().join("store")
    }

    pub fn home(&self) -> &Path {
        self.folder.path()
    }

    pub fn cache(&self) -> PathBuf {
        self.folder.path().join("cache")
    }

    /// `rmachine -s STORE` with this store's folders and TCG (guests hang under this machine's KVM).
    pub fn command(&self) -> Command {
        let mut command = super::rmachine_command(&self.store());
        command
            .env("HOME", self.home())
            .env("XDG_CACHE_HOME", self.cache())
            .env("XDG_RUNTIME_DIR", self.runtime.path())
            .env("RMACHINE_QEMU_ACCEL", "tcg")
            .env_remove("RMACHINE_DRIVER")
            .env_remove("MACHINE_DRIVER");
        command
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().expect("rmachine runs")
    }

    pub fn ok(&self, args: &[&str]) -> String {
        super::succeeds(&format!("rmachine {}", args.join(" ")), self.run(args))
    }

    /// The sockets left in the runtime folder's rmachine part.
    pub fn sockets(&self) -> Vec<String> {
        list(&self.runtime.path().join("rmachine"))
    }

    /// `ls --format '{{.Name}} {{.State}} {{.URL}}'` as (name, state, url).
    pub fn listing(&self) -> Vec<(String, String, String)> {
        let text = self.ok(&["ls", "--format", "{{.Name}} {{.State}} {{.URL}}"]);
        text.lines()
            .map(|line| {
                let mut parts = line.split_whitespace().map(str::to_string);
                (parts.next().unwrap_or_default(), parts.next().unwrap_or_default(), parts.next().unwrap_or_default())
            })
            .collect()
    }

    pub fn state_and_url(&self, machine: &str) -> (String, String) {
        let row = self.listing().into_iter().find(|(name, _, _)| name == machine);
        let (_, state, url) = row.unwrap_or_else(|| panic!("machine {machine} is not listed"));
        (state, url)
    }

    /// QEMU processes started for this store (their command lines name its folder).
    pub fn qemu_processes(&self) -> Vec<String> {
        let marker = self.store().display().to_string();
        let mut found = Vec::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else { continue };
            let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            // argv[0] is QEMU's path; its process name is the machine's (`-name ...,process=`)
            let program = text.split(' ').next().unwrap_or_default().rsplit('/').next().unwrap_or_default();
            if program.starts_with("qemu-system") && text.contains(&marker) {
                found.push(format!("{}: {text}", entry.file_name().to_string_lossy()));
            }
        }
        found
    }

    /// Asserts that machine `name` left no QEMU process, socket or file.
    pub fn assert_nothing_left_of(&self, name: &str) {
        let folder = self.store().join("machines").join(name);
        assert!(!folder.exists(), "{} is left: {:?}", folder.display(), list(&folder));
        let processes: Vec<String> =
            self.qemu_processes().into_iter().filter(|line| line.contains(&format!("rmachine-{name},"))).collect();
        assert!(processes.is_empty(), "QEMU processes left: {processes:?}");
    }
}

impl Drop for QemuStore {
    /// Kills whatever QEMU a failed test left, so guests never outlive the test run.
    fn drop(&mut self) {
        for line in self.qemu_processes() {
            if let Some(pid) = line.split(':').next() {
                let _ = Command::new("kill").args(["-9", pid]).status();
            }
        }
    }
}

/// File names in a folder (empty when it does not exist).
pub fn list(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .map(|entries| entries.flatten().map(|entry| entry.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

static SLOTS: Mutex<usize> = Mutex::new(GUEST_SLOTS);
static FREED: Condvar = Condvar::new();

/// Room for `count` guests; held until dropped.
pub struct GuestSlots(usize);

pub fn guest_slots(count: usize) -> GuestSlots {
    let mut free = SLOTS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    while *free < count {
        free = FREED.wait(free).unwrap_or_else(|poisoned| poisoned.into_inner());
    }
    *free -= count;
    GuestSlots(count)
}

impl GuestSlots {
    /// Gives back one slot early (a guest that is gone).
    pub fn release_one(&mut self) {
        if self.0 > 0 {
            self.0 -= 1;
            *SLOTS.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) += 1;
            FREED.notify_all();
        }
    }
}

impl Drop for GuestSlots {
    fn drop(&mut self) {
        *SLOTS.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) += self.0;
        FREED.notify_all();
    }
}

/// Seconds since `started`, for figures.
pub fn seconds(started: std::time::Instant) -> String {
    format!("{:.1}", started.elapsed().as_secs_f64())
}
