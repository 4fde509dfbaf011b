//! Storage drivers: which names rmachine accepts, and whether a host can run the one asked for
//! (checked from the facts before anything on the host is touched).

use crate::facts::HostFacts;

/// The storage drivers current Docker Engine has, best first.
pub(crate) const SUPPORTED_DRIVERS: &[&str] =
    &["overlay2", "fuse-overlayfs", "btrfs", "zfs", "vfs"];

/// Drivers Docker removed, and the release that removed them.
const REMOVED_DRIVERS: &[(&str, &str)] = &[
    ("devicemapper", "25.0"),
    ("aufs", "24.0"),
    ("overlay", "24.0"),
];

/// Backing filesystems overlay2 refuses to run on (`stat -f -c %T` names).
const OVERLAY2_REFUSED_FILESYSTEMS: &[&str] = &["overlayfs", "nfs", "zfs", "ecryptfs", "aufs"];

/// Whether `driver` names a driver rmachine accepts.
pub(crate) fn check_driver_name(driver: &str) -> Result<(), String> {
    if SUPPORTED_DRIVERS.contains(&driver) {
        return Ok(());
    }
    if let Some((_, release)) = REMOVED_DRIVERS
        .iter()
        .find(|(removed, _)| *removed == driver)
    {
        return Err(format!(
            "storage driver {driver:?} was removed in Docker {release}; use one of {}",
            SUPPORTED_DRIVERS.join(", ")
        ));
    }
    Err(format!(
        "unknown storage driver {driver:?}; use one of {}",
        SUPPORTED_DRIVERS.join(", ")
    ))
}

/// Whether the host described by `facts` can run `driver`; Err(reason) when it clearly cannot.
/// Unknown facts (an old `stat`, say) let the driver through: dockerd has the last word.
pub(crate) fn check_host_can_run(driver: &str, facts: &HostFacts) -> Result<(), String> {
    let filesystem = facts.docker_root_filesystem.as_deref().unwrap_or("");
    let on = |expected: &str| filesystem.is_empty() || filesystem == expected;
    match driver {
        "overlay2" if OVERLAY2_REFUSED_FILESYSTEMS.contains(&filesystem) => Err(format!(
            "/var/lib/docker is on {filesystem}, which overlay2 cannot use as its backing filesystem; \
             use fuse-overlayfs (apt-get install fuse-overlayfs) or put /var/lib/docker on ext4 or xfs"
        )),
        "btrfs" if !on("btrfs") => Err(format!(
            "/var/lib/docker must be on a btrfs filesystem, and it is on {filesystem}"
        )),
        "zfs" if !on("zfs") => Err(format!(
            "/var/lib/docker must be a ZFS dataset, and it is on {filesystem}"
        )),
        "fuse-overlayfs" if !facts.fuse_device => Err("the host has no /dev/fuse".to_string()),
        "fuse-overlayfs" if facts.program("fuse-overlayfs").is_none() => Err(
            "the fuse-overlayfs program is not installed (apt-get install fuse-overlayfs)"
                .to_string(),
        ),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(filesystem: &str, fuse_device: bool, fuse_program: bool) -> HostFacts {
        let mut facts = HostFacts::for_tests();
        facts.docker_root_filesystem = Some(filesystem.to_string()).filter(|name| !name.is_empty());
        facts.fuse_device = fuse_device;
        if fuse_program {
            facts.set_program("fuse-overlayfs", "/usr/bin/fuse-overlayfs");
        }
        facts
    }

    #[test]
    fn overlay2_is_refused_on_overlayfs_and_nfs() {
        assert!(check_host_can_run("overlay2", &facts("ext2/ext3", false, false)).is_ok());
        assert!(check_host_can_run("overlay2", &facts("xfs", false, false)).is_ok());
        let reason = check_host_can_run("overlay2", &facts("overlayfs", false, false)).unwrap_err();
        assert!(reason.contains("fuse-overlayfs"), "{reason}");
        assert!(check_host_can_run("overlay2", &facts("nfs", false, false)).is_err());
    }

    #[test]
    fn btrfs_and_zfs_need_their_filesystem() {
        assert!(check_host_can_run("btrfs", &facts("btrfs", false, false)).is_ok());
        assert!(check_host_can_run("btrfs", &facts("ext2/ext3", false, false)).is_err());
        assert!(check_host_can_run("zfs", &facts("zfs", false, false)).is_ok());
        assert!(check_host_can_run("zfs", &facts("xfs", false, false)).is_err());
        assert!(
            check_host_can_run("btrfs", &facts("", false, false)).is_ok(),
            "unknown lets it through"
        );
    }

    #[test]
    fn fuse_overlayfs_needs_the_device_and_the_program() {
        assert!(check_host_can_run("fuse-overlayfs", &facts("overlayfs", true, true)).is_ok());
        assert!(check_host_can_run("fuse-overlayfs", &facts("overlayfs", false, true)).is_err());
        assert!(check_host_can_run("fuse-overlayfs", &facts("overlayfs", true, false)).is_err());
        assert!(check_host_can_run("vfs", &facts("overlayfs", false, false)).is_ok());
    }
}
