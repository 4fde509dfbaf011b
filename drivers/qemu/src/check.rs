//! The pre-create check, before anything is written: the QEMU binary and its version, `qemu-img`,
//! the accelerator, UEFI firmware, direct-boot files, the memory available, fixed and published
//! ports, and the image (reachable with a checksum, or cached, or a local file). Each failure
//! says how to fix it.

use crate::QemuMachine;
use crate::accel::{Accel, KvmSupport};
use crate::image::{self, ImageCache, ImageSource};
use crate::ports::{self, LOOPBACK, Protocol};
use crate::settings::FirmwareChoice;
use rmachine_drivers::DriverError;
use std::path::Path;
use std::time::Duration;

/// The oldest QEMU the driver's command line is written for (Debian 12's).
const OLDEST_QEMU: (u64, u64) = (7, 2);

pub async fn pre_create_check(machine: &QemuMachine) -> Result<(), DriverError> {
    let config = &machine.config;
    let binary = machine.binary()?;
    let version = qemu_version(&binary).await?;
    if (version.0, version.1) < OLDEST_QEMU {
        return Err(DriverError::failed(
            "checking QEMU",
            format!(
                "{} is QEMU {}.{}; rmachine needs {}.{} or newer (Debian 12: apt-get install -t bookworm-backports qemu-system-x86)",
                binary.display(),
                version.0,
                version.1,
                OLDEST_QEMU.0,
                OLDEST_QEMU.1
            ),
        ));
    }
    machine.qemu_img()?;
    if config.accel == Accel::Kvm
        && let Some(problem) = KvmSupport::probe().problem()
    {
        return Err(DriverError::invalid(
            "--qemu-accel",
            format!(
                "kvm is not usable here: {problem}. Use --qemu-accel tcg (emulation, slow), or give your user access to /dev/kvm (the kvm group)"
            ),
        ));
    }
    if config.firmware == FirmwareChoice::Uefi {
        crate::launch::ovmf()?;
    }
    if config.kernel.is_none() && (config.initrd.is_some() || config.append.is_some()) {
        return Err(DriverError::invalid(
            "--qemu-initrd/--qemu-append",
            "they go with --qemu-kernel FILE (direct kernel boot)",
        ));
    }
    check_memory(config.memory_mib, Path::new("/proc/meminfo"))?;
    check_ports(machine)?;
    let cache = ImageCache::new(&machine.environment.cache_dir);
    if let ImageSource::Path(path) = &config.image {
        std::fs::File::open(path)
            .map_err(|error| DriverError::invalid("--qemu-image", format!("{}: {error}", path.display())))?;
    }
    let client = crate::lifecycle::http_client()?;
    image::expected(&config.image, config.image_checksum.as_ref(), config.image_insecure, &cache, &client).await?;
    Ok(())
}

/// (major, minor) from `qemu-system-x86_64 --version`.
async fn qemu_version(binary: &Path) -> Result<(u64, u64), DriverError> {
    let failed = |reason: String| DriverError::failed(format!("asking {} for its version", binary.display()), reason);
    let run = tokio::process::Command::new(binary).arg("--version").stdin(std::process::Stdio::null()).output();
    let output = tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .map_err(|_| failed("no answer within 20s".into()))?
        .map_err(|error| failed(error.to_string()))?;
    let text = String::from_utf8_lossy(&output.stdout);
    parse_version(&text)
        .ok_or_else(|| failed(format!("not a QEMU version line: '{}'", text.lines().next().unwrap_or_default())))
}

/// `QEMU emulator version 10.0.2 (Debian ...)` → (10, 0).
fn parse_version(text: &str) -> Option<(u64, u64)> {
    let rest = text.split("version ").nth(1)?;
    let mut numbers = rest.split(|c: char| !c.is_ascii_digit()).filter(|part| !part.is_empty());
    Some((numbers.next()?.parse().ok()?, numbers.next()?.parse().ok()?))
}

/// Refuses a guest bigger than the memory available now.
fn check_memory(memory_mib: u64, meminfo: &Path) -> Result<(), DriverError> {
    let text = std::fs::read_to_string(meminfo).unwrap_or_default();
    let available_kib = text
        .lines()
        .find_map(|line| line.strip_prefix("MemAvailable:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok());
    match available_kib.map(|kib| kib / 1024) {
        Some(available) if available < memory_mib => Err(DriverError::invalid(
            "--qemu-memory",
            format!(
                "{memory_mib} MiB asked, only {available} MiB available on this machine: give less (e.g. --qemu-memory {}), or stop other VMs",
                (available / 2).max(256)
            ),
        )),
        _ => Ok(()),
    }
}

fn check_ports(machine: &QemuMachine) -> Result<(), DriverError> {
    let config = &machine.config;
    for (flag, port) in [("--qemu-ssh-port", config.fixed_ssh_port), ("--qemu-engine-port", config.fixed_engine_port)] {
        if let Some(port) = port.filter(|port| !ports::is_free(Protocol::Tcp, LOOPBACK, *port)) {
            return Err(DriverError::invalid(
                flag,
                format!(
                    "127.0.0.1:{port} is taken by another program: choose another port, or leave it out to have one picked"
                ),
            ));
        }
    }
    for rule in &config.publish {
        if !ports::is_free(rule.protocol, rule.address, rule.host) {
            return Err(DriverError::invalid(
                "--qemu-publish",
                format!("{rule}: port {} is taken on {}", rule.host, rule.address),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_from_qemu_s_first_line() {
        assert_eq!(
            parse_version("QEMU emulator version 10.0.2 (Debian 1:10.0.2+ds-2+deb13u1~bpo12+1)\nCopyright"),
            Some((10, 0))
        );
        assert_eq!(parse_version("QEMU emulator version 7.2.15"), Some((7, 2)));
        assert_eq!(parse_version("something else"), None);
    }

    #[test]
    fn a_guest_bigger_than_the_available_memory_is_refused() {
        let folder = tempfile::tempdir().unwrap();
        let meminfo = folder.path().join("meminfo");
        std::fs::write(&meminfo, "MemTotal:        4000000 kB\nMemAvailable:    1048576 kB\n").unwrap();
        check_memory(512, &meminfo).unwrap();
        let error = check_memory(2048, &meminfo).unwrap_err().to_string();
        assert!(error.contains("only 1024 MiB available") && error.contains("--qemu-memory 512"), "{error}");
    }
}
