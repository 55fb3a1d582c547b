//! Catalog tests on a temp directory with a fake guard.
//!
//! Fake trust-list format: `FAKE signer=<name> trusts=<a>,<b>`; a candidate is accepted when
//! its signer is among the served version's `trusts`. Anything else is "malformed".

use super::*;
use std::fs;

struct FakeGuard;

fn parse_fake(bytes: &[u8]) -> Result<(String, Vec<String>), Rejection> {
    let text = std::str::from_utf8(bytes).map_err(|_| Rejection::new("not UTF-8"))?;
    let rest = text
        .strip_prefix("FAKE signer=")
        .ok_or_else(|| Rejection::new("not a fake trust list"))?;
    let (signer, trusts) = rest
        .split_once(" trusts=")
        .ok_or_else(|| Rejection::new("missing trusts"))?;
    Ok((
        signer.to_string(),
        trusts.trim_end().split(',').map(str::to_string).collect(),
    ))
}

impl PublishGuard for FakeGuard {
    fn inspect(&self, candidate: &[u8]) -> Result<TrustListInfo, Rejection> {
        let (signer, _) = parse_fake(candidate)?;
        Ok(TrustListInfo::signed_by(signer))
    }
    fn check_update(&self, served: &[u8], candidate: &[u8]) -> Result<TrustListInfo, Rejection> {
        let (_, trusted) = parse_fake(served)?;
        let (signer, _) = parse_fake(candidate)?;
        if trusted.contains(&signer) {
            Ok(TrustListInfo::signed_by(signer))
        } else {
            Err(Rejection::new(format!(
                "signer {signer} is not a SAST of the served version"
            )))
        }
    }
}

fn fake(signer: &str, trusts: &str) -> Vec<u8> {
    format!("FAKE signer={signer} trusts={trusts}").into_bytes()
}

fn open(dir: &Path) -> Catalog {
    Catalog::open_dir(dir, Arc::new(FakeGuard), CatalogOptions::default()).unwrap()
}

fn served(catalog: &Catalog, name: &str) -> Vec<u8> {
    let resolved = catalog
        .resolve(name)
        .unwrap_or_else(|err| panic!("{name}: {err}"));
    let mut buf = vec![0; resolved.content.len() as usize];
    assert_eq!(resolved.content.read_at(0, &mut buf).unwrap(), buf.len());
    buf
}

/// Replaces a file the way operators should: write aside, rename over.
fn replace(dir: &Path, name: &str, bytes: &[u8]) {
    let temp = dir.join(format!(".{name}.tmp"));
    fs::write(&temp, bytes).unwrap();
    fs::rename(&temp, dir.join(name)).unwrap();
}

fn root_with(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in files {
        let path = dir.path().join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, bytes).unwrap();
    }
    dir
}

#[test]
fn lookup_is_case_insensitive_and_prefers_exact_case() {
    let dir = root_with(&[
        ("sep001e4a93748b.cnf.xml", b"lower"),
        ("Both.txt", b"upper"),
        ("both.txt", b"lower"),
    ]);
    let catalog = open(dir.path());
    assert_eq!(served(&catalog, "SEP001E4A93748B.cnf.xml"), b"lower");
    assert_eq!(served(&catalog, "Both.txt"), b"upper");
    assert_eq!(served(&catalog, "both.txt"), b"lower");
    let resolved = catalog.resolve("SEP001E4A93748B.cnf.xml").unwrap();
    assert_eq!(resolved.served_name, "sep001e4a93748b.cnf.xml");
    assert_eq!(resolved.mac.as_deref(), Some("001E4A93748B"));
}

#[test]
fn names_with_double_dots_inside_are_ordinary() {
    let dir = root_with(&[("a..b", b"x"), ("sub/c..d", b"y")]);
    let catalog = open(dir.path());
    assert_eq!(served(&catalog, "a..b"), b"x");
    assert_eq!(served(&catalog, "SUB/C..D"), b"y");
}

#[test]
fn unknown_name_is_not_found() {
    let dir = root_with(&[("CTLFile.tlv", &fake("sast1", "sast1"))]);
    let catalog = open(dir.path());
    assert_eq!(catalog.resolve("nothing.bin").unwrap_err(), LookupError::NotFound);
    // A name that is neither a file nor an alias.
    assert_eq!(
        catalog.resolve("CTLSEP001E4A93748.tlv").unwrap_err(),
        LookupError::NotFound
    );
}

