//! Warnings about what a new engine configuration does to what is already on the host: images
//! hidden by userns-remap or a storage-driver switch, daemon.json settings not carried over.

use serde_json::Value;

use crate::engine_options::EngineOptions;
use crate::managed_files::DAEMON_JSON_PATH;

/// daemon.json keys that rmachine's own options set or leave out.
const MANAGED_KEYS: &[&str] = &["userns-remap", "storage-driver"];

/// At most this many keys are named in one warning.
const KEYS_NAMED: usize = 10;

/// "a, b, c", or the first [`KEYS_NAMED`] "and N more" (a daemon.json can hold thousands).
fn listed_briefly(keys: &[&str]) -> String {
    if keys.len() <= KEYS_NAMED {
        return keys.join(", ");
    }
    format!("{} and {} more", keys[..KEYS_NAMED].join(", "), keys.len() - KEYS_NAMED)
}

/// Warnings for replacing the host's daemon.json (`previous`: its text, None when missing) with
/// the rendered `new` one. `storage_driver_in_use` is what the running engine reports;
/// `freshly_installed` means there is nothing on the host to hide yet.
pub(crate) fn configuration_warnings(
    previous: Option<&str>,
    new: &str,
    options: &EngineOptions,
    storage_driver_in_use: Option<&str>,
    freshly_installed: bool,
) -> Vec<String> {
    let mut warnings = Vec::new();
    let previous_document = match previous.map(serde_json::from_str::<Value>) {
        None => None,
        Some(Ok(Value::Object(document))) => Some(document),
        Some(_) => {
            warnings.push(format!(
                "the previous {DAEMON_JSON_PATH} was not a JSON object; it was replaced (the old file is kept as {DAEMON_JSON_PATH}.rmachine-bak)"
            ));
            None
        }
    };
    let previous_string = |key: &str| {
        previous_document.as_ref().and_then(|document| document.get(key)).and_then(Value::as_str).map(str::to_string)
    };

    if !freshly_installed {
        let previous_remap = previous_string("userns-remap");
        let remap = options.effective_userns_remap().map(str::to_string);
        match (&previous_remap, &remap) {
            (previous_remap, Some(remap)) if previous_remap.as_ref() != Some(remap) => warnings.push(format!(
                "userns-remap is now {remap:?}: images and containers made before are hidden (not deleted; \
                 they come back when it is turned off), and containers that use --privileged, --pid=host \
                 or --net=host must also be run with --userns=host"
            )),
            (Some(previous_remap), None) => warnings.push(format!(
                "userns-remap ({previous_remap:?}) is now off: images and containers made while it was on are hidden \
                 until it is turned on again"
            )),
            _ => {}
        }
        let current_driver = storage_driver_in_use.map(str::to_string).or_else(|| previous_string("storage-driver"));
        if let (Some(current), Some(wanted)) = (current_driver, &options.storage_driver)
            && &current != wanted
        {
            warnings.push(format!(
                "the storage driver changes from {current} to {wanted}: images and containers made with {current} \
                 are hidden (not deleted; they come back when {current} is used again)"
            ));
        }
    }

    if let (Some(previous_document), Ok(Value::Object(new_document))) =
        (&previous_document, serde_json::from_str::<Value>(new))
    {
        let dropped: Vec<&str> = previous_document
            .keys()
            .filter(|key| !new_document.contains_key(*key))
            // Settings rmachine manages itself (turned off on purpose) are not "lost".
            .filter(|key| !MANAGED_KEYS.contains(&key.as_str()))
            .map(String::as_str)
            .collect();
        if !dropped.is_empty() {
            warnings.push(format!(
                "the previous {DAEMON_JSON_PATH} set {} which the new one does not (the old file is kept as \
                 {DAEMON_JSON_PATH}.rmachine-bak); to keep a setting, pass it with --engine-opt KEY=VALUE",
                listed_briefly(&dropped)
            ));
        }
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(remap: Option<&str>, driver: Option<&str>) -> EngineOptions {
        EngineOptions {
            userns_remap: remap.map(str::to_string),
            storage_driver: driver.map(str::to_string),
            ..EngineOptions::default()
        }
    }

    #[test]
    fn enabling_userns_remap_warns_about_hidden_images_and_host_namespaces() {
        let warnings = configuration_warnings(None, "{}", &options(Some("default"), None), None, false);
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("hidden") && warnings[0].contains("--userns=host"), "{}", warnings[0]);
        let unchanged = configuration_warnings(
            Some("{\"userns-remap\":\"default\"}"),
            "{\"userns-remap\":\"default\"}",
            &options(Some("default"), None),
            None,
            false,
        );
        assert!(unchanged.is_empty(), "{unchanged:?}");
        let fresh = configuration_warnings(None, "{}", &options(Some("default"), None), None, true);
        assert!(fresh.is_empty(), "nothing to hide on a fresh install");
    }

    #[test]
    fn off_turns_remapping_off_without_a_lost_setting_warning() {
        let warnings = configuration_warnings(
            Some("{\"userns-remap\":\"remapper\"}"),
            "{}",
            &options(Some("off"), None),
            None,
            false,
        );
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("(\"remapper\") is now off"), "{warnings:?}");
    }

    #[test]
    fn disabling_userns_remap_warns() {
        let warnings =
            configuration_warnings(Some("{\"userns-remap\":\"default\"}"), "{}", &options(None, None), None, false);
        assert!(warnings.iter().any(|warning| warning.contains("is now off")), "{warnings:?}");
    }

    #[test]
    fn switching_storage_driver_warns() {
        let warnings = configuration_warnings(None, "{}", &options(None, Some("vfs")), Some("overlay2"), false);
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("from overlay2 to vfs"), "{}", warnings[0]);
        let same = configuration_warnings(None, "{}", &options(None, Some("overlay2")), Some("overlay2"), false);
        assert!(same.is_empty());
        let from_file = configuration_warnings(
            Some("{\"storage-driver\":\"btrfs\"}"),
            "{\"storage-driver\":\"overlay2\"}",
            &options(None, Some("overlay2")),
            None,
            false,
        );
        assert!(from_file[0].contains("from btrfs to overlay2"), "{from_file:?}");
    }

    #[test]
    fn settings_not_carried_over_are_listed() {
        let warnings = configuration_warnings(
            Some("{\"log-driver\":\"journald\",\"tls\":true,\"runtimes\":{}}"),
            "{\"tls\":true}",
            &options(None, None),
            None,
            false,
        );
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("log-driver, runtimes"), "{}", warnings[0]);
        let broken = configuration_warnings(Some("{not json"), "{}", &options(None, None), None, false);
        assert!(broken[0].contains("not a JSON object"), "{broken:?}");
    }
}
