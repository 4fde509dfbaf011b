//! Image checksums: `sha512:HEX` / `sha256:HEX` as users give them, the `SHA512SUMS` /
//! `SHA256SUMS` files distributions publish beside their images (GNU `<hex>  <file>`, Ubuntu's
//! `<hex> *<file>`, BSD `SHA512 (<file>) = <hex>`), and hashing with either algorithm.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256, Sha512};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Algorithm {
    Sha256,
    Sha512,
}

impl Algorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }

    fn hex_length(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Sha512 => 128,
        }
    }

    /// The name of the sums file distributions publish for this algorithm.
    pub fn sums_file(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "SHA256SUMS",
            Algorithm::Sha512 => "SHA512SUMS",
        }
    }
}

/// A digest with its algorithm; `hex` is lower case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checksum {
    pub algorithm: Algorithm,
    pub hex: String,
}

impl Checksum {
    /// Parses `sha512:HEX` or `sha256:HEX`.
    pub fn parse(text: &str) -> Result<Checksum, String> {
        let (name, hex) = text
            .trim()
            .split_once(':')
            .ok_or_else(|| format!("'{text}' is not ALGORITHM:HEX (sha512:... or sha256:...)"))?;
        let algorithm = match name.to_ascii_lowercase().as_str() {
            "sha512" => Algorithm::Sha512,
            "sha256" => Algorithm::Sha256,
            other => {
                return Err(format!("'{other}' is not a checksum algorithm rmachine checks: use sha512 or sha256"));
            }
        };
        Checksum::from_hex(algorithm, hex)
            .ok_or_else(|| format!("'{hex}' is not {} hex digits of a {name} digest", algorithm.hex_length()))
    }

    fn from_hex(algorithm: Algorithm, hex: &str) -> Option<Checksum> {
        let valid = hex.len() == algorithm.hex_length() && hex.chars().all(|c| c.is_ascii_hexdigit());
        valid.then(|| Checksum { algorithm, hex: hex.to_ascii_lowercase() })
    }

    /// The content-addressed name of a file with this digest: `sha512-HEX`.
    pub fn file_name(&self) -> String {
        format!("{}-{}", self.algorithm.as_str(), self.hex)
    }
}

impl std::fmt::Display for Checksum {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{}:{}", self.algorithm.as_str(), self.hex)
    }
}

/// The digest a sums file gives for `file_name`, if it lists it.
pub fn find_in_sums(sums: &str, algorithm: Algorithm, file_name: &str) -> Option<Checksum> {
    sums.lines().find_map(|line| {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix(&format!("{} (", algorithm.as_str().to_ascii_uppercase())) {
            let (name, hex) = rest.split_once(") = ")?;
            return (name == file_name).then(|| Checksum::from_hex(algorithm, hex.trim())).flatten();
        }
        let (hex, name) = line.split_once(char::is_whitespace)?;
        let name = name.trim_start();
        let name = name.strip_prefix('*').unwrap_or(name);
        let name = name.strip_prefix("./").unwrap_or(name);
        (name == file_name).then(|| Checksum::from_hex(algorithm, hex)).flatten()
    })
}

/// An incremental hash of either algorithm.
#[derive(Clone)]
pub enum Hasher {
    Sha256(Sha256),
    Sha512(Sha512),
}

impl Hasher {
    pub fn new(algorithm: Algorithm) -> Hasher {
        match algorithm {
            Algorithm::Sha256 => Hasher::Sha256(Sha256::new()),
            Algorithm::Sha512 => Hasher::Sha512(Sha512::new()),
        }
    }

    pub fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Sha256(hasher) => hasher.update(bytes),
            Hasher::Sha512(hasher) => hasher.update(bytes),
        }
    }

    pub fn finish(self) -> Checksum {
        match self {
            Hasher::Sha256(hasher) => Checksum { algorithm: Algorithm::Sha256, hex: hex::encode(hasher.finalize()) },
            Hasher::Sha512(hasher) => Checksum { algorithm: Algorithm::Sha512, hex: hex::encode(hasher.finalize()) },
        }
    }
}

/// Hashes the first `length` bytes of `path` (all of it when `None`); how many bytes were read.
pub fn hash_file(path: &std::path::Path, hasher: &mut Hasher, length: Option<u64>) -> std::io::Result<u64> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    let mut reader = file.take(length.unwrap_or(u64::MAX));
    let mut buffer = vec![0u8; 1 << 20];
    let mut total = 0;
    loop {
        let count = reader.read(&mut buffer)?;
        if count == 0 {
            return Ok(total);
        }
        hasher.update(&buffer[..count]);
        total += count as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A512: &str = "fe1b6e79ab55d9fb2e0a3d6a8b82e6bd9e2bb0a4e9b1c6e4a1a6d0e9d6c2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4";

    #[test]
    fn user_checksums_parse_and_bad_ones_are_named() {
        let sum = Checksum::parse(&format!("SHA512:{}", A512.to_uppercase())).unwrap();
        assert_eq!(sum.algorithm, Algorithm::Sha512);
        assert_eq!(sum.hex, A512);
        assert_eq!(sum.file_name(), format!("sha512-{A512}"));
        assert!(Checksum::parse("md5:abc").unwrap_err().contains("md5"));
        assert!(Checksum::parse("sha256:abc").unwrap_err().contains("64 hex digits"));
        assert!(Checksum::parse(A512).unwrap_err().contains("ALGORITHM:HEX"));
    }

    #[test]
    fn sums_files_of_debian_ubuntu_and_bsd_style_are_read() {
        let debian = format!(
            "{A512}  debian-12-genericcloud-amd64.qcow2\n{}  debian-12-genericcloud-amd64.raw\n",
            "0".repeat(128)
        );
        let found = find_in_sums(&debian, Algorithm::Sha512, "debian-12-genericcloud-amd64.qcow2").unwrap();
        assert_eq!(found.hex, A512);
        assert_eq!(
            find_in_sums(&debian, Algorithm::Sha512, "debian-12-genericcloud-amd64.raw").unwrap().hex,
            "0".repeat(128)
        );
        assert_eq!(find_in_sums(&debian, Algorithm::Sha512, "other.qcow2"), None);
        let hex256 = "a".repeat(64);
        let ubuntu = format!("{hex256} *ubuntu-24.04-server-cloudimg-amd64.img\n{} *x.img\n", "b".repeat(64));
        assert_eq!(
            find_in_sums(&ubuntu, Algorithm::Sha256, "ubuntu-24.04-server-cloudimg-amd64.img").unwrap().hex,
            hex256
        );
        assert_eq!(find_in_sums(&ubuntu, Algorithm::Sha512, "x.img"), None, "a 64-digit sum is not sha512");
        let bsd = format!("SHA256 (disk.qcow2) = {hex256}\n");
        assert_eq!(find_in_sums(&bsd, Algorithm::Sha256, "disk.qcow2").unwrap().hex, hex256);
    }

    #[test]
    fn hashing_matches_known_digests() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("f");
        std::fs::write(&path, b"abc").unwrap();
        let mut hasher = Hasher::new(Algorithm::Sha256);
        assert_eq!(hash_file(&path, &mut hasher, None).unwrap(), 3);
        assert_eq!(hasher.finish().hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        let mut hasher = Hasher::new(Algorithm::Sha512);
        hash_file(&path, &mut hasher, Some(2)).unwrap();
        let mut whole = Hasher::new(Algorithm::Sha512);
        whole.update(b"ab");
        assert_eq!(hasher.finish(), whole.finish(), "a prefix hashes like the bytes it holds");
    }
}
