//! Any text as /etc/os-release: parsing never panics; and fields written the way os-release(5)
//! quotes them (`KEY="..."` with `\" \\ \$ \`` escapes) read back exactly, whatever else the
//! file holds around them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rmachine_fuzz::os_release_view;

/// Splits the input at the first 0xff: a value to plant, then the rest of a file around it.
fn split(data: &[u8]) -> (String, String) {
    match data.iter().position(|byte| *byte == 0xff) {
        Some(at) => {
            (String::from_utf8_lossy(&data[..at]).into_owned(), String::from_utf8_lossy(&data[at + 1..]).into_owned())
        }
        None => (String::new(), String::from_utf8_lossy(data).into_owned()),
    }
}

fn quoted(value: &str) -> String {
    let mut text = String::from("\"");
    for character in value.chars() {
        if matches!(character, '"' | '\\' | '$' | '`') {
            text.push('\\');
        }
        text.push(character);
    }
    text.push('"');
    text
}

fuzz_target!(|data: &[u8]| {
    let (value, around) = split(data);
    let (id, _, pretty, _) = os_release_view(&around, "ID");
    assert!(!id.is_empty() && !pretty.is_empty(), "ID and the pretty name always have a value");
    // A value os-release can carry: one line (no \n, no trailing \r) and no NUL.
    let value: String = value.chars().filter(|c| !matches!(c, '\n' | '\r' | '\0')).collect();
    let file = format!("{around}\nRMACHINE_FUZZ={}\n", quoted(&value));
    let (_, _, _, read) = os_release_view(&file, "RMACHINE_FUZZ");
    let expected = (!value.is_empty()).then_some(value.clone());
    assert_eq!(read, expected, "the planted value read back differently from {file:?}");
});
