//! The qemu driver's kind: its `--qemu-*` options (each also from an `RMACHINE_QEMU_*` variable
//! where that helps scripts) and the settings they make. A machine that joins a swarm goes on a VM
//! network (`default` unless `--qemu-network` names one); when this machine cannot carry one
//! (multicast over loopback fails), that is said before anything is created.

use crate::QemuMachine;
use crate::accel::Accel;
use crate::checksum::Checksum;
use crate::disk::parse_size;
use crate::image::{DEFAULT_IMAGE, ImageSource};
use crate::network::{Address, check_multicast_loopback};
use crate::ports::Publish;
use crate::settings::{Created, DEFAULT_BOOT_STALL_TIMEOUT, FirmwareChoice, QemuConfig};
use rmachine_drivers::{
    Driver, DriverEnvironment, DriverError, DriverKind, DriverOptions, NewMachine, OptionKind, OptionSpec, OptionValue,
    bool_option, check_port, int_option, list_option, path_option, settings_from_json, string_option,
};
use std::path::PathBuf;
use std::sync::Arc;

pub const NAME: &str = "qemu";
/// The network a swarm machine joins when `--qemu-network` does not name one.
pub const DEFAULT_SWARM_NETWORK: &str = "default";

pub fn kind() -> Arc<dyn DriverKind> {
    Arc::new(QemuKind)
}

struct QemuKind;

fn text(value: &str) -> OptionValue {
    OptionValue::String(value.to_string())
}

fn check_text(value: &OptionValue, parse: fn(&str) -> Result<(), String>) -> Result<(), String> {
    match value {
        OptionValue::String(text) => parse(text),
        OptionValue::List(items) => items.iter().try_for_each(|item| parse(item)),
        _ => Ok(()),
    }
}

fn check_network_name(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name.len() <= 32
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if valid {
        Ok(())
    } else {
        Err(format!("'{name}' is not a network name: lower-case letters, digits, - and _ (up to 32)"))
    }
}

fn check_positive(value: &OptionValue) -> Result<(), String> {
    match value {
        OptionValue::Int(number) if *number > 0 => Ok(()),
        OptionValue::Int(number) => Err(format!("{number} must be above zero")),
        _ => Ok(()),
    }
}

fn check_not_negative(value: &OptionValue) -> Result<(), String> {
    match value {
        OptionValue::Int(number) if *number < 0 => Err(format!("{number} is below zero (0 turns it off)")),
        _ => Ok(()),
    }
}

impl DriverKind for QemuKind {
    fn name(&self) -> &str {
        NAME
    }

    fn description(&self) -> String {
        "a local QEMU virtual machine (no root, no daemon; KVM when usable, else TCG emulation)".into()
    }

