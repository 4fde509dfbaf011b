//! OS families as data: which os-release IDs belong to a family, its engine package, and how it
//! installs packages. The pipeline is the same for every family; adding one (Fedora, Alpine…)
//! means a row in [`FAMILIES`] and, for its package manager, one install script.

use crate::os_release::OsRelease;
use crate::shell::{INSTALL_PACKAGES_APT, Script};

/// How a family installs packages.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct PackageManager {
    pub name: &'static str,
    /// Takes package names as arguments; runs as root.
    pub install_script: Script,
}

pub(crate) static APT: PackageManager = PackageManager {
    name: "apt",
    install_script: INSTALL_PACKAGES_APT,
};

/// A group of related distributions that rmachine provisions the same way.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct OsFamily {
    /// Short name, as reported: "debian".
    pub name: &'static str,
    /// For messages: "Debian and Ubuntu".
    pub description: &'static str,
    /// os-release IDs that belong to the family, matched against ID, then each ID_LIKE word.
    pub identifiers: &'static [&'static str],
    /// The distribution's own package of Docker Engine.
    pub engine_package: &'static str,
    /// None: the family is recognized but rmachine does not provision it yet.
    pub package_manager: Option<&'static PackageManager>,
}

impl OsFamily {
    pub(crate) fn is_supported(&self) -> bool {
        self.package_manager.is_some()
    }
}

pub(crate) static FAMILIES: &[OsFamily] = &[
    OsFamily {
        name: "debian",
        description: "Debian and Ubuntu",
        identifiers: &["debian", "ubuntu", "raspbian"],
        engine_package: "docker.io",
        package_manager: Some(&APT),
    },
    OsFamily {
        name: "fedora",
        description: "Fedora and RHEL",
        identifiers: &[
            "fedora",
            "rhel",
            "centos",
            "rocky",
            "almalinux",
            "ol",
            "amzn",
        ],
        engine_package: "moby-engine",
        package_manager: None,
    },
    OsFamily {
        name: "alpine",
        description: "Alpine Linux",
        identifiers: &["alpine"],
        engine_package: "docker",
        package_manager: None,
    },
    OsFamily {
        name: "arch",
        description: "Arch Linux",
        identifiers: &["arch", "archarm", "manjaro"],
        engine_package: "docker",
        package_manager: None,
    },
    OsFamily {
        name: "suse",
        description: "openSUSE and SLES",
        identifiers: &[
            "suse",
            "opensuse",
            "opensuse-leap",
            "opensuse-tumbleweed",
            "sles",
        ],
        engine_package: "docker",
        package_manager: None,
    },
];

/// Why no supported family fits an os-release.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct NoSupportedFamily {
    /// A known family that matched but is not supported yet.
    pub recognized: Option<&'static OsFamily>,
}

/// The family of `release`: the first family holding its ID, else the first holding one of its
/// ID_LIKE words, in the order ID_LIKE lists them.
pub(crate) fn choose(release: &OsRelease) -> Result<&'static OsFamily, NoSupportedFamily> {
    let candidates = std::iter::once(release.id()).chain(release.id_like());
    let found = candidates.into_iter().find_map(|identifier| {
        FAMILIES
            .iter()
            .find(|family| family.identifiers.contains(&identifier.as_str()))
    });
    match found {
        Some(family) if family.is_supported() => Ok(family),
        recognized => Err(NoSupportedFamily { recognized }),
    }
}

/// The supported families, for messages.
pub(crate) fn supported_description() -> &'static str {
    static DESCRIPTION: std::sync::LazyLock<String> = std::sync::LazyLock::new(describe_supported);
    &DESCRIPTION
}

fn describe_supported() -> String {
    FAMILIES
        .iter()
        .filter(|family| family.is_supported())
        .map(|family| {
            format!(
                "{} (os-release ID or ID_LIKE {})",
                family.description,
                family.identifiers.join(", ")
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::os_release::tests::fixture;

    fn family_of(fixture_name: &str) -> Result<&'static str, Option<&'static str>> {
        choose(&OsRelease::parse(&fixture(fixture_name)))
            .map(|family| family.name)
            .map_err(|error| error.recognized.map(|family| family.name))
    }

    #[test]
    fn debian_and_its_derivatives_are_supported() {
        for name in [
            "debian-12",
            "debian-13",
            "ubuntu-22.04",
            "ubuntu-24.04",
            "raspbian-11",
            "linuxmint-21",
        ] {
            assert_eq!(family_of(name), Ok("debian"), "{name}");
        }
    }

    #[test]
    fn known_families_are_recognized_but_not_supported_yet() {
        assert_eq!(family_of("fedora-40"), Err(Some("fedora")));
        assert_eq!(family_of("rocky-9"), Err(Some("fedora")));
        assert_eq!(family_of("alpine-3.20"), Err(Some("alpine")));
        assert_eq!(family_of("arch"), Err(Some("arch")));
        assert_eq!(family_of("opensuse-leap-15.6"), Err(Some("suse")));
    }

    #[test]
    fn unknown_os_is_refused() {
        assert_eq!(family_of("nixos-24.05"), Err(None));
        assert!(choose(&OsRelease::parse("ID=plan9\n")).is_err());
        assert_eq!(
            supported_description(),
            "Debian and Ubuntu (os-release ID or ID_LIKE debian, ubuntu, raspbian)"
        );
    }

    #[test]
    fn id_wins_over_id_like() {
        let release = OsRelease::parse("ID=ubuntu\nID_LIKE=fedora\n");
        assert_eq!(choose(&release).unwrap().name, "debian");
        let release = OsRelease::parse("ID=somethingnew\nID_LIKE=\"fedora debian\"\n");
        assert!(
            choose(&release).is_err(),
            "the closest relative, fedora, comes first"
        );
    }

    #[test]
    fn debian_installs_docker_io_with_apt() {
        let family = choose(&OsRelease::parse(&fixture("debian-12"))).unwrap();
        assert_eq!(family.engine_package, "docker.io");
        assert_eq!(family.package_manager.unwrap().name, "apt");
    }
}
