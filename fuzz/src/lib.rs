//! The rmachine binary's parsers of outside input, compiled into a library for the fuzz targets.
//! The binary crate has no library (making one would turn every `pub` item of the binary into
//! an export the dead-code lint no longer checks), so its modules are included here by path
//! (`#[path]`), each file exactly as the binary compiles it, side by side at the root so that what
//! they name resolves: the cluster file's `super::file_reader`, `crate::store` (the store's
//! `name.rs` and `record.rs`) and `crate::flows::create::DEFAULT_SSH_TIMEOUT`; the host key
//! module's `super::SshError`.
//! The provisioner's os-release parser is private to its crate and is included the same way.
#![allow(dead_code, unused_imports)]

#[path = "../../src/shell_env.rs"]
pub mod shell_env;

#[path = "../../src/listing/filter.rs"]
pub mod filter;

#[path = "../../src/ssh/error.rs"]
mod error;
#[path = "../../src/ssh/host_key.rs"]
pub mod host_key;
pub use error::SshError;

#[path = "../../src/store/name.rs"]
mod name;
#[path = "../../src/store/record.rs"]
mod record;
pub mod store {
    pub use super::name::validate_machine_name;
    pub use super::record::DriverRecord;
}

#[path = "../../src/cluster/file.rs"]
pub mod file;
#[path = "../../src/cluster/file_reader.rs"]
pub mod file_reader;

/// What `cluster::file` takes from the create flow: only a default, which parsing passes through.
pub mod flows {
    pub mod create {
        pub const DEFAULT_SSH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);
    }
}

#[path = "../../provision/src/os_release.rs"]
pub mod os_release;

/// The registry `apply -f` reads cluster files against, with the built-in drivers that need no
/// cloud SDK (`generic`, `none`; `aws` options are read by the same code).
pub fn registry() -> rmachine_drivers::Registry {
    use std::sync::Arc;
    let environment = Arc::new(rmachine_drivers::DriverEnvironment::for_tests(std::path::Path::new("/fuzz/store")));
    let builtin: Vec<Arc<dyn rmachine_drivers::DriverKind>> =
        vec![rmachine_drivers::generic::kind(), rmachine_drivers::none::kind()];
    rmachine_drivers::Registry::new(environment, None, builtin, vec![])
}

/// os-release's fields as the provisioner reads them: ID, ID_LIKE, the pretty name, and `key`.
pub fn os_release_view(text: &str, key: &str) -> (String, Vec<String>, String, Option<String>) {
    let release = os_release::OsRelease::parse(text);
    (release.id(), release.id_like(), release.pretty_name(), release.get(key).map(str::to_string))
}

/// The SHA-256 fingerprint of an OpenSSH public key line, or why it is not one.
pub fn public_key_fingerprint(line: &str) -> Result<String, String> {
    host_key::parse_public_key_line(line)
        .map(|key| host_key::sha256_fingerprint(&key))
        .map_err(|error| error.to_string())
}
