//! Starting a machine's QEMU from its record: the accelerator for this run, its ports (kept from
//! create; a taken one is re-picked with a warning, or refused when the user fixed it), the command
//! line, `-daemonize` (set-up errors come back as QEMU's exit status, with the message in the
//! machine's `qemu.log`), and the wait for QMP's greeting.

use crate::QemuMachine;
use crate::accel::{self, KvmSupport};
use crate::cmdline::{Firmware, Launch, PeerNic};
use crate::network;
use crate::ports::{self, LOOPBACK, Protocol};
use crate::process::lock_holder;
use crate::qmp::Qmp;
use crate::settings::{
    DISK_FILE, EFI_VARS_FILE, FirmwareChoice, GUEST_ENGINE_PORT, PIDFILE, QEMU_LOG, SEED_FILE, SERCON_FILE, SERIAL_LOG,
};
use rmachine_drivers::{DriverError, DriverLog};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long QEMU may take to daemonize, and then to greet on QMP.
const SPAWN_TIMEOUT: Duration = Duration::from_secs(60);
const GREETING_TIMEOUT: Duration = Duration::from_secs(30);
/// Tries when a picked port was taken between the check and QEMU's bind.
const PORT_TRIES: usize = 3;
/// UNIX socket paths are limited to 108 bytes, the terminating NUL included.
const SOCKET_PATH_LIMIT: usize = 107;

/// The OVMF firmware files Debian's `ovmf` package installs (newest layout first).
const OVMF: [(&str, &str); 2] = [
    ("/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd"),
    ("/usr/share/OVMF/OVMF_CODE.fd", "/usr/share/OVMF/OVMF_VARS.fd"),
];

pub fn ovmf() -> Result<(PathBuf, PathBuf), DriverError> {
    OVMF.iter()
        .find(|(code, vars)| Path::new(code).is_file() && Path::new(vars).is_file())
        .map(|(code, vars)| (PathBuf::from(code), PathBuf::from(vars)))
        .ok_or_else(|| {
            DriverError::invalid(
                "--qemu-firmware",
                "uefi needs OVMF, which is not installed (/usr/share/OVMF/OVMF_CODE_4M.fd): apt-get install ovmf, or use --qemu-firmware bios",
            )
        })
}

impl QemuMachine {
    /// The QEMU binary: a path as given, else looked up in the search path.
    pub(crate) fn binary(&self) -> Result<PathBuf, DriverError> {
        let wanted = &self.config.binary;
        let missing = |problem: String| {
            DriverError::failed(
                "finding QEMU",
                format!(
                    "{problem}. Install QEMU (Debian/Ubuntu: apt-get install qemu-system-x86 qemu-utils; Fedora: dnf install qemu-system-x86 qemu-img) or point --qemu-binary (RMACHINE_QEMU_BINARY) at qemu-system-x86_64"
                ),
            )
        };
        if wanted.contains('/') {
            let path = PathBuf::from(wanted);
            return if path.is_file() { Ok(path) } else { Err(missing(format!("{wanted} does not exist"))) };
        }
        self.environment.find_executable(wanted).ok_or_else(|| missing(format!("'{wanted}' is not in PATH")))
    }

    /// `qemu-img`: beside the QEMU binary, else in the search path.
    pub(crate) fn qemu_img(&self) -> Result<PathBuf, DriverError> {
        let beside = self.binary().ok().and_then(|binary| binary.parent().map(|folder| folder.join("qemu-img")));
        beside.filter(|path| path.is_file()).or_else(|| self.environment.find_executable("qemu-img")).ok_or_else(|| {
            DriverError::failed(
                "finding qemu-img",
                "'qemu-img' is not in PATH: install it (Debian/Ubuntu: apt-get install qemu-utils)",
            )
        })
    }

    fn required_file(&self, name: &str) -> Result<PathBuf, DriverError> {
        self.file(name).ok_or_else(|| {
            DriverError::failed(
                format!("starting machine '{}'", self.config.machine_name),
                "it was never created (its record has no folder): 'rmachine rm' it and create it again",
            )
        })
    }

