//! At most a few requests at once to any one engine: several machine records can point at the
//! same engine (aliases, or a benchmark's 200 records on one dockerd), and each concurrent
//! request would otherwise open its own TLS connection; these share a few kept-alive ones.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Requests in flight to one engine URL.
const PER_ENGINE: usize = 4;

#[derive(Default)]
pub struct EngineGates {
    gates: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl EngineGates {
    /// Waits for a turn to ask the engine at `url`.
    pub async fn enter(&self, url: &str) -> OwnedSemaphorePermit {
        let gate = {
            let mut gates = self.gates.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            gates.entry(url.to_string()).or_insert_with(|| Arc::new(Semaphore::new(PER_ENGINE))).clone()
        };
        gate.acquire_owned().await.expect("engine gates are never closed")
    }
}
