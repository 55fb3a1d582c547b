//! Replays the `ctl_roundtrip` fuzz corpus (and any crash artifacts) under plain `cargo test`,
//! with the same property the fuzz target checks, so fuzz findings stay fixed everywhere.

use std::path::{Path, PathBuf};

use ctl_format::TrustList;

#[path = "../../fuzz/properties/ctl_roundtrip.rs"]
mod ctl_roundtrip;

const FUZZ_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz");

/// Files directly in `dir`, sorted; an absent directory gives none.
fn files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("readable corpus directory").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn corpus_and_artifacts_hold_the_roundtrip_property() {
    let corpus = files_in(&Path::new(FUZZ_DIR).join("corpus/ctl_roundtrip"));
    assert!(
        corpus.len() >= 10,
        "expected the committed seed corpus in fuzz/corpus/ctl_roundtrip, found {} files",
        corpus.len()
    );
    let artifacts = files_in(&Path::new(FUZZ_DIR).join("artifacts/ctl_roundtrip"));
    let mut parsed = 0;
    for path in corpus.iter().chain(&artifacts) {
        let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let outcome = std::panic::catch_unwind(|| ctl_roundtrip::check(&data));
        assert!(
            outcome.is_ok(),
            "{} breaks the ctl_roundtrip property",
            path.display()
        );
        parsed += usize::from(TrustList::parse(&data).is_ok());
    }
    // The replay only means something if valid files reach the write-back half of the property.
    assert!(parsed >= 10, "only {parsed} corpus files parse");
}

#[test]
fn hand_made_seeds_parse_and_pass_check_typed() {
    // make_seeds.py writes these; each is a complete, typed-valid file of one §3 variant.
    for name in [
        "variant-a",
        "variant-b-token",
        "variant-c",
        "variant-d",
        "variant-e",
        "variant-f-tag28",
        "sha512-2048",
        "cert-hash",
    ] {
        let path = Path::new(FUZZ_DIR).join("corpus/ctl_roundtrip").join(name);
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let list = TrustList::parse(&data).unwrap_or_else(|e| panic!("{name}: {e}"));
        list.check_typed().unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(list.header.encoded_len() % 4, 0, "{name}: padded header");
        assert!(!list.records.is_empty(), "{name}: has records");
    }
}
