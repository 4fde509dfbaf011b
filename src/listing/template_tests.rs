//! Tests of the template engine: each construct docker-machine users write, the `table`
//! header, and the errors.

use super::*;
use serde_json::json;

fn upper(field: &str) -> String {
    field.to_uppercase()
}

fn machine() -> Value {
    json!({
        "Name": "node1",
        "DriverName": "generic",
        "Driver": {"IPAddress": "10.0.0.5", "SSHPort": 22, "SSHUser": "root"},
        "HostOptions": {"EngineOptions": {"Labels": ["env=test", "disk=ssd"], "StorageDriver": "", "Env": []}},
        "Tags": {"b": "2", "a": "1"},
        "Count": 3,
        "Note": "<a&b>",
        "Missing": null,
    })
}

fn render(text: &str) -> String {
    Template::parse(text).unwrap().render(&machine()).unwrap_or_else(|error| panic!("{text}: {error}"))
}

#[test]
fn fields_json_and_escapes() {
    let row = json!({"Name": "node1", "URL": "tcp://10.0.0.5:2376", "Engine": {"Port": 2376}});
    let template = Template::parse("{{.Name}}\\t{{ .URL }} {{.Engine.Port}} {{json .Engine}}").unwrap();
    assert_eq!(template.render(&row).unwrap(), "node1\ttcp://10.0.0.5:2376 2376 {\"Port\":2376}");
    assert_eq!(Template::parse("{{json .}}").unwrap().render(&json!({"A": 1})).unwrap(), "{\"A\":1}");
    assert_eq!(render("{{.Missing}}"), "<no value>");
}

#[test]
fn json_is_go_marshal_and_prettyjson_indents_four_spaces() {
    assert_eq!(render("{{json .DriverName}}"), "\"generic\"");
    assert_eq!(render("{{json .Note}}"), "\"\\u003ca\\u0026b\\u003e\"");
    assert_eq!(
        render("{{prettyjson .Driver}}"),
        "{\n    \"IPAddress\": \"10.0.0.5\",\n    \"SSHPort\": 22,\n    \"SSHUser\": \"root\"\n}"
    );
    assert_eq!(render("{{.Driver | json}}"), "{\"IPAddress\":\"10.0.0.5\",\"SSHPort\":22,\"SSHUser\":\"root\"}");
}

#[test]
fn range_over_lists_and_maps_in_key_order_with_variables() {
    assert_eq!(render("{{range .HostOptions.EngineOptions.Labels}}[{{.}}]{{end}}"), "[env=test][disk=ssd]");
    assert_eq!(render("{{range $k, $v := .Tags}}{{$k}}={{$v}};{{end}}"), "a=1;b=2;");
    assert_eq!(
        render("{{range $i, $l := .HostOptions.EngineOptions.Labels}}{{$i}}{{$l}} {{end}}"),
        "0env=test 1disk=ssd "
    );
    assert_eq!(render("{{range .HostOptions.EngineOptions.Env}}x{{else}}no env{{end}}"), "no env");
    assert_eq!(render("{{$n := .Name}}{{with .Driver}}{{$n}}@{{.IPAddress}}{{end}}"), "node1@10.0.0.5");
}

#[test]
fn conditions_comparisons_and_logic() {
    assert_eq!(render("{{if eq .DriverName \"generic\"}}ssh{{else}}other{{end}}"), "ssh");
    assert_eq!(render("{{if .HostOptions.EngineOptions.StorageDriver}}set{{else}}unset{{end}}"), "unset");
    assert_eq!(render("{{if and (gt .Count 2) (lt .Count 4) (ne .Name \"x\")}}yes{{end}}"), "yes");
    assert_eq!(render("{{if or .Missing (not .Count)}}a{{else if ge .Count 3}}b{{end}}"), "b");
    assert_eq!(render("{{with .Missing}}set{{else}}none{{end}}"), "none");
    assert_eq!(render("{{le 1 2}} {{eq .Count 1 2 3}}"), "true true");
}

