//! Go templates on the command line, with docker-machine's field names and functions, against
//! none-driver machines pointing at a closed local port (no host needed): `inspect -f` over
//! docker-machine's view of a machine merged with rmachine's record, `ls --format` over rows.

mod common;

use common::{fails, rmachine, succeeds, text};
use std::path::{Path, PathBuf};

fn store_with_none_machines(folder: &Path) -> PathBuf {
    let store = folder.join("store");
    for (name, port) in [("web1", "1"), ("db1", "2")] {
        let url = format!("tcp://127.0.0.1:{port}");
        succeeds("create", rmachine(&store, &["create", "--driver", "none", "--url", &url, name]));
    }
    store
}

fn inspect(store: &Path, template: &str, names: &[&str]) -> String {
    let mut args = vec!["inspect", "-f", template];
    args.extend_from_slice(names);
    succeeds(&format!("inspect -f {template}"), rmachine(store, &args))
}

#[test]
fn inspect_speaks_docker_machines_fields_and_functions() {
    let folder = tempfile::tempdir().unwrap();
    let store = store_with_none_machines(folder.path());
    assert_eq!(inspect(&store, "{{.DriverName}}", &["web1"]), "none\n");
    assert_eq!(inspect(&store, "{{json .DriverName}}", &["web1"]), "\"none\"\n");
    let pretty = inspect(&store, "{{prettyjson .Driver}}", &["web1"]);
    assert!(pretty.lines().count() > 1, "{pretty}");
    assert!(
        pretty.contains("\n    \"IPAddress\": \"127.0.0.1\",\n") && pretty.contains("\"EnginePort\": 1"),
        "{pretty}"
    );
    assert_eq!(
        inspect(
            &store,
            "{{.Name}} {{.Driver.IPAddress}}:{{.Driver.EnginePort}} {{.driver.settings.url}}",
            &["web1", "db1"]
        ),
        "web1 127.0.0.1:1 tcp://127.0.0.1:1\ndb1 127.0.0.1:2 tcp://127.0.0.1:2\n"
    );
    let cert = inspect(&store, "{{.HostOptions.AuthOptions.CaCertPath}}", &["web1"]);
    assert_eq!(cert.trim(), store.join("certs/ca.pem").display().to_string());
    assert_eq!(
        inspect(
            &store,
            "{{if eq .DriverName \"none\"}}{{len .HostOptions.EngineOptions.Labels}} labels{{end}}",
            &["web1"]
        ),
        "0 labels\n"
    );
    let both: serde_json::Value =
        serde_json::from_str(&succeeds("inspect", rmachine(&store, &["inspect", "web1"]))).unwrap();
    assert_eq!((&both["name"], &both["Name"]), (&serde_json::json!("web1"), &serde_json::json!("web1")));
    assert_eq!(both["Driver"]["IPAddress"], "127.0.0.1");
    assert_eq!(both["driver"]["settings"]["url"], "tcp://127.0.0.1:1");
}

#[test]
fn ls_formats_take_range_if_and_functions() {
    let folder = tempfile::tempdir().unwrap();
    let store = store_with_none_machines(folder.path());
    let ranged = succeeds(
        "ls --format range",
        rmachine(&store, &["ls", "--filter", "name=db1", "--format", "{{range $k, $v := .}}{{$k}}={{$v}};{{end}}"]),
    );
    assert!(
        ranged.contains("DriverName=none;") && ranged.contains("Name=db1;") && ranged.contains("State=Stopped;"),
        "{ranged}"
    );
    let conditional = succeeds(
        "ls --format if",
        rmachine(
            &store,
            &["ls", "--format", "{{if eq .State \"Stopped\"}}{{.Name}} is down{{else}}{{.Name}}{{end}} {{json .URL}}"],
        ),
    );
    assert_eq!(conditional, "db1 is down \"tcp://127.0.0.1:2\"\nweb1 is down \"tcp://127.0.0.1:1\"\n");
    let table = succeeds(
        "ls --format table",
        rmachine(&store, &["ls", "--format", "table {{.Name}}\\t{{printf \"%.4s\" .DriverName}}\\t{{len .URL}}"]),
    );
    // The header is the template run over the column names, functions included (as docker's).
    assert_eq!(table, "NAME   DRIV   3\ndb1    none   17\nweb1   none   17\n");
}

#[test]
fn template_errors_say_what_is_wrong() {
    let folder = tempfile::tempdir().unwrap();
    let store = store_with_none_machines(folder.path());
    let unknown = fails("inspect -f .Driver.Nope", rmachine(&store, &["inspect", "-f", "{{.Driver.Nope}}", "web1"]));
    assert!(unknown.contains("no field .Driver.Nope") && unknown.contains(".Driver.IPAddress"), "{unknown}");
    let unbalanced = fails("inspect -f range", rmachine(&store, &["inspect", "-f", "{{range .X}}", "web1"]));
    assert!(unbalanced.contains("without its {{end}}"), "{unbalanced}");
    let unclosed = rmachine(&store, &["ls", "--format", "{{.Name"]);
    assert!(!unclosed.status.success());
    assert!(text(&unclosed.stderr).contains("unclosed action"), "{}", text(&unclosed.stderr));
    let function = fails("ls --format nosuch", rmachine(&store, &["ls", "--format", "{{nosuch .Name}}"]));
    assert!(function.contains("nosuch"), "{function}");
}
