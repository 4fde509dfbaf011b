//! The store on a full filesystem. Each test mounts a tiny filesystem (a tmpfs of 512 KiB, a
//! loop-mounted ext4 of 2 MiB with 1 KiB blocks, a tmpfs with few inodes) as root, puts a store on
//! it with a `none` machine and a generic one, fills the filesystem and then frees 0, 1, 2, ...
//! blocks, and at every step runs a `create` (its record, the client key and certificates) and a
//! `regenerate-certs --client-certs` (the store's CA and client key, a machine's server key):
//! - each one either succeeds whole, or fails with an error naming the file and "no space left";
//! - the files that were there stay byte for byte what they were, or (the four CA and client
//!   files, a server key and its certificate) are all replaced together: never a mix, never a
//!   truncated `machine.json`, never a partial key, never a temporary file left;
//! - a failed create leaves no machine folder; `ls` lists cleanly; `rm -f` cleans up.
//!
//! The drivers' own key files (`rmachine_drivers::files`: copies of SSH keys, generated key pairs)
//! get the same sweep. Prints `figure: store_full_disk ...` lines. Needs root (mount).

mod common;

use common::{rmachine_command, text};
use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A tiny filesystem mounted for one test, unmounted (and its image deleted) on drop.
struct TinyFilesystem {
    _folder: tempfile::TempDir,
    mount_point: PathBuf,
    /// The unit space is freed in: a tmpfs page or an ext4 block.
    block: u64,
}

fn run(what: &str, command: &mut Command) {
    let output = command.output().unwrap_or_else(|error| panic!("{what}: cannot run: {error}"));
    assert!(output.status.success(), "{what} failed: {}{}", text(&output.stdout), text(&output.stderr));
}

fn require_root() {
    let uid = Command::new("id").arg("-u").output().map(|output| text(&output.stdout)).unwrap_or_default();
    assert_eq!(uid.trim(), "0", "these tests mount tiny filesystems: run them as root (sudo cargo test)");
}

impl TinyFilesystem {
    fn tmpfs(options: &str) -> TinyFilesystem {
        require_root();
        let folder = tempfile::tempdir().unwrap();
        let mount_point = folder.path().join("mnt");
        std::fs::create_dir(&mount_point).unwrap();
        run("mount tmpfs", Command::new("mount").args(["-t", "tmpfs", "-o", options, "tmpfs"]).arg(&mount_point));
        TinyFilesystem { _folder: folder, mount_point, block: 4096 }
    }

    fn ext4() -> TinyFilesystem {
        require_root();
        let folder = tempfile::tempdir().unwrap();
        let image = folder.path().join("ext4.img");
        let mount_point = folder.path().join("mnt");
        std::fs::create_dir(&mount_point).unwrap();
        std::fs::File::create(&image).unwrap().set_len(2 << 20).unwrap();
        run(
            "mkfs.ext4 (install e2fsprogs)",
            Command::new("mkfs.ext4").args(["-q", "-F", "-b", "1024", "-m", "0", "-N", "256"]).arg(&image),
        );
        run("mount -o loop", Command::new("mount").args(["-o", "loop"]).arg(&image).arg(&mount_point));
        TinyFilesystem { _folder: folder, mount_point, block: 1024 }
    }

    fn filler(&self) -> PathBuf {
        self.mount_point.join("filler")
    }

    /// Fills the filesystem, then frees `blocks` blocks.
    fn fill_leaving(&self, blocks: u64) {
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(self.filler()).unwrap();
        for chunk in [65536usize, 4096, 512, 1] {
            let zeros = vec![0u8; chunk];
            while file.write_all(&zeros).is_ok() {}
        }
        let _ = file.sync_all();
        let length = file.metadata().unwrap().len();
        file.set_len(length.saturating_sub(blocks * self.block)).unwrap();
        file.sync_all().unwrap();
    }

    fn free(&self) {
        let _ = std::fs::remove_file(self.filler());
    }
}

impl Drop for TinyFilesystem {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.mount_point).status();
    }
}

