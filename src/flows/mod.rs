//! The multi-step operations commands share: creating, provisioning, powering and removing
//! machines, applying a cluster file, copying files, the system's ssh tools with the pinned
//! settings, and the one fan-out over machines. Nothing here imports from `commands`.

pub mod apply;
pub mod copy;
pub mod create;
pub mod fanout;
pub mod power;
pub mod provision;
pub mod remove;
pub mod system_ssh;
