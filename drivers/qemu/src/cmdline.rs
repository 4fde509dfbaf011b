//! QEMU's command line for one machine, rendered from a [`Launch`] (what the record says plus the
//! paths and ports of this start) by a pure function. Paths are absolute (`-daemonize` changes to
//! `/`); commas in option values are doubled, as QEMU's option syntax requires.

use crate::accel::Accel;
use crate::ports::Publish;
use std::path::PathBuf;

/// The guest's SSH port and the port its engine listens on.
pub const GUEST_SSH_PORT: u16 = 22;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Firmware {
    /// SeaBIOS, its text console copied to the serial port by `sercon_port_file` (so "No bootable
    /// device." reaches the serial log).
    Bios { sercon_port_file: PathBuf },
    /// OVMF: read-only code and the machine's own copy of the variables.
    Uefi { code: PathBuf, vars: PathBuf },
}

/// A second NIC on a multicast socket network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerNic {
    pub group: std::net::Ipv4Addr,
    pub port: u16,
    pub mac: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launch {
    pub machine: String,
    pub accel: Accel,
    pub cpus: u32,
    pub memory_mib: u64,
    pub disk: PathBuf,
    pub seed: PathBuf,
    pub ssh_port: u16,
    pub engine_port: u16,
    pub guest_engine_port: u16,
    pub publish: Vec<Publish>,
    pub nat_mac: String,
    pub peer: Option<PeerNic>,
    pub firmware: Firmware,
    pub kernel: Option<PathBuf>,
    pub initrd: Option<PathBuf>,
    pub append: Option<String>,
    pub serial_socket: PathBuf,
    pub serial_log: PathBuf,
    pub qmp_socket: PathBuf,
    pub pidfile: PathBuf,
    pub qemu_log: PathBuf,
    pub extra_args: Vec<String>,
}

/// `path` as an option value: commas doubled.
fn value(path: &std::path::Path) -> String {
    path.display().to_string().replace(',', ",,")
}

impl Launch {
    /// The arguments after the binary.
    pub fn arguments(&self) -> Vec<String> {
        let mut args: Vec<String> = Vec::new();
        let mut push = |items: &[&str]| args.extend(items.iter().map(|item| item.to_string()));
        let name = format!("rmachine-{},process=rmachine-{}", self.machine, self.machine);
        push(&["-name", &name, "-nodefaults", "-no-user-config", "-display", "none", "-machine", "q35,vmport=off"]);
        match self.accel {
            Accel::Kvm => push(&["-accel", "kvm", "-cpu", "host"]),
            Accel::Tcg | Accel::Auto => push(&[
                "-accel",
                "tcg,thread=multi",
                "-cpu",
                "max",
                "-global",
                "ICH9-LPC.disable_s3=1",
                "-global",
                "ICH9-LPC.disable_s4=1",
            ]),
        }
        push(&["-smp", &format!("{},sockets=1,cores={}", self.cpus, self.cpus), "-m", &self.memory_mib.to_string()]);
        match &self.firmware {
            Firmware::Bios { sercon_port_file } => {
                push(&["-fw_cfg", &format!("name=etc/sercon-port,file={}", value(sercon_port_file))])
            }
            Firmware::Uefi { code, vars } => push(&[
                "-drive",
                &format!("if=pflash,format=raw,unit=0,readonly=on,file={}", value(code)),
                "-drive",
                &format!("if=pflash,format=raw,unit=1,file={}", value(vars)),
            ]),
        }
        push(&[
            "-drive",
            &format!("if=none,id=root,file={},format=qcow2,discard=unmap,detect-zeroes=unmap", value(&self.disk)),
            "-device",
            "virtio-blk-pci,drive=root,bootindex=1",
            "-drive",
            &format!("if=none,id=cidata,file={},format=raw,readonly=on", value(&self.seed)),
            "-device",
            "virtio-blk-pci,drive=cidata",
        ]);
        args.extend(self.network_arguments());
        args.extend(self.console_and_control_arguments());
        let mut push = |items: &[&str]| args.extend(items.iter().map(|item| item.to_string()));
        if let Some(kernel) = &self.kernel {
            push(&["-kernel", &kernel.display().to_string()]);
        }
        if let Some(initrd) = &self.initrd {
            push(&["-initrd", &initrd.display().to_string()]);
        }
        if let Some(append) = &self.append {
            push(&["-append", append]);
        }
        push(&["-pidfile", &self.pidfile.display().to_string(), "-D", &self.qemu_log.display().to_string()]);
        args.extend(self.extra_args.iter().cloned());
        args.push("-daemonize".into());
        args
    }

