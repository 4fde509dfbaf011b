//! The small subset of Go templates that docker-machine users write in `--format`:
//! `{{.Field}}` (nested `.A.B` too), `{{json .}}`, `{{json .Field}}`, text around them, `\t`
//! and `\n` escapes, and a `table ` prefix that adds a header and aligns tab-separated columns.
//! Values come from a JSON object (a row, a machine record).

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Text(String),
    Field(Vec<String>),
    Json(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    table: bool,
    segments: Vec<Segment>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TemplateError {
    #[error("template '{template}': '{{{{' without a closing '}}}}'")]
    Unclosed { template: String },
    #[error(
        "template action '{{{{{action}}}}}' is not supported: use {{{{.Field}}}}, {{{{json .}}}} or {{{{json .Field}}}}"
    )]
    UnsupportedAction { action: String },
    #[error("template: no field .{field} (fields: {known})")]
    UnknownField { field: String, known: String },
}

fn path(text: &str) -> Option<Vec<String>> {
    let rest = text.strip_prefix('.')?;
    if rest.is_empty() {
        return Some(Vec::new());
    }
    let parts: Vec<String> = rest.split('.').map(str::to_string).collect();
    parts.iter().all(|part| !part.is_empty() && part.chars().all(|c| c.is_alphanumeric() || c == '_')).then_some(parts)
}

impl Template {
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let (table, body) = match text.strip_prefix("table") {
            Some(rest) if rest.is_empty() || rest.starts_with(char::is_whitespace) => (true, rest.trim()),
            _ => (false, text),
        };
        let body = body.replace("\\t", "\t").replace("\\n", "\n");
        let mut segments = Vec::new();
        let mut rest = body.as_str();
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                segments.push(Segment::Text(rest[..start].to_string()));
            }
            let after = &rest[start + 2..];
            let end = after.find("}}").ok_or_else(|| TemplateError::Unclosed { template: text.to_string() })?;
            let action = after[..end].trim().trim_start_matches('-').trim_end_matches('-').trim();
            let unsupported = || TemplateError::UnsupportedAction { action: action.to_string() };
            let segment = match action.split_whitespace().collect::<Vec<_>>().as_slice() {
                [single] => Segment::Field(path(single).filter(|parts| !parts.is_empty()).ok_or_else(unsupported)?),
                ["json", argument] => Segment::Json(path(argument).ok_or_else(unsupported)?),
                _ => return Err(unsupported()),
            };
            segments.push(segment);
            rest = &after[end + 2..];
        }
        if !rest.is_empty() {
            segments.push(Segment::Text(rest.to_string()));
        }
        Ok(Template { table, segments })
    }

    pub fn is_table(&self) -> bool {
        self.table
    }

    /// The header line for `table` templates: each field's column name, text kept.
    fn header(&self, headers: &dyn Fn(&str) -> String) -> String {
        self.segments
            .iter()
            .map(|segment| match segment {
                Segment::Text(text) => text.clone(),
                Segment::Field(parts) | Segment::Json(parts) => match parts.last() {
                    Some(last) => headers(last),
                    None => "VALUE".to_string(),
                },
            })
            .collect()
    }

    /// Renders one value.
    pub fn render(&self, value: &Value) -> Result<String, TemplateError> {
        let mut text = String::new();
        for segment in &self.segments {
            match segment {
                Segment::Text(literal) => text.push_str(literal),
                Segment::Field(parts) => match lookup(value, parts)? {
                    Value::String(string) => text.push_str(string),
                    Value::Null => text.push_str("<no value>"),
                    other => text.push_str(&other.to_string()),
                },
                Segment::Json(parts) => text.push_str(&lookup(value, parts)?.to_string()),
            }
        }
        Ok(text)
    }
}

fn lookup<'a>(value: &'a Value, parts: &[String]) -> Result<&'a Value, TemplateError> {
    let mut current = value;
    for part in parts {
        current = match current.get(part) {
            Some(found) => found,
            None => {
                let known = match current {
                    Value::Object(map) => map.keys().map(|key| format!(".{key}")).collect::<Vec<_>>().join(" "),
                    _ => "none".to_string(),
                };
                return Err(TemplateError::UnknownField { field: parts.join("."), known });
            }
        };
    }
    Ok(current)
}

/// Renders `values` with `template`, one line each; `table` templates get a header (column
/// names from `headers`) and aligned columns.
pub fn render_template(
    template: &Template,
    values: &[Value],
    headers: &dyn Fn(&str) -> String,
) -> Result<String, TemplateError> {
    let mut lines = Vec::with_capacity(values.len() + 1);
    if template.is_table() {
        lines.push(template.header(headers));
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
mod tests {
    use super::*;

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
    use serde_json::json;

    fn upper(field: &str) -> String {
        field.to_uppercase()
    }

    #[test]
    fn fields_json_and_escapes() {
        let row = json!({"Name": "node1", "URL": "tcp://10.0.0.5:2376", "Engine": {"Port": 2376}});
        let template = Template::parse("{{.Name}}\\t{{ .URL }} {{.Engine.Port}} {{json .Engine}}").unwrap();
        assert_eq!(template.render(&row).unwrap(), "node1\ttcp://10.0.0.5:2376 2376 {\"Port\":2376}");
        assert_eq!(Template::parse("{{json .}}").unwrap().render(&json!({"A": 1})).unwrap(), "{\"A\":1}");
    }

    #[test]
    fn table_templates_get_a_header_and_aligned_columns() {
        let rows = vec![json!({"Name": "a", "State": "Running"}), json!({"Name": "longer", "State": "Timeout"})];
        let template = Template::parse("table {{.Name}}\\t{{.State}}").unwrap();
        assert_eq!(
            render_template(&template, &rows, &upper).unwrap(),
            "NAME     STATE\na        Running\nlonger   Timeout\n"
        );
    }

    #[test]
    fn errors_name_the_problem() {
        assert!(matches!(Template::parse("{{.Name"), Err(TemplateError::Unclosed { .. })));
        let unsupported = Template::parse("{{range .X}}").unwrap_err().to_string();
        assert!(unsupported.contains("not supported"), "{unsupported}");
        let unknown = Template::parse("{{.Nope}}").unwrap().render(&json!({"Name": "a"})).unwrap_err().to_string();
        assert!(unknown.contains(".Nope") && unknown.contains(".Name"), "{unknown}");
    }
}
