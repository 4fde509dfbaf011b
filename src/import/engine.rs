//! docker-machine's engine options as rmachine's: labels, storage driver, registry mirrors,
//! insecure registries, environment, install URL; each `--engine-opt` (dockerd flags, which
//! docker-machine put on the command line) as the daemon.json key of that flag, or as the
//! rmachine option that sets it (userns-remap, storage-driver…); the options docker-machine had
//! without a flag (Dns, GraphDir, LogLevel, Ipv6, SelinuxEnabled) as their daemon.json keys.
//! A value rmachine refuses is left out and named, so the import goes on.

use super::docker_machine_config::EngineOptions as DockerMachineEngine;
use rmachine_provision::EngineOptions;

/// rmachine's engine options for docker-machine's, and what was left out (one line each).
pub fn engine_options(docker_machine: &DockerMachineEngine) -> (EngineOptions, Vec<String>) {
    let mut mapped = Mapping::default();
    if !docker_machine.install_url.is_empty() {
        mapped.try_set("install URL", &docker_machine.install_url, |options, url| options.install_url = Some(url));
    }
    if !docker_machine.storage_driver.is_empty() {
        mapped.try_set("storage driver", &docker_machine.storage_driver, |options, driver| {
            options.storage_driver = Some(driver)
        });
    }
    for label in &docker_machine.labels {
        mapped.try_set("engine label", label, |options, label| options.labels.push(label));
    }
    for mirror in &docker_machine.registry_mirror {
        mapped.try_set("registry mirror", mirror, |options, mirror| options.registry_mirrors.push(mirror));
    }
    for registry in &docker_machine.insecure_registry {
        mapped.try_set("insecure registry", registry, |options, registry| options.insecure_registries.push(registry));
    }
    for variable in &docker_machine.env {
        mapped.try_set("engine environment variable", variable, |options, variable| options.env.push(variable));
    }
    for flag in &docker_machine.arbitrary_flags {
        mapped.flag(flag);
    }
    if !docker_machine.dns.is_empty() {
        let servers = serde_json::to_string(&docker_machine.dns).expect("a list of strings serialises");
        mapped.option(&format!("dns={servers}"));
    }
    for (key, value) in [("data-root", &docker_machine.graph_dir), ("log-level", &docker_machine.log_level)] {
        if !value.is_empty() {
            mapped.option(&format!("{key}={value}"));
        }
    }
    for (key, set) in [("ipv6", docker_machine.ipv6), ("selinux-enabled", docker_machine.selinux_enabled)] {
        if set {
            mapped.option(&format!("{key}=true"));
        }
    }
    mapped.finish()
}

#[derive(Default)]
struct Mapping {
    options: EngineOptions,
    left_out: Vec<String>,
}

/// The dockerd flags rmachine sets itself: listening addresses and TLS.
const RMACHINE_FLAGS: &[&str] = &["H", "host", "tls", "tlsverify", "tlscacert", "tlscert", "tlskey"];

impl Mapping {
    /// Sets one value through `set` when rmachine accepts it on its own, else names it.
    fn try_set(&mut self, what: &str, value: &str, set: impl Fn(&mut EngineOptions, String)) {
        let mut alone = EngineOptions::default();
        set(&mut alone, value.to_string());
        match alone.validate() {
            Ok(()) => set(&mut self.options, value.to_string()),
            Err(error) => self.left_out.push(format!("{what} {value:?}: {}", one_line(&error.to_string()))),
        }
    }

    /// An `--engine-opt` docker-machine passed to dockerd as `--FLAG[=VALUE]`.
    fn flag(&mut self, flag: &str) {
        let flag = flag.trim().trim_start_matches('-');
        let (key, value) = flag.split_once('=').unwrap_or((flag, "true"));
        match key {
            "userns-remap" => self.try_set("userns-remap", value, |options, remap| options.userns_remap = Some(remap)),
            "storage-driver" | "s" if self.options.storage_driver.is_none() => {
                self.try_set("storage driver", value, |options, driver| options.storage_driver = Some(driver))
            }
            "label" => self.try_set("engine label", value, |options, label| options.labels.push(label)),
            "registry-mirror" => {
                self.try_set("registry mirror", value, |options, url| options.registry_mirrors.push(url))
            }
            "insecure-registry" => {
                self.try_set("insecure registry", value, |options, registry| options.insecure_registries.push(registry))
            }
            _ if RMACHINE_FLAGS.contains(&key) => self
                .left_out
                .push(format!("engine option {flag:?}: rmachine sets the engine's listening addresses and TLS itself")),
            _ => self.option(&format!("{key}={value}")),
        }
    }

