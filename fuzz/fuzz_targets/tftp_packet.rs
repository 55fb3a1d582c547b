//! TFTP packet parser and sessions on hostile datagrams: never a panic, stable encoding.
//! The property lives in ../properties so `cargo test -p tftp-server` replays the corpus with it.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../properties/tftp_packet.rs"]
mod tftp_packet;

fuzz_target!(|data: &[u8]| tftp_packet::check(data));