    fn options(&self) -> Vec<OptionSpec> {
        vec![
            string_option("qemu-image", "Base image: an http(s) URL or a local qcow2/raw file (default: the newest official Debian 12 genericcloud amd64 image)")
                .env("RMACHINE_QEMU_IMAGE")
                .value_name("URL|PATH")
                .default_value(text(DEFAULT_IMAGE)),
            string_option("qemu-image-checksum", "The image's digest; without it, the SHA512SUMS or SHA256SUMS beside the image is used")
                .env("RMACHINE_QEMU_IMAGE_CHECKSUM")
                .value_name("sha512:HEX|sha256:HEX")
                .check(|value| check_text(value, |text| Checksum::parse(text).map(drop))),
            bool_option("qemu-image-insecure", "Use an image whose checksum cannot be checked (no sums beside it, none given)"),
            int_option("qemu-cpus", "Virtual CPUs", 2).env("RMACHINE_QEMU_CPUS").value_name("N").check(check_positive),
            int_option("qemu-memory", "Memory in MiB", 2048).env("RMACHINE_QEMU_MEMORY").value_name("MIB").check(check_positive),
            string_option("qemu-disk-size", "Disk size (the guest grows its root file system into it on first boot)")
                .env("RMACHINE_QEMU_DISK_SIZE")
                .value_name("SIZE")
                .default_value(text("20G"))
                .check(|value| check_text(value, |text| parse_size(text).map(drop))),
            string_option("qemu-accel", "Accelerator: auto (KVM when /dev/kvm is usable and the CPU has vmx/svm, else TCG), kvm or tcg")
                .env("RMACHINE_QEMU_ACCEL")
                .value_name("auto|kvm|tcg")
                .default_value(text("auto"))
                .check(|value| check_text(value, |text| Accel::parse(text).map(drop))),
            string_option("qemu-binary", "QEMU system emulator: a name looked up in PATH, or a path")
                .env("RMACHINE_QEMU_BINARY")
                .value_name("PATH")
                .default_value(text("qemu-system-x86_64")),
            string_option("qemu-firmware", "Firmware: bios (SeaBIOS) or uefi (OVMF, from Debian's ovmf package)")
                .value_name("bios|uefi")
                .default_value(text("bios"))
                .check(|value| check_text(value, |text| firmware(text).map(drop))),
            path_option("qemu-kernel", "Boot this kernel directly (with --qemu-initrd and --qemu-append)").value_name("FILE"),
            path_option("qemu-initrd", "Initial ramdisk for --qemu-kernel").value_name("FILE"),
            string_option("qemu-append", "Kernel command line for --qemu-kernel, e.g. 'root=/dev/vda1 console=ttyS0'").value_name("ARGS"),
            OptionSpec::new("qemu-ssh-port", OptionKind::Int, "Port on 127.0.0.1 forwarded to the guest's SSH (default: picked at create)")
                .value_name("PORT")
                .check(check_port),
            OptionSpec::new("qemu-engine-port", OptionKind::Int, "Port on 127.0.0.1 forwarded to the guest's engine (default: picked at create)")
                .value_name("PORT")
                .check(check_port),
            list_option("qemu-publish", "Forward a host port to the guest: [tcp|udp:][127.0.0.1:]HOST:GUEST (repeatable)")
                .value_name("RULE")
                .check(|value| check_text(value, |text| Publish::parse(text).map(drop))),
            int_option("qemu-stop-timeout", "Seconds 'stop' waits for the guest to power off before it quits QEMU", 120)
                .value_name("SECONDS")
                .check(check_positive),
            int_option(
                "qemu-boot-stall-timeout",
                "Seconds the guest's serial console may stay silent before a login prompt, while rmachine waits for the guest to boot, before the boot counts as stuck and the guest is reset once (0: never)",
                DEFAULT_BOOT_STALL_TIMEOUT as i64,
            )
            .env("RMACHINE_QEMU_BOOT_STALL_TIMEOUT")
            .value_name("SECONDS")
            .check(check_not_negative),
            string_option("qemu-network", "Join the VM-to-VM network NAME of this store (a second NIC; swarm machines join 'default'); 'none': no second NIC")
                .value_name("NAME")
                .check(|value| check_text(value, check_network_name)),
            string_option("qemu-network-address", "Address on --qemu-network, e.g. 10.213.0.21/24 (default: the lowest free one of 10.213.0.0/24)")
                .value_name("IP/PREFIX")
                .check(|value| check_text(value, |text| Address::parse(text).map(drop))),
            bool_option("qemu-keep-on-failure", "Keep the VM and its files when the create fails (for debugging); 'rmachine rm' removes them"),
            list_option("qemu-extra-arg", "Extra argument for QEMU's command line (repeatable)").value_name("ARG"),
        ]
    }

    fn controls_power(&self) -> bool {
        true
    }

    fn new_driver(
        &self,
        environment: &Arc<DriverEnvironment>,
        machine: &NewMachine<'_>,
        options: &DriverOptions,
    ) -> Result<Box<dyn Driver>, DriverError> {
        let config = config_from_options(machine, options)?;
        Ok(Box::new(QemuMachine::new(environment.clone(), config)))
    }

    fn open(
        &self,
        environment: &Arc<DriverEnvironment>,
        settings: &serde_json::Value,
    ) -> Result<Box<dyn Driver>, DriverError> {
        let config = settings_from_json::<QemuConfig>(NAME, settings)?;
        Ok(Box::new(QemuMachine::new(environment.clone(), config)))
    }
}

pub fn firmware(text: &str) -> Result<FirmwareChoice, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "bios" | "" => Ok(FirmwareChoice::Bios),
        "uefi" | "efi" => Ok(FirmwareChoice::Uefi),
        other => Err(format!("'{other}' is not a firmware: use bios or uefi")),
    }
}