    /// slirp with the forwards, the optional second NIC on a multicast network, and entropy.
    fn network_arguments(&self) -> Vec<String> {
        let mut forwards = vec![
            format!("tcp:127.0.0.1:{}-:{GUEST_SSH_PORT}", self.ssh_port),
            format!("tcp:127.0.0.1:{}-:{}", self.engine_port, self.guest_engine_port),
        ];
        forwards.extend(self.publish.iter().map(Publish::hostfwd));
        let hostfwd: String = forwards.iter().map(|rule| format!(",hostfwd={rule}")).collect();
        // `romfile=`: no iPXE option ROM (the disk boots; the ROM's prompt costs seconds under TCG)
        let mut args = vec![
            "-netdev".to_string(),
            format!("user,id=net0{hostfwd}"),
            "-device".to_string(),
            format!("virtio-net-pci,netdev=net0,mac={},romfile=", self.nat_mac),
        ];
        if let Some(peer) = &self.peer {
            args.extend([
                "-netdev".to_string(),
                format!("socket,id=net1,mcast={}:{},localaddr=127.0.0.1", peer.group, peer.port),
                "-device".to_string(),
                format!("virtio-net-pci,netdev=net1,mac={},romfile=", peer.mac),
            ]);
        }
        args.extend(["-device".to_string(), "virtio-rng-pci".to_string()]);
        args
    }

    /// The serial console (a socket, copied to the log) and the QMP socket.
    fn console_and_control_arguments(&self) -> Vec<String> {
        vec![
            "-chardev".to_string(),
            format!(
                "socket,id=ser0,path={},server=on,wait=off,logfile={}",
                value(&self.serial_socket),
                value(&self.serial_log)
            ),
            "-serial".to_string(),
            "chardev:ser0".to_string(),
            "-chardev".to_string(),
            format!("socket,id=qmp0,path={},server=on,wait=off", value(&self.qmp_socket)),
            "-qmp".to_string(),
            "chardev:qmp0".to_string(),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::{Protocol, Publish};

    fn launch() -> Launch {
        Launch {
            machine: "dev".into(),
            accel: Accel::Tcg,
            cpus: 2,
            memory_mib: 2048,
            disk: "/store/machines/dev/disk.qcow2".into(),
            seed: "/store/machines/dev/cidata.img".into(),
            ssh_port: 40022,
            engine_port: 40376,
            guest_engine_port: 2376,
            publish: vec![],
            nat_mac: "52:54:00:12:34:56".into(),
            peer: None,
            firmware: Firmware::Bios { sercon_port_file: "/store/machines/dev/sercon-port".into() },
            kernel: None,
            initrd: None,
            append: None,
            serial_socket: "/run/user/0/rmachine/qemu-abc.serial".into(),
            serial_log: "/store/machines/dev/serial.log".into(),
            qmp_socket: "/run/user/0/rmachine/qemu-abc.qmp".into(),
            pidfile: "/store/machines/dev/qemu.pid".into(),
            qemu_log: "/store/machines/dev/qemu.log".into(),
            extra_args: vec![],
        }
    }

    fn after<'a>(args: &'a [String], flag: &str) -> Vec<&'a str> {
        args.windows(2).filter(|pair| pair[0] == flag).map(|pair| pair[1].as_str()).collect()
    }

