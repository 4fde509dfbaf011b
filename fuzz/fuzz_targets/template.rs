//! Any template text over any JSON document: parsing and rendering (plain and `table`) return a
//! value or an error, never panic or hang. The input is the template, a 0 byte, then the document
//! (a fixed machine-like document when that part is not JSON).
#![no_main]

#[path = "../../src/listing/template.rs"]
mod template;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (text, document) = match data.iter().position(|byte| *byte == 0) {
        Some(split) => (&data[..split], &data[split + 1..]),
        None => (data, &b""[..]),
    };
    let Ok(text) = std::str::from_utf8(text) else { return };
    let value = serde_json::from_slice(document).unwrap_or_else(|_| {
        serde_json::json!({"Name": "n", "Driver": {"IPAddress": "10.0.0.5", "SSHPort": 22}, "Labels": ["a=b"], "Count": 3})
    });
    let Ok(parsed) = template::Template::parse(text) else { return };
    let _ = parsed.render(&value);
    let _ = template::render_template(&parsed, std::slice::from_ref(&value), &value, &|field| field.to_uppercase());
});
