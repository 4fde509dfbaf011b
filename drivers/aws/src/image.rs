//! Choosing the AMI: `--aws-ami` as given (checked with DescribeImages so a wrong id fails
//! before anything is made), else the newest available image of the family's official owner whose
//! name matches the family's pattern, for the instance type's architecture. No hard-coded map.

use crate::client::{Ec2, api_error};
use crate::network::filter;
use crate::settings::{AwsConfig, image_family};
use aws_sdk_ec2::types::Image;
use rmachine_drivers::DriverError;

/// The image to launch: its id and its root device (for `--aws-root-size`).
pub struct ChosenImage {
    pub image_id: String,
    pub root_device_name: Option<String>,
}

fn chosen(image: &Image) -> ChosenImage {
    ChosenImage {
        image_id: image.image_id().unwrap_or_default().to_string(),
        root_device_name: image.root_device_name().map(str::to_string),
    }
}

pub async fn choose_image(ec2: &Ec2, config: &AwsConfig) -> Result<ChosenImage, DriverError> {
    if let Some(ami) = &config.ami {
        let found = ec2
            .client
            .describe_images()
            .image_ids(ami)
            .send()
            .await
            .map_err(|error| api_error("DescribeImages", error))?;
        return found.images().first().map(chosen).ok_or_else(|| DriverError::Failed {
            operation: "checking --aws-ami".into(),
            reason: format!("image {ami} does not exist in {}", ec2.region),
        });
    }
    let family = image_family(&config.image_family).ok_or_else(|| DriverError::InvalidSetting {
        flag: "--aws-image-family".into(),
        problem: format!("unknown family '{}'", config.image_family),
    })?;
    let (name, architecture) = family.name_filter(&config.instance_type);
    let found = ec2
        .client
        .describe_images()
        .owners(family.owner)
        .filters(filter("name", &name))
        .filters(filter("architecture", architecture))
        .filters(filter("state", "available"))
        .send()
        .await
        .map_err(|error| api_error("DescribeImages", error))?;
    newest(found.images()).map(chosen).ok_or_else(|| DriverError::Failed {
        operation: format!("finding a {} image", family.name),
        reason: format!(
            "no available image named '{name}' ({architecture}) from owner {} in {}; pass --aws-ami",
            family.owner, ec2.region
        ),
    })
}

/// The newest image by creation date, then by name (names carry a date or version).
fn newest(images: &[Image]) -> Option<&Image> {
    images
        .iter()
        .filter(|image| image.image_id().is_some())
        .max_by(|a, b| (a.creation_date(), a.name()).cmp(&(b.creation_date(), b.name())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_image_wins() {
        let image =
            |id: &str, date: &str, name: &str| Image::builder().image_id(id).creation_date(date).name(name).build();
        let images = vec![
            image("ami-old", "2025-01-10T00:00:00.000Z", "debian-12-amd64-20250110-1990"),
            image("ami-new", "2026-10-01T00:00:00.000Z", "debian-12-amd64-20261001-2300"),
            image("ami-mid", "2026-03-01T00:00:00.000Z", "debian-12-amd64-20260301-2100"),
        ];
        assert_eq!(newest(&images).unwrap().image_id(), Some("ami-new"));
        assert!(newest(&[]).is_none());
    }
}
