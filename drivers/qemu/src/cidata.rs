//! The cloud-init NoCloud seed: `user-data` (user `rmachine` with the machine's key and
//! passwordless sudo, no password logins, and the SSH host key rmachine generated, so the core pins
//! it before the first connection), `meta-data` (instance id, hostname) and, on a VM network,
//! `network-config` (DHCP on the slirp NIC, a static address on the second). Written in-process
//! as a 1 MiB FAT12 volume labelled `CIDATA`, attached as a read-only virtio-blk disk (the Debian
//! cloud kernel has no AHCI driver, so a CD-ROM would be invisible).

use std::io::{Cursor, Write};

/// The user rmachine logs in as.
pub const USER: &str = "rmachine";
const VOLUME_SIZE: u64 = 1024 * 1024;

/// Everything the seed says about one machine.
pub struct Seed<'a> {
    pub hostname: &'a str,
    pub instance_id: &'a str,
    /// The user's public key line: `ssh-ed25519 AAAA... comment`.
    pub authorized_key: &'a str,
    /// The host key the guest's sshd must use (OpenSSH private key format) and its public line.
    pub host_private_key: &'a str,
    pub host_public_key: &'a str,
    pub network: Option<SeedNetwork<'a>>,
}

/// The two NICs of a machine on a VM network, by MAC.
pub struct SeedNetwork<'a> {
    pub nat_mac: &'a str,
    pub peer_mac: &'a str,
    /// `10.213.0.10/24`
    pub peer_address: &'a str,
}