#[test]
fn traversal_is_refused_without_revealing_paths() {
    let outside = root_with(&[("secret.txt", b"secret")]);
    let dir = root_with(&[("inside.txt", b"ok"), ("sub/deeper.txt", b"deep")]);
    std::os::unix::fs::symlink(outside.path().join("secret.txt"), dir.path().join("link.txt")).unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("linkdir")).unwrap();
    std::os::unix::fs::symlink(dir.path().join("inside.txt"), dir.path().join("alias.txt")).unwrap();
    let catalog = open(dir.path());
    let secret = outside.path().join("secret.txt");
    let attempts = [
        "../secret.txt".to_string(),
        "sub/../../secret.txt".to_string(),
        secret.display().to_string(),
        format!("..\\{}", outside.path().file_name().unwrap().to_string_lossy()),
        "sub\\..\\inside.txt".to_string(),
        "link.txt".to_string(),
        "linkdir/secret.txt".to_string(),
        "./inside.txt".to_string(),
    ];
    for attempt in &attempts {
        let err = catalog.resolve(attempt).expect_err(attempt);
        let text = err.to_string();
        for path in [dir.path(), outside.path()] {
            assert!(!text.contains(&*path.to_string_lossy()), "{attempt}: {text}");
        }
    }
    assert!(matches!(
        catalog.resolve("../secret.txt"),
        Err(LookupError::NameNotAllowed(_))
    ));
    assert_eq!(catalog.resolve("link.txt").unwrap_err(), LookupError::NotFound);
    // Symlinks that stay inside the root are fine.
    assert_eq!(served(&catalog, "alias.txt"), b"ok");
    assert_eq!(served(&catalog, "sub/deeper.txt"), b"deep");
}

