//! What `ls` needs besides querying: filters (`--filter`) and output formats (`--format`: table,
//! json, or a Go-like template). Rows reach both as JSON objects whose keys are docker-machine's
//! template fields, so a field added to `ls`'s `Row` is at once in JSON, templates and filters'
//! reach.

pub mod filter;
pub mod gates;
pub mod template;

pub use filter::Filters;
pub use gates::EngineGates;
pub use template::{Template, render_template};
