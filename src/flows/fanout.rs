//! The one fan-out over machines (colmena's model): an operation runs on several machines at once,
//! at most `--parallel N` at a time (one default for every command), a failure in one machine does
//! not stop the others, and one summary table says what happened to each. Used by `provision`,
//! `upgrade`, `regenerate-certs`, `start`, `stop`, `restart`, `kill`, `status` and `apply`.

use futures_util::StreamExt;
use std::future::Future;

/// How many machines an operation works on at once unless `--parallel` says otherwise.
pub const DEFAULT_PARALLEL: usize = 8;

/// What happened to one machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub name: String,
    /// What was done, e.g. ["created", "joined as worker"].
    pub done: Vec<String>,
    pub error: Option<String>,
}

impl Outcome {
    pub fn new(name: &str) -> Outcome {
        Outcome { name: name.to_string(), done: Vec::new(), error: None }
    }

    pub fn fail(&mut self, error: anyhow::Error) {
        self.error = Some(crate::exit::describe(&error));
    }

    /// An outcome from an operation's result: what it did, or its error.
    pub fn of(name: &str, result: anyhow::Result<Vec<String>>) -> Outcome {
        let mut outcome = Outcome::new(name);
        match result {
            Ok(done) => outcome.done = done,
            Err(error) => outcome.fail(error),
        }
        outcome
    }
}

/// Runs `operation` for every name, at most `parallel` at once; the outcomes come back in the
/// order of `names`.
pub async fn for_each<'a, F, Fut>(names: &'a [String], parallel: usize, operation: F) -> Vec<Outcome>
where
    F: Fn(&'a str) -> Fut,
    Fut: Future<Output = anyhow::Result<Vec<String>>> + 'a,
{
    let operation = &operation;
    let mut outcomes: Vec<(usize, Outcome)> = futures_util::stream::iter(names.iter().enumerate())
        .map(|(index, name)| async move { (index, Outcome::of(name, operation(name).await)) })
        .buffer_unordered(parallel.max(1))
        .collect()
        .await;
    outcomes.sort_by_key(|(index, _)| *index);
    outcomes.into_iter().map(|(_, outcome)| outcome).collect()
}

/// `Err` naming how many failed and why when any did ("1 of 3 machine(s) failed: could not
/// provision m2: ..."), for the command's exit status.
pub fn all_succeeded(outcomes: &[Outcome], verb: &str) -> anyhow::Result<()> {
    let failures: Vec<String> = outcomes
        .iter()
        .filter_map(|outcome| Some(format!("{}: {}", outcome.name, outcome.error.as_deref()?)))
        .collect();
    if !failures.is_empty() {
        anyhow::bail!(
            "{} of {} machine(s) failed: could not {verb} {}",
            failures.len(),
            outcomes.len(),
            failures.join("; ")
        );
    }
    Ok(())
}

/// The closing table: NAME RESULT DONE, with the error of each machine that failed.
pub fn render_summary(outcomes: &[Outcome]) -> String {
    let rows: Vec<[String; 3]> = outcomes
        .iter()
        .map(|outcome| {
            let result = if outcome.error.is_some() { "failed" } else { "ok" };
            let done = match (outcome.done.is_empty(), outcome.error.is_some()) {
                (true, true) => "-".to_string(),
                (true, false) => "nothing to do".to_string(),
                (false, _) => outcome.done.join(", "),
            };
            [outcome.name.clone(), result.to_string(), done]
        })
        .collect();
    let name_width = rows.iter().map(|row| row[0].chars().count()).chain([4]).max().unwrap_or(4);
    let mut text = format!("{:<name_width$}   RESULT   DONE\n", "NAME");
    for (row, outcome) in rows.iter().zip(outcomes) {
        text.push_str(&format!("{:<name_width$}   {:<6}   {}\n", row[0], row[1], row[2]));
        if let Some(error) = &outcome.error {
            text.push_str(&format!("{:<name_width$}   error: {}\n", "", error.lines().next().unwrap_or_default()));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn the_summary_names_each_machine_and_its_error() {
        let outcomes = vec![
            Outcome { name: "m1".into(), done: vec!["created".into(), "initialised the swarm".into()], error: None },
            Outcome { name: "worker-2".into(), done: vec![], error: Some("SSH refused\nmore".into()) },
        ];
        assert_eq!(
            render_summary(&outcomes),
            "NAME       RESULT   DONE\n\
             m1         ok       created, initialised the swarm\n\
             worker-2   failed   -\n\
             \x20          error: SSH refused\n"
        );
    }

    #[tokio::test]
    async fn one_failure_does_not_stop_the_others_and_the_limit_holds() {
        let names: Vec<String> = (0..10).map(|index| format!("m{index}")).collect();
        let (running, most) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let outcomes = for_each(&names, 3, |name| {
            let (running, most) = (&running, &most);
            async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                running.fetch_sub(1, Ordering::SeqCst);
                if name == "m4" { anyhow::bail!("m4 broke") } else { Ok(vec![format!("did {name}")]) }
            }
        })
        .await;
        assert_eq!(most.load(Ordering::SeqCst), 3, "at most 3 at once, and 3 were used");
        assert_eq!(outcomes.iter().map(|outcome| outcome.name.as_str()).collect::<Vec<_>>(), names);
        assert_eq!(outcomes[4].error.as_deref(), Some("m4 broke"));
        assert_eq!(outcomes.iter().filter(|outcome| outcome.error.is_none()).count(), 9);
        let error = all_succeeded(&outcomes, "test").unwrap_err().to_string();
        assert_eq!(error, "1 of 10 machine(s) failed: could not test m4: m4 broke");
    }
}
