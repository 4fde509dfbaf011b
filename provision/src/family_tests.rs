//! Each family's choice and command plan against real os-release samples
//! (tests/fixtures/os-release): the same pipeline, the family's data filled in.

use super::*;
use crate::install::{InstallRefusal, install_plan, resolve_pin, unpinned_packages, upgrade_plan, versions_command};
use crate::os_release::tests::fixture;

fn family_of(fixture_name: &str) -> &'static OsFamily {
    choose(&OsRelease::parse(&fixture(fixture_name))).unwrap_or_else(|_| panic!("{fixture_name} has no family"))
}

/// The install plan of the fixture's family, as "SCRIPT ARGUMENTS…" lines.
fn plan_of(fixture_name: &str) -> Result<Vec<String>, InstallRefusal> {
    let family = family_of(fixture_name);
    let plan = install_plan(family, None, &unpinned_packages(family), true, None)?;
    Ok(plan.iter().map(|command| format!("{} {}", command.script.name, command.arguments.join(" "))).collect())
}

#[test]
fn every_sample_gets_the_most_specific_family() {
    let expected = [
        ("debian-12", "debian"),
        ("debian-13", "debian"),
        ("raspbian-11", "debian"),
        ("ubuntu-22.04", "ubuntu"),
        ("ubuntu-24.04", "ubuntu"),
        ("linuxmint-21", "ubuntu"),
        ("fedora-40", "fedora"),
        ("fedora-coreos-40", "fedora-coreos"),
        ("rhel-9", "rhel"),
        ("centos-stream-9", "rhel"),
        ("rocky-9", "rhel"),
        ("almalinux-9", "rhel"),
        ("amzn-2023", "amazon-linux"),
        ("alpine-3.20", "alpine"),
        ("arch", "arch"),
        ("opensuse-leap-15.6", "opensuse"),
        ("opensuse-tumbleweed", "opensuse"),
        ("flatcar-3975", "flatcar"),
    ];
    for (sample, family) in expected {
        assert_eq!(family_of(sample).name, family, "{sample}");
    }
}

#[test]
fn unknown_and_unsupported_releases_are_refused() {
    assert!(choose(&OsRelease::parse(&fixture("nixos-24.05"))).is_err());
    assert!(choose(&OsRelease::parse("ID=plan9\n")).is_err());
    // Amazon Linux 2 is not 2023; its ID_LIKE (centos rhel fedora) still leads to the RHEL family.
    assert_eq!(family_of("amzn-2").name, "rhel");
}

#[test]
fn id_wins_over_id_like() {
    let release = OsRelease::parse("ID=ubuntu\nID_LIKE=fedora\n");
    assert_eq!(choose(&release).unwrap().name, "ubuntu");
    let release = OsRelease::parse("ID=somethingnew\nID_LIKE=\"fedora debian\"\n");
    assert_eq!(choose(&release).unwrap().name, "fedora", "the closest relative comes first");
}

#[test]
fn each_family_installs_its_engine_with_its_package_manager() {
    let expected: &[(&str, &[&str])] = &[
        ("debian-12", &["rmachine-install-packages docker.io"]),
        ("ubuntu-24.04", &["rmachine-install-packages docker.io"]),
        ("fedora-40", &["rmachine-packages dnf install moby-engine"]),
        (
            "rocky-9",
            &[
                "rmachine-packages dnf add-repository https://download.docker.com/linux/centos/docker-ce.repo",
                "rmachine-packages dnf install docker-ce docker-ce-cli containerd.io",
            ],
        ),
        ("amzn-2023", &["rmachine-packages dnf install docker"]),
        ("alpine-3.20", &["rmachine-packages apk install docker"]),
        ("arch", &["rmachine-packages pacman install docker"]),
        ("opensuse-leap-15.6", &["rmachine-packages zypper install docker"]),
    ];
    for (sample, commands) in expected {
        assert_eq!(plan_of(sample).unwrap(), *commands, "{sample}");
    }
}

#[test]
fn immutable_systems_are_configured_only() {
    for sample in ["flatcar-3975", "fedora-coreos-40"] {
        let refusal = plan_of(sample).unwrap_err();
        assert!(matches!(refusal, InstallRefusal::Preinstalled { .. }), "{sample}");
        assert!(refusal.describe().contains("only configures it"), "{}", refusal.describe());
        assert!(versions_command(family_of(sample)).is_none());
    }
}

#[test]
fn an_install_script_gets_the_version_pin_and_curl_first_when_missing() {
    let family = family_of("fedora-40");
    let plan = install_plan(family, Some("https://get.docker.com"), &[], false, Some("27.3.1")).unwrap();
    assert_eq!(plan[0].arguments, ["dnf", "install", "curl", "ca-certificates"]);
    assert_eq!(plan[1].arguments, ["https://get.docker.com", "27.3.1"]);
    let none = install_plan(family, Some("none"), &[], true, None).unwrap_err();
    assert_eq!(none, InstallRefusal::NotAllowed);
}

#[test]
fn a_pin_is_resolved_against_what_the_host_offers() {
    let debian = family_of("debian-12");
    let offered = "20.10.24+dfsg1-1+deb12u1+b6\n";
    assert_eq!(resolve_pin(debian, "20.10.24", offered).unwrap(), ["docker.io=20.10.24+dfsg1-1+deb12u1+b6"]);
    assert_eq!(resolve_pin(debian, "20.10", offered).unwrap(), ["docker.io=20.10.24+dfsg1-1+deb12u1+b6"]);
    let refusal = resolve_pin(debian, "27.3.1", offered).unwrap_err();
    let message = refusal.describe();
    assert!(
        message.contains("offers only 20.10.24+dfsg1-1+deb12u1+b6") && message.contains("get.docker.com"),
        "{message}"
    );
    assert!(resolve_pin(debian, "20.10.2", offered).is_err(), "20.10.2 is not 20.10.24");

    let rocky = family_of("rocky-9");
    let offered = "3:27.3.1-1.el9\n3:26.1.4-1.el9\n";
    assert_eq!(
        resolve_pin(rocky, "26.1", offered).unwrap(),
        ["docker-ce-3:26.1.4-1.el9", "docker-ce-cli-3:26.1.4-1.el9", "containerd.io"]
    );
    assert_eq!(versions_command(rocky).unwrap().arguments, ["dnf", "versions", "docker-ce"]);
}

#[test]
fn upgrades_use_the_same_package_manager() {
    let alpine = family_of("alpine-3.20");
    let plan = upgrade_plan(alpine, &unpinned_packages(alpine)).unwrap();
    assert_eq!(plan[0].arguments, ["apk", "upgrade", "docker"]);
    let debian = family_of("debian-12");
    let plan = upgrade_plan(debian, &["docker.io=20.10.24+dfsg1-1+deb12u1+b6".into()]).unwrap();
    assert_eq!(plan[0].arguments, ["apt", "upgrade", "docker.io=20.10.24+dfsg1-1+deb12u1+b6"]);
}
