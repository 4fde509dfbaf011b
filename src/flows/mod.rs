//! The multi-step operations commands share: creating a machine, provisioning one.

pub mod apply;
pub mod copy;
pub mod create;
pub mod power;
pub mod provision;
