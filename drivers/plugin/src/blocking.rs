//! Running a plugin conversation from the registry's synchronous methods (finding a kind's
//! options, listing plugins), which are called both before rmachine's runtime exists (building
//! the command line) and inside it: on a thread of its own with a runtime of its own, joined.

use std::future::Future;

fn on_fresh_runtime<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime starts")
        .block_on(future)
}

/// Runs `future` to completion on a fresh current-thread runtime in a scoped thread.
pub fn run<F>(future: F) -> F::Output
where
    F: Future + Send,
    F::Output: Send,
{
    run_all(vec![future]).pop().expect("one future gives one output")
}

/// Runs each future on a thread and runtime of its own, all at once; their outputs in order.
pub fn run_all<F>(futures: Vec<F>) -> Vec<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    std::thread::scope(|scope| {
        let handles: Vec<_> = futures.into_iter().map(|future| scope.spawn(move || on_fresh_runtime(future))).collect();
        handles
            .into_iter()
            .map(|handle| handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    })
}
