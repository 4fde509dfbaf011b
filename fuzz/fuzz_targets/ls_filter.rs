//! Any `ls --filter` values: parsing never panics, errors are the documented ones, and a parsed
//! filter answers for any machine; a `driver=`/`label=` filter always matches what it names.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rmachine_fuzz::filter::{FilterError, Filters};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let specifications: Vec<String> = text.split('\n').map(str::to_string).collect();
    match Filters::parse(&specifications) {
        Ok(filters) => {
            let name = specifications.first().cloned().unwrap_or_default();
            let labels = vec![name.clone(), "env=prod".to_string()];
            let _ = filters.matches_record(&name, "generic", &labels);
            let _ = filters.matches_state(&name);
            let _ = filters.needs_state();
        }
        Err(FilterError::Malformed(_) | FilterError::UnsupportedKey(_) | FilterError::BadPattern { .. }) => {}
    }
    if let Some(value) = specifications.first() {
        if !value.contains('\n') {
            let only = Filters::parse(&[format!("driver={value}")]).expect("any driver value parses");
            assert!(only.matches_record("m", value, &[]), "driver={value:?} does not match its driver");
            let label = Filters::parse(&[format!("label={value}")]).expect("any label value parses");
            assert!(label.matches_record("m", "none", &[value.clone()]), "label={value:?} does not match its label");
        }
    }
});
