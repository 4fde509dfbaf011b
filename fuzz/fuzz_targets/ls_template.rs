//! Any `--format`/`-f` template: parsing never panics, and a parsed template renders any row
//! (or says which field is missing) without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rmachine_fuzz::template::{Template, render_template};
use serde_json::json;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(template) = Template::parse(&text) else { return };
    let rows = [
        json!({"Name": "node1", "State": "Running", "URL": "tcp://10.0.0.5:2376", "Driver": {"Name": "generic", "IP": "10.0.0.5"}}),
        json!({"Name": text, "State": null, "List": [1, 2, {"a": "b"}]}),
    ];
    let _ = render_template(&template, &rows, &|field| field.to_uppercase());
    for row in &rows {
        let _ = template.render(row);
    }
});
