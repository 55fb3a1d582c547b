//! Modules of the `tftp-bench` binary.

pub mod args;
pub mod cpu;
pub mod large;
pub mod report;
pub mod storm;
pub mod table;
pub mod transfer;
pub mod verify;
