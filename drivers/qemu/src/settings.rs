//! What a QEMU machine's record keeps: the user's choices (image, size, accelerator, firmware,
//! ports, publish rules, network), then what `create` made (the machine's folder, the cached base
//! image, the ports in use, the host key, MACs, the leased network address, the sockets of the
//! running QEMU). `start` rebuilds QEMU's command line from this alone.

use crate::accel::Accel;
use crate::checksum::Checksum;
use crate::image::ImageSource;
use crate::network::Address;
use crate::ports::Publish;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The port dockerd listens on inside the guest (forwarded from a picked port on 127.0.0.1).
pub const GUEST_ENGINE_PORT: u16 = 2376;
pub const USER_KEY_FILE: &str = "id_ed25519";
pub const DISK_FILE: &str = "disk.qcow2";
pub const SEED_FILE: &str = "cidata.img";
pub const SERIAL_LOG: &str = "serial.log";
pub const QEMU_LOG: &str = "qemu.log";
pub const PIDFILE: &str = "qemu.pid";
pub const SERCON_FILE: &str = "sercon-port";
pub const EFI_VARS_FILE: &str = "efivars.fd";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FirmwareChoice {
    Bios,
    Uefi,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QemuConfig {
    pub machine_name: String,
    pub image: ImageSource,
    pub image_checksum: Option<Checksum>,
    pub image_insecure: bool,
    pub cpus: u32,
    pub memory_mib: u64,
    pub disk_size: u64,
    pub accel: Accel,
    /// `qemu-system-x86_64` (looked up in the search path) or a path.
    pub binary: String,
    pub firmware: FirmwareChoice,
    pub kernel: Option<PathBuf>,
    pub initrd: Option<PathBuf>,
    pub append: Option<String>,
    /// Ports the user fixed (`--qemu-ssh-port`, `--qemu-engine-port`); `None`: picked.
    pub fixed_ssh_port: Option<u16>,
    pub fixed_engine_port: Option<u16>,
    pub publish: Vec<Publish>,
    pub stop_timeout: u64,
    /// Seconds of a silent serial console before a login prompt after which the guest's boot
    /// counts as stuck and is reset once (0: never); records older than the option get the default.
    #[serde(default = "default_boot_stall_timeout")]
    pub boot_stall_timeout: u64,
    /// The VM network the machine joins (a second NIC), and the address asked for on it.
    pub network: Option<String>,
    pub network_address: Option<Address>,
    pub keep_on_failure: bool,
    pub extra_args: Vec<String>,
    #[serde(default)]
    pub created: Created,
}

/// `--qemu-boot-stall-timeout`'s default: a busy machine's TCG boot never stays silent that long.
pub const DEFAULT_BOOT_STALL_TIMEOUT: u64 = 180;

fn default_boot_stall_timeout() -> u64 {
    DEFAULT_BOOT_STALL_TIMEOUT
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Created {
    /// The machine's folder, relative to the store root.
    pub machine_directory: Option<PathBuf>,
    /// The cached base image the overlay's backing file names, and its digest.
    pub base_image: Option<PathBuf>,
    pub base_checksum: Option<Checksum>,
    pub ssh_port: u16,
    pub engine_port: u16,
    /// The host key given to the guest (`ssh-ed25519 AAAA...`), pinned before the first boot.
    pub host_public_key: Option<String>,
    pub nat_mac: String,
    /// The address leased on `network`.
    pub network_address: Option<Address>,
    /// The sockets of the QEMU started last (the runtime folder may differ between runs).
    pub qmp_socket: Option<PathBuf>,
    pub serial_socket: Option<PathBuf>,
}