    #[test]
    fn a_tcg_machine_with_bios_slirp_forwards_and_the_seed_disk() {
        let args = launch().arguments();
        assert_eq!(after(&args, "-accel"), ["tcg,thread=multi"]);
        assert_eq!(after(&args, "-cpu"), ["max"]);
        assert_eq!(after(&args, "-smp"), ["2,sockets=1,cores=2"]);
        assert_eq!(after(&args, "-m"), ["2048"]);
        assert_eq!(
            after(&args, "-netdev"),
            ["user,id=net0,hostfwd=tcp:127.0.0.1:40022-:22,hostfwd=tcp:127.0.0.1:40376-:2376"]
        );
        let drives = after(&args, "-drive");
        assert!(drives[0].contains("file=/store/machines/dev/disk.qcow2,format=qcow2,discard=unmap"), "{drives:?}");
        assert_eq!(drives[1], "if=none,id=cidata,file=/store/machines/dev/cidata.img,format=raw,readonly=on");
        assert!(after(&args, "-device").contains(&"virtio-blk-pci,drive=cidata"));
        assert_eq!(after(&args, "-fw_cfg"), ["name=etc/sercon-port,file=/store/machines/dev/sercon-port"]);
        assert_eq!(after(&args, "-qmp"), ["chardev:qmp0"]);
        assert!(after(&args, "-chardev")[0].ends_with("logfile=/store/machines/dev/serial.log"));
        assert_eq!(after(&args, "-pidfile"), ["/store/machines/dev/qemu.pid"]);
        assert_eq!(args.last().map(String::as_str), Some("-daemonize"));
        assert!(!args.iter().any(|arg| arg == "-kernel" || arg.contains("pflash")));
    }

    #[test]
    fn kvm_uefi_publish_peer_network_and_direct_kernel_boot() {
        let mut launch = launch();
        launch.accel = Accel::Kvm;
        launch.firmware =
            Firmware::Uefi { code: "/usr/share/OVMF/OVMF_CODE_4M.fd".into(), vars: "/m/efi,vars.fd".into() };
        launch.publish = vec![
            Publish { protocol: Protocol::Tcp, address: "127.0.0.1".parse().unwrap(), host: 8080, guest: 80 },
            Publish { protocol: Protocol::Udp, address: "127.0.0.1".parse().unwrap(), host: 5353, guest: 53 },
        ];
        launch.peer =
            Some(PeerNic { group: "239.255.1.2".parse().unwrap(), port: 23456, mac: "52:54:0a:d5:00:0a".into() });
        launch.kernel = Some("/k/vmlinuz".into());
        launch.initrd = Some("/k/initrd.img".into());
        launch.append = Some("root=/dev/vda1 console=ttyS0".into());
        launch.extra_args = vec!["-rtc".into(), "base=utc".into()];
        let args = launch.arguments();
        assert_eq!(after(&args, "-accel"), ["kvm"]);
        assert_eq!(after(&args, "-cpu"), ["host"]);
        assert!(!args.iter().any(|arg| arg.contains("disable_s3")));
        let drives = after(&args, "-drive");
        assert_eq!(drives[0], "if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd");
        assert_eq!(drives[1], "if=pflash,format=raw,unit=1,file=/m/efi,,vars.fd", "commas are doubled");
        assert!(after(&args, "-fw_cfg").is_empty());
        let netdevs = after(&args, "-netdev");
        assert!(netdevs[0].ends_with(",hostfwd=tcp:127.0.0.1:8080-:80,hostfwd=udp:127.0.0.1:5353-:53"), "{netdevs:?}");
        assert_eq!(netdevs[1], "socket,id=net1,mcast=239.255.1.2:23456,localaddr=127.0.0.1");
        assert!(after(&args, "-device").contains(&"virtio-net-pci,netdev=net1,mac=52:54:0a:d5:00:0a,romfile="));
        assert_eq!(after(&args, "-kernel"), ["/k/vmlinuz"]);
        assert_eq!(after(&args, "-initrd"), ["/k/initrd.img"]);
        assert_eq!(after(&args, "-append"), ["root=/dev/vda1 console=ttyS0"]);
        assert_eq!(after(&args, "-rtc"), ["base=utc"]);
        assert_eq!(args.last().map(String::as_str), Some("-daemonize"));
    }
}
