//! Tests of init-system detection and of the systemd service configuration.

use super::*;

fn debian_facts_text() -> String {
    let path = format!("{}/tests/fixtures/facts/debian-12-docker-io.txt", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path).unwrap()
}

fn facts_from(text: &str) -> HostFacts {
    HostFacts::parse(text).unwrap()
}

#[test]
fn detects_init_systems() {
    let facts = facts_from(&debian_facts_text());
    assert_eq!(InitSystem::detect(&facts), InitSystem::Systemd);
    let mut facts = HostFacts::for_tests();
    facts.init_process = "init".into();
    assert_eq!(InitSystem::detect(&facts), InitSystem::SysVinit);
    assert!(std::ptr::eq(InitSystem::detect(&facts).service_manager().unwrap(), &SYSVINIT));
    facts.set_program("rc-service", "/sbin/rc-service");
    assert_eq!(InitSystem::detect(&facts), InitSystem::OpenRc);
    assert_eq!(InitSystem::detect(&facts).name(), "OpenRC");
    facts.init_process = "systemd".into();
    assert!(InitSystem::detect(&facts).service_manager().is_some());
    let mut facts = HostFacts::for_tests();
    facts.init_process = "tini".into();
    assert_eq!(InitSystem::detect(&facts).name(), "tini");
    assert!(InitSystem::detect(&facts).service_manager().is_none());
}

#[test]
fn sysvinit_and_openrc_use_daemon_json_only_and_refuse_host_flags_in_docker_opts() {
    let mut facts = HostFacts::for_tests();
    facts.init_process = "init".into();
    assert_eq!(
        configure_sysvinit(&facts, "/usr/sbin/dockerd", &[]),
        Err(ServiceProblem::NoService { load_state: "no /etc/init.d/docker".into() })
    );
    facts.init_script = Some("/etc/init.d/docker".into());
    let configuration = configure_sysvinit(&facts, "/usr/sbin/dockerd", &[]).unwrap();
    assert_eq!(configuration.listener, Listener::UnixSocket);
    assert!(configuration.files.is_empty() && configuration.warnings.is_empty());
    facts.set_file(
        "/etc/default/docker",
        "#DOCKER_OPTS=\"--dns 8.8.8.8\"\nDOCKER_OPTS=\"-H tcp://0.0.0.0:2375 --debug\"\n",
    );
    assert_eq!(
        configure_sysvinit(&facts, "/usr/sbin/dockerd", &[]),
        Err(ServiceProblem::ConflictingOptions {
            path: "/etc/default/docker".into(),
            setting: "DOCKER_OPTS=\"-H tcp://0.0.0.0:2375 --debug\"".into()
        })
    );
    facts.set_file("/etc/conf.d/docker", "DOCKER_OPTS=\"--debug\"\n");
    let openrc = configure_openrc(&facts, "/usr/bin/dockerd", &["HTTP_PROXY=x".into()]).unwrap();
    assert_eq!(openrc.warnings.len(), 2, "{:?}", openrc.warnings);
    assert_eq!(SYSVINIT.restart_arguments, ["sysvinit"]);
}

#[test]
fn debian_docker_io_gets_a_drop_in_without_host_flags() {
    let facts = facts_from(&debian_facts_text());
    let configuration = configure_systemd(&facts, "/usr/sbin/dockerd", &[]).unwrap();
    assert_eq!(configuration.listener, Listener::SocketActivation);
    assert_eq!(configuration.files.len(), 2, "rmachine's drop-in, and docker-machine's emptied");
    let drop_in = String::from_utf8(configuration.files[0].content.clone()).unwrap();
    assert_eq!(configuration.files[0].path, DROP_IN_PATH);
    assert!(
        drop_in.contains(
            "\nExecStart=\nExecStart=/usr/sbin/dockerd --containerd=/run/containerd/containerd.sock $DOCKER_OPTS\n"
        ),
        "{drop_in}"
    );
    assert!(drop_in.lines().filter(|line| !line.starts_with('#')).all(|line| !line.contains("-H")), "{drop_in}");
    assert_eq!(configuration.warnings.len(), 1, "{:?}", configuration.warnings);
    assert!(configuration.warnings[0].contains("10-machine.conf"));
}

