//! The multi-step operations commands share: creating a machine, provisioning one.

pub mod apply;
pub mod create;
pub mod provision;
pub mod power;
pub mod copy;
