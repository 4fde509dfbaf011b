//! End to end for the qemu driver with real QEMU and real Debian 12 guests under TCG, the images
//! served by an HTTP server on 127.0.0.1 in the test (with a SHA512SUMS), so download,
//! verification, cache and resume are the real paths: a machine from the image without Docker
//! (the provisioner installs docker.io in the guest) with userns-remap, after a first create was
//! interrupted mid-download and the second resumed; two machines at once (one download, resumed
//! after a dropped connection) and the whole lifecycle (stop, start on the same URL, restart inside
//! the guest, QEMU killed behind rmachine's back, a taken port re-picked, kill, rm leaving nothing);
//! a three-machine swarm from a cluster file; and failures: a wrong checksum, a missing QEMU, a
//! guest that never boots (BIOS and UEFI), a guest whose boot gets stuck (reset once by the boot
//! watchdog in create and again in a later start, then reported) and a swarm that cannot be
//! networked. Needs
//! tests/qemu/guest-image.sh's images, qemu-system-x86, ovmf, docker and busybox-static (.ci/run).

mod common;

use common::qemu::{DOCKER_IMAGE, ImageServer, PLAIN_IMAGE, QemuStore, guest_slots, list, seconds};
use common::{fails, image_tarball, succeeds, text, with_env};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn docker(store: &QemuStore, machine: &str, script: &str) -> String {
    succeeds(&format!("docker on {machine}: {script}"), with_env(&store.store(), machine, script))
}

fn figure(name: &str, value: &str, unit: &str) {
    eprintln!("figure: {name} {value} {unit}");
}

/// The image files, partial downloads and their metadata in the store's image cache.
fn cached_files(store: &QemuStore) -> Vec<String> {
    let images = store.cache().join("rmachine/images");
    let mut files: Vec<String> = list(&images).into_iter().filter(|name| name.ends_with(".img")).collect();
    files.extend(list(&images.join("downloads")).into_iter().filter(|name| !name.ends_with(".lock")));
    files
}