/// Every file under `root` with its contents.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut folders = vec![root.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else {
                files.insert(path.strip_prefix(root).unwrap().to_path_buf(), std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

fn temporary_files(files: &BTreeMap<PathBuf, Vec<u8>>) -> Vec<&PathBuf> {
    files.keys().filter(|path| path.file_name().unwrap().to_string_lossy().starts_with(".tmp-")).collect()
}

fn rmachine(store: &Path, home: &Path, args: &[&str]) -> Output {
    rmachine_command(store).env("HOME", home).env("DOCKER_CONFIG", home.join(".docker")).args(args).output().unwrap()
}

/// A failure must say why: no space left, naming a file in the store.
fn assert_full_disk_error(what: &str, store: &Path, output: &Output) {
    let stderr = text(&output.stderr);
    assert!(
        stderr.to_lowercase().contains("no space left") && stderr.contains(&store.display().to_string()),
        "{what} failed without saying the disk is full and which file:\n{stderr}"
    );
}

/// Files that must change together: all of them as in `before`, or all different.
fn assert_together(
    what: &str,
    before: &BTreeMap<PathBuf, Vec<u8>>,
    after: &BTreeMap<PathBuf, Vec<u8>>,
    group: &[&str],
) {
    let changed: Vec<bool> =
        group.iter().map(|file| before.get(Path::new(file)) != after.get(Path::new(file))).collect();
    assert!(
        changed.iter().all(|c| *c) || changed.iter().all(|c| !*c),
        "{what}: {group:?} changed only in part ({changed:?}): a mix of old and new keys"
    );
    for file in group {
        let contents = after.get(Path::new(file)).unwrap_or_else(|| panic!("{what}: {file} is missing"));
        let pem = String::from_utf8_lossy(contents);
        assert!(pem.starts_with("-----BEGIN ") && pem.trim_end().ends_with("-----"), "{what}: {file} is truncated");
    }
}

const CERTIFICATES: [&str; 4] = ["certs/ca.pem", "certs/ca-key.pem", "certs/cert.pem", "certs/key.pem"];
const SERVER_PAIR: [&str; 2] = ["machines/far/server.pem", "machines/far/server-key.pem"];

/// A store with a ready `none` machine `keep` and a generic machine `far` whose host never answers.
fn prepare_store(filesystem: &TinyFilesystem) -> (PathBuf, PathBuf) {
    let store = filesystem.mount_point.join("store");
    let home = filesystem.mount_point.join("home");
    std::fs::create_dir(&home).unwrap();
    let output = rmachine(&store, &home, &["create", "-d", "none", "--url", "tcp://127.0.0.1:1", "keep"]);
    assert!(output.status.success(), "create keep: {}", text(&output.stderr));
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/records-v1/generic.json");
    let mut record: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(fixture).unwrap()).unwrap();
    record["name"] = "far".into();
    record["driver"]["settings"]["ip_address"] = "127.0.0.1".into();
    record["driver"]["settings"]["ssh_port"] = 1.into();
    record["ssh"]["host"] = "127.0.0.1".into();
    record["ssh"]["port"] = 1.into();
    let far = store.join("machines/far");
    std::fs::create_dir(&far).unwrap();
    std::fs::set_permissions(&far, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::write(far.join("machine.json"), record.to_string()).unwrap();
    (store, home)
}

/// Counts of one sweep, for the figures.
#[derive(Default)]
struct Sweep {
    cases: usize,
    refused_full: usize,
    succeeded: usize,
}

/// One step: a create and a certificate renewal with `blocks` blocks free (`None`: the space is
/// not filled, another resource is short); checks everything.
fn step(filesystem: &TinyFilesystem, store: &Path, home: &Path, blocks: Option<u64>, sweep: &mut Sweep) {
    let what = match blocks {
        Some(blocks) => format!("{blocks} block(s) free"),
        None => "inodes short".to_string(),
    };
    let before = snapshot(store);
    if let Some(blocks) = blocks {
        filesystem.fill_leaving(blocks);
    }

    let created = rmachine(store, home, &["create", "-d", "none", "--url", "tcp://127.0.0.1:1", "new"]);
    let after = snapshot(store);
    assert!(temporary_files(&after).is_empty(), "{what}: create left {:?}", temporary_files(&after));
    for (path, contents) in &before {
        assert_eq!(after.get(path), Some(contents), "{what}: create changed {}", path.display());
    }
    if created.status.success() {
        sweep.succeeded += 1;
        let key = std::fs::read(store.join("machines/new/key.pem")).unwrap();
        assert_eq!(key, std::fs::read(store.join("certs/key.pem")).unwrap(), "{what}: the new machine's key");
        let record = rmachine(store, home, &["inspect", "new"]);
        assert!(record.status.success(), "{what}: inspect new: {}", text(&record.stderr));
    } else {
        sweep.refused_full += 1;
        assert_full_disk_error(&format!("{what}: create"), store, &created);
        assert!(!store.join("machines/new").exists(), "{what}: a failed create left its folder");
    }
    sweep.cases += 1;

    let renewed = rmachine(store, home, &["regenerate-certs", "--client-certs", "-y", "far"]);
    assert!(!renewed.status.success(), "{what}: regenerate-certs reached a host that is not there");
    let renewed_after = snapshot(store);
    assert!(temporary_files(&renewed_after).is_empty(), "{what}: renewal left {:?}", temporary_files(&renewed_after));
    assert_together(&what, &after, &renewed_after, &CERTIFICATES);
    if after.contains_key(Path::new(SERVER_PAIR[0])) || renewed_after.contains_key(Path::new(SERVER_PAIR[0])) {
        assert_together(&what, &after, &renewed_after, &SERVER_PAIR);
    }
    if renewed_after.get(Path::new(CERTIFICATES[0])) == after.get(Path::new(CERTIFICATES[0])) {
        sweep.refused_full += 1;
        assert_full_disk_error(&format!("{what}: regenerate-certs"), store, &renewed);
    } else {
        sweep.succeeded += 1;
    }
    sweep.cases += 1;

    let listed = rmachine(store, home, &["ls", "-q", "--timeout", "1"]);
    assert!(listed.status.success(), "{what}: ls: {}", text(&listed.stderr));
    let names = text(&listed.stdout);
    assert!(names.lines().any(|line| line == "keep") && names.lines().any(|line| line == "far"), "{what}: {names}");
    filesystem.free();
    if created.status.success() {
        let removed = rmachine(store, home, &["rm", "-f", "-y", "new"]);
        assert!(removed.status.success(), "{what}: rm new: {}", text(&removed.stderr));
    }
}

fn sweep(name: &str, filesystem: TinyFilesystem, blocks: std::ops::RangeInclusive<u64>) {
    let (store, home) = prepare_store(&filesystem);
    let mut counts = Sweep::default();
    for free in blocks {
        step(&filesystem, &store, &home, Some(free), &mut counts);
    }
    assert!(counts.refused_full > 0 && counts.succeeded > 0, "{name}: the sweep must cover both outcomes");
    println!("figure: store_full_disk {name} cases {} steps", counts.cases);
    println!("figure: store_full_disk {name} refused_cleanly {} steps", counts.refused_full);
    println!("figure: store_full_disk {name} completed {} steps", counts.succeeded);
}

#[test]
fn a_full_tmpfs_never_leaves_a_half_written_store() {
    sweep("tmpfs", TinyFilesystem::tmpfs("size=512k,mode=0700"), 0..=16);
}

#[test]
fn a_full_ext4_never_leaves_a_half_written_store() {
    sweep("ext4", TinyFilesystem::ext4(), 0..=48);
}

#[test]
fn running_out_of_inodes_never_leaves_a_half_written_store() {
    let filesystem = TinyFilesystem::tmpfs("size=4m,nr_inodes=40,mode=0700");
    let (store, home) = prepare_store(&filesystem);
    let mut counts = Sweep::default();
    let mut placeholders = Vec::new();
    // Take every inode but `free` with empty files, then run the same step.
    for free in (0..=10).rev() {
        placeholders.clear();
        for index in 0.. {
            let path = filesystem.mount_point.join(format!("inode-{index}"));
            if std::fs::File::create(&path).is_err() {
                break;
            }
            placeholders.push(path);
        }
        for path in placeholders.iter().rev().take(free) {
            std::fs::remove_file(path).unwrap();
        }
        step(&filesystem, &store, &home, None, &mut counts);
        for path in &placeholders {
            let _ = std::fs::remove_file(path);
        }
    }
    assert!(counts.refused_full > 0 && counts.succeeded > 0, "inodes: the sweep must cover both outcomes");
    println!("figure: store_full_disk inodes cases {} steps", counts.cases);
    println!("figure: store_full_disk inodes refused_cleanly {} steps", counts.refused_full);
}

#[test]
fn driver_key_files_are_whole_or_absent_on_a_full_disk() {
    let filesystem = TinyFilesystem::tmpfs("size=256k,mode=0700");
    let folder = filesystem.mount_point.join("keys");
    std::fs::create_dir(&folder).unwrap();
    let key = vec![b'k'; 10_000];
    let (mut refused, mut written) = (0, 0);
    for free in 0..=8 {
        filesystem.fill_leaving(free);
        let copy = folder.join("id_ssh");
        match rmachine_drivers::files::write_private(&copy, &key) {
            Ok(()) => {
                written += 1;
                assert_eq!(std::fs::read(&copy).unwrap(), key, "{free} pages free: the copy is whole");
            }
            Err(error) => {
                refused += 1;
                let message = error.to_string();
                assert!(message.contains("No space left") && message.contains("id_ssh"), "{message}");
                assert!(!copy.exists(), "{free} pages free: a partial key was left at {}", copy.display());
            }
        }
        let generated = folder.join("id_ed25519");
        match rmachine_drivers::files::generate_ed25519_key(&generated, "full-disk") {
            Ok(_) => assert!(generated.exists() && folder.join("id_ed25519.pub").exists()),
            Err(_) => assert!(!generated.exists() && !folder.join("id_ed25519.pub").exists(), "a half key pair"),
        }
        let left: Vec<_> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .filter(|name| name.starts_with(".tmp-"))
            .collect();
        assert!(left.is_empty(), "{free} pages free: temporary files left: {left:?}");
        for file in ["id_ssh", "id_ed25519", "id_ed25519.pub"] {
            let _ = std::fs::remove_file(folder.join(file));
        }
        filesystem.free();
    }
    assert!(refused > 0 && written > 0, "refused {refused}, written {written}");
    println!("figure: store_full_disk driver_keys cases {} steps", refused + written);
}
