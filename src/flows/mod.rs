//! The multi-step operations commands share: creating a machine, provisioning one.

pub mod create;
pub mod provision;
