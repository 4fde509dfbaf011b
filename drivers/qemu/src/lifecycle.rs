//! A QEMU machine's lifecycle. `create`: cached verified image → overlay disk → keys → network
//! lease → cloud-init seed → QEMU started. `state`: the pidfile lock's holder and `query-status`.
//! `stop`: ACPI power-down, then QMP `quit` after `--qemu-stop-timeout`, then SIGKILL. `kill`: QMP
//! `quit`, then SIGKILL. `restart`: a reboot inside the guest over SSH (same QEMU, same ports), or
//! `system_reset` when SSH is dead. `remove`: no QEMU, socket or lease left (the store removes the
//! machine's folder; the image cache stays).

use crate::QemuMachine;
use crate::cidata::{Seed, SeedNetwork};
use crate::image::{self, ImageCache};
use crate::process::{force_kill, lock_holder, wait_released};
use crate::settings::{DISK_FILE, EFI_VARS_FILE, FirmwareChoice, PIDFILE, SEED_FILE, SERCON_FILE, USER_KEY_FILE};
use crate::state::state_report;
use crate::{disk, keys, network, qmp};
use rmachine_drivers::{
    CreateContext, DriverError, DriverLog, MachineState, PowerOperation, PowerOutcome, REBOOT_COMMAND, StateReport,
};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::Duration;
use tokio::io::AsyncReadExt;

/// How long QMP may take to answer a control command.
const QMP_TIMEOUT: Duration = Duration::from_secs(5);
/// How long QEMU may take to exit after `quit`, and after SIGKILL.
const QUIT_WAIT: Duration = Duration::from_secs(10);

