//! Any text as a cluster file (`rmachine apply -f`): parsing never panics; an error names the
//! file; a file that parses declares valid, distinct machine names and a valid cluster name.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rmachine_fuzz::{file, registry, store::validate_machine_name};
use std::path::Path;
use std::sync::OnceLock;

static REGISTRY: OnceLock<rmachine_drivers::Registry> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    // The CLI reads the file as UTF-8 (read_to_string refuses anything else).
    let Ok(text) = std::str::from_utf8(data) else { return };
    let registry = REGISTRY.get_or_init(registry);
    let path = Path::new("/fuzz/lab.yaml");
    match file::parse(text, path, Some(Path::new("/home/fuzz")), registry) {
        Ok(spec) => {
            validate_machine_name(&spec.name).expect("the cluster name is a valid name");
            let mut names: Vec<&str> = spec.machines.iter().map(|machine| machine.name.as_str()).collect();
            for name in &names {
                validate_machine_name(name).expect("every machine name is valid");
            }
            names.sort();
            let count = names.len();
            names.dedup();
            assert_eq!(names.len(), count, "a machine is declared twice: {names:?}");
        }
        Err(error) => {
            let message = format!("{error:#}");
            assert!(message.starts_with("/fuzz/lab.yaml"), "the error does not name the file: {message}");
        }
    }
});
