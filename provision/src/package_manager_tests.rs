//! Tests of the package-manager decisions, on facts as facts.sh prints them on real hosts.

use super::*;
use crate::family::{FAMILIES, OsFamily};

fn family(name: &str) -> &'static OsFamily {
    FAMILIES.iter().find(|family| family.name == name).unwrap()
}

/// Facts with the two package-manager sections as facts.sh printed them on a Debian 12 test
/// host 4 s after rmachine was killed during `apt-get install docker.io`.
fn facts(holders: &str, interrupted: &str) -> HostFacts {
    HostFacts::parse(&format!(
        "@@rmachine-section@@ user-id\n0\n@@rmachine-section@@ sudo\nroot\n\n\
         @@rmachine-section@@ package-manager-holders\n{holders}\n\
         @@rmachine-section@@ packages-interrupted\n{interrupted}\n"
    ))
    .unwrap()
}

const APT_RUNNING: &str = "251 /var/lib/dpkg/lock-frontend apt-get -q -o DPkg::Lock::Timeout=60 install -y docker.io \n\
    260 /var/lib/dpkg/lock /usr/bin/dpkg --force-confdef --force-confold --status-fd 15 --unpack \n";
const HALF_DONE: &str = "iU containerd\niU docker.io\niF runc\nit libc-bin\niHR libperl5.36\n";

#[test]
fn facts_sh_reports_the_lock_holders_and_the_half_done_packages() {
    let facts = facts(APT_RUNNING, HALF_DONE);
    assert_eq!(facts.package_manager_holders.len(), 2);
    assert_eq!(
        facts.package_manager_holders[0],
        LockHolder {
            pid: 251,
            lock: "/var/lib/dpkg/lock-frontend".into(),
            command: "apt-get -q -o DPkg::Lock::Timeout=60 install -y docker.io".into()
        }
    );
    assert_eq!(
        facts.interrupted_packages,
        ["iU containerd", "iU docker.io", "iF runc", "it libc-bin", "iHR libperl5.36"]
    );
    let idle = HostFacts::for_tests();
    assert!(idle.package_manager_holders.is_empty() && idle.interrupted_packages.is_empty());
}

#[test]
fn a_running_package_manager_is_waited_for_before_anything_else() {
    let debian = family("debian");
    let step = next_step(&facts(APT_RUNNING, HALF_DONE), debian).unwrap();
    let Step::Wait(holders) = step else { panic!("{step:?}") };
    assert_eq!(waiting_phase(&holders), "waiting for another package manager run (PID 251, 260) to finish");
    let one = &holders[..1];
    assert_eq!(waiting_phase(one), "waiting for another package manager run (PID 251) to finish");
    // dnf and zypper hosts wait too (their locks are in facts.sh's list).
    assert!(matches!(next_step(&facts(APT_RUNNING, ""), family("fedora")), Some(Step::Wait(_))));
}

#[test]
fn half_done_packages_are_finished_on_apt_hosts_only() {
    let step = next_step(&facts("", HALF_DONE), family("debian")).unwrap();
    assert_eq!(step, Step::Repair(HALF_DONE.lines().map(str::to_string).collect()));
    let Step::Repair(packages) = step else { unreachable!() };
    assert_eq!(
        repairing_phase(&packages),
        "finishing the packages an interrupted install left half-done \
         (containerd, docker.io, runc, libc-bin, libperl5.36): dpkg --configure -a"
    );
    let many: Vec<String> = (0..8).map(|index| format!("iU package{index}")).collect();
    assert!(repairing_phase(&many).contains("package4 and 3 more)"));
    assert_eq!(next_step(&facts("", ""), family("debian")), None);
    assert_eq!(next_step(&facts("", HALF_DONE), family("fedora")), None, "dpkg's states mean nothing to dnf");
}

#[test]
fn the_wait_and_repair_commands() {
    let wait = plan::wait_for_processes(&[251, 260], 900);
    assert_eq!(wait.arguments, ["wait", "900", "251", "260"]);
    assert!(!wait.as_root, "waiting only looks at /proc");
    let repair = plan::repair_packages(family("debian").package_manager.unwrap());
    assert_eq!(repair.arguments, ["repair", "apt"]);
    assert!(repair.as_root);
    assert_eq!(
        describe_holders(&facts(APT_RUNNING, "").package_manager_holders[..1]),
        "PID 251 (apt-get -q -o DPkg::Lock::Timeout=60 install -y docker.io) holding /var/lib/dpkg/lock-frontend"
    );
}
