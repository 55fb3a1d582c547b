//! Whatever parses re-writes to the same bytes; signed_bytes and check_typed never panic.
//! The property lives in ../properties so `cargo test -p ctl-format` replays the corpus with it.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../properties/ctl_roundtrip.rs"]
mod ctl_roundtrip;

fuzz_target!(|data: &[u8]| ctl_roundtrip::check(data));
