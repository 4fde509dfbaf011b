//! What an AWS machine's record keeps: the user's choices (region, profile and endpoint but never
//! credentials), then what `create` made (instance, key pair, security group, addresses). Also the
//! pure parts: image families, open ports, tags, and the checks made before anything is created.

use rmachine_drivers::DriverError;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The tag on everything rmachine makes in EC2; its value is the machine's create token.
pub const MACHINE_TAG: &str = "rmachine:machine";
/// The tag on security groups rmachine created (so `rm` may delete them once unused).
pub const MANAGED_GROUP_TAG: &str = "rmachine:managed";
/// The security group's name when `--aws-security-group` is not given.
pub const DEFAULT_SECURITY_GROUP: &str = "rmachine";
/// The image family used when neither `--aws-ami` nor `--aws-image-family` is given.
pub const DEFAULT_IMAGE_FAMILY: &str = "debian-12";

/// The driver's settings as stored in the machine record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct AwsConfig {
    /// The machine's name (the Name tag, part of the key pair's name).
    pub machine_name: String,
    /// A random token made before anything is created: the rmachine tag's value and the
    /// RunInstances client token, so `rm` finds what an interrupted create made.
    pub token: String,

    /// The region; resolved through the AWS chain at create time when not given.
    pub region: Option<String>,
    /// The `~/.aws` profile name (credentials themselves are never stored).
    pub profile: Option<String>,
    /// A custom EC2 endpoint URL (moto, EC2-compatible clouds).
    pub endpoint: Option<String>,

    pub ami: Option<String>,
    pub image_family: String,
    pub ssh_user: String,
    pub ssh_port: u16,
    pub engine_port: u16,

    pub vpc_id: Option<String>,
    pub subnet_id: Option<String>,
    pub zone: Option<String>,
    pub instance_type: String,
    pub root_size: Option<i32>,
    pub volume_type: Option<String>,
    pub iam_instance_profile: Option<String>,
    pub tags: Vec<(String, String)>,
    pub userdata: Option<PathBuf>,
    pub spot: bool,
    pub spot_max_price: Option<String>,
    pub imdsv2_optional: bool,

    pub security_group: String,
    /// Further groups the instance joins (docker-machine's repeated `--amazonec2-security-group`),
    /// each found or created like the first one, with the same rules.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra_security_groups: Vec<String>,
    pub open_ports: Vec<String>,
    pub swarm_ports: bool,
    pub use_private_address: bool,
    pub private_address_only: bool,

    /// An existing key pair's name (then `ssh_keypath` is its private key); else rmachine makes one.
    pub keypair_name: Option<String>,
    pub ssh_keypath: Option<PathBuf>,
    pub keep_on_failure: bool,
    /// Seconds to wait for SSH (`--aws-ssh-timeout`); `None`: the core's default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssh_timeout: Option<u64>,

    /// What create made; filled in step by step so an interrupted create can be undone.
    pub created: Created,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Created {
    /// Set (in memory only) when this process runs the create: then the fields below are all it
    /// made. A record read from disk may come from a create that crashed before saving them.
    #[serde(skip)]
    pub tracked: bool,
    /// Whether a call that makes something (ImportKeyPair, CreateSecurityGroup, RunInstances) was sent.
    pub requested: bool,
    pub instance_id: Option<String>,
    /// The key pair rmachine imported (deleted by `rm`); `None` when the user's own is used.
    pub key_pair_name: Option<String>,
    /// The machine's private key, relative to the store root.
    pub ssh_key: Option<PathBuf>,
    pub security_group_id: Option<String>,
    /// The ids of `extra_security_groups`, in the same order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra_security_group_ids: Vec<String>,
    pub vpc_id: Option<String>,
    pub image_id: Option<String>,
    pub private_ip: Option<String>,
    pub public_ip: Option<String>,
}

/// An image family: whose images and which names to look up, and its default SSH user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageFamily {
    pub name: &'static str,
    pub owner: &'static str,
    /// DescribeImages name pattern; `{arch}` is `amd64`/`arm64` or `x86_64`/`arm64` as the family spells it.
    pub name_pattern: &'static str,
    pub amd64_spelling: &'static str,
    pub ssh_user: &'static str,
}