#[test]
fn symlink_swapped_to_outside_after_scan_is_refused_at_open() {
    let outside = root_with(&[("secret.txt", b"secret")]);
    let dir = root_with(&[("data.bin", b"ok"), ("real.bin", b"ok")]);
    let catalog = open(dir.path());
    fs::remove_file(dir.path().join("data.bin")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret.txt"), dir.path().join("data.bin")).unwrap();
    assert_eq!(
        catalog.resolve("data.bin").unwrap_err(),
        LookupError::AccessDenied
    );
}

#[test]
fn per_device_names_use_their_own_file_else_the_cluster_file() {
    let dir = root_with(&[
        ("CTLFile.tlv", &fake("sast1", "sast1")),
        ("ITLFile.tlv", &fake("itl", "itl")),
        ("ctlsep00000000000a.tlv", &fake("sast1", "sast1,special")),
    ]);
    let catalog = open(dir.path());
    let own = catalog.resolve("CTLSEP00000000000A.tlv").unwrap();
    assert_eq!(own.served_name, "ctlsep00000000000a.tlv");
    assert_eq!(own.mac.as_deref(), Some("00000000000A"));
    let fallback = catalog.resolve("CTLSEP001E4A93748B.tlv").unwrap();
    assert_eq!(fallback.served_name, "CTLFile.tlv");
    assert_eq!(fallback.mac.as_deref(), Some("001E4A93748B"));
    let trust = fallback.trust.unwrap();
    assert_eq!(trust.signer.as_deref(), Some("sast1"));
    assert_eq!(trust.sha256, sha256_hex(&fake("sast1", "sast1")));
    let itl = catalog.resolve("ITLSEP001E4A93748B.tlv").unwrap();
    assert_eq!(itl.served_name, "ITLFile.tlv");
    assert_eq!(served(&catalog, "ITLSEP001E4A93748B.tlv"), fake("itl", "itl"));
}

#[test]
fn startup_refuses_a_trust_list_the_guard_cannot_verify_unless_allowed() {
    let good = fake("sast1", "sast1,sast2");
    let dir = root_with(&[("CTLFile.tlv", b"garbage"), ("ITLFile.tlv", &good)]);
    let catalog = open(dir.path());
    assert!(matches!(
        catalog.resolve("CTLFile.tlv"),
        Err(LookupError::NotFound)
    ));
    // Per-device names fall back to nothing either; the good list is served.
    assert!(catalog.resolve("CTLSEP001E4A93748B.tlv").is_err());
    assert_eq!(served(&catalog, "ITLFile.tlv"), good);
    // Fixing the file publishes it at the next scan.
    replace(dir.path(), "CTLFile.tlv", &good);
    catalog.refresh().unwrap();
    assert_eq!(served(&catalog, "CTLSEP001E4A93748B.tlv"), good);

    // --allow-untrusted-update serves it anyway (a deliberate reset).
    let options = CatalogOptions {
        allow_untrusted_update: true,
        ..CatalogOptions::default()
    };
    let dir = root_with(&[("CTLFile.tlv", b"garbage")]);
    let catalog = Catalog::open_dir(dir.path(), Arc::new(FakeGuard), options).unwrap();
    let resolved = catalog.resolve("CTLFile.tlv").unwrap();
    assert_eq!(resolved.trust.unwrap().signer, None);
    assert_eq!(served(&catalog, "CTLFile.tlv"), b"garbage");
}

#[test]
fn properly_signed_rotation_is_picked_up() {
    let v1 = fake("sast1", "sast1,sast2");
    let v2 = fake("sast2", "sast2,sast3");
    let dir = root_with(&[("CTLFile.tlv", &v1)]);
    let catalog = open(dir.path());
    replace(dir.path(), "CTLFile.tlv", &v2);
    let events = catalog.refresh().unwrap();
    assert_eq!(
        events,
        vec![TrustEvent::Updated {
            name: "CTLFile.tlv".into(),
            old_sha256: sha256_hex(&v1),
            sha256: sha256_hex(&v2),
        }]
    );
    assert_eq!(served(&catalog, "CTLFile.tlv"), v2);
    assert_eq!(
        catalog
            .resolve("CTLFile.tlv")
            .unwrap()
            .trust
            .unwrap()
            .signer
            .as_deref(),
        Some("sast2")
    );
}

#[test]
fn untrusted_or_garbage_replacement_keeps_the_old_version() {
    let v1 = fake("sast1", "sast1");
    let dir = root_with(&[("CTLFile.tlv", &v1)]);
    let catalog = open(dir.path());
    for bad in [fake("intruder", "intruder"), b"garbage".to_vec(), Vec::new()] {
        replace(dir.path(), "CTLFile.tlv", &bad);
        let events = catalog.refresh().unwrap();
        assert!(
            matches!(&events[..], [TrustEvent::Rejected { name, .. }] if name == "CTLFile.tlv"),
            "{events:?}"
        );
        assert_eq!(served(&catalog, "CTLFile.tlv"), v1);
        assert_eq!(served(&catalog, "CTLSEP001E4A93748B.tlv"), v1);
        // An unchanged rejected file is not re-evaluated (one error per change).
        assert_eq!(catalog.refresh().unwrap(), vec![]);
    }
    // A later good version is still judged against v1, not against the rejected ones.
    let v2 = fake("sast1", "sast1,sast2");
    replace(dir.path(), "CTLFile.tlv", &v2);
    assert!(matches!(
        &catalog.refresh().unwrap()[..],
        [TrustEvent::Updated { .. }]
    ));
    assert_eq!(served(&catalog, "CTLFile.tlv"), v2);
}

#[test]
fn rejection_reason_is_reported() {
    let dir = root_with(&[("CTLFile.tlv", &fake("sast1", "sast1"))]);
    let catalog = open(dir.path());
    let bad = fake("intruder", "intruder");
    replace(dir.path(), "CTLFile.tlv", &bad);
    assert_eq!(
        catalog.refresh().unwrap(),
        vec![TrustEvent::Rejected {
            name: "CTLFile.tlv".into(),
            sha256: Some(sha256_hex(&bad)),
            reason: "signer intruder is not a SAST of the served version".into(),
        }]
    );
}

#[test]
fn allow_untrusted_update_publishes_anyway() {
    let dir = root_with(&[("CTLFile.tlv", &fake("sast1", "sast1"))]);
    let options = CatalogOptions {
        allow_untrusted_update: true,
        ..CatalogOptions::default()
    };
    let catalog = Catalog::open_dir(dir.path(), Arc::new(FakeGuard), options).unwrap();
    let reset = fake("newsast", "newsast");
    replace(dir.path(), "CTLFile.tlv", &reset);
    assert!(matches!(
        &catalog.refresh().unwrap()[..],
        [TrustEvent::ForcedUpdate { .. }]
    ));
    assert_eq!(served(&catalog, "CTLFile.tlv"), reset);
}

#[test]
fn removed_then_recreated_trust_list_is_checked_against_the_last_served_version() {
    let v1 = fake("sast1", "sast1");
    let dir = root_with(&[("CTLFile.tlv", &v1)]);
    let catalog = open(dir.path());
    fs::remove_file(dir.path().join("CTLFile.tlv")).unwrap();
    assert_eq!(
        catalog.refresh().unwrap(),
        vec![TrustEvent::Removed {
            name: "CTLFile.tlv".into()
        }]
    );
    assert_eq!(catalog.resolve("CTLFile.tlv").unwrap_err(), LookupError::NotFound);
    fs::write(dir.path().join("ctlfile.tlv"), fake("intruder", "intruder")).unwrap();
    assert!(matches!(
        &catalog.refresh().unwrap()[..],
        [TrustEvent::Rejected { .. }]
    ));
    // Refused: what devices hold (v1) is what goes out again, under the new spelling.
    assert_eq!(served(&catalog, "CTLFile.tlv"), v1);
}

#[test]
fn new_per_device_file_is_checked_against_the_cluster_file() {
    let dir = root_with(&[("CTLFile.tlv", &fake("sast1", "sast1"))]);
    let catalog = open(dir.path());
    fs::write(
        dir.path().join("CTLSEP001E4A93748B.tlv"),
        fake("intruder", "intruder"),
    )
    .unwrap();
    assert!(matches!(
        &catalog.refresh().unwrap()[..],
        [TrustEvent::Rejected { .. }]
    ));
    // The device keeps getting the cluster file.
    assert_eq!(served(&catalog, "CTLSEP001E4A93748B.tlv"), fake("sast1", "sast1"));
    let good = fake("sast1", "sast1,device");
    replace(dir.path(), "CTLSEP001E4A93748B.tlv", &good);
    assert!(matches!(
        &catalog.refresh().unwrap()[..],
        [TrustEvent::Updated { .. }]
    ));
    assert_eq!(served(&catalog, "CTLSEP001E4A93748B.tlv"), good);
}

#[test]
fn new_trust_list_without_predecessor_must_at_least_parse() {
    let dir = root_with(&[("readme.txt", b"x")]);
    let catalog = open(dir.path());
    fs::write(dir.path().join("CTLFile.tlv"), b"garbage").unwrap();
    assert!(matches!(
        &catalog.refresh().unwrap()[..],
        [TrustEvent::Rejected { .. }]
    ));
    assert_eq!(catalog.resolve("CTLFile.tlv").unwrap_err(), LookupError::NotFound);
    replace(dir.path(), "CTLFile.tlv", &fake("sast1", "sast1"));
    assert!(matches!(
        &catalog.refresh().unwrap()[..],
        [TrustEvent::Loaded { problem: None, .. }]
    ));
    assert_eq!(served(&catalog, "CTLFile.tlv"), fake("sast1", "sast1"));
}

#[test]
fn a_resolved_version_survives_replacement() {
    let v1 = fake("sast1", "sast1,sast2");
    let dir = root_with(&[("CTLFile.tlv", &v1), ("big.bin", &[1u8; 10_000])]);
    let catalog = open(dir.path());
    let trust_before = catalog.resolve("CTLFile.tlv").unwrap();
    let file_before = catalog.resolve("big.bin").unwrap();
    replace(dir.path(), "CTLFile.tlv", &fake("sast2", "sast2"));
    replace(dir.path(), "big.bin", &[2u8; 20_000]);
    catalog.refresh().unwrap();
    let read_all = |resolved: &Resolved| {
        let mut buf = vec![0; resolved.content.len() as usize];
        resolved.content.read_at(0, &mut buf).unwrap();
        buf
    };
    assert_eq!(read_all(&trust_before), v1);
    assert_eq!(read_all(&file_before), vec![1u8; 10_000]);
    assert_eq!(served(&catalog, "big.bin"), vec![2u8; 20_000]);
    assert_eq!(served(&catalog, "CTLFile.tlv"), fake("sast2", "sast2"));
}

#[test]
fn file_truncated_in_place_is_an_error_not_a_short_file() {
    let dir = root_with(&[("big.bin", &[7u8; 4096])]);
    let catalog = open(dir.path());
    let resolved = catalog.resolve("big.bin").unwrap();
    fs::OpenOptions::new()
        .write(true)
        .open(dir.path().join("big.bin"))
        .unwrap()
        .set_len(1000)
        .unwrap();
    let mut buf = [0u8; 512];
    assert_eq!(resolved.content.read_at(0, &mut buf).unwrap(), 512);
    assert!(resolved.content.read_at(512, &mut buf).is_err());
}

#[test]
fn new_files_appear_after_refresh() {
    let dir = root_with(&[("a.txt", b"a")]);
    let catalog = open(dir.path());
    fs::write(dir.path().join("b.txt"), b"b").unwrap();
    assert_eq!(catalog.resolve("b.txt").unwrap_err(), LookupError::NotFound);
    catalog.refresh().unwrap();
    assert_eq!(served(&catalog, "B.TXT"), b"b");
    assert_eq!(catalog.names(), vec!["a.txt".to_string(), "b.txt".to_string()]);
}

#[test]
fn embedded_catalog_serves_its_files_and_aliases() {
    let catalog = Catalog::embedded(
        [
            ("CTLFile.tlv", Bytes::from(fake("sast1", "sast1"))),
            ("SEP001E4A93748B.cnf.xml", Bytes::from_static(b"<device/>")),
        ],
        Arc::new(FakeGuard),
    );
    assert_eq!(served(&catalog, "ctlsep001e4a93748b.tlv"), fake("sast1", "sast1"));
    assert_eq!(served(&catalog, "sep001e4a93748b.CNF.XML"), b"<device/>");
    assert_eq!(
        catalog.resolve("../x").unwrap_err(),
        LookupError::NameNotAllowed(NameRejection::BadComponent)
    );
    assert_eq!(catalog.refresh().unwrap(), vec![]);
}

#[test]
fn missing_root_is_an_error_naming_it() {
    let err = Catalog::open_dir(
        "/nonexistent/tftp-root",
        Arc::new(FakeGuard),
        CatalogOptions::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("/nonexistent/tftp-root"), "{err}");
}

#[test]
fn load_shares_one_snapshot_per_version_and_sees_replacements() {
    let dir = root_with(&[("fw.bin", &[3u8; 50_000])]);
    let catalog = open(dir.path());
    let first = catalog.load(&catalog.resolve("fw.bin").unwrap()).unwrap();
    let second = catalog.load(&catalog.resolve("FW.BIN").unwrap()).unwrap();
    assert_eq!(first, vec![3u8; 50_000]);
    // Same version: the same buffer, not a second copy.
    assert_eq!(first.as_ptr(), second.as_ptr());
    replace(dir.path(), "fw.bin", &[4u8; 60_000]);
    let third = catalog.load(&catalog.resolve("fw.bin").unwrap()).unwrap();
    assert_eq!(third, vec![4u8; 60_000]);
    assert_eq!(first, vec![3u8; 50_000]);
}

#[test]
fn load_beyond_the_cache_budget_still_serves() {
    let dir = root_with(&[("fw.bin", &[5u8; 10_000])]);
    let options = CatalogOptions {
        file_cache_bytes: 100,
        ..CatalogOptions::default()
    };
    let catalog = Catalog::open_dir(dir.path(), Arc::new(FakeGuard), options).unwrap();
    let first = catalog.load(&catalog.resolve("fw.bin").unwrap()).unwrap();
    assert_eq!(&first[..], &[5u8; 10_000][..]);
    // While a transfer holds the snapshot, others share it: one copy however many clients.
    let second = catalog.load(&catalog.resolve("fw.bin").unwrap()).unwrap();
    assert_eq!(first.as_ptr(), second.as_ptr());
    // Once nobody holds it, the over-budget file is not kept in memory: the next load reads
    // it again, and sees a new version.
    drop((first, second));
    std::thread::sleep(Duration::from_millis(20));
    fs::write(dir.path().join("fw.bin"), [6u8; 10_000]).unwrap();
    let third = catalog.load(&catalog.resolve("fw.bin").unwrap()).unwrap();
    assert_eq!(&third[..], &[6u8; 10_000][..]);
}

#[test]
fn concurrent_loads_of_one_uncached_file_share_one_snapshot() {
    let dir = root_with(&[("fw.bin", &[7u8; 200_000])]);
    let options = CatalogOptions {
        file_cache_bytes: 0,
        ..CatalogOptions::default()
    };
    let catalog = Arc::new(Catalog::open_dir(dir.path(), Arc::new(FakeGuard), options).unwrap());
    let barrier = Arc::new(std::sync::Barrier::new(16));
    let loads: Vec<_> = (0..16)
        .map(|_| {
            let catalog = Arc::clone(&catalog);
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                let resolved = catalog.resolve("FW.BIN").unwrap();
                barrier.wait();
                catalog.load(&resolved).unwrap()
            })
        })
        .collect();
    let snapshots: Vec<_> = loads.into_iter().map(|t| t.join().unwrap()).collect();
    for snapshot in &snapshots {
        assert_eq!(snapshot.as_ptr(), snapshots[0].as_ptr());
        assert_eq!(snapshot.len(), 200_000);
    }
}