fn invalid(flag: &str) -> impl Fn(String) -> DriverError + '_ {
    move |problem| DriverError::invalid(format!("--{flag}"), problem)
}

/// An existing file, made absolute.
fn existing_file(options: &DriverOptions, flag: &str) -> Result<Option<PathBuf>, DriverError> {
    let Some(path) = options.path(flag) else { return Ok(None) };
    std::fs::canonicalize(&path)
        .map(Some)
        .map_err(|error| DriverError::invalid(format!("--{flag}"), format!("{}: {error}", path.display())))
}

pub fn config_from_options(machine: &NewMachine<'_>, options: &DriverOptions) -> Result<QemuConfig, DriverError> {
    let image_text = options.string_or("qemu-image", DEFAULT_IMAGE);
    let current_folder = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    let image = match ImageSource::parse(&image_text, &current_folder) {
        ImageSource::Path(path) => ImageSource::Path(
            std::fs::canonicalize(&path)
                .map_err(|error| invalid("qemu-image")(format!("{}: {error}", path.display())))?,
        ),
        url => url,
    };
    let number = |flag: &str, default: i64| options.int(flag).unwrap_or(default).max(1) as u64;
    let publish = options
        .list("qemu-publish")
        .iter()
        .map(|rule| Publish::parse(rule))
        .collect::<Result<Vec<_>, _>>()
        .map_err(invalid("qemu-publish"))?;
    let fixed_port = |flag: &str| -> Result<Option<u16>, DriverError> {
        options.int(flag).map(|_| options.port(flag, 0)).transpose()
    };
    let network = network_choice(machine, options)?;
    let network_address = match options.string("qemu-network-address").filter(|text| !text.is_empty()) {
        Some(text) if network.is_none() => {
            return Err(invalid("qemu-network-address")(format!("{text} needs --qemu-network NAME to join")));
        }
        Some(text) => Some(Address::parse(&text).map_err(invalid("qemu-network-address"))?),
        None => None,
    };
    if network.is_some() {
        check_multicast_loopback().map_err(|problem| {
            DriverError::failed(
                format!("setting up the VM network for machine '{}'", machine.name),
                format!("{problem}. QEMU's socket networks need multicast on the loopback interface (no root needed); without it qemu machines cannot reach each other"),
            )
        })?;
    }
    Ok(QemuConfig {
        machine_name: machine.name.to_string(),
        image,
        image_checksum: options
            .string("qemu-image-checksum")
            .filter(|text| !text.is_empty())
            .map(|text| Checksum::parse(&text))
            .transpose()
            .map_err(invalid("qemu-image-checksum"))?,
        image_insecure: options.bool("qemu-image-insecure"),
        cpus: number("qemu-cpus", 2) as u32,
        memory_mib: number("qemu-memory", 2048),
        disk_size: parse_size(&options.string_or("qemu-disk-size", "20G")).map_err(invalid("qemu-disk-size"))?,
        accel: Accel::parse(&options.string_or("qemu-accel", "auto")).map_err(invalid("qemu-accel"))?,
        binary: options.string_or("qemu-binary", "qemu-system-x86_64"),
        firmware: firmware(&options.string_or("qemu-firmware", "bios")).map_err(invalid("qemu-firmware"))?,
        kernel: existing_file(options, "qemu-kernel")?,
        initrd: existing_file(options, "qemu-initrd")?,
        append: options.string("qemu-append").filter(|text| !text.is_empty()),
        fixed_ssh_port: fixed_port("qemu-ssh-port")?,
        fixed_engine_port: fixed_port("qemu-engine-port")?,
        publish,
        stop_timeout: number("qemu-stop-timeout", 120),
        boot_stall_timeout: options
            .int("qemu-boot-stall-timeout")
            .map_or(DEFAULT_BOOT_STALL_TIMEOUT, |seconds| seconds.max(0) as u64),
        network,
        network_address,
        keep_on_failure: options.bool("qemu-keep-on-failure"),
        extra_args: options.list("qemu-extra-arg"),
        created: Created::default(),
    })
}