pub const IMAGE_FAMILIES: &[ImageFamily] = &[
    ImageFamily {
        name: "debian-12",
        owner: "136693071363",
        name_pattern: "debian-12-{arch}-*",
        amd64_spelling: "amd64",
        ssh_user: "admin",
    },
    ImageFamily {
        name: "ubuntu-24.04",
        owner: "099720109477",
        name_pattern: "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-{arch}-server-*",
        amd64_spelling: "amd64",
        ssh_user: "ubuntu",
    },
    ImageFamily {
        name: "al2023",
        owner: "137112412989",
        name_pattern: "al2023-ami-2023.*-kernel-*-{arch}",
        amd64_spelling: "x86_64",
        ssh_user: "ec2-user",
    },
];

pub fn image_family(name: &str) -> Option<&'static ImageFamily> {
    IMAGE_FAMILIES.iter().find(|family| family.name == name)
}

/// Whether an instance type runs arm64 (Graviton: a `g` after the generation digit, as in
/// t4g, m7gd, c6gn); everything else is taken as x86_64.
pub fn is_arm_instance_type(instance_type: &str) -> bool {
    let family = instance_type.split('.').next().unwrap_or_default();
    match family.find(|c: char| c.is_ascii_digit()) {
        Some(digit) => family[digit..].trim_start_matches(|c: char| c.is_ascii_digit()).contains('g'),
        None => false,
    }
}

impl ImageFamily {
    /// The DescribeImages name filter and architecture for an instance type.
    pub fn name_filter(&self, instance_type: &str) -> (String, &'static str) {
        let (spelling, architecture) =
            if is_arm_instance_type(instance_type) { ("arm64", "arm64") } else { (self.amd64_spelling, "x86_64") };
        (self.name_pattern.replace("{arch}", spelling), architecture)
    }
}

/// An ingress rule: a port and protocol open to the world.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PortRule {
    pub port: u16,
    pub protocol: &'static str,
}

/// Parses `PORT[/PROTO]` (tcp when no protocol is given).
pub fn parse_port(text: &str) -> Result<PortRule, DriverError> {
    let invalid = |problem: String| DriverError::InvalidSetting { flag: "--aws-open-port".into(), problem };
    let (port, protocol) = text.split_once('/').unwrap_or((text, "tcp"));
    let port: u16 = port
        .parse()
        .ok()
        .filter(|port| *port > 0)
        .ok_or_else(|| invalid(format!("'{text}' is not PORT[/tcp|udp] with a port from 1 to 65535")))?;
    let protocol = match protocol {
        "tcp" => "tcp",
        "udp" => "udp",
        other => return Err(invalid(format!("protocol '{other}' in '{text}' is neither tcp nor udp"))),
    };
    Ok(PortRule { port, protocol })
}

/// Parses `k=v,k2=v2` (also docker-machine's `k,v,k2,v2`).
pub fn parse_tags(text: &str) -> Result<Vec<(String, String)>, DriverError> {
    let invalid = |problem: String| DriverError::InvalidSetting { flag: "--aws-tags".into(), problem };
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    if parts.iter().all(|part| part.contains('=')) {
        return parts
            .iter()
            .map(|part| {
                let (key, value) = part.split_once('=').expect("checked above");
                if key.is_empty() {
                    Err(invalid(format!("'{part}' has an empty key")))
                } else {
                    Ok((key.into(), value.into()))
                }
            })
            .collect();
    }
    if parts.len().is_multiple_of(2) && parts.iter().all(|part| !part.contains('=')) {
        return Ok(parts.chunks(2).map(|pair| (pair[0].to_string(), pair[1].to_string())).collect());
    }
    Err(invalid(format!("'{text}' is neither k=v,k2=v2 nor k,v,k2,v2")))
}