    /// A daemon.json `KEY=VALUE`.
    fn option(&mut self, option: &str) {
        self.try_set("engine option", option, |options, option| options.options.push(option));
    }

    /// The options, checked together (two options can clash where each alone is fine).
    fn finish(mut self) -> (EngineOptions, Vec<String>) {
        if let Err(error) = self.options.validate() {
            let options = std::mem::take(&mut self.options.options);
            self.left_out.push(format!(
                "engine options {}: together they are refused ({})",
                options.join(" "),
                one_line(&error.to_string())
            ));
        }
        (self.options, self.left_out)
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|item| item.to_string()).collect()
    }

    #[test]
    fn every_option_finds_its_place() {
        let docker_machine = DockerMachineEngine {
            arbitrary_flags: strings(&["userns-remap=default", "log-opt=max-size=10m", "debug", "--mtu=1400"]),
            dns: strings(&["1.1.1.1"]),
            graph_dir: "/data/docker".into(),
            env: strings(&["HTTP_PROXY=http://p:3128"]),
            ipv6: true,
            insecure_registry: strings(&["registry.local:5000"]),
            labels: strings(&["env=test"]),
            log_level: "warn".into(),
            storage_driver: "overlay2".into(),
            selinux_enabled: false,
            registry_mirror: strings(&["https://mirror.local"]),
            install_url: "https://get.docker.com".into(),
        };
        let (options, left_out) = engine_options(&docker_machine);
        assert!(left_out.is_empty(), "{left_out:?}");
        assert_eq!(options.install_url.as_deref(), Some("https://get.docker.com"));
        assert_eq!(options.storage_driver.as_deref(), Some("overlay2"));
        assert_eq!(options.userns_remap.as_deref(), Some("default"));
        assert_eq!(options.labels, strings(&["env=test"]));
        assert_eq!(options.registry_mirrors, strings(&["https://mirror.local"]));
        assert_eq!(options.insecure_registries, strings(&["registry.local:5000"]));
        assert_eq!(options.env, strings(&["HTTP_PROXY=http://p:3128"]));
        assert_eq!(
            options.options,
            strings(&[
                "log-opt=max-size=10m",
                "debug=true",
                "mtu=1400",
                "dns=[\"1.1.1.1\"]",
                "data-root=/data/docker",
                "log-level=warn",
                "ipv6=true"
            ])
        );
    }

    #[test]
    fn what_rmachine_refuses_is_named_and_the_rest_kept() {
        let docker_machine = DockerMachineEngine {
            arbitrary_flags: strings(&["host=tcp://0.0.0.0:2375", "tlsverify=false", "bad key=1", "engine-opt-ok=yes"]),
            labels: strings(&["no-equals-sign", "ok=1"]),
            registry_mirror: strings(&["mirror.local"]),
            storage_driver: "bogusfs".into(),
            ..Default::default()
        };
        let (options, left_out) = engine_options(&docker_machine);
        assert_eq!(options.labels, strings(&["ok=1"]));
        assert_eq!(options.options, strings(&["engine-opt-ok=yes"]));
        assert_eq!(options.storage_driver, None);
        assert!(options.registry_mirrors.is_empty());
        let text = left_out.join("\n");
        for expected in [
            "\"host=tcp://0.0.0.0:2375\"",
            "\"tlsverify=false\"",
            "bad key",
            "no-equals-sign",
            "mirror.local",
            "bogusfs",
        ] {
            assert!(text.contains(expected), "{expected} in {text}");
        }
        assert_eq!(left_out.len(), 6, "{text}");
    }
}