    /// Starts QEMU and waits until it answers on QMP.
    pub(crate) async fn launch(&mut self, log: &dyn DriverLog) -> Result<(), DriverError> {
        let binary = self.binary()?;
        let (accel, note) = accel::resolve(self.config.accel, &KvmSupport::probe());
        if let Some(note) = note {
            log.phase(&note);
        }
        if let Some(base) = &self.config.created.base_image
            && !base.is_file()
        {
            return Err(DriverError::failed(
                format!("starting machine '{}'", self.config.machine_name),
                format!(
                    "its base image {} is gone from the image cache (the disk is an overlay on it): put it back, or 'rmachine rm' the machine and create it again",
                    base.display()
                ),
            ));
        }
        self.keep_or_repick_ports(log)?;
        let runtime = &self.environment.runtime_dir;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(runtime)
            .map_err(|source| DriverError::Write { path: runtime.clone(), source })?;
        check_private_folder(runtime)?;
        let (qmp_socket, serial_socket) = (self.runtime_socket("qmp"), self.runtime_socket("serial"));
        for socket in [&qmp_socket, &serial_socket] {
            if socket.as_os_str().len() > SOCKET_PATH_LIMIT {
                return Err(DriverError::failed(
                    "placing QEMU's sockets",
                    format!(
                        "{} is longer than a UNIX socket path may be (107 bytes): set XDG_RUNTIME_DIR to a short folder",
                        socket.display()
                    ),
                ));
            }
            let _ = std::fs::remove_file(socket);
        }
        self.config.created.qmp_socket = Some(qmp_socket.clone());
        self.config.created.serial_socket = Some(serial_socket.clone());
        for attempt in 1..=PORT_TRIES {
            let plan = self.launch_plan(accel, &qmp_socket, &serial_socket)?;
            match spawn(&binary, &plan).await {
                Ok(()) => break,
                Err(Spawn::PortTaken(problem)) if attempt < PORT_TRIES && self.ports_are_picked() => {
                    log.phase(&format!("{problem}: picking other ports"));
                    self.config.created.ssh_port = pick()?;
                    self.config.created.engine_port = pick()?;
                }
                Err(Spawn::PortTaken(problem) | Spawn::Failed(problem)) => {
                    return Err(DriverError::failed(
                        format!("starting QEMU for machine '{}'", self.config.machine_name),
                        problem,
                    ));
                }
            }
        }
        self.wait_for_greeting(&qmp_socket).await
    }

    fn ports_are_picked(&self) -> bool {
        self.config.fixed_ssh_port.is_none() && self.config.fixed_engine_port.is_none()
    }

    /// Keeps the recorded ports when they are free; a taken picked port is picked again (the URL
    /// changes: said here, and by the core), a taken fixed or published port is an error.
    fn keep_or_repick_ports(&mut self, log: &dyn DriverLog) -> Result<(), DriverError> {
        let name = self.config.machine_name.clone();
        let created = &mut self.config.created;
        let rows = [
            ("SSH", self.config.fixed_ssh_port, &mut created.ssh_port, "--qemu-ssh-port"),
            ("the engine", self.config.fixed_engine_port, &mut created.engine_port, "--qemu-engine-port"),
        ];
        for (what, fixed, port, flag) in rows {
            if let Some(fixed) = fixed {
                *port = fixed;
                if !ports::is_free(Protocol::Tcp, LOOPBACK, fixed) {
                    return Err(DriverError::invalid(
                        flag,
                        format!(
                            "127.0.0.1:{fixed} is taken by another program: free it, or create the machine without {flag} to have a port picked"
                        ),
                    ));
                }
            } else if *port == 0 {
                *port = pick()?;
            } else if !ports::is_free(Protocol::Tcp, LOOPBACK, *port) {
                let old = *port;
                *port = pick()?;
                log.warning(&format!(
                    "({name}) 127.0.0.1:{old}, where {what} was forwarded from, is taken by another program: {what} moves to 127.0.0.1:{}",
                    *port
                ));
            }
        }
        for rule in &self.config.publish {
            if !ports::is_free(rule.protocol, rule.address, rule.host) {
                return Err(DriverError::invalid(
                    "--qemu-publish",
                    format!(
                        "{}:{} ({}) is taken by another program: free it first",
                        rule.address,
                        rule.host,
                        rule.protocol.as_str()
                    ),
                ));
            }
        }
        Ok(())
    }