pub fn http_client() -> Result<reqwest::Client, DriverError> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(20))
        .read_timeout(Duration::from_secs(60))
        .user_agent(concat!("rmachine/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|error| DriverError::failed("setting up HTTP", error.to_string()))
}

pub async fn create(machine: &mut QemuMachine, context: &CreateContext<'_>) -> Result<(), DriverError> {
    let log = context.log;
    let folder = context.store_root.join(context.machine_directory);
    machine.config.created.machine_directory = Some(context.machine_directory.to_path_buf());
    machine.config.created.nat_mac = machine.nat_mac();

    log.phase(&format!("getting the image {}", describe_source(&machine.config.image)));
    let cache = ImageCache::new(&machine.environment.cache_dir);
    let client = http_client()?;
    let config = &machine.config;
    let expected =
        image::expected(&config.image, config.image_checksum.as_ref(), config.image_insecure, &cache, &client).await?;
    let (base, checksum) = image::ensure_cached(&config.image, &expected, &cache, &client, log).await?;
    machine.config.created.base_image = Some(base.clone());
    machine.config.created.base_checksum = Some(checksum);

    let qemu_img = machine.qemu_img()?;
    let info = disk::info(&qemu_img, &base).await?;
    log.phase(&format!(
        "creating its {} disk (an overlay on {})",
        disk::describe_size(machine.config.disk_size),
        base.display()
    ));
    disk::create_overlay(&qemu_img, &base, &info, &folder.join(DISK_FILE), machine.config.disk_size).await?;

    let name = machine.config.machine_name.clone();
    let user_key = keys::generate(&format!("rmachine {name}"))?;
    keys::write(&user_key, &folder.join(USER_KEY_FILE))?;
    let host_key = keys::generate("")?;
    machine.config.created.host_public_key = Some(host_key.public_line.clone());

    let peer_address = lease_network_address(machine)?;
    let instance_id = format!("rmachine-{name}-{}", &hex::encode(machine.id_bytes())[..8]);
    let (nat_mac, peer_mac) = (machine.config.created.nat_mac.clone(), peer_address.map(|address| address.mac()));
    let peer_text = peer_address.map(|address| address.to_string());
    let seed = Seed {
        hostname: &name,
        instance_id: &instance_id,
        authorized_key: &user_key.public_line,
        host_private_key: &host_key.private_openssh,
        host_public_key: &host_key.public_line,
        network: match (&peer_mac, &peer_text) {
            (Some(peer_mac), Some(peer_address)) => Some(SeedNetwork { nat_mac: &nat_mac, peer_mac, peer_address }),
            _ => None,
        },
    };
    let volume =
        seed.volume().map_err(|error| DriverError::failed("writing the cloud-init seed", error.to_string()))?;
    write_private(&folder.join(SEED_FILE), &volume)?;
    write_firmware_files(machine, &folder)?;

    log.phase(&format!("starting QEMU (serial console: {})", folder.join(crate::settings::SERIAL_LOG).display()));
    machine.launch(log).await
}

fn describe_source(source: &image::ImageSource) -> String {
    match source {
        image::ImageSource::Url(url) => url.clone(),
        image::ImageSource::Path(path) => path.display().to_string(),
    }
}

/// The machine's address on its VM network: the one asked for, else the lowest free one.
fn lease_network_address(machine: &mut QemuMachine) -> Result<Option<network::Address>, DriverError> {
    let Some(name) = machine.config.network.clone() else { return Ok(None) };
    let store = machine.environment.store_root.clone();
    let owner = machine.config.machine_name.clone();
    let leased = match machine.config.network_address {
        Some(address) => network::lease(&store, &name, address, &owner).map(|()| address),
        None => network::lease_next(&store, &name, network::DEFAULT_SUBNET, &owner),
    }
    .map_err(|problem| DriverError::invalid("--qemu-network-address", problem))?;
    machine.config.created.network_address = Some(leased);
    Ok(Some(leased))
}

/// SeaBIOS's serial-console port (0x3f8, little-endian), or the machine's own UEFI variables.
fn write_firmware_files(machine: &QemuMachine, folder: &Path) -> Result<(), DriverError> {
    match machine.config.firmware {
        FirmwareChoice::Bios => write_private(&folder.join(SERCON_FILE), &0x3f8u16.to_le_bytes()),
        FirmwareChoice::Uefi => {
            let (_, vars) = crate::launch::ovmf()?;
            let target = folder.join(EFI_VARS_FILE);
            std::fs::copy(&vars, &target).map(drop).map_err(|source| DriverError::Write { path: target, source })
        }
    }
}

/// Writes a new file readable by its owner only (the seed holds the host's private key).
fn write_private(path: &Path, contents: &[u8]) -> Result<(), DriverError> {
    use std::io::Write;
    let write_error = |source| DriverError::Write { path: path.to_path_buf(), source };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(write_error)?;
    file.write_all(contents).and_then(|()| file.sync_all()).map_err(write_error)
}

pub async fn state(machine: &QemuMachine, timeout: Duration) -> StateReport {
    let Some(pidfile) = machine.file(PIDFILE) else {
        return StateReport::with_reason(MachineState::Stopped, "the machine has no QEMU yet");
    };
    let holder = match lock_holder(&pidfile) {
        Ok(holder) => holder,
        Err(error) => {
            return StateReport::with_reason(
                MachineState::Error,
                format!("cannot read {}: {error}", pidfile.display()),
            );
        }
    };
    let status = match (&holder, &machine.config.created.qmp_socket) {
        (Some(_), Some(socket)) => Some(qmp::query_status(socket, timeout.min(QMP_TIMEOUT)).await),
        _ => None,
    };
    state_report(holder, status)
}

pub async fn power(machine: &mut QemuMachine, operation: PowerOperation) -> Result<PowerOutcome, DriverError> {
    let log = machine.environment.log.clone();
    let pidfile = machine.file(PIDFILE).ok_or_else(|| {
        DriverError::failed(format!("{operation} machine '{}'", machine.config.machine_name), "it was never created")
    })?;
    let holder = lock_holder(&pidfile)
        .map_err(|error| DriverError::failed(format!("reading {}", pidfile.display()), error.to_string()))?;
    match (operation, holder) {
        (PowerOperation::Start | PowerOperation::Restart, None) => {
            machine.launch(log.as_ref()).await.map(|()| PowerOutcome::Done)
        }
        (PowerOperation::Start, Some(_)) | (PowerOperation::Stop | PowerOperation::Kill, None) => {
            Ok(PowerOutcome::Done)
        }
        (PowerOperation::Stop, Some(pid)) => stop(machine, pid, log.as_ref()).await.map(|()| PowerOutcome::Done),
        (PowerOperation::Kill, Some(pid)) => quit_or_kill(machine, pid).await.map(|()| PowerOutcome::Done),
        (PowerOperation::Restart, Some(_)) if ssh_answers(machine.config.created.ssh_port).await => {
            Ok(PowerOutcome::RunOverSsh(REBOOT_COMMAND.to_string()))
        }
        (PowerOperation::Restart, Some(_)) => {
            log.phase(&format!(
                "({}) SSH does not answer: resetting the VM (QMP system_reset)",
                machine.config.machine_name
            ));
            let socket = qmp_socket(machine)?;
            qmp::run(&socket, "system_reset", QMP_TIMEOUT).await.map(|_| PowerOutcome::Done).map_err(qmp_failed)
        }
    }
}

fn qmp_socket(machine: &QemuMachine) -> Result<std::path::PathBuf, DriverError> {
    machine
        .config
        .created
        .qmp_socket
        .clone()
        .ok_or_else(|| DriverError::failed("reaching QEMU", "the record names no QMP socket"))
}

fn qmp_failed(error: qmp::QmpError) -> DriverError {
    DriverError::failed("controlling QEMU", error.to_string())
}

/// Whether the guest's sshd sends its banner (slirp accepts connections even when sshd is down).
async fn ssh_answers(port: u16) -> bool {
    let attempt = async {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.ok()?;
        let mut banner = [0u8; 8];
        stream.read_exact(&mut banner).await.ok()?;
        Some(banner.starts_with(b"SSH-"))
    };
    matches!(tokio::time::timeout(Duration::from_secs(5), attempt).await, Ok(Some(true)))
}

/// ACPI power-down; after `--qemu-stop-timeout` QMP `quit`, then SIGKILL.
async fn stop(machine: &QemuMachine, pid: i32, log: &dyn DriverLog) -> Result<(), DriverError> {
    let pidfile = machine.file(PIDFILE).expect("a running machine has a folder");
    let socket = qmp_socket(machine)?;
    if let Err(error) = qmp::run(&socket, "system_powerdown", QMP_TIMEOUT).await {
        log.debug(&format!("system_powerdown: {error}"));
    }
    let timeout = Duration::from_secs(machine.config.stop_timeout);
    if wait_released(&pidfile, timeout).await {
        remove_sockets(machine);
        return Ok(());
    }
    log.warning(&format!(
        "({}) the guest did not power off within {}s (--qemu-stop-timeout): quitting QEMU",
        machine.config.machine_name,
        timeout.as_secs()
    ));
    quit_or_kill(machine, pid).await
}

/// QMP `quit` (QEMU flushes its disks and exits), then SIGKILL of the lock's holder.
async fn quit_or_kill(machine: &QemuMachine, pid: i32) -> Result<(), DriverError> {
    let pidfile = machine.file(PIDFILE).expect("a running machine has a folder");
    if let Some(socket) = &machine.config.created.qmp_socket
        && let Ok(mut connection) = qmp::Qmp::connect(socket, QMP_TIMEOUT).await
    {
        let _ = connection.execute_then_closed("quit").await;
    }
    if !wait_released(&pidfile, QUIT_WAIT).await {
        // the holder now, not the PID from before: it may have exited meanwhile
        if let Ok(Some(holder)) = lock_holder(&pidfile) {
            force_kill(holder)
                .map_err(|error| DriverError::failed(format!("killing QEMU pid {pid}"), error.to_string()))?;
        }
        if !wait_released(&pidfile, QUIT_WAIT).await {
            return Err(DriverError::failed(format!("stopping QEMU pid {pid}"), "it is still running after SIGKILL"));
        }
    }
    remove_sockets(machine);
    Ok(())
}

fn remove_sockets(machine: &QemuMachine) {
    let recorded = [&machine.config.created.qmp_socket, &machine.config.created.serial_socket];
    for socket in recorded.into_iter().flatten() {
        let _ = std::fs::remove_file(socket);
    }
    for suffix in ["qmp", "serial"] {
        let _ = std::fs::remove_file(machine.runtime_socket(suffix));
    }
}

pub async fn remove(machine: &QemuMachine) -> Result<(), DriverError> {
    if let Some(pidfile) = machine.file(PIDFILE)
        && let Ok(Some(pid)) = lock_holder(&pidfile)
    {
        quit_or_kill(machine, pid).await?;
    }
    remove_sockets(machine);
    if let (Some(name), Some(address)) = (&machine.config.network, machine.config.created.network_address) {
        network::release(&machine.environment.store_root, name, address, &machine.config.machine_name);
    }
    Ok(())
}
