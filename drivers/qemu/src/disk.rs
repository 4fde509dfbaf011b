//! The machine's disk: a qcow2 overlay on the cached base image (`qemu-img create -b ABS -F FMT`),
//! instant and small; the guest grows its root partition into it on first boot (cloud-init
//! growpart). Also disk sizes as users write them (`20G`, `20480M`, `1T`; a bare number is GiB).

use rmachine_drivers::DriverError;
use std::path::Path;
use tokio::process::Command;

const GIB: u64 = 1 << 30;

/// Parses `20G`, `20GiB`, `512M`, `1T` or `20` (GiB) into bytes.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let digits: String = trimmed.chars().take_while(char::is_ascii_digit).collect();
    let unit = trimmed[digits.len()..].trim().to_ascii_uppercase();
    let number: u64 = digits.parse().map_err(|_| format!("'{text}' is not a size: use e.g. 20G, 40960M or 1T"))?;
    let factor = match unit.as_str() {
        "" | "G" | "GB" | "GIB" => GIB,
        "M" | "MB" | "MIB" => 1 << 20,
        "T" | "TB" | "TIB" => 1 << 40,
        other => return Err(format!("'{other}' is not a size unit: use M, G or T (e.g. 20G)")),
    };
    number.checked_mul(factor).filter(|bytes| *bytes > 0).ok_or_else(|| format!("'{text}' is not a usable disk size"))
}

/// `20 GiB` or `512 MiB`, for messages.
pub fn describe_size(bytes: u64) -> String {
    if bytes.is_multiple_of(GIB) { format!("{} GiB", bytes / GIB) } else { format!("{} MiB", bytes >> 20) }
}

/// What `qemu-img info` says of an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInfo {
    pub format: String,
    pub virtual_size: u64,
}

pub async fn info(qemu_img: &Path, image: &Path) -> Result<ImageInfo, DriverError> {
    let output = run(qemu_img, &["info", "--force-share", "--output=json", &image.display().to_string()]).await?;
    let json: serde_json::Value = serde_json::from_slice(&output).map_err(|error| {
        DriverError::failed(format!("reading qemu-img info of {}", image.display()), error.to_string())
    })?;
    let format = json["format"].as_str().unwrap_or_default().to_string();
    let virtual_size = json["virtual-size"].as_u64().unwrap_or(0);
    if !matches!(format.as_str(), "qcow2" | "raw") {
        return Err(DriverError::failed(
            format!("using the image {}", image.display()),
            format!("it is a '{format}' image; the qemu driver takes qcow2 or raw disk images"),
        ));
    }
    Ok(ImageInfo { format, virtual_size })
}

/// Creates `overlay` on `base` with `size` bytes (refused below the base's own size).
pub async fn create_overlay(
    qemu_img: &Path,
    base: &Path,
    base_info: &ImageInfo,
    overlay: &Path,
    size: u64,
) -> Result<(), DriverError> {
    if size < base_info.virtual_size {
        return Err(DriverError::invalid(
            "--qemu-disk-size",
            format!(
                "{} is smaller than the image's own {} ({}): give at least {}",
                describe_size(size),
                describe_size(base_info.virtual_size),
                base.display(),
                describe_size(base_info.virtual_size.div_ceil(GIB) * GIB)
            ),
        ));
    }
    run(
        qemu_img,
        &[
            "create",
            "-q",
            "-f",
            "qcow2",
            "-F",
            &base_info.format,
            "-b",
            &base.display().to_string(),
            &overlay.display().to_string(),
            &size.to_string(),
        ],
    )
    .await
    .map(drop)
}

async fn run(qemu_img: &Path, args: &[&str]) -> Result<Vec<u8>, DriverError> {
    let what = format!("{} {}", qemu_img.display(), args.join(" "));
    let output = Command::new(qemu_img)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .map_err(|error| DriverError::failed(&what, error.to_string()))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr).trim().to_string();
        return Err(DriverError::failed(&what, format!("{}: {stderr}", output.status)));
    }
    Ok(output.stdout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_in_the_units_people_write() {
        assert_eq!(parse_size("20G").unwrap(), 20 * GIB);
        assert_eq!(parse_size("20").unwrap(), 20 * GIB);
        assert_eq!(parse_size("20GiB").unwrap(), 20 * GIB);
        assert_eq!(parse_size("512M").unwrap(), 512 << 20);
        assert_eq!(parse_size("1t").unwrap(), 1 << 40);
        assert!(parse_size("20X").unwrap_err().contains("unit"));
        assert!(parse_size("big").unwrap_err().contains("not a size"));
        assert!(parse_size("0G").is_err());
        assert_eq!(describe_size(20 * GIB), "20 GiB");
        assert_eq!(describe_size(1536 << 20), "1536 MiB");
    }

    #[tokio::test]
    async fn an_overlay_smaller_than_its_base_is_refused_and_a_larger_one_made() {
        let Some(qemu_img) = which("qemu-img") else {
            panic!("qemu-img is missing: apt-get install qemu-utils (see .ci/run)");
        };
        let folder = tempfile::tempdir().unwrap();
        let base = folder.path().join("base.qcow2");
        run(&qemu_img, &["create", "-q", "-f", "qcow2", &base.display().to_string(), "3G"]).await.unwrap();
        let info = info(&qemu_img, &base).await.unwrap();
        assert_eq!(info, ImageInfo { format: "qcow2".into(), virtual_size: 3 * GIB });
        let overlay = folder.path().join("disk.qcow2");
        let error = create_overlay(&qemu_img, &base, &info, &overlay, 2 * GIB).await.unwrap_err().to_string();
        assert!(error.contains("--qemu-disk-size") && error.contains("at least 3 GiB"), "{error}");
        create_overlay(&qemu_img, &base, &info, &overlay, 20 * GIB).await.unwrap();
        let made = info_json(&qemu_img, &overlay).await;
        assert_eq!(made["virtual-size"].as_u64(), Some(20 * GIB));
        assert_eq!(made["backing-filename"].as_str(), Some(base.display().to_string().as_str()));
        assert_eq!(made["backing-filename-format"].as_str(), Some("qcow2"));
    }

    async fn info_json(qemu_img: &Path, image: &Path) -> serde_json::Value {
        serde_json::from_slice(&run(qemu_img, &["info", "--output=json", &image.display().to_string()]).await.unwrap())
            .unwrap()
    }

    fn which(name: &str) -> Option<std::path::PathBuf> {
        std::env::var_os("PATH")
            .into_iter()
            .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
            .map(|folder| folder.join(name))
            .find(|candidate| candidate.is_file())
    }
}