#[test]
fn functions_and_pipelines() {
    assert_eq!(render("{{index .HostOptions.EngineOptions.Labels 1}}"), "disk=ssd");
    assert_eq!(render("{{index .Tags \"b\"}}"), "2");
    assert_eq!(render("{{len .HostOptions.EngineOptions.Labels}} {{len .Name}}"), "2 5");
    assert_eq!(render("{{printf \"%s:%d\" .Driver.IPAddress .Driver.SSHPort}}"), "10.0.0.5:22");
    assert_eq!(render("{{.Name | printf \"%q\"}}"), "\"node1\"");
    assert_eq!(render("{{.Driver.SSHPort | printf \"%05d\" | len}}"), "5");
    assert_eq!(render("{{print .Name \"-\" .Count}} {{slice .Name 0 4}}"), "node1-3 node");
    assert_eq!(render("  {{- .Name -}}  \n"), "node1");
    assert_eq!(render("{{/* a comment */}}{{.Name}}"), "node1");
}

#[test]
fn table_templates_get_a_header_and_aligned_columns() {
    let rows = vec![json!({"Name": "a", "State": "Running"}), json!({"Name": "longer", "State": "Timeout"})];
    let template = Template::parse("table {{.Name}}\\t{{.State}}").unwrap();
    assert_eq!(
        render_template(&template, &rows, &rows[0], &upper).unwrap(),
        "NAME     STATE\na        Running\nlonger   Timeout\n"
    );
    let nested = Template::parse(
        "table {{.Driver.IPAddress}}\\t{{json .Name}}\\t{{range .HostOptions.EngineOptions.Labels}}{{.}}{{end}}",
    )
    .unwrap();
    assert_eq!(
        render_template(&nested, &[machine()], &machine(), &upper).unwrap(),
        "IPADDRESS   NAME      LABELS\n10.0.0.5    \"node1\"   env=testdisk=ssd\n"
    );
    // No rows: the header alone, from the shape.
    assert_eq!(render_template(&template, &[], &rows[0], &upper).unwrap(), "NAME   STATE\n");
    let plain = Template::parse("{{.Name}}").unwrap();
    assert_eq!(render_template(&plain, &rows, &rows[0], &upper).unwrap(), "a\nlonger\n");
}

#[test]
fn errors_name_the_problem() {
    let unclosed = Template::parse("{{.Name").unwrap_err();
    assert!(matches!(unclosed, TemplateError::Parse { .. }), "{unclosed:?}");
    assert!(unclosed.to_string().contains("unclosed action"), "{unclosed}");
    for unbalanced in ["{{range .X}}", "{{if .X}}a", "a{{end}}b", "{{else}}", "{{with .X}}{{end}}{{end}}"] {
        let error = Template::parse(unbalanced).unwrap_err().to_string();
        assert!(error.contains("does not parse") && error.contains("without its {{end}}"), "{unbalanced}: {error}");
    }
    assert!(Template::parse("{{range .X}}{{if .}}{{else}}{{end}}{{end}}").is_ok());
    let unknown_function = Template::parse("{{nosuch .Name}}").unwrap().render(&machine()).unwrap_err().to_string();
    assert!(unknown_function.contains("nosuch"), "{unknown_function}");

    let unknown = Template::parse("{{.Nope}}").unwrap().render(&json!({"Name": "a"})).unwrap_err().to_string();
    assert!(unknown.contains("no field .Nope") && unknown.contains(".Name"), "{unknown}");
    let nested = Template::parse("{{.Driver.Nope}}").unwrap().render(&machine()).unwrap_err().to_string();
    assert!(nested.contains("no field .Driver.Nope") && nested.contains(".Driver.SSHUser"), "{nested}");
    assert!(!nested.contains(".DriverName"), "{nested}");

    let arguments = Template::parse("{{json .Name .Count}}").unwrap().render(&machine()).unwrap_err().to_string();
    assert!(arguments.contains("json") && arguments.contains("arguments"), "{arguments}");
    let not_a_list = Template::parse("{{range .Name}}x{{end}}").unwrap().render(&machine()).unwrap_err().to_string();
    assert!(not_a_list.contains("range"), "{not_a_list}");
    let bad_index = Template::parse("{{index .HostOptions.EngineOptions.Labels 9}}").unwrap().render(&machine());
    assert!(bad_index.unwrap_err().to_string().contains("index out of range"));
}

// Found by the ls_template fuzz target: a cell wider than 65535 characters made `format!`'s
// padding panic ("Formatting argument out of range").
#[test]
fn columns_wider_than_any_format_width_are_aligned() {
    let wide = "w".repeat(70_000);
    let text = align(&[format!("{wide}\tend"), "x\ty".to_string()]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], format!("{wide}   end"));
    assert_eq!(lines[1], format!("x{}   y", " ".repeat(69_999)));
}
