//! Host ports: picking free ones on 127.0.0.1 for SSH and the engine, checking that a recorded
//! port is still free before QEMU binds it, and `--qemu-publish` rules (`[tcp|udp:][ADDR:]HOST:GUEST`)
//! as slirp `hostfwd` rules.

use serde::{Deserialize, Serialize};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, UdpSocket};

/// The address SSH and the engine are forwarded from: never the LAN.
pub const LOOPBACK: Ipv4Addr = Ipv4Addr::LOCALHOST;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

/// One forwarded port: `address:host` on this machine to `guest` in the VM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Publish {
    pub protocol: Protocol,
    pub address: Ipv4Addr,
    pub host: u16,
    pub guest: u16,
}

impl Publish {
    /// Parses `[tcp|udp:][ADDRESS:]HOST:GUEST`.
    pub fn parse(text: &str) -> Result<Publish, String> {
        let usage = || format!("'{text}' is not [tcp|udp:][127.0.0.1:]HOST:GUEST (e.g. 8080:80 or udp:5353:53)");
        let mut parts: Vec<&str> = text.trim().split(':').collect();
        let protocol = match parts.first().copied() {
            Some("tcp") => Protocol::Tcp,
            Some("udp") => Protocol::Udp,
            _ => Protocol::Tcp,
        };
        if matches!(parts.first().copied(), Some("tcp" | "udp")) {
            parts.remove(0);
        }
        let (address, host, guest) = match parts.as_slice() {
            [host, guest] => (LOOPBACK, *host, *guest),
            [address, host, guest] => (address.parse::<Ipv4Addr>().map_err(|_| usage())?, *host, *guest),
            _ => return Err(usage()),
        };
        let port = |text: &str| text.parse::<u16>().ok().filter(|port| *port > 0).ok_or_else(usage);
        Ok(Publish { protocol, address, host: port(host)?, guest: port(guest)? })
    }

    /// The slirp rule: `tcp:127.0.0.1:8080-:80`.
    pub fn hostfwd(&self) -> String {
        format!("{}:{}:{}-:{}", self.protocol.as_str(), self.address, self.host, self.guest)
    }
}

impl std::fmt::Display for Publish {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{}:{}:{}:{}", self.protocol.as_str(), self.address, self.host, self.guest)
    }
}

/// A TCP port on 127.0.0.1 that is free right now (the system picks it).
pub fn pick_free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind(SocketAddrV4::new(LOOPBACK, 0))?.local_addr()?.port())
}

/// Whether `address:port` can be bound now.
pub fn is_free(protocol: Protocol, address: Ipv4Addr, port: u16) -> bool {
    let socket = SocketAddrV4::new(address, port);
    match protocol {
        Protocol::Tcp => TcpListener::bind(socket).is_ok(),
        Protocol::Udp => UdpSocket::bind(socket).is_ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_rules_parse_with_defaults_and_render_as_hostfwd() {
        let web = Publish::parse("8080:80").unwrap();
        assert_eq!(web, Publish { protocol: Protocol::Tcp, address: LOOPBACK, host: 8080, guest: 80 });
        assert_eq!(web.hostfwd(), "tcp:127.0.0.1:8080-:80");
        let dns = Publish::parse("udp:5353:53").unwrap();
        assert_eq!(dns.hostfwd(), "udp:127.0.0.1:5353-:53");
        let lan = Publish::parse("tcp:0.0.0.0:8443:443").unwrap();
        assert_eq!(lan.hostfwd(), "tcp:0.0.0.0:8443-:443");
        assert_eq!(Publish::parse("127.0.0.1:9000:9000").unwrap().to_string(), "tcp:127.0.0.1:9000:9000");
        for bad in ["80", "sctp:1:2", "x:1:2", "0:80", "70000:80", "udp:1.2.3:1:2", "a:b"] {
            assert!(Publish::parse(bad).unwrap_err().contains("HOST:GUEST"), "{bad}");
        }
    }

    #[test]
    fn a_picked_port_is_free_until_someone_binds_it() {
        let port = pick_free_port().unwrap();
        assert!(is_free(Protocol::Tcp, LOOPBACK, port));
        let holder = TcpListener::bind((LOOPBACK, port)).unwrap();
        assert!(!is_free(Protocol::Tcp, LOOPBACK, port));
        drop(holder);
        let udp = UdpSocket::bind((LOOPBACK, 0)).unwrap();
        assert!(!is_free(Protocol::Udp, LOOPBACK, udp.local_addr().unwrap().port()));
    }
}