#[test]
fn docker_machines_drop_in_is_emptied_once() {
    let facts = facts_from(&debian_facts_text());
    let configuration = configure_systemd(&facts, "/usr/sbin/dockerd", &[]).unwrap();
    let docker_machine = &configuration.files[1];
    assert_eq!(docker_machine.path, "/etc/systemd/system/docker.service.d/10-machine.conf");
    let text = String::from_utf8(docker_machine.content.clone()).unwrap();
    assert!(text.lines().all(|line| line.starts_with('#')), "only comments: {text}");
    assert!(!systemd::sets_exec_start(&text));
    assert!(
        configuration.warnings[0].contains("docker-machine") && configuration.warnings[0].contains(".rmachine-bak")
    );
    // Emptied, it is left alone: provisioning again changes nothing.
    let start = debian_facts_text().find("[Service]\nExecStart=\nExecStart=/usr/bin/dockerd -H tcp").unwrap();
    let end = start + debian_facts_text()[start..].find("\n\n").unwrap() + 1;
    let emptied = format!(
        "{}{}{}",
        &debian_facts_text()[..start],
        systemd::NEUTRALISED_DOCKER_MACHINE_DROP_IN,
        &debian_facts_text()[end..]
    );
    let again = configure_systemd(&facts_from(&emptied), "/usr/sbin/dockerd", &[]).unwrap();
    assert_eq!(again.files.len(), 1, "{:?}", again.files.iter().map(|file| &file.path).collect::<Vec<_>>());
    assert!(again.warnings.is_empty(), "{:?}", again.warnings);
}

#[test]
fn no_socket_unit_means_dockerd_makes_its_own_socket() {
    let text = debian_facts_text()
        .replace(
            "@@rmachine-section@@ docker-socket\nLoadState=loaded",
            "@@rmachine-section@@ docker-socket\nLoadState=not-found",
        )
        .replace("-H fd:// ", "");
    let configuration = configure_systemd(&facts_from(&text), "/usr/sbin/dockerd", &[]).unwrap();
    assert_eq!(configuration.listener, Listener::UnixSocket);
}

#[test]
fn a_later_drop_in_setting_exec_start_is_a_conflict() {
    let text = debian_facts_text().replace(
        "drop-in /etc/systemd/system/docker.service.d/10-machine.conf",
        "drop-in /etc/systemd/system/docker.service.d/override.conf",
    );
    assert_eq!(
        configure_systemd(&facts_from(&text), "/usr/sbin/dockerd", &[]),
        Err(ServiceProblem::ConflictingFile { path: "/etc/systemd/system/docker.service.d/override.conf".into() })
    );
    let harmless = text.replace("ExecStart=\nExecStart=/usr/bin/dockerd -H tcp", "Environment=X=tcp");
    assert!(configure_systemd(&facts_from(&harmless), "/usr/sbin/dockerd", &[]).is_ok());
}

#[test]
fn our_own_drop_in_is_not_foreign() {
    let text = debian_facts_text().replace(
        "drop-in /etc/systemd/system/docker.service.d/10-machine.conf",
        "drop-in /etc/systemd/system/docker.service.d/10-rmachine.conf",
    );
    let configuration = configure_systemd(&facts_from(&text), "/usr/sbin/dockerd", &[]).unwrap();
    assert!(configuration.warnings.is_empty(), "{:?}", configuration.warnings);
}

#[test]
fn a_missing_unit_is_reported() {
    let text = debian_facts_text().replace("LoadState=loaded\nFragmentPath", "LoadState=not-found\nFragmentPath");
    assert_eq!(
        configure_systemd(&facts_from(&text), "/usr/local/bin/dockerd", &[]),
        Err(ServiceProblem::NoService { load_state: "not-found".into() })
    );
}

#[test]
fn docker_opts_in_etc_default_is_warned_about() {
    let text = debian_facts_text().replace(
        "# Use of this file for configuring your Docker daemon is discouraged.\n",
        "#DOCKER_OPTS=\"--dns 8.8.8.8\"\nDOCKER_OPTS=\"-H tcp://0.0.0.0:2375\"\n",
    );
    let configuration = configure_systemd(&facts_from(&text), "/usr/sbin/dockerd", &[]).unwrap();
    assert!(
        configuration.warnings.iter().any(|warning| warning.contains("DOCKER_OPTS=\"-H tcp://0.0.0.0:2375\"")),
        "{:?}",
        configuration.warnings
    );
    assert_eq!(docker_options_setting("DOCKER_OPTS=\"\"\n# DOCKER_OPTS=x\n"), None);
    assert_eq!(docker_options_setting("export DOCKER_OPTS=--debug\n").as_deref(), Some("--debug"));
}

#[test]
fn environment_goes_into_the_drop_in() {
    let facts = facts_from(&debian_facts_text());
    let configuration = configure_systemd(&facts, "/usr/sbin/dockerd", &["HTTP_PROXY=http://p:3128".into()]).unwrap();
    let drop_in = String::from_utf8(configuration.files[0].content.clone()).unwrap();
    assert!(drop_in.contains("Environment=\"HTTP_PROXY=http://p:3128\"\n"), "{drop_in}");
}
