// tests/common/plugins.rs — owns where the tests' driver plugins are: the Python plugins of
// tests/plugins (rmachine's protocol) and the Go fake docker-machine plugin that `.ci/run` builds
// (drivers/docker-machine/tests/fake-docker-machine-plugin), and the RMACHINE_DRIVER_PATH that
// finds them. std only.

use std::path::{Path, PathBuf};

/// tests/plugins: rmachine-driver-pyhost, the Python driver of test hosts.
pub fn python_plugins() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/plugins")
}

/// tests/plugins/small: a well-behaved plugin (`steady`) and the misbehaving ones.
pub fn small_plugins() -> PathBuf {
    python_plugins().join("small")
}

/// The folder of the Go fake plugin `docker-machine-driver-fake` (RMACHINE_FAKE_MACHINE_PLUGIN,
/// else $RMACHINE_CACHE/go-plugin); fails saying how to build it when it is missing.
pub fn go_fake_plugin_folder() -> PathBuf {
    let path = std::env::var_os("RMACHINE_FAKE_MACHINE_PLUGIN").map(PathBuf::from).unwrap_or_else(|| {
        let cache = std::env::var_os("RMACHINE_CACHE").unwrap_or_else(|| "/var/cache/rmachine-ci".into());
        PathBuf::from(cache).join("go-plugin/docker-machine-driver-fake")
    });
    assert!(
        path.is_file(),
        "the Go fake plugin {} is missing: run `.ci/run`, or `bash drivers/docker-machine/tests/fake-docker-machine-plugin/build.sh` \
         (needs golang-go), or point RMACHINE_FAKE_MACHINE_PLUGIN at it",
        path.display()
    );
    assert!(
        path.file_name().is_some_and(|name| name == "docker-machine-driver-fake"),
        "RMACHINE_FAKE_MACHINE_PLUGIN must name a file called docker-machine-driver-fake: {}",
        path.display()
    );
    path.parent().expect("a file has a folder").to_path_buf()
}

/// An RMACHINE_DRIVER_PATH value of these folders.
pub fn driver_path(folders: &[&Path]) -> String {
    std::env::join_paths(folders).expect("plugin folders have no ':'").into_string().expect("UTF-8 paths")
}
