//! Any bytes as docker-machine's config.json: the reader returns a host or an error, never
//! panics; a host it returns is within what docker-machine wrote (version 0 to 3, a named driver
//! whose object has the store's path).
#![no_main]

#[path = "../../src/import/docker_machine_config.rs"]
mod docker_machine_config;

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if let Ok(host) = docker_machine_config::parse(data, Path::new("/store")) {
        assert!(host.config_version <= docker_machine_config::NEWEST_CONFIG_VERSION);
        assert!(!host.driver_name.is_empty());
        assert!(host.driver.get("StorePath").and_then(|path| path.as_str()).is_some_and(|path| !path.is_empty()));
    }
});
