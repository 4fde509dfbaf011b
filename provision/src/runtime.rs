//! Extra OCI runtimes (youki): which are known, where the binary comes from (an uploaded local
//! file, or a release tarball the host downloads and checks against its SHA-256), and how the
//! engine registers it in daemon.json.

use serde_json::{Map, Value, json};

use crate::engine_options::EngineOptions;
use crate::managed_files::ManagedFile;

/// Runtimes rmachine knows how to install.
pub(crate) const KNOWN_RUNTIMES: &[&str] = &["youki"];

/// Where the runtime's binary goes on the host.
pub(crate) fn binary_path(runtime: &str) -> String {
    format!("/usr/local/bin/{runtime}")
}

/// The wrapper Docker calls: it runs the runtime and, when it fails, copies the runtime's own
/// error (from the log file the containerd shim names with --log) into [`RUNTIME_LOG_PATH`].
pub(crate) fn wrapper_path(runtime: &str) -> String {
    format!("/usr/local/lib/rmachine/{runtime}-runtime")
}

/// Where the wrapper collects the runtime's errors.
pub(crate) const RUNTIME_LOG_PATH: &str = "/var/log/rmachine-runtime.log";

/// youki's pinned upstream release: the URL of its tarball for x86_64 (glibc). Its SHA-256 must
/// be given with --engine-runtime-sha256: it could not be fetched and checked where rmachine
/// was built (no internet), and an unchecked pin is no pin.
pub(crate) const YOUKI_RELEASE_URL: &str =
    "https://github.com/youki-dev/youki/releases/download/v0.7.0/youki-0.7.0-x86_64-gnu.tar.gz";

/// Problems with the runtime options, for [`EngineOptions::validate`].
pub(crate) fn option_problems(options: &EngineOptions) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(runtime) = &options.runtime
        && !KNOWN_RUNTIMES.contains(&runtime.as_str())
    {
        problems.push(format!(
            "runtime {runtime:?} is not one rmachine installs; use one of {}",
            KNOWN_RUNTIMES.join(", ")
        ));
    }
    if let Some(default) = &options.default_runtime
        && default != "runc"
        && options.runtime.as_ref() != Some(default)
    {
        problems.push(format!("default runtime {default:?} must be runc or the runtime given with --engine-runtime"));
    }
    let source_given = options.runtime_binary.is_some() || options.runtime_url.is_some();
    let accepts = options.runtime_accept_unverified || options.runtime_accept_exec_without_seccomp;
    if options.runtime.is_none() && (source_given || accepts) {
        problems.push(
            "--engine-runtime-binary, --engine-runtime-url, --engine-runtime-accept-unverified and \
             --engine-runtime-accept-exec-without-seccomp need --engine-runtime"
                .to_string(),
        );
    }
    if options.runtime_binary.is_some() && options.runtime_url.is_some() {
        problems.push("give --engine-runtime-binary or --engine-runtime-url, not both".to_string());
    }
    if let Some(url) = &options.runtime_url
        && !(url.starts_with("https://") || url.starts_with("http://"))
    {
        problems.push(format!("runtime URL {url:?} must start with https:// or http://"));
    }
    if options.runtime.is_some() && options.runtime_binary.is_none() {
        match &options.runtime_sha256 {
            Some(sha) if sha.len() == 64 && sha.chars().all(|c| c.is_ascii_hexdigit()) => {}
            Some(sha) => problems.push(format!("runtime SHA-256 {sha:?} must be 64 hex digits")),
            None => problems.push(format!(
                "downloading the runtime needs its SHA-256 (--engine-runtime-sha256) for {}; \
                 or upload a binary with --engine-runtime-binary PATH",
                options.runtime_url.as_deref().unwrap_or(YOUKI_RELEASE_URL)
            )),
        }
    }
    problems
}

/// The `runtimes` and `default-runtime` keys of daemon.json.
pub(crate) fn daemon_keys(options: &EngineOptions) -> Map<String, Value> {
    let mut keys = Map::new();
    if let Some(runtime) = &options.runtime {
        keys.insert("runtimes".into(), json!({ runtime.clone(): { "path": wrapper_path(runtime) } }));
    }
    if let Some(default) = &options.default_runtime {
        keys.insert("default-runtime".into(), Value::String(default.clone()));
    }
    keys
}

/// The wrapper script Docker runs as the runtime.
pub(crate) fn wrapper_file(runtime: &str) -> ManagedFile {
    let text = include_str!("../scripts/runtime-wrapper.sh")
        .replace("@RUNTIME@", &binary_path(runtime))
        .replace("@LOG@", RUNTIME_LOG_PATH);
    ManagedFile::new(&wrapper_path(runtime), 0o755, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn youki(binary: Option<&str>, url: Option<&str>, sha: Option<&str>) -> EngineOptions {
        EngineOptions {
            runtime: Some("youki".into()),
            runtime_binary: binary.map(str::to_string),
            runtime_url: url.map(str::to_string),
            runtime_sha256: sha.map(str::to_string),
            ..EngineOptions::default()
        }
    }

    #[test]
    fn an_uploaded_binary_needs_no_checksum() {
        assert!(option_problems(&youki(Some("/tmp/youki"), None, None)).is_empty());
    }

    #[test]
    fn a_download_needs_a_checksum() {
        let problems = option_problems(&youki(None, None, None));
        assert!(problems[0].contains("--engine-runtime-sha256"), "{problems:?}");
        assert!(problems[0].contains(YOUKI_RELEASE_URL), "{problems:?}");
        let sha = "a".repeat(64);
        assert!(option_problems(&youki(None, Some("https://example.com/y.tgz"), Some(&sha))).is_empty());
        assert!(!option_problems(&youki(None, None, Some("abc"))).is_empty());
    }

    #[test]
    fn unknown_runtimes_and_defaults_are_refused() {
        let mut options = youki(Some("/tmp/youki"), None, None);
        options.runtime = Some("crun".into());
        assert!(option_problems(&options)[0].contains("not one rmachine installs"));
        let options = EngineOptions { default_runtime: Some("youki".into()), ..EngineOptions::default() };
        assert!(option_problems(&options)[0].contains("must be runc or"));
    }

    #[test]
    fn daemon_json_registers_the_wrapper_and_the_default() {
        let mut options = youki(Some("/tmp/youki"), None, None);
        options.default_runtime = Some("youki".into());
        let keys = daemon_keys(&options);
        assert_eq!(
            Value::Object(keys),
            json!({"runtimes": {"youki": {"path": "/usr/local/lib/rmachine/youki-runtime"}}, "default-runtime": "youki"})
        );
        let wrapper = wrapper_file("youki");
        let text = String::from_utf8(wrapper.content).unwrap();
        assert!(text.contains("/usr/local/bin/youki") && text.contains(RUNTIME_LOG_PATH), "{text}");
        assert_eq!(wrapper.mode, 0o755);
    }
}
