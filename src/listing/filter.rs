//! `ls --filter KEY=VALUE`, as docker-machine: keys `driver`, `state`, `name` (a regular
//! expression) and `label` (`K=V`, matched against the engine's labels). Different keys must all
//! match; several values for one key match when any does. Case-insensitive.

use regex::{Regex, RegexBuilder};

#[derive(Debug, Default)]
pub struct Filters {
    drivers: Vec<String>,
    states: Vec<String>,
    names: Vec<Regex>,
    labels: Vec<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FilterError {
    #[error("invalid filter '{0}': write KEY=VALUE (keys: driver, state, name, label)")]
    Malformed(String),
    #[error("Unsupported filter key '{0}': use driver, state, name or label")]
    UnsupportedKey(String),
    #[error("invalid name filter '{pattern}': {problem}")]
    BadPattern { pattern: String, problem: String },
}

impl Filters {
    pub fn parse(specifications: &[String]) -> Result<Filters, FilterError> {
        let mut filters = Filters::default();
        for specification in specifications {
            let (key, value) =
                specification.split_once('=').ok_or_else(|| FilterError::Malformed(specification.clone()))?;
            match key.to_ascii_lowercase().as_str() {
                "driver" => filters.drivers.push(value.to_lowercase()),
                "state" => filters.states.push(value.to_lowercase()),
                "name" => {
                    filters.names.push(RegexBuilder::new(value).case_insensitive(true).build().map_err(|error| {
                        FilterError::BadPattern { pattern: value.to_string(), problem: error.to_string() }
                    })?)
                }
                "label" => filters.labels.push(value.to_lowercase()),
                _ => return Err(FilterError::UnsupportedKey(key.to_string())),
            }
        }
        Ok(filters)
    }

    /// Whether a state filter is given (then every host must be asked before filtering).
    pub fn needs_state(&self) -> bool {
        !self.states.is_empty()
    }

    /// Filters that need no host: driver, name and label.
    pub fn matches_record(&self, name: &str, driver: &str, labels: &[String]) -> bool {
        let driver = driver.to_lowercase();
        let driver_ok = self.drivers.is_empty() || self.drivers.contains(&driver);
        let name_ok = self.names.is_empty() || self.names.iter().any(|pattern| pattern.is_match(name));
        let label_ok = self.labels.is_empty()
            || self.labels.iter().any(|wanted| labels.iter().any(|label| label.to_lowercase() == *wanted));
        driver_ok && name_ok && label_ok
    }

    pub fn matches_state(&self, state: &str) -> bool {
        let state = state.to_lowercase();
        self.states.is_empty() || self.states.contains(&state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filters(specifications: &[&str]) -> Filters {
        Filters::parse(&specifications.iter().map(|text| text.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn different_keys_and_repeated_keys_or() {
        let both = filters(&["driver=generic", "name=^web", "name=db"]);
        assert!(both.matches_record("web1", "generic", &[]));
        assert!(both.matches_record("db2", "Generic", &[]));
        assert!(!both.matches_record("cache", "generic", &[]));
        assert!(!both.matches_record("web1", "none", &[]));
    }

    #[test]
    fn matching_ignores_case_and_labels_match_whole_pairs() {
        let labels = vec!["env=Prod".to_string(), "team=a".to_string()];
        assert!(filters(&["label=ENV=prod"]).matches_record("x", "none", &labels));
        assert!(!filters(&["label=env=dev"]).matches_record("x", "none", &labels));
        assert!(filters(&["name=WEB"]).matches_record("web1", "none", &[]));
        let state = filters(&["state=running", "state=stopped"]);
        assert!(state.matches_state("Running") && state.matches_state("Stopped") && !state.matches_state("Timeout"));
    }

    // Found by the ls_filter fuzz target: the value was lower-cased as Unicode but compared as
    // ASCII, so `driver=Ո` (Armenian capital) did not match the driver `Ո`.
    #[test]
    fn case_is_ignored_beyond_ascii_too() {
        assert!(filters(&["driver=x=!Ո"]).matches_record("m", "x=!Ո", &[]));
        assert!(filters(&["driver=ÄRGER"]).matches_record("m", "ärger", &[]));
        assert!(filters(&["state=Ö"]).matches_state("ö"));
    }

    #[test]
    fn unknown_keys_and_bad_input_are_refused() {
        let parse = |text: &str| Filters::parse(&[text.to_string()]).unwrap_err().to_string();
        assert!(parse("swarm=x").starts_with("Unsupported filter key 'swarm'"));
        assert!(parse("driver").contains("KEY=VALUE"));
        assert!(parse("name=(").contains("invalid name filter"));
    }
}
