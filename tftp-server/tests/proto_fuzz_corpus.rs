//! Replays the `tftp_packet` fuzz corpus (`fuzz/corpus/tftp_packet/`, seeds written by
//! `fuzz/make_tftp_seeds.py`, plus anything the fuzzer found and was committed) through the
//! same property the fuzz target checks, so regressions run under plain `cargo test`.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::path::PathBuf;

#[path = "../../fuzz/properties/tftp_packet.rs"]
mod tftp_packet;

#[test]
fn tftp_packet_corpus_replays_cleanly() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/tftp_packet");
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("cannot read corpus {}: {error}", dir.display()));
    let mut replayed = 0;
    for entry in entries {
        let path = entry.unwrap().path();
        let data =
            std::fs::read(&path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
        let outcome = std::panic::catch_unwind(|| tftp_packet::check(&data));
        assert!(outcome.is_ok(), "property failed on {}", path.display());
        replayed += 1;
    }
    // The hand-made seeds alone are 24 files; fewer means the corpus went missing.
    assert!(
        replayed >= 24,
        "only {replayed} corpus files in {}",
        dir.display()
    );
}
