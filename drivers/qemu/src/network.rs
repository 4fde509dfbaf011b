//! Networks between VMs without root: a second NIC on a QEMU `socket` netdev joined to a UDP
//! multicast group on 127.0.0.1 (frames never leave the machine), with a static address from
//! cloud-init. A network is named (`--qemu-network NAME`) and private to its store: the group and
//! port derive from the store's path and the name, so independent creates of one store agree
//! without seeing each other. Addresses are leased in the store (`qemu/networks/NAME/ADDRESS`
//! files made with O_EXCL), so parallel creates never take the same one; `rm` releases them.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::net::{Ipv4Addr, UdpSocket};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The subnet machines get addresses in when `--qemu-network-address` does not say.
pub const DEFAULT_SUBNET: (Ipv4Addr, u8) = (Ipv4Addr::new(10, 213, 0, 0), 24);
/// The first host number leased in a subnet (below it is left for addresses given by hand).
const FIRST_LEASED: u32 = 10;

/// A network's multicast endpoint, derived from the store and the network's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub address: Ipv4Addr,
    pub port: u16,
}

pub fn group(store_root: &Path, network: &str) -> Group {
    let digest = Sha256::new()
        .chain_update(store_root.as_os_str().as_encoded_bytes())
        .chain_update([0])
        .chain_update(network)
        .finalize();
    // 239.255.0.0/16: administratively scoped (organisation-local) multicast.
    Group {
        address: Ipv4Addr::new(239, 255, digest[0], digest[1].max(1)),
        port: 20000 + (u16::from_be_bytes([digest[2], digest[3]]) % 30000),
    }
}

/// An address on a network, with its prefix length: `10.213.0.10/24`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub ip: Ipv4Addr,
    pub prefix: u8,
}

impl Address {
    pub fn parse(text: &str) -> Result<Address, String> {
        let usage = || format!("'{text}' is not an IPv4 address with a prefix length, e.g. 10.213.0.21/24");
        let (ip, prefix) = text.split_once('/').unwrap_or((text, "24"));
        let ip: Ipv4Addr = ip.parse().map_err(|_| usage())?;
        let prefix: u8 = prefix.parse().ok().filter(|prefix| (8..=30).contains(prefix)).ok_or_else(usage)?;
        let host = u32::from(ip) & !mask(prefix);
        if host == 0 || host == !mask(prefix) {
            return Err(format!("{text} is the network's or the broadcast address: choose a host address"));
        }
        Ok(Address { ip, prefix })
    }

    /// The MAC of the NIC holding this address: unique on the network because the address is.
    pub fn mac(&self) -> String {
        let [a, b, c, d] = self.ip.octets();
        format!("52:54:{a:02x}:{b:02x}:{c:02x}:{d:02x}")
    }
}

impl std::fmt::Display for Address {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{}/{}", self.ip, self.prefix)
    }
}

fn mask(prefix: u8) -> u32 {
    u32::MAX << (32 - u32::from(prefix))
}

/// Where a network's leases live in the store.
pub fn lease_folder(store_root: &Path, network: &str) -> PathBuf {
    store_root.join("qemu").join("networks").join(network)
}

/// Takes `address` for `machine` on `network`; an address another machine holds is refused.
pub fn lease(store_root: &Path, network: &str, address: Address, machine: &str) -> Result<(), String> {
    let folder = lease_folder(store_root, network);
    std::fs::create_dir_all(&folder).map_err(|error| format!("cannot create {}: {error}", folder.display()))?;
    let path = folder.join(address.ip.to_string());
    match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
        Ok(mut file) => std::io::Write::write_all(&mut file, machine.as_bytes())
            .map_err(|error| format!("cannot write {}: {error}", path.display())),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            let holder = std::fs::read_to_string(&path).unwrap_or_default();
            if holder == machine {
                return Ok(());
            }
            Err(format!(
                "{} on network '{network}' belongs to machine '{holder}' ({}): choose another --qemu-network-address",
                address.ip,
                path.display()
            ))
        }
        Err(error) => Err(format!("cannot create {}: {error}", path.display())),
    }
}

