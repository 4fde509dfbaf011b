pub mod flags;
pub mod gob;
