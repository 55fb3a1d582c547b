//! TFTP for trust-list distribution: packets and a sans-IO session core (`proto`),
//! the tokio server shell and the client.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
// clippy.toml bans clock/socket/file/thread calls; they are denied again in `proto` only.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

pub mod catalog;
pub mod client;
pub mod proto;
pub mod server;
pub mod trust_store;
