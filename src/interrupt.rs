//! Stopping on SIGINT (Ctrl-C) and SIGTERM, the same way for both: the one listener
//! ([`Interrupts`]), which `main` starts for the commands that change hosts (create, provision,
//! apply, regenerate-certs). Their flows stop what they do at the first signal, record where
//! they were and say how to go on (`rmachine provision NAME` or `rmachine rm NAME`); a second
//! signal ends rmachine at once. Other commands keep the default actions: the signal ends them.

use crate::exit::ExitStatus;
use std::future::Future;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

/// The signals rmachine stops on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Interrupt,
    Terminate,
}

impl Signal {
    pub fn name(self) -> &'static str {
        match self {
            Signal::Interrupt => "SIGINT (Ctrl-C)",
            Signal::Terminate => "SIGTERM",
        }
    }

    /// 128 + the signal's number, as a shell reports a process the signal ended.
    pub fn exit_code(self) -> u8 {
        match self {
            Signal::Interrupt => 130,
            Signal::Terminate => 143,
        }
    }

    /// The error a command stops with: `message`, and the signal's exit code.
    pub fn stopped(self, message: String) -> anyhow::Error {
        anyhow::Error::new(ExitStatus::new(self.exit_code(), message))
    }
}

/// Whether SIGINT or SIGTERM arrived; cheap to clone, every clone sees the same signal.
#[derive(Clone)]
pub struct Interrupts {
    receiver: watch::Receiver<Option<Signal>>,
}

impl Interrupts {
    /// Listens from now on, in place of the default actions (call it inside the runtime). The
    /// first signal is reported to every waiter; a second one exits at once with its code.
    pub fn listen() -> std::io::Result<Interrupts> {
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        let (sender, receiver) = watch::channel(None);
        tokio::spawn(async move {
            loop {
                let received = tokio::select! {
                    _ = interrupt.recv() => Signal::Interrupt,
                    _ = terminate.recv() => Signal::Terminate,
                };
                if sender.borrow().is_some() {
                    crate::output::warning(&format!("{} again: stopping at once", received.name()));
                    std::process::exit(i32::from(received.exit_code()));
                }
                let _ = sender.send(Some(received));
            }
        });
        Ok(Interrupts { receiver })
    }

    /// Never reports a signal: for commands that keep the default actions.
    pub fn none() -> Interrupts {
        let (_sender, receiver) = watch::channel(None);
        Interrupts { receiver }
    }

    /// The signal received so far, if any.
    pub fn signal(&self) -> Option<Signal> {
        *self.receiver.borrow()
    }

    /// Resolves once a signal has arrived (at once when one already has).
    pub async fn received(&self) -> Signal {
        let mut receiver = self.receiver.clone();
        loop {
            if let Some(signal) = *receiver.borrow_and_update() {
                return signal;
            }
            if receiver.changed().await.is_err() {
                // No listener (`none`): no signal ever comes.
                std::future::pending::<()>().await;
            }
        }
    }

    /// Runs `work` to its end, or until a signal arrives (`work` is then dropped where it was).
    pub async fn run<T>(&self, work: impl Future<Output = T>) -> Result<T, Signal> {
        tokio::select! {
            done = work => Ok(done),
            signal = self.received() => Err(signal),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn without_a_listener_work_runs_to_its_end() {
        let interrupts = Interrupts::none();
        assert_eq!(interrupts.run(async { 7 }).await, Ok(7));
        assert_eq!(interrupts.signal(), None);
    }

    #[tokio::test]
    async fn a_signal_stops_the_work_where_it_was() {
        let (sender, receiver) = watch::channel(None);
        let interrupts = Interrupts { receiver };
        let waiting = interrupts.clone();
        let work = tokio::spawn(async move { waiting.run(std::future::pending::<()>()).await });
        sender.send(Some(Signal::Terminate)).unwrap();
        assert_eq!(work.await.unwrap(), Err(Signal::Terminate));
        assert_eq!(interrupts.received().await, Signal::Terminate, "seen by every clone, also later");
        assert_eq!(Signal::Interrupt.exit_code(), 130);
        assert_eq!(Signal::Terminate.exit_code(), 143);
    }
}
