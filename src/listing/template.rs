//! Go templates as docker-machine users write them in `ls --format` and `inspect -f`: the whole
//! text/template language through the `gotmpl` crate (a maintained Rust port of Go's
//! text/template: `range`, `if`/`else`, `with`, variables, `index`, `len`, `printf`, `eq`/`lt`…,
//! `and`/`or`/`not`, pipelines, trim markers), plus docker-machine's own functions `json` and
//! `prettyjson`. `\t` and `\n` written as two characters are tab and newline; a `table ` prefix
//! adds a header line (the template run over the column names) and aligns tab-separated columns.
//! Values come from JSON documents (a row of `ls`, a machine for `inspect`).
//!
//! The module uses only serde_json, gotmpl and thiserror, so that the fuzz target (`fuzz/`)
//! compiles it on its own.

use gotmpl::{MissingKey, Value as GoValue};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A parsed template: its body, and whether it is a `table` template.
pub struct Template {
    table: bool,
    /// The body as written (after the `table` prefix and escapes), for error messages.
    body: String,
    rows: gotmpl::Template,
    header: gotmpl::Template,
}

impl std::fmt::Debug for Template {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Template").field("table", &self.table).field("body", &self.body).finish()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TemplateError {
    /// The text is not a template: `message` is the parser's, with line and column.
    #[error("template {template:?} does not parse: {message}")]
    Parse { template: String, message: String },
    #[error("template: no field {field} (fields there: {known})")]
    UnknownField { field: String, known: String },
    #[error("template {template:?} failed: {message}")]
    Execution { template: String, message: String },
}

impl Template {
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let (table, body) = match text.strip_prefix("table") {
            Some(rest) if rest.is_empty() || rest.starts_with(char::is_whitespace) => (true, rest.trim()),
            _ => (false, text),
        };
        let body = body.replace("\\t", "\t").replace("\\n", "\n");
        let compile = |json: fn(&[GoValue]) -> gotmpl::Result<GoValue>,
                       pretty: fn(&[GoValue]) -> gotmpl::Result<GoValue>| {
            gotmpl::Template::new("")
                .missing_key(MissingKey::Error)
                .func("json", json)
                .func("prettyjson", pretty)
                .parse(&body)
                .map_err(|error| TemplateError::Parse { template: text.to_string(), message: without_prefix(&error) })
        };
        let rows = compile(json_function, pretty_json_function)?;
        check_blocks(&body).map_err(|message| TemplateError::Parse { template: text.to_string(), message })?;
        let header = compile(header_function, header_function)?;
        Ok(Template { table, body, rows, header })
    }

    pub fn is_table(&self) -> bool {
        self.table
    }

    /// Renders one value.
    pub fn render(&self, value: &Value) -> Result<String, TemplateError> {
        self.run(&self.rows, value)
    }

    fn run(&self, template: &gotmpl::Template, value: &Value) -> Result<String, TemplateError> {
        template.execute_to_string(&to_go(value)).map_err(|error| match error {
            gotmpl::TemplateError::MissingKey { key } => unknown_field(&self.body, &key, value),
            other => TemplateError::Execution { template: self.body.clone(), message: without_prefix(&other) },
        })
    }

    /// The header line of a `table` template: the template run over `shape` (a value with every
    /// field) whose leaves are replaced by their column names.
    fn header(&self, shape: &Value, headers: &dyn Fn(&str) -> String) -> Result<String, TemplateError> {
        self.run(&self.header, &header_document(shape, "VALUE", headers))
    }
}

/// The text after every action, to find where the parser stopped.
const SENTINEL: &str = "rmachine-end-of-template-5c1d";