/// Leases the lowest free address of `subnet` from host number 10 on.
pub fn lease_next(store_root: &Path, network: &str, subnet: (Ipv4Addr, u8), machine: &str) -> Result<Address, String> {
    let (base, prefix) = subnet;
    let network_bits = u32::from(base) & mask(prefix);
    for host in FIRST_LEASED..!mask(prefix) {
        let address = Address { ip: Ipv4Addr::from(network_bits | host), prefix };
        if lease(store_root, network, address, machine).is_ok() {
            return Ok(address);
        }
    }
    Err(format!("network '{network}' has no free address left in {base}/{prefix}"))
}

/// Gives `address` back (a missing lease is not an error).
pub fn release(store_root: &Path, network: &str, address: Address, machine: &str) {
    let path = lease_folder(store_root, network).join(address.ip.to_string());
    if std::fs::read_to_string(&path).is_ok_and(|holder| holder == machine) {
        let _ = std::fs::remove_file(&path);
    }
}

/// Checks that multicast over loopback works here, as the socket netdev needs: a datagram sent to
/// a group on 127.0.0.1 must come back. Err says what failed.
pub fn check_multicast_loopback() -> Result<(), String> {
    let probe = Ipv4Addr::new(239, 255, 254, 253);
    let receiver = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).map_err(|error| format!("bind: {error}"))?;
    let port = receiver.local_addr().map_err(|error| error.to_string())?.port();
    receiver
        .join_multicast_v4(&probe, &Ipv4Addr::LOCALHOST)
        .map_err(|error| format!("joining a multicast group on 127.0.0.1 failed: {error}"))?;
    receiver.set_read_timeout(Some(Duration::from_secs(2))).map_err(|error| error.to_string())?;
    let sender = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|error| format!("bind: {error}"))?;
    sender.set_multicast_loop_v4(true).map_err(|error| error.to_string())?;
    let payload = b"rmachine-multicast-probe";
    sender.send_to(payload, (probe, port)).map_err(|error| format!("sending to {probe}:{port} failed: {error}"))?;
    let mut buffer = [0u8; 64];
    loop {
        match receiver.recv_from(&mut buffer) {
            Ok((count, _)) if &buffer[..count] == payload => return Ok(()),
            Ok(_) => continue,
            Err(error) => return Err(format!("a multicast datagram on 127.0.0.1 did not come back: {error}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_depend_on_the_store_and_the_name_only() {
        let one = group(Path::new("/home/a/store"), "lab");
        assert_eq!(one, group(Path::new("/home/a/store"), "lab"), "independent creates agree");
        assert_ne!(one, group(Path::new("/home/b/store"), "lab"), "another store has its own network");
        assert_ne!(one, group(Path::new("/home/a/store"), "other"));
        assert_eq!(one.address.octets()[..2], [239, 255]);
        assert!((20000..50000).contains(&one.port));
    }

    #[test]
    fn addresses_parse_and_name_their_mac() {
        let address = Address::parse("10.213.0.21/24").unwrap();
        assert_eq!(address.to_string(), "10.213.0.21/24");
        assert_eq!(address.mac(), "52:54:0a:d5:00:15");
        assert_eq!(Address::parse("192.168.7.5").unwrap().prefix, 24);
        for bad in ["10.213.0.0/24", "10.213.0.255/24", "10.213.0.5/33", "300.1.1.1/24", "x"] {
            assert!(Address::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn leases_are_exclusive_lowest_first_and_released_by_their_holder_only() {
        let store = tempfile::tempdir().unwrap();
        let root = store.path();
        let first = lease_next(root, "lab", DEFAULT_SUBNET, "m1").unwrap();
        assert_eq!(first.to_string(), "10.213.0.10/24");
        assert_eq!(lease_next(root, "lab", DEFAULT_SUBNET, "m2").unwrap().to_string(), "10.213.0.11/24");
        assert_eq!(lease_next(root, "other", DEFAULT_SUBNET, "m3").unwrap().to_string(), "10.213.0.10/24");
        let taken = lease(root, "lab", first, "m9").unwrap_err();
        assert!(taken.contains("belongs to machine 'm1'"), "{taken}");
        lease(root, "lab", first, "m1").expect("the holder may lease again");
        release(root, "lab", first, "m9");
        assert!(lease_folder(root, "lab").join("10.213.0.10").exists(), "only the holder releases");
        release(root, "lab", first, "m1");
        assert_eq!(lease_next(root, "lab", DEFAULT_SUBNET, "m4").unwrap(), first, "a released address is reused");
    }

    #[test]
    fn multicast_over_loopback_works_here() {
        check_multicast_loopback().unwrap();
    }
}
