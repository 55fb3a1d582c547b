//! TFTP for trust-list distribution: packets and a sans-IO session core (`proto`),
//! the tokio server shell and the client.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
