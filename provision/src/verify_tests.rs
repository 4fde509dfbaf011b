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
        subuid=remapper:165536:65536\nuid-map=0 165536 65536\nseccomp=2\ncontainer-runtime=runc\n\
        exec-uid-map=0 165536 65536\nexec-seccomp=2\n";
    assert_eq!(expectations.check(good), Ok(vec![]));
    let wrong_map = good.replace("\nuid-map=0 165536 65536", "\nuid-map=0 100000 65536");
    let problem = expectations.check(&wrong_map).unwrap_err();
    assert!(
        problem.starts_with("the /proc/self/uid_map of a container's first process")
            && problem.contains("not \"0 165536 65536\""),
        "{problem}"
    );
    // A process started with `docker exec` must be remapped too.
    let exec_unmapped = good.replace("exec-uid-map=0 165536 65536", "exec-uid-map=0 0 4294967295");
    let problem = expectations.check(&exec_unmapped).unwrap_err();
    assert!(
        problem.starts_with("the /proc/self/uid_map of a process started with `docker exec` reads \"0 0 4294967295\""),
        "{problem}"
    );
    let exec_failed =
        good.replace("exec-uid-map=0 165536 65536\nexec-seccomp=2\n", "exec-error=OCI runtime exec failed\n");
    assert!(
        expectations
            .check(&exec_failed)
            .unwrap_err()
            .contains("`docker exec` in the smoke container failed: OCI runtime exec failed")
    );
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
    youki_accepting(default, accept, false)
}

fn youki_accepting(default: bool, accept_unverified: bool, accept_exec: bool) -> Expectations {
    let options = EngineOptions {
        runtime: Some("youki".into()),
        default_runtime: default.then(|| "youki".to_string()),
        runtime_accept_unverified: accept_unverified,
        runtime_accept_exec_without_seccomp: accept_exec,
        ..EngineOptions::default()
    };
    Expectations::new(&options, None)
}

/// verify-engine.sh's output on a host where youki 0.7.0 (built with seccomp) is the default.
const YOUKI_0_7_0: &str = "driver=overlay2\nsecurity-options=[\"name=seccomp,profile=default\"]\ndefault-runtime=youki\n\
    runtimes=io.containerd.runc.v2 io.containerd.runtime.v1.linux runc youki \ncontainer-runtime=youki\n\
    uid-map=0 0 4294967295\nseccomp=2\nexec-uid-map=0 0 4294967295\nexec-seccomp=0\n";

#[test]
fn a_runtime_whose_exec_d_processes_run_without_seccomp_is_refused_unless_accepted() {
    let problem = youki(true, false).check(YOUKI_0_7_0).unwrap_err();
    assert!(
        problem
            .starts_with("a process started with `docker exec` in a container under youki shows Seccomp: \"0\", not 2"),
        "{problem}"
    );
    assert!(problem.contains("--engine-runtime-accept-exec-without-seccomp"), "{problem}");
    let accepted = youki_accepting(true, false, true).check(YOUKI_0_7_0).unwrap();
    assert_eq!(accepted.len(), 1, "{accepted:?}");
    assert!(accepted[0].contains("as asked") && accepted[0].contains("`docker exec`"), "{accepted:?}");
    // --engine-runtime-accept-unverified accepts everything the check cannot prove, this too.
    assert!(youki(true, true).check(YOUKI_0_7_0).unwrap()[0].contains("`docker exec`"));
    // The narrow flag does not accept a youki built without seccomp.
    let featureless = YOUKI_0_7_0.replace("\nseccomp=2", "\nseccomp=0");
    assert!(youki_accepting(true, false, true).check(&featureless).unwrap_err().contains("built without seccomp"));
    // Nor does it hide a uid_map that is wrong under userns-remap.
    let options = EngineOptions {
        runtime: Some("youki".into()),
        default_runtime: Some("youki".into()),
        runtime_accept_exec_without_seccomp: true,
        userns_remap: Some("remapper".into()),
        ..EngineOptions::default()
    };
    let remapped = Expectations::new(&options, None);
    let output = format!("{YOUKI_0_7_0}security-options=[\"name=userns\"]\nsubuid=remapper:165536:65536\n");
    let problem = remapped.check(&output).unwrap_err();
    assert!(problem.contains("first process reads \"0 0 4294967295\""), "{problem}");
    // youki 0.7.0 under userns-remap: the first process is remapped, the exec'd one is not.
    let output = output.replace("\nuid-map=0 0 4294967295", "\nuid-map=0 165536 65536");
    let problem = remapped.check(&output).unwrap_err();
    assert!(
        problem.starts_with("the /proc/self/uid_map of a process started with `docker exec` reads \"0 0 4294967295\", not \"0 165536 65536\"")
            && problem.contains("youki runs exec'd processes outside the container's user namespace, as the host's root"),
        "{problem}"
    );
}

#[test]
fn youki_must_run_the_smoke_container_with_seccomp() {
    assert_eq!(youki(false, false).arguments(), ["--smoke", "--runtime", "youki"]);
    assert_eq!(youki(true, false).arguments(), ["--smoke"], "the default runtime is tried without --runtime");
    let good = "driver=overlay2\nsecurity-options=[]\ndefault-runtime=youki\nruntimes=runc youki \n\
        container-runtime=youki\nuid-map=0 0 4294967295\nseccomp=2\nexec-uid-map=0 0 4294967295\nexec-seccomp=2\n";
    assert_eq!(youki(true, false).check(good), Ok(vec![]));
    let featureless = good.replace("\nseccomp=2", "\nseccomp=0");
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