impl Seed<'_> {
    pub fn user_data(&self) -> String {
        let mut text = String::from("#cloud-config\n# written by rmachine's qemu driver\n");
        text.push_str(&format!("hostname: {}\npreserve_hostname: false\n", self.hostname));
        text.push_str(&format!(
            "users:\n  - name: {USER}\n    gecos: rmachine\n    sudo: \"ALL=(ALL) NOPASSWD:ALL\"\n    shell: /bin/bash\n    lock_passwd: true\n    ssh_authorized_keys:\n      - {}\n",
            self.authorized_key.trim()
        ));
        text.push_str("disable_root: true\nssh_pwauth: false\npackage_update: false\npackage_upgrade: false\n");
        text.push_str("growpart: {mode: auto, devices: ['/']}\nresize_rootfs: true\n");
        // With ssh_keys given cloud-init generates no host keys (and deletes the image's).
        text.push_str("ssh_deletekeys: true\nssh_keys:\n  ed25519_private: |\n");
        for line in self.host_private_key.trim().lines() {
            text.push_str(&format!("    {line}\n"));
        }
        text.push_str(&format!("  ed25519_public: {}\n", self.host_public_key.trim()));
        text
    }

    pub fn meta_data(&self) -> String {
        format!("instance-id: {}\nlocal-hostname: {}\n", self.instance_id, self.hostname)
    }

    pub fn network_config(&self) -> Option<String> {
        let network = self.network.as_ref()?;
        Some(format!(
            "version: 2\nethernets:\n  nat:\n    match:\n      macaddress: \"{}\"\n    dhcp4: true\n  peers:\n    match:\n      macaddress: \"{}\"\n    addresses: [{}]\n",
            network.nat_mac, network.peer_mac, network.peer_address
        ))
    }

    /// The seed's files, as the volume holds them.
    pub fn files(&self) -> Vec<(&'static str, String)> {
        let mut files = vec![("user-data", self.user_data()), ("meta-data", self.meta_data())];
        if let Some(network) = self.network_config() {
            files.push(("network-config", network));
        }
        files
    }

    /// The FAT volume labelled CIDATA holding [`Seed::files`].
    pub fn volume(&self) -> std::io::Result<Vec<u8>> {
        let mut image = vec![0u8; VOLUME_SIZE as usize];
        let options = fatfs::FormatVolumeOptions::new()
            .volume_label(*b"CIDATA     ")
            .fat_type(fatfs::FatType::Fat12)
            .total_sectors((VOLUME_SIZE / 512) as u32);
        fatfs::format_volume(Cursor::new(&mut image), options)?;
        {
            let filesystem = fatfs::FileSystem::new(Cursor::new(&mut image), fatfs::FsOptions::new())?;
            for (name, content) in self.files() {
                let mut file = filesystem.root_dir().create_file(name)?;
                file.truncate()?;
                file.write_all(content.as_bytes())?;
                file.flush()?;
            }
            filesystem.unmount()?;
        }
        Ok(image)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn seed(network: Option<SeedNetwork<'static>>) -> Seed<'static> {
        Seed {
            hostname: "dev",
            instance_id: "rmachine-dev-1a2b3c4d",
            authorized_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIUser rmachine dev",
            host_private_key: "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAA\nAAAAHostKey==\n-----END OPENSSH PRIVATE KEY-----\n",
            host_public_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHost",
            network,
        }
    }

    fn read_back(image: Vec<u8>) -> (String, Vec<(String, String)>) {
        let filesystem = fatfs::FileSystem::new(Cursor::new(image), fatfs::FsOptions::new()).unwrap();
        let label = filesystem.volume_label();
        let mut files = Vec::new();
        for entry in filesystem.root_dir().iter() {
            let entry = entry.unwrap();
            if entry.is_file() {
                let mut content = String::new();
                entry.to_file().read_to_string(&mut content).unwrap();
                files.push((entry.file_name(), content));
            }
        }
        files.sort();
        (label, files)
    }

    #[test]
    fn the_volume_is_fat12_labelled_cidata_and_holds_the_seed() {
        let seed = seed(None);
        let image = seed.volume().unwrap();
        assert_eq!(image.len(), 1024 * 1024);
        let (label, files) = read_back(image.clone());
        assert_eq!(label.trim_end(), "CIDATA");
        let names: Vec<&str> = files.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["meta-data", "user-data"], "no network-config without a VM network");
        assert_eq!(files[1].1, seed.user_data());
        let filesystem = fatfs::FileSystem::new(Cursor::new(image), fatfs::FsOptions::new()).unwrap();
        assert_eq!(filesystem.fat_type(), fatfs::FatType::Fat12);
    }

    #[test]
    fn user_data_is_cloud_config_with_the_user_and_the_pinned_host_key() {
        let seed = seed(None);
        let text = seed.user_data();
        assert!(text.starts_with("#cloud-config\n"));
        let yaml: serde_norway::Value = serde_norway::from_str(&text).unwrap();
        let user = &yaml["users"][0];
        assert_eq!(user["name"].as_str(), Some("rmachine"));
        assert_eq!(user["sudo"].as_str(), Some("ALL=(ALL) NOPASSWD:ALL"));
        assert_eq!(user["lock_passwd"].as_bool(), Some(true));
        assert_eq!(user["ssh_authorized_keys"][0].as_str(), Some(seed.authorized_key));
        assert_eq!(yaml["ssh_pwauth"].as_bool(), Some(false));
        assert_eq!(yaml["disable_root"].as_bool(), Some(true));
        assert_eq!(yaml["hostname"].as_str(), Some("dev"));
        assert_eq!(yaml["ssh_keys"]["ed25519_private"].as_str(), Some(seed.host_private_key));
        assert_eq!(yaml["ssh_keys"]["ed25519_public"].as_str(), Some(seed.host_public_key));
        assert_eq!(yaml["growpart"]["mode"].as_str(), Some("auto"));
        let meta: serde_norway::Value = serde_norway::from_str(&seed.meta_data()).unwrap();
        assert_eq!(meta["instance-id"].as_str(), Some("rmachine-dev-1a2b3c4d"));
        assert_eq!(meta["local-hostname"].as_str(), Some("dev"));
    }

    #[test]
    fn on_a_vm_network_the_second_nic_gets_its_static_address() {
        let network =
            SeedNetwork { nat_mac: "52:54:00:aa:bb:cc", peer_mac: "52:54:0a:d5:00:0a", peer_address: "10.213.0.10/24" };
        let seed = seed(Some(network));
        let (_, files) = read_back(seed.volume().unwrap());
        let (_, config) = files.iter().find(|(name, _)| name == "network-config").expect("network-config");
        let yaml: serde_norway::Value = serde_norway::from_str(config).unwrap();
        assert_eq!(yaml["version"].as_u64(), Some(2));
        assert_eq!(yaml["ethernets"]["nat"]["match"]["macaddress"].as_str(), Some("52:54:00:aa:bb:cc"));
        assert_eq!(yaml["ethernets"]["nat"]["dhcp4"].as_bool(), Some(true));
        assert_eq!(yaml["ethernets"]["peers"]["match"]["macaddress"].as_str(), Some("52:54:0a:d5:00:0a"));
        assert_eq!(yaml["ethernets"]["peers"]["addresses"][0].as_str(), Some("10.213.0.10/24"));
    }
}
