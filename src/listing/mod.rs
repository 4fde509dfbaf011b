//! What `ls` and `inspect` need besides querying: filters (`--filter`), output formats (`--format`:
//! table, json, or a Go template), and the docker-machine-shaped view of a machine. Rows reach both as JSON objects whose keys are docker-machine's
//! template fields, so a field added to `ls`'s `Row` is at once in JSON, templates and filters'
//! reach.

pub mod filter;
pub mod gates;
pub mod machine_view;
pub mod template;

pub use filter::Filters;
pub use gates::EngineGates;
pub use template::{Template, render_template};
