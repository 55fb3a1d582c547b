//! The `ctl_roundtrip` property, shared by the fuzz target and by
//! `ctl-format/tests/fuzz_corpus.rs` (which replays the corpus under plain `cargo test`).

use ctl_format::{signed_bytes, ItemKind, TrustList};

/// Panics when `data` breaks the property:
/// * parsing never panics;
/// * whatever parses re-writes to exactly the same bytes;
/// * the located items tile the file without gaps (their own sizes add up to the file size);
/// * `check_typed`, `signed_bytes` (from the model and from the raw bytes) never panic, agree
///   with each other, and the signed message is the file minus exactly the SIGNATURE item.
pub fn check(data: &[u8]) {
    let Ok(list) = TrustList::parse(data) else {
        return;
    };
    let written = list.to_bytes().expect("a parsed file always re-encodes");
    assert!(written == data, "re-encoding differs from the input");

    let mut expected_offset = 0;
    for item in list.located_items() {
        assert_eq!(item.offset, expected_offset, "located items must be contiguous");
        if item.kind == ItemKind::Value {
            assert_eq!(&data[item.offset + 3..item.offset + item.own_len()], item.value);
        }
        expected_offset += item.own_len();
    }
    assert_eq!(
        expected_offset,
        data.len(),
        "located items must cover the whole file"
    );
    assert_eq!(list.record_offset(list.records.len()), data.len());

    let _ = list.check_typed();
    let _ = list.signer_index();

    match (signed_bytes(data), list.signed_bytes(), list.signature_location()) {
        (Ok(from_raw), Ok(from_model), Some(location)) => {
            assert!(from_raw == from_model, "signed bytes from raw and model differ");
            assert_eq!(from_raw.len(), data.len() - 3 - location.value_len);
            assert_eq!(&data[..location.item_offset], &from_raw[..location.item_offset]);
            assert_eq!(
                &data[location.item_range().end..],
                &from_raw[location.item_offset..]
            );
        }
        (Err(from_raw), Err(from_model), None) => assert_eq!(from_raw, from_model),
        _ => panic!("signed_bytes from raw bytes and from the model disagree"),
    }
}
