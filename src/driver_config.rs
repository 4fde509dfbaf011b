//! `DriverConfig`: the driver settings a machine record keeps, tagged by driver name so records
//! stay readable and new drivers slot in. It lives in the binary crate (not in `rmachine-drivers`)
//! because drivers in crates of their own (aws) depend on `rmachine-drivers` for the trait.

use rmachine_driver_aws::AwsConfig;
use rmachine_drivers::{Driver, GenericConfig, NoneConfig};
use serde::{Deserialize, Serialize};

/// The names `--driver` accepts (`amazonec2` is docker-machine's name for aws).
pub const DRIVER_NAMES: &[&str] = &["generic", "none", "aws", "amazonec2"];

/// The driver settings stored in a machine record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "name", content = "settings", rename_all = "lowercase")]
pub enum DriverConfig {
    Generic(GenericConfig),
    None(NoneConfig),
    Aws(Box<AwsConfig>),
}

impl DriverConfig {
    pub fn driver(&self) -> &dyn Driver {
        match self {
            DriverConfig::Generic(config) => config,
            DriverConfig::None(config) => config,
            DriverConfig::Aws(config) => config.as_ref(),
        }
    }

    pub fn driver_mut(&mut self) -> &mut dyn Driver {
        match self {
            DriverConfig::Generic(config) => config,
            DriverConfig::None(config) => config,
            DriverConfig::Aws(config) => config.as_mut(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_name_the_driver_beside_its_settings() {
        let config = DriverConfig::None(NoneConfig { url: "tcp://10.0.0.5:2376".into() });
        let json = serde_json::to_value(&config).unwrap();
        assert_eq!(json["name"], "none");
        assert_eq!(json["settings"]["url"], "tcp://10.0.0.5:2376");
        let back: DriverConfig = serde_json::from_value(json).unwrap();
        assert_eq!(back, config);
    }

    #[test]
    fn an_unknown_driver_fails_to_parse() {
        let json = serde_json::json!({"name": "virtualbox", "settings": {}});
        assert!(serde_json::from_value::<DriverConfig>(json).is_err());
    }

    #[test]
    fn aws_records_keep_region_profile_and_endpoint_only() {
        let aws = AwsConfig {
            machine_name: "node1".into(),
            token: "0123".into(),
            region: Some("eu-west-1".into()),
            profile: Some("work".into()),
            endpoint: Some("http://127.0.0.1:5000".into()),
            ..Default::default()
        };
        let json = serde_json::to_value(DriverConfig::Aws(Box::new(aws.clone()))).unwrap();
        assert_eq!(json["name"], "aws");
        assert_eq!(json["settings"]["region"], "eu-west-1");
        assert_eq!(json["settings"]["profile"], "work");
        let text = json.to_string().to_lowercase();
        assert!(!text.contains("secret") && !text.contains("access_key") && !text.contains("session"), "{text}");
        let back: DriverConfig = serde_json::from_value(json).unwrap();
        assert_eq!(back, DriverConfig::Aws(Box::new(aws)));
    }
}
