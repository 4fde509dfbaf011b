//! Tests of the engine checks after a restart, against verify-engine.sh output as real hosts
//! print it.

use super::*;

fn remap(value: &str) -> EngineOptions {
    EngineOptions { userns_remap: Some(value.to_string()), ..EngineOptions::default() }
}

const PLAIN: &str = "driver=overlay2\nsecurity-options=[\"name=seccomp,profile=default\"]\ndefault-runtime=runc\nruntimes=io.containerd.runc.v2 io.containerd.runtime.v1.linux runc \n";

#[test]
fn the_storage_driver_must_be_the_one_asked_for() {
    let expectations = Expectations::new(&EngineOptions::default(), Some("overlay2".into()));
    assert_eq!(expectations.arguments(), Vec::<String>::new());
    assert_eq!(expectations.check(PLAIN), Ok(vec![]));
    let vfs = Expectations::new(&EngineOptions::default(), Some("vfs".into()));
    let problem = vfs.check(PLAIN).unwrap_err();
    assert!(problem.contains("\"overlay2\", not \"vfs\""), "{problem}");
}

#[test]
fn userns_remap_needs_name_userns_and_the_subuid_range_in_the_uid_map() {
    let expectations = Expectations::new(&remap("remapper"), None);
    assert_eq!(expectations.arguments(), ["--smoke", "--remap-user", "remapper"]);
    let good = "driver=overlay2\nsecurity-options=[\"name=seccomp,profile=default\",\"name=userns\"]\n\
        subuid=remapper:165536:65536\nuid-map=0 165536 65536\nseccomp=2\ncontainer-runtime=runc\n";
    assert_eq!(expectations.check(good), Ok(vec![]));
    let wrong_map = good.replace("uid-map=0 165536 65536", "uid-map=0 100000 65536");
    let problem = expectations.check(&wrong_map).unwrap_err();
    assert!(problem.contains("not \"0 165536 65536\""), "{problem}");
    let problem = expectations.check(PLAIN).unwrap_err();
    assert!(problem.contains("no name=userns"), "{problem}");
}

#[test]
fn off_means_no_userns_in_docker_info() {
    let expectations = Expectations::new(&remap("off"), None);
    assert!(!expectations.needs_smoke());
    assert_eq!(expectations.check(PLAIN), Ok(vec![]));
    let still_on = PLAIN.replace("profile=default\"", "profile=default\",\"name=userns\"");
    assert!(expectations.check(&still_on).unwrap_err().contains("still on"));
}

fn youki(default: bool, accept: bool) -> Expectations {
    let options = EngineOptions {
        runtime: Some("youki".into()),
        default_runtime: default.then(|| "youki".to_string()),
        runtime_accept_unverified: accept,
        ..EngineOptions::default()
    };
    Expectations::new(&options, None)
}

#[test]
fn youki_must_run_the_smoke_container_with_seccomp() {
    assert_eq!(youki(false, false).arguments(), ["--smoke", "--runtime", "youki"]);
    assert_eq!(youki(true, false).arguments(), ["--smoke"], "the default runtime is tried without --runtime");
    let good = "driver=overlay2\nsecurity-options=[]\ndefault-runtime=youki\nruntimes=runc youki \n\
        container-runtime=youki\nuid-map=0 0 4294967295\nseccomp=2\n";
    assert_eq!(youki(true, false).check(good), Ok(vec![]));
    let featureless = good.replace("seccomp=2", "seccomp=0");
    let problem = youki(true, false).check(&featureless).unwrap_err();
    assert!(problem.contains("Seccomp: \"0\"") && problem.contains("--features"), "{problem}");
    let accepted = youki(true, true).check(&featureless).unwrap();
    assert!(accepted[0].contains("without proof"), "{accepted:?}");
}

#[test]
fn a_failed_smoke_container_shows_the_runtime_s_own_error() {
    let output = "driver=overlay2\nsecurity-options=[]\ndefault-runtime=runc\nruntimes=runc youki \n\
        smoke-error=docker: Error response from daemon: youki did not terminate successfully: exit status 1\n\
        runtime-log=ERROR cgroup cpu is required to fulfill the request, but is not supported by this system\n";
    let problem = youki(false, false).check(output).unwrap_err();
    assert!(problem.contains("did not terminate successfully"), "{problem}");
    assert!(problem.contains("the runtime's own error: ERROR cgroup cpu is required"), "{problem}");
}
