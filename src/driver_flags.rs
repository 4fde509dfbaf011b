//! Driver options as `create` flags, built at run time from what the chosen driver declares
//! (built-in or plugin alike): `--aws-region`, `--generic-ip-address`, with their aliases
//! (docker-machine's `--amazonec2-region`), environment variables, defaults and checks; and the
//! values the command line gave, read back as [`DriverOptions`] (further variables of an option,
//! `env_aliases`, are read by [`DriverOptions::complete`]).

use clap::builder::{ArgAction, ValueParser};
use clap::parser::ValueSource;
use clap::{Arg, ArgMatches};
use rmachine_drivers::{DriverKind, DriverOptions, OptionKind, OptionSpec, OptionValue};

/// The clap id of an option (kept apart from `create`'s own arguments).
fn id(spec: &OptionSpec) -> String {
    format!("driver:{}", spec.name)
}

/// The flags of `kind`'s options, under a help heading of their own.
pub fn arguments(kind: &dyn DriverKind) -> Vec<Arg> {
    let heading = format!("{} driver", kind.name());
    kind.options().into_iter().map(|spec| argument(spec, &heading)).collect()
}

fn argument(spec: OptionSpec, heading: &str) -> Arg {
    let mut help = spec.help.clone();
    if spec.required {
        help.push_str(" (required)");
    }
    // clap reads the option's own variable; the others are read when the options are completed.
    if !spec.env_aliases.is_empty() {
        help.push_str(&format!(" (also ${})", spec.env_aliases.join(", $")));
    }
    let mut arg =
        Arg::new(id(&spec)).long(spec.name.clone()).help(help).help_heading(heading.to_string()).hide(spec.hidden);
    for alias in &spec.aliases {
        arg = arg.visible_alias(alias.clone());
    }
    if let Some(variable) = &spec.env {
        arg = arg.env(variable.clone()).hide_env_values(spec.secret);
    }
    // Plugins may name no placeholder: one by type, rather than clap's id.
    let placeholder = spec.value_name.clone().unwrap_or_else(|| match spec.kind {
        OptionKind::Int => "N".into(),
        OptionKind::Path => "FILE".into(),
        _ => "VALUE".into(),
    });
    arg = arg.value_name(placeholder);
    if spec.kind == OptionKind::Bool {
        return arg.action(ArgAction::SetTrue);
    }
    if let Some(default) = &spec.default {
        match default {
            OptionValue::List(items) => arg = arg.default_values(items.clone()),
            other => arg = arg.default_value(other.to_text()),
        }
    }
    let action = if spec.kind == OptionKind::StringList { ArgAction::Append } else { ArgAction::Set };
    let checker = spec.clone();
    arg.action(action).value_parser(ValueParser::new(move |text: &str| -> Result<String, String> {
        checker.parse_text(text).map(|_| text.to_string())
    }))
}

/// What the command line (or the options' environment variables and defaults) gave for `kind`.
pub fn options_from_matches(kind: &dyn DriverKind, matches: &ArgMatches) -> DriverOptions {
    let mut options = DriverOptions::default();
    for spec in kind.options() {
        let id = id(&spec);
        let Some(source) = matches.value_source(&id) else { continue };
        let value = if spec.kind == OptionKind::Bool {
            OptionValue::Bool(matches.get_flag(&id))
        } else {
            let texts: Vec<String> = matches.get_many::<String>(&id).into_iter().flatten().cloned().collect();
            match spec.kind {
                OptionKind::StringList => OptionValue::List(texts),
                _ => match texts.last().map(|text| spec.parse_text(text)) {
                    Some(Ok(value)) => value,
                    _ => continue,
                },
            }
        };
        match source {
            ValueSource::DefaultValue => options.set_default(&spec.name, value),
            _ => options.give(&spec.name, value),
        }
    }
    options
}