    fn launch_plan(&self, accel: accel::Accel, qmp_socket: &Path, serial_socket: &Path) -> Result<Launch, DriverError> {
        let firmware = match self.config.firmware {
            FirmwareChoice::Bios => Firmware::Bios { sercon_port_file: self.required_file(SERCON_FILE)? },
            FirmwareChoice::Uefi => Firmware::Uefi { code: ovmf()?.0, vars: self.required_file(EFI_VARS_FILE)? },
        };
        let peer = match (&self.config.network, self.config.created.network_address) {
            (Some(name), Some(address)) => {
                let group = network::group(&self.environment.store_root, name);
                Some(PeerNic { group: group.address, port: group.port, mac: address.mac() })
            }
            _ => None,
        };
        Ok(Launch {
            machine: self.config.machine_name.clone(),
            accel,
            cpus: self.config.cpus,
            memory_mib: self.config.memory_mib,
            disk: self.required_file(DISK_FILE)?,
            seed: self.required_file(SEED_FILE)?,
            ssh_port: self.config.created.ssh_port,
            engine_port: self.config.created.engine_port,
            guest_engine_port: GUEST_ENGINE_PORT,
            publish: self.config.publish.clone(),
            nat_mac: self.config.created.nat_mac.clone(),
            peer,
            firmware,
            kernel: self.config.kernel.clone(),
            initrd: self.config.initrd.clone(),
            append: self.config.append.clone(),
            serial_socket: serial_socket.to_path_buf(),
            serial_log: self.required_file(SERIAL_LOG)?,
            qmp_socket: qmp_socket.to_path_buf(),
            pidfile: self.required_file(PIDFILE)?,
            qemu_log: self.required_file(QEMU_LOG)?,
            extra_args: self.config.extra_args.clone(),
        })
    }

    /// Waits for QMP's greeting; QEMU dying meanwhile is an error with its log.
    async fn wait_for_greeting(&self, qmp_socket: &Path) -> Result<(), DriverError> {
        let pidfile = self.required_file(PIDFILE)?;
        let started = Instant::now();
        loop {
            match Qmp::connect(qmp_socket, Duration::from_secs(5)).await {
                Ok(_) => return Ok(()),
                Err(error) if started.elapsed() > GREETING_TIMEOUT => {
                    return Err(DriverError::failed(
                        format!("starting QEMU for machine '{}'", self.config.machine_name),
                        error.to_string(),
                    ));
                }
                Err(_) => {}
            }
            if matches!(lock_holder(&pidfile), Ok(None)) && started.elapsed() > Duration::from_secs(2) {
                let log = self.required_file(QEMU_LOG)?;
                return Err(DriverError::failed(
                    format!("starting QEMU for machine '{}'", self.config.machine_name),
                    format!("QEMU exited right after starting: {}", log_text(&log)),
                ));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// The sockets' folder must be this user's alone (under /tmp another user could have made it).
fn check_private_folder(folder: &Path) -> Result<(), DriverError> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(folder).map_err(|source| DriverError::Write { path: folder.to_path_buf(), source })?;
    if meta.uid() != nix::unistd::geteuid().as_raw() || meta.mode() & 0o077 != 0 {
        return Err(DriverError::failed(
            "placing QEMU's sockets",
            format!(
                "{} belongs to another user or is open to others: remove it, or set XDG_RUNTIME_DIR to a folder of your own",
                folder.display()
            ),
        ));
    }
    Ok(())
}

fn pick() -> Result<u16, DriverError> {
    ports::pick_free_port().map_err(|error| DriverError::failed("picking a free port on 127.0.0.1", error.to_string()))
}

enum Spawn {
    /// A host forward could not bind its port.
    PortTaken(String),
    Failed(String),
}

/// Runs QEMU, which daemonizes once its set-up succeeded.
async fn spawn(binary: &Path, plan: &Launch) -> Result<(), Spawn> {
    let _ = std::fs::remove_file(&plan.qemu_log);
    let _ = std::fs::remove_file(&plan.pidfile);
    let run = tokio::process::Command::new(binary)
        .args(plan.arguments())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .output();
    let output = match tokio::time::timeout(SPAWN_TIMEOUT, run).await {
        Ok(Ok(output)) => output,
        Ok(Err(error)) => return Err(Spawn::Failed(format!("cannot run {}: {error}", binary.display()))),
        Err(_) => {
            return Err(Spawn::Failed(format!(
                "{} did not daemonize within {}s",
                binary.display(),
                SPAWN_TIMEOUT.as_secs()
            )));
        }
    };
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_string();
    let message = match log_text(&plan.qemu_log) {
        log if log.is_empty() => stderr,
        log => log,
    };
    let problem = format!("{} exited with {}: {message}", binary.display(), output.status);
    if message.contains("host forwarding rule") || message.contains("hostfwd") {
        Err(Spawn::PortTaken(problem))
    } else {
        Err(Spawn::Failed(problem))
    }
}

/// QEMU's own log (`-D`), which holds its start-up errors; trimmed, without the warning QEMU
/// always gives for SeaBIOS's well-known `etc/sercon-port` item.
pub fn log_text(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> =
        text.lines().filter(|line| !line.contains("externally provided fw_cfg item names")).collect();
    lines.join("\n").trim().to_string()
}