/// Parses docker-machine's `--amazonec2-tags k1,v1,k2,v2` strictly as pairs (a value may hold `=`).
pub fn parse_tag_pairs(text: &str) -> Result<Vec<(String, String)>, DriverError> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    if !parts.len().is_multiple_of(2) || parts.iter().step_by(2).any(|key| key.is_empty()) {
        return Err(DriverError::InvalidSetting {
            flag: "--amazonec2-tags".into(),
            problem: format!("'{text}' is not key1,value1,key2,value2 (or use --aws-tags key1=value1,key2=value2)"),
        });
    }
    Ok(parts.chunks(2).map(|pair| (pair[0].to_string(), pair[1].to_string())).collect())
}

/// The availability zone `zone` names in `region`: docker-machine's `--amazonec2-zone a` is a
/// letter after the region (`eu-west-1` + `a`); a full name (`eu-west-1a`) is kept.
pub fn availability_zone(zone: &str, region: &str) -> String {
    if zone.len() == 1 && zone.chars().all(|letter| letter.is_ascii_lowercase()) {
        format!("{region}{zone}")
    } else {
        zone.to_string()
    }
}

impl AwsConfig {
    /// Every security group the instance joins: `security_group`, then the extra ones.
    pub fn security_groups(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.security_group.as_str()).chain(self.extra_security_groups.iter().map(String::as_str))
    }

    /// The ingress rules the security group needs: SSH, the engine, the user's ports and, when
    /// asked, Docker Swarm's.
    pub fn ingress_rules(&self) -> Result<Vec<PortRule>, DriverError> {
        let mut rules = vec![
            PortRule { port: self.ssh_port, protocol: "tcp" },
            PortRule { port: self.engine_port, protocol: "tcp" },
        ];
        for text in &self.open_ports {
            rules.push(parse_port(text)?);
        }
        if self.swarm_ports {
            for (port, protocol) in [(2377, "tcp"), (7946, "tcp"), (7946, "udp"), (4789, "udp")] {
                rules.push(PortRule { port, protocol });
            }
        }
        rules.sort();
        rules.dedup();
        Ok(rules)
    }

    /// The name of the key pair rmachine imports for this machine: unique per create.
    pub fn generated_key_pair_name(&self) -> String {
        format!("rmachine-{}-{}", self.machine_name, self.token)
    }

    /// The address rmachine uses: private with `--aws-use-private-address` or
    /// `--aws-private-address-only`, else public.
    pub fn address(&self) -> Option<&str> {
        if self.use_private_address || self.private_address_only {
            self.created.private_ip.as_deref()
        } else {
            self.created.public_ip.as_deref()
        }
    }

    /// The checks made before anything is created.
    pub fn check(&self) -> Result<(), DriverError> {
        let invalid = |flag: &'static str, problem: &str| {
            Err(DriverError::InvalidSetting { flag: flag.into(), problem: problem.into() })
        };
        if self.token.is_empty() || self.machine_name.is_empty() {
            return invalid("--driver aws", "internal: the machine name and create token must be set");
        }
        if self.ami.is_none() && image_family(&self.image_family).is_none() {
            let known: Vec<&str> = IMAGE_FAMILIES.iter().map(|family| family.name).collect();
            return Err(DriverError::InvalidSetting {
                flag: "--aws-image-family".into(),
                problem: format!("unknown family '{}'; rmachine knows {}", self.image_family, known.join(", ")),
            });
        }
        if let Err(problem) = rmachine_drivers::check_ssh_user(&self.ssh_user) {
            return invalid("--aws-ssh-user", &problem);
        }
        if self.instance_type.is_empty() {
            return invalid("--aws-instance-type", "must not be empty");
        }
        if self.keypair_name.is_some() != self.ssh_keypath.is_some() {
            return invalid(
                "--aws-keypair-name",
                "needs --aws-ssh-keypath (the key pair's private key), and the other way round",
            );
        }
        if let Some(path) = &self.ssh_keypath {
            std::fs::File::open(path).map_err(|source| DriverError::KeyUnreadable { path: path.clone(), source })?;
        }
        if let Some(path) = &self.userdata {
            std::fs::File::open(path)
                .map_err(|source| DriverError::KeyUnreadable { path: path.clone(), source })
                .map_err(|_| DriverError::InvalidSetting {
                    flag: "--aws-userdata".into(),
                    problem: format!("cannot read {}", path.display()),
                })?;
        }
        if self.spot_max_price.is_some() && !self.spot {
            return invalid("--aws-spot-max-price", "only applies with --aws-spot");
        }
        if let Some(size) = self.root_size
            && size <= 0
        {
            return invalid("--aws-root-size", "must be a size in GiB greater than 0");
        }
        if self.subnet_id.is_some() && self.zone.is_some() {
            return invalid("--aws-zone", "conflicts with --aws-subnet-id (a subnet lies in one zone)");
        }
        self.ingress_rules()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graviton_types_pick_arm_images() {
        assert!(is_arm_instance_type("t4g.small"));
        assert!(is_arm_instance_type("m7gd.large"));
        assert!(is_arm_instance_type("c6gn.xlarge"));
        assert!(!is_arm_instance_type("t3.small"));
        assert!(!is_arm_instance_type("g5.xlarge"));
        assert!(!is_arm_instance_type("m7i-flex.large"));
        let debian = image_family("debian-12").unwrap();
        assert_eq!(debian.name_filter("t3.small"), ("debian-12-amd64-*".to_string(), "x86_64"));
        assert_eq!(debian.name_filter("t4g.small"), ("debian-12-arm64-*".to_string(), "arm64"));
        let al = image_family("al2023").unwrap();
        assert_eq!(al.name_filter("t3.small").0, "al2023-ami-2023.*-kernel-*-x86_64");
        assert_eq!(al.ssh_user, "ec2-user");
    }

    #[test]
    fn ports_and_tags_parse_or_say_why_not() {
        assert_eq!(parse_port("8080").unwrap(), PortRule { port: 8080, protocol: "tcp" });
        assert_eq!(parse_port("53/udp").unwrap(), PortRule { port: 53, protocol: "udp" });
        assert!(parse_port("0").is_err());
        assert!(parse_port("80/icmp").unwrap_err().to_string().contains("icmp"));
        assert_eq!(parse_tags("a=1,b=2").unwrap(), vec![("a".into(), "1".into()), ("b".into(), "2".into())]);
        assert_eq!(parse_tags("a,1,b,2").unwrap(), vec![("a".into(), "1".into()), ("b".into(), "2".into())]);
        assert!(parse_tags("a=1,b").is_err());
        let pairs = parse_tag_pairs("team,web,url,a=b").unwrap();
        assert_eq!(pairs, vec![("team".into(), "web".into()), ("url".into(), "a=b".into())]);
        assert!(parse_tag_pairs("a,1,b").unwrap_err().to_string().contains("--aws-tags"));
    }

    #[test]
    fn a_zone_letter_follows_the_region() {
        assert_eq!(availability_zone("b", "eu-west-1"), "eu-west-1b");
        assert_eq!(availability_zone("eu-west-1c", "eu-west-1"), "eu-west-1c");
        assert_eq!(availability_zone("use1-az1", "us-east-1"), "use1-az1");
    }

    #[test]
    fn the_group_opens_ssh_and_the_engine_and_only_asked_for_ports() {
        let mut config = AwsConfig { ssh_port: 22, engine_port: 2376, ..Default::default() };
        let ports = |config: &AwsConfig| {
            config.ingress_rules().unwrap().iter().map(|r| format!("{}/{}", r.port, r.protocol)).collect::<Vec<_>>()
        };
        assert_eq!(ports(&config), vec!["22/tcp", "2376/tcp"]);
        config.open_ports = vec!["8080".into(), "22".into()];
        config.swarm_ports = true;
        assert_eq!(
            ports(&config),
            vec!["22/tcp", "2376/tcp", "2377/tcp", "4789/udp", "7946/tcp", "7946/udp", "8080/tcp"]
        );
    }

    #[test]
    fn records_never_hold_credentials() {
        let config = AwsConfig {
            machine_name: "node1".into(),
            token: "t".into(),
            region: Some("eu-west-1".into()),
            ..Default::default()
        };
        let json = serde_json::to_string(&config).unwrap();
        for secret in ["access", "secret", "session"] {
            assert!(!json.to_lowercase().contains(secret), "{json}");
        }
    }
}