/// Go refuses a block without `{{end}}` ("unexpected EOF") and an `{{end}}` or `{{else}}`
/// outside a block; gotmpl 0.6 stops parsing there without a word. Parsing the body followed by
/// a sentinel action tells: the sentinel is the last top-level node only when blocks balance.
fn check_blocks(body: &str) -> Result<(), String> {
    use gotmpl::parse::{Expr, Node, Parser};
    let source = format!("{body}{{{{\"{SENTINEL}\"}}}}");
    let parser = Parser::new(&source, "{{", "}}").map_err(|error| without_prefix(&error))?;
    let (tree, _) = parser.parse().map_err(|error| without_prefix(&error))?;
    let last_is_sentinel = match tree.nodes.last() {
        Some(Node::Action(action)) => matches!(
            action.pipe.commands.first().and_then(|command| command.args.first()),
            Some(Expr::String(_, text)) if &**text == SENTINEL
        ),
        _ => false,
    };
    if last_is_sentinel {
        Ok(())
    } else {
        Err("unbalanced blocks: an {{if}}, {{range}}, {{with}} or {{define}} without its {{end}}, or an {{end}} or {{else}} outside any".into())
    }
}

fn without_prefix(error: &gotmpl::TemplateError) -> String {
    let text = error.to_string();
    text.strip_prefix("template: ").map(str::to_string).unwrap_or(text)
}

/// `shape` with each scalar replaced by the column name of its key (a list by a one-item list of
/// it), so that `{{.Name}}` renders NAME and `{{range .Labels}}{{.}}{{end}}` LABELS.
fn header_document(shape: &Value, key: &str, headers: &dyn Fn(&str) -> String) -> Value {
    match shape {
        Value::Object(map) => Value::Object(
            map.iter().map(|(name, value)| (name.clone(), header_document(value, name, headers))).collect(),
        ),
        Value::Array(_) => Value::Array(vec![Value::String(headers(key))]),
        _ => Value::String(headers(key)),
    }
}

/// The error for a missing field: its path as the template writes it and the fields of the
/// object it was looked up in, found by following that path from the top.
fn unknown_field(body: &str, key: &str, value: &Value) -> TemplateError {
    let prefix = field_prefix(body, key).unwrap_or_default();
    let parent = prefix.split('.').filter(|part| !part.is_empty()).try_fold(value, |current, part| current.get(part));
    let (parent_path, fields) = match parent {
        Some(Value::Object(map)) => (prefix.clone(), map.keys().cloned().collect::<Vec<_>>()),
        _ => (String::new(), value.as_object().map(|map| map.keys().cloned().collect()).unwrap_or_default()),
    };
    let known = if fields.is_empty() {
        "none".to_string()
    } else {
        fields.iter().map(|field| format!("{parent_path}.{field}")).collect::<Vec<_>>().join(" ")
    };
    TemplateError::UnknownField { field: format!("{prefix}.{key}"), known }
}

/// The field path before `.KEY` where the template names it (`.Driver` for `.Driver.KEY`).
fn field_prefix(body: &str, key: &str) -> Option<String> {
    let needle = format!(".{key}");
    let identifier = |character: char| character.is_alphanumeric() || character == '_';
    body.match_indices(&needle).find_map(|(start, _)| {
        let after = body[start + needle.len()..].chars().next();
        if after.is_some_and(identifier) {
            return None;
        }
        let before = &body[..start];
        let path_start = before.trim_end_matches(|character: char| identifier(character) || character == '.').len();
        let path = &before[path_start..];
        Some(if path.starts_with('.') { path.to_string() } else { String::new() })
    })
}

/// A JSON document as template data.
pub fn to_go(value: &Value) -> GoValue {
    match value {
        Value::Null => GoValue::Nil,
        Value::Bool(flag) => GoValue::Bool(*flag),
        Value::Number(number) => match (number.as_i64(), number.as_u64()) {
            (Some(signed), _) => GoValue::Int(signed),
            (None, Some(unsigned)) => GoValue::Uint(unsigned),
            _ => GoValue::Float(number.as_f64().unwrap_or_default()),
        },
        Value::String(text) => GoValue::String(Arc::from(text.as_str())),
        Value::Array(items) => GoValue::List(items.iter().map(to_go).collect::<Vec<_>>().into()),
        Value::Object(map) => GoValue::Map(Arc::new(
            map.iter().map(|(key, value)| (Arc::from(key.as_str()), to_go(value))).collect::<BTreeMap<_, _>>(),
        )),
    }
}