fn open_with_state(root: &Path, state: &Path) -> Catalog {
    let options = CatalogOptions {
        state_dir: Some(state.to_path_buf()),
        ..CatalogOptions::default()
    };
    Catalog::open_dir(root, Arc::new(FakeGuard), options).unwrap()
}

#[test]
fn state_dir_keeps_the_guard_across_restarts() {
    let v1 = fake("sast1", "sast1,sast2");
    let dir = root_with(&[("CTLFile.tlv", &v1), ("sub/ITLSEP001E4A93748B.tlv", &v1)]);
    let state = tempfile::tempdir().unwrap();
    let catalog = open_with_state(dir.path(), state.path());
    assert_eq!(served(&catalog, "CTLFile.tlv"), v1);
    assert_eq!(fs::read(state.path().join("ctlfile.tlv")).unwrap(), v1);
    assert_eq!(
        fs::read(state.path().join("sub%2Fitlsep001e4a93748b.tlv")).unwrap(),
        v1
    );
    drop(catalog);

    // While the server is down, a list signed by a key devices do not trust replaces it:
    // after the restart devices still get the version they can verify.
    let evil = fake("sast9", "sast9,sast8");
    replace(dir.path(), "CTLFile.tlv", &evil);
    let catalog = open_with_state(dir.path(), state.path());
    assert_eq!(served(&catalog, "CTLFile.tlv"), v1);
    assert_eq!(served(&catalog, "CTLSEP001E4A93748B.tlv"), v1);
    assert_eq!(fs::read(state.path().join("ctlfile.tlv")).unwrap(), v1);
    // The rescan does not change its mind.
    catalog.refresh().unwrap();
    assert_eq!(served(&catalog, "CTLFile.tlv"), v1);
    drop(catalog);

    // A proper rotation found at startup is published and remembered.
    let v2 = fake("sast2", "sast2,sast3");
    replace(dir.path(), "CTLFile.tlv", &v2);
    let catalog = open_with_state(dir.path(), state.path());
    assert_eq!(served(&catalog, "CTLFile.tlv"), v2);
    assert_eq!(fs::read(state.path().join("ctlfile.tlv")).unwrap(), v2);
    assert_eq!(served(&catalog, "sub/ITLSEP001E4A93748B.tlv"), v1);
    drop(catalog);

    // Without the state directory a restart has nothing to compare with.
    replace(dir.path(), "CTLFile.tlv", &evil);
    assert_eq!(served(&open(dir.path()), "CTLFile.tlv"), evil);
}

#[test]
fn a_remembered_version_that_does_not_verify_is_ignored() {
    let v1 = fake("sast1", "sast1,sast2");
    let dir = root_with(&[("CTLFile.tlv", &v1)]);
    let state = tempfile::tempdir().unwrap();
    fs::write(state.path().join("ctlfile.tlv"), b"corrupt").unwrap();
    let catalog = open_with_state(dir.path(), state.path());
    assert_eq!(served(&catalog, "CTLFile.tlv"), v1);
    assert_eq!(fs::read(state.path().join("ctlfile.tlv")).unwrap(), v1);
}