/// The VM network the machine joins: the one named, `default` for a swarm machine, none otherwise.
fn network_choice(machine: &NewMachine<'_>, options: &DriverOptions) -> Result<Option<String>, DriverError> {
    match options.string("qemu-network").filter(|name| !name.is_empty()) {
        Some(name) if name == "none" && machine.joins_swarm => Err(invalid("qemu-network")(
            "a machine in a swarm needs a network to its peers: remove `network: none` (or name a network)".into(),
        )),
        Some(name) if name == "none" => Ok(None),
        Some(name) => check_network_name(&name).map(|()| Some(name)).map_err(invalid("qemu-network")),
        None if machine.joins_swarm => Ok(Some(DEFAULT_SWARM_NETWORK.to_string())),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(given: &[(&str, OptionValue)]) -> DriverOptions {
        let mut options = DriverOptions::default();
        for (name, value) in given {
            options.give(name, value.clone());
        }
        options.complete(&QemuKind.options(), &|_: &str| None).unwrap()
    }

    #[test]
    fn defaults_are_the_official_image_two_cpus_2_gib_20_gib_auto_and_picked_ports() {
        let config = config_from_options(&NewMachine { name: "dev", joins_swarm: false }, &options(&[])).unwrap();
        assert_eq!(config.image, ImageSource::Url(DEFAULT_IMAGE.into()));
        assert_eq!((config.cpus, config.memory_mib, config.disk_size), (2, 2048, 20 << 30));
        assert_eq!(config.accel, Accel::Auto);
        assert_eq!(config.firmware, FirmwareChoice::Bios);
        assert_eq!((config.fixed_ssh_port, config.fixed_engine_port), (None, None));
        assert_eq!(config.network, None);
        assert_eq!(config.stop_timeout, 120);
        assert_eq!(config.boot_stall_timeout, 180);
        let off = options(&[("qemu-boot-stall-timeout", OptionValue::Int(0))]);
        assert_eq!(
            config_from_options(&NewMachine { name: "dev", joins_swarm: false }, &off).unwrap().boot_stall_timeout,
            0
        );
    }

    #[test]
    fn swarm_machines_join_the_default_network_unless_told_otherwise() {
        let swarm = NewMachine { name: "m1", joins_swarm: true };
        assert_eq!(config_from_options(&swarm, &options(&[])).unwrap().network.as_deref(), Some("default"));
        let named = options(&[("qemu-network", text("lab")), ("qemu-network-address", text("10.9.0.5/16"))]);
        let config = config_from_options(&swarm, &named).unwrap();
        assert_eq!(config.network.as_deref(), Some("lab"));
        assert_eq!(config.network_address.unwrap().to_string(), "10.9.0.5/16");
        let refused = config_from_options(&swarm, &options(&[("qemu-network", text("none"))])).unwrap_err();
        assert!(refused.to_string().contains("needs a network to its peers"), "{refused}");
        let alone = NewMachine { name: "dev", joins_swarm: false };
        let error =
            config_from_options(&alone, &options(&[("qemu-network-address", text("10.9.0.5/16"))])).unwrap_err();
        assert!(error.to_string().contains("needs --qemu-network"), "{error}");
    }

    #[test]
    fn bad_values_are_refused_by_their_flag() {
        let spec = |name: &str| QemuKind.options().into_iter().find(|spec| spec.name == name).unwrap();
        assert!(spec("qemu-accel").parse_text("hvf").unwrap_err().contains("auto, kvm or tcg"));
        assert!(spec("qemu-firmware").parse_text("coreboot").is_err());
        assert!(spec("qemu-disk-size").parse_text("lots").is_err());
        assert!(spec("qemu-image-checksum").parse_text("md5:00").is_err());
        assert!(spec("qemu-publish").parse_text("80").is_err());
        assert!(spec("qemu-network").parse_text("Lab Net").is_err());
        assert!(spec("qemu-cpus").parse_text("0").is_err());
        assert!(spec("qemu-boot-stall-timeout").parse_text("-1").unwrap_err().contains("0 turns it off"));
        assert!(spec("qemu-boot-stall-timeout").parse_text("0").is_ok());
        let missing = options(&[("qemu-image", text("/nonexistent/disk.qcow2"))]);
        let error = config_from_options(&NewMachine { name: "dev", joins_swarm: false }, &missing).unwrap_err();
        assert!(error.to_string().starts_with("--qemu-image: /nonexistent/disk.qcow2"), "{error}");
    }
}