#[test]
fn a_machine_from_the_image_without_docker_gets_the_engine_installed_with_userns_remap() {
    let images = ImageServer::start();
    let store = QemuStore::new();
    let url = images.url(PLAIN_IMAGE);
    let _slots = guest_slots(1);

    // A first create is interrupted (Ctrl-C) while it downloads: it leaves only the partial download.
    images.server.set_rate(10_000_000);
    let first = store
        .command()
        .args(["create", "-d", "qemu", "--qemu-image", &url, "plain"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let downloads = store.cache().join("rmachine/images/downloads");
    let started = Instant::now();
    let part_size = || {
        list(&downloads)
            .iter()
            .filter(|name| name.ends_with(".part"))
            .map(|name| std::fs::metadata(downloads.join(name)).map_or(0, |meta| meta.len()))
            .sum::<u64>()
    };
    while part_size() < 30_000_000 {
        assert!(started.elapsed() < Duration::from_secs(120), "the download did not start: {:?}", list(&downloads));
        std::thread::sleep(Duration::from_millis(100));
    }
    Command::new("kill").args(["-INT", &first.id().to_string()]).status().unwrap();
    let interrupted = first.wait_with_output().unwrap();
    assert!(text(&interrupted.stderr).contains("interrupted"), "{}", text(&interrupted.stderr));
    assert!(!store.store().join("machines/plain").exists(), "the interrupted create left its machine");
    let kept = part_size();
    assert!(
        kept >= 30_000_000,
        "the partial download was not kept: {:?} {:?}\n{}",
        list(&downloads),
        list(&store.cache().join("rmachine/images")),
        text(&interrupted.stderr)
    );

    // The second create resumes the download and installs the engine in the guest.
    images.server.set_rate(0);
    let started = Instant::now();
    let created =
        store.run(&["create", "-d", "qemu", "--qemu-image", &url, "--engine-userns-remap", "default", "plain"]);
    let log = text(&created.stderr);
    succeeds("create plain", created);
    figure("qemu_create_from_image_without_docker", &seconds(started), "s");
    assert!(log.contains("fetched by an earlier run"), "{log}");
    assert!(log.contains("freshly installed"), "the engine was not installed by the provisioner: {log}");
    let gets = images.server.requests_for(PLAIN_IMAGE);
    let resumed = gets.last().unwrap();
    assert_eq!(resumed.status, 206, "{gets:?}");
    let offset: u64 =
        resumed.range.as_deref().unwrap().trim_start_matches("bytes=").trim_end_matches('-').parse().unwrap();
    assert!(offset >= kept, "resumed at {offset}, after {kept} bytes were kept");

    let info = docker(&store, "plain", "docker info --format '{{.ServerVersion}} {{.SecurityOptions}}'");
    assert!(info.contains("name=userns"), "{info}");
    let tarball = image_tarball(store.home());
    docker(&store, "plain", &format!("docker import {} rmtest/busybox:1 >/dev/null", tarball.display()));
    let uid_map = docker(&store, "plain", "docker run --rm rmtest/busybox:1 cat /proc/self/uid_map");
    // the range useradd gave dockremap (the cloud-init user `rmachine` holds the first one)
    let subuid = store.ok(&["ssh", "plain", "--", "grep ^dockremap: /etc/subuid"]);
    let range: Vec<&str> = subuid.trim().split(':').skip(1).collect();
    assert_eq!(uid_map.split_whitespace().collect::<Vec<_>>(), ["0", range[0], range[1]], "{uid_map} vs {subuid}");
    let root_size: u64 =
        store.ok(&["ssh", "plain", "--", "df -B1 --output=size / | tail -n 1"]).trim().parse().unwrap();
    assert!(root_size > 15 << 30, "the root file system was not grown into the 20 GiB disk: {root_size} bytes");

    store.ok(&["rm", "-y", "plain"]);
    store.assert_nothing_left_of("plain");
    assert!(store.sockets().is_empty(), "sockets left: {:?}", store.sockets());
    assert_eq!(cached_files(&store).len(), 1, "the image cache keeps the verified image: {:?}", cached_files(&store));
}

#[test]
fn two_machines_at_once_and_the_whole_lifecycle() {
    let images = ImageServer::start();
    let store = QemuStore::new();
    let url = images.url(DOCKER_IMAGE);
    let mut slots = guest_slots(2);
    images.server.drop_once(DOCKER_IMAGE, 100_000_000);
    let started = Instant::now();
    let outputs: Vec<_> = std::thread::scope(|scope| {
        let creating: Vec<_> = ["alpha", "beta"]
            .map(|name| {
                let (store, url) = (&store, &url);
                scope.spawn(move || store.run(&["create", "-d", "qemu", "--qemu-image", url, name]))
            })
            .into_iter()
            .collect();
        creating.into_iter().map(|thread| thread.join().unwrap()).collect()
    });
    let logs: String = outputs.iter().map(|output| text(&output.stderr)).collect();
    for output in outputs {
        succeeds("create alpha/beta", output);
    }
    figure("qemu_create_two_at_once_docker_image", &seconds(started), "s");
    let gets: Vec<(u16, Option<String>)> =
        images.server.requests_for(DOCKER_IMAGE).into_iter().map(|seen| (seen.status, seen.range)).collect();
    assert_eq!(
        gets,
        [(200, None), (206, Some("bytes=100000000-".into()))],
        "one download for both, resumed once: {logs}"
    );
    assert!(logs.contains("waiting for another rmachine"), "{logs}");

    let listing = store.listing();
    assert!(
        listing.iter().all(|(_, state, url)| state == "Running" && url.starts_with("tcp://127.0.0.1:")),
        "{listing:?}"
    );
    assert_ne!(listing[0].2, listing[1].2);
    assert_eq!(store.qemu_processes().len(), 2, "one QEMU per machine: {:?}", store.qemu_processes());
    for name in ["alpha", "beta"] {
        assert!(docker(&store, name, "docker version --format '{{.Server.Version}}'").contains("20.10"));
    }
    store.ok(&["rm", "-y", "beta"]);
    store.assert_nothing_left_of("beta");
    slots.release_one();

    let (_, url) = store.state_and_url("alpha");
    let started = Instant::now();
    store.ok(&["stop", "alpha"]);
    figure("qemu_stop_acpi", &seconds(started), "s");
    assert_eq!(store.state_and_url("alpha"), ("Stopped".into(), url.clone()));
    assert!(store.qemu_processes().is_empty(), "{:?}", store.qemu_processes());
    let started = Instant::now();
    store.ok(&["start", "alpha"]);
    figure("qemu_start_to_engine", &seconds(started), "s");
    assert_eq!(store.state_and_url("alpha"), ("Running".into(), url.clone()), "start keeps the URL");

    let boot_id = || store.ok(&["ssh", "alpha", "--", "cat /proc/sys/kernel/random/boot_id"]);
    let before = boot_id();
    let pid_before = store.qemu_processes();
    assert_eq!(pid_before.len(), 1, "{pid_before:?}");
    store.ok(&["restart", "alpha"]);
    assert_eq!(store.state_and_url("alpha"), ("Running".into(), url.clone()), "restart keeps the URL");
    assert_ne!(boot_id(), before, "the guest rebooted");
    assert_eq!(store.qemu_processes(), pid_before, "restart reboots inside the same QEMU");

    // QEMU killed behind rmachine's back: the pidfile still names its PID, ls says Stopped.
    let pid = std::fs::read_to_string(store.store().join("machines/alpha/qemu.pid")).unwrap();
    Command::new("kill").args(["-9", pid.trim()]).status().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(store.state_and_url("alpha").0, "Stopped");

    // Its engine port is taken meanwhile: start picks another and says the URL changed.
    let port: u16 = url.rsplit(':').next().unwrap().parse().unwrap();
    let squatter = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let restarted = store.run(&["start", "alpha"]);
    let log = text(&restarted.stderr);
    succeeds("start alpha with its port taken", restarted);
    let (state, new_url) = store.state_and_url("alpha");
    assert_eq!(state, "Running");
    assert_ne!(new_url, url);
    assert!(log.contains(&format!("the engine URL changed from {url} to {new_url}")), "{log}");
    assert!(docker(&store, "alpha", "docker info --format '{{.Name}}'").contains("alpha"));
    drop(squatter);

    store.ok(&["kill", "alpha"]);
    assert_eq!(store.state_and_url("alpha").0, "Stopped");
    store.ok(&["rm", "-y", "alpha"]);
    store.assert_nothing_left_of("alpha");
    assert!(store.sockets().is_empty(), "sockets left: {:?}", store.sockets());
}

#[test]
fn three_machines_of_a_cluster_file_form_a_swarm_on_their_own_network() {
    let images = ImageServer::start();
    let store = QemuStore::new();
    let _slots = guest_slots(3);
    let file = store.home().join("cluster.yaml");
    let yaml = format!(
        "name: qswarm\ndefaults:\n  driver: qemu\n  qemu: {{ image: {} }}\nmachines:\n  - {{ name: qm1, role: manager }}\n  - {{ name: qw1, role: worker }}\n  - {{ name: qw2, role: worker }}\nswarm: {{ advertise: private }}\n",
        images.url(DOCKER_IMAGE)
    );
    std::fs::write(&file, yaml).unwrap();
    let started = Instant::now();
    store.ok(&["apply", "-f", file.to_str().unwrap()]);
    figure("qemu_apply_three_machine_swarm", &seconds(started), "s");
    let nodes = docker(&store, "qm1", "docker node ls --format '{{.Hostname}} {{.Status}}' | sort");
    assert_eq!(nodes.lines().collect::<Vec<_>>(), ["qm1 Ready", "qw1 Ready", "qw2 Ready"], "{nodes}");
    let addresses =
        docker(&store, "qm1", "docker node ls -q | xargs docker node inspect --format '{{.Status.Addr}}' | sort");
    assert_eq!(addresses.lines().collect::<Vec<_>>(), ["10.213.0.10", "10.213.0.11", "10.213.0.12"], "{addresses}");

    let tarball = image_tarball(store.home());
    for name in ["qm1", "qw1", "qw2"] {
        docker(&store, name, &format!("docker import {} rmtest/busybox:1 >/dev/null", tarball.display()));
    }
    docker(
        &store,
        "qm1",
        "docker service create -d --no-resolve-image --mode global --name pinger rmtest/busybox:1 sleep 3600 >/dev/null",
    );
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let tasks = docker(
            &store,
            "qm1",
            "docker service ps pinger --filter desired-state=running --format '{{.Node}} {{.CurrentState}}'",
        );
        if tasks.lines().filter(|line| line.contains("Running")).count() == 3 {
            break;
        }
        assert!(Instant::now() < deadline, "the global service did not run on all three nodes: {tasks}");
        std::thread::sleep(Duration::from_secs(3));
    }

    store.ok(&["destroy", "-f", file.to_str().unwrap()]);
    for name in ["qm1", "qw1", "qw2"] {
        store.assert_nothing_left_of(name);
    }
    assert!(list(&store.store().join("qemu/networks/default")).is_empty(), "network leases left");
    assert!(store.sockets().is_empty(), "sockets left: {:?}", store.sockets());
}

#[test]
fn failures_are_refused_or_reported_and_leave_nothing_behind() {
    let images = ImageServer::start();
    let store = QemuStore::new();
    let url = images.url(DOCKER_IMAGE);

    let missing = store
        .command()
        .env("RMACHINE_QEMU_BINARY", "/opt/none/qemu-system-x86_64")
        .args(["create", "-d", "qemu", "--qemu-image", &url, "nobin"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(3), "a pre-create check failure");
    let error = fails("create without QEMU", missing);
    assert!(
        error.contains("/opt/none/qemu-system-x86_64 does not exist")
            && error.contains("apt-get install qemu-system-x86"),
        "{error}"
    );

    let wrong = format!("sha512:{}", "0".repeat(128));
    let error = fails(
        "create with a wrong checksum",
        store.run(&["create", "-d", "qemu", "--qemu-image", &url, "--qemu-image-checksum", &wrong, "wrongsum"]),
    );
    assert!(error.contains(&format!("not {wrong}")) && error.contains("nothing was left behind"), "{error}");
    store.assert_nothing_left_of("wrongsum");
    assert!(cached_files(&store).is_empty(), "the rejected download was kept: {:?}", cached_files(&store));

    let swarm = store.home().join("unnetworked.yaml");
    std::fs::write(&swarm, format!("defaults:\n  driver: qemu\n  qemu: {{ image: {url}, network: none }}\nmachines:\n  - {{ name: n1, role: manager }}\n  - {{ name: n2 }}\nswarm: {{}}\n")).unwrap();
    let error = fails("apply an unnetworked swarm", store.run(&["apply", "-f", swarm.to_str().unwrap()]));
    assert!(error.contains("needs a network to its peers"), "{error}");
    assert!(list(&store.store().join("machines")).is_empty(), "nothing may be created");

    let broken = images.folder.path().join("blank.qcow2");
    let made = Command::new("qemu-img").args(["create", "-q", "-f", "qcow2"]).arg(&broken).arg("3G").output().unwrap();
    succeeds("qemu-img create", made);
    let _slots = guest_slots(2);
    let outputs: Vec<_> = std::thread::scope(|scope| {
        ["bios", "uefi"]
            .map(|firmware| {
                let (store, broken_url) = (&store, images.url("blank.qcow2"));
                scope.spawn(move || {
                    let started = Instant::now();
                    let name = format!("never-{firmware}");
                    let args = [
                        "create",
                        "-d",
                        "qemu",
                        "--qemu-image",
                        &broken_url,
                        "--qemu-image-insecure",
                        "--qemu-firmware",
                        firmware,
                        "--ssh-timeout",
                        "45",
                        &name,
                    ];
                    (firmware, store.run(&args), started.elapsed())
                })
            })
            .into_iter()
            .map(|thread| thread.join().unwrap())
            .collect()
    });
    for (firmware, output, took) in outputs {
        let error = fails(&format!("create from a blank disk ({firmware})"), output);
        assert!(took < Duration::from_secs(240), "{firmware}: gave up only after {took:?}");
        assert!(error.contains("did not answer SSH within 45s"), "{error}");
        assert!(error.contains("The last lines of the guest's serial console"), "{error}");
        match firmware {
            "bios" => assert!(error.contains("No bootable device") && error.contains("nothing bootable"), "{error}"),
            _ => assert!(error.contains("BdsDxe") || error.contains("UEFI"), "the OVMF console is not shown: {error}"),
        }
        store.assert_nothing_left_of(&format!("never-{firmware}"));
    }
    assert!(store.sockets().is_empty(), "sockets left: {:?}", store.sockets());
}

#[test]
fn a_stuck_boot_is_reset_once_then_reported() {
    let store = QemuStore::new();
    // A boot sector that halts at once (cli; hlt; jmp back): SeaBIOS says it boots from the disk,
    // then the console stays silent with QEMU running, as a guest hung in early boot.
    let stuck = store.home().join("halts.img");
    let mut disk = vec![0u8; 1 << 20];
    disk[..4].copy_from_slice(&[0xFA, 0xF4, 0xEB, 0xFD]);
    disk[510..512].copy_from_slice(&[0x55, 0xAA]);
    std::fs::write(&stuck, disk).unwrap();
    let _slots = guest_slots(1);
    let started = Instant::now();
    let output = store.run(&[
        "create",
        "-d",
        "qemu",
        "--qemu-image",
        stuck.to_str().unwrap(),
        "--qemu-image-insecure",
        "--qemu-boot-stall-timeout",
        "20",
        "--ssh-timeout",
        "100",
        "--qemu-keep-on-failure",
        "stuck",
    ]);
    let took = started.elapsed();
    let log = text(&output.stderr);
    let error = fails("create from a disk whose boot halts", output);
    assert!(took < Duration::from_secs(240), "gave up only after {took:?}");
    assert!(
        log.contains(
            "with no login prompt: its boot looks stuck (--qemu-boot-stall-timeout); reset it (QMP system_reset), once"
        ),
        "{log}"
    );
    assert_eq!(log.matches("its boot looks stuck").count(), 1, "reset once only: {log}");
    assert!(error.contains("did not answer SSH within 100s"), "{error}");
    assert!(error.contains("rmachine reset the guest once after its console had been silent for 20s"), "{error}");
    // The console shows the firmware booting the disk twice: the reset was real.
    assert!(error.matches("Booting from Hard Disk").count() >= 2, "{error}");

    // Kept (--qemu-keep-on-failure): a start boots a new QEMU, and the watchdog watches it too
    // while start waits for the engine.
    store.ok(&["kill", "stuck"]);
    let started = store.run(&["start", "--timeout", "60", "stuck"]);
    let log = text(&started.stderr);
    fails("start of a machine whose boot halts", started);
    assert_eq!(log.matches("its boot looks stuck (--qemu-boot-stall-timeout); reset it").count(), 1, "{log}");
    store.ok(&["rm", "-y", "stuck"]);
    store.assert_nothing_left_of("stuck");
    assert!(store.sockets().is_empty(), "sockets left: {:?}", store.sockets());
}