/// Template data back as JSON, for `json` and `prettyjson`.
fn to_json(value: &GoValue) -> Value {
    match value {
        GoValue::Bool(flag) => Value::Bool(*flag),
        GoValue::Int(number) => Value::from(*number),
        GoValue::Uint(number) => Value::from(*number),
        GoValue::Float(number) => serde_json::Number::from_f64(*number).map_or(Value::Null, Value::Number),
        GoValue::String(text) => Value::String(text.to_string()),
        GoValue::List(items) => Value::Array(items.iter().map(to_json).collect()),
        GoValue::Map(map) => Value::Object(map.iter().map(|(key, value)| (key.to_string(), to_json(value))).collect()),
        _ => Value::Null,
    }
}

fn single_argument<'a>(name: &str, arguments: &'a [GoValue]) -> gotmpl::Result<&'a GoValue> {
    match arguments {
        [argument] => Ok(argument),
        _ => Err(gotmpl::TemplateError::ArgCount { name: name.into(), expected: 1, got: arguments.len() }),
    }
}

/// Go's encoding/json escapes <, > and & (and U+2028/9) in strings; they occur only inside
/// strings in JSON text, so replacing them everywhere is exact.
fn go_escaped(json: String) -> String {
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// docker-machine's `json`: Go's `json.Marshal`.
fn json_function(arguments: &[GoValue]) -> gotmpl::Result<GoValue> {
    let value = to_json(single_argument("json", arguments)?);
    let text = serde_json::to_string(&value).unwrap_or_default();
    Ok(GoValue::String(go_escaped(text).into()))
}

/// docker-machine's `prettyjson`: Go's `json.MarshalIndent(v, "", "    ")`.
fn pretty_json_function(arguments: &[GoValue]) -> gotmpl::Result<GoValue> {
    use serde::Serialize;
    let value = to_json(single_argument("prettyjson", arguments)?);
    let mut bytes = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut serializer = serde_json::Serializer::with_formatter(&mut bytes, formatter);
    value.serialize(&mut serializer).map_err(|error| gotmpl::TemplateError::Exec(error.to_string()))?;
    Ok(GoValue::String(go_escaped(String::from_utf8_lossy(&bytes).into_owned()).into()))
}

/// `json` and `prettyjson` in a table's header: the column name itself.
fn header_function(arguments: &[GoValue]) -> gotmpl::Result<GoValue> {
    Ok(single_argument("json", arguments)?.clone())
}

/// Renders `values` with `template`, one line each; `table` templates get a header (the
/// template over `shape`, a value with every field, whose leaves `headers` names) and aligned
/// columns.
pub fn render_template(
    template: &Template,
    values: &[Value],
    shape: &Value,
    headers: &dyn Fn(&str) -> String,
) -> Result<String, TemplateError> {
    let mut lines = Vec::with_capacity(values.len() + 1);
    if template.is_table() {
        lines.push(template.header(shape, headers)?);
    }
    for value in values {
        lines.push(template.render(value)?);
    }
    if !template.is_table() {
        return Ok(lines.into_iter().map(|line| line + "\n").collect());
    }
    Ok(align(&lines))
}

/// Aligns tab-separated cells into columns three spaces apart, as Go's tabwriter in docker.
pub fn align(lines: &[String]) -> String {
    let rows: Vec<Vec<&str>> = lines.iter().map(|line| line.split('\t').collect()).collect();
    let mut widths: Vec<usize> = Vec::new();
    for row in &rows {
        for (index, cell) in row.iter().enumerate().take(row.len().saturating_sub(1)) {
            if widths.len() <= index {
                widths.push(0);
            }
            widths[index] = widths[index].max(cell.chars().count());
        }
    }
    let mut text = String::new();
    for row in &rows {
        let mut line = String::new();
        for (index, cell) in row.iter().enumerate() {
            if index + 1 == row.len() {
                line.push_str(cell);
            } else {
                // Padded by hand: `format!`'s width is at most 65535 and panics beyond.
                line.push_str(cell);
                line.extend(std::iter::repeat_n(' ', widths[index] - cell.chars().count() + 3));
            }
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

#[cfg(test)]
#[path = "template_tests.rs"]
mod tests;
