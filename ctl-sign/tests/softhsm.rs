//! PKCS#11 backend against a SoftHSM2 token initialised here (temp SOFTHSM2_CONF).
//! The token holds the same key as a fixture key file, so signatures must be identical.
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use ctl_sign::{
    CertificateRecord, HashAlgorithm, KeyFileSigner, Pkcs11Signer, Pkcs11Uri, Secret, SecretSource,
    SecurityToken,
};
use support::tools::{have_tool, openssl_verifies, pki, run};

/// SoftHSM is one global library per process: tests take turns.
static TOKEN_LOCK: Mutex<()> = Mutex::new(());

const MODULE_CANDIDATES: [&str; 2] = [
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
];

fn module() -> Option<PathBuf> {
    if !have_tool("softhsm2-util", "softhsm2") {
        return None;
    }
    let found = MODULE_CANDIDATES.iter().map(PathBuf::from).find(|p| p.exists());
    if found.is_none() && std::env::var_os("CI").is_some() {
        panic!("softhsm2-util present but libsofthsm2.so not found in {MODULE_CANDIDATES:?}");
    }
    found
}

/// Initialises a token labelled `ctl` (user PIN 1234) holding sast2's key as `sast2`/id 02.
/// Returns the temp dir (keep it alive) — SOFTHSM2_CONF points into it.
fn init_token() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::create_dir(&tokens).unwrap();
    let conf = dir.path().join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )
    .unwrap();
    // The library reads SOFTHSM2_CONF when the module initialises; every test in this
    // binary sets it under TOKEN_LOCK before opening the token.
    std::env::set_var("SOFTHSM2_CONF", &conf);
    let init = run(Command::new("softhsm2-util").env("SOFTHSM2_CONF", &conf).args([
        "--init-token",
        "--free",
        "--label",
        "ctl",
        "--so-pin",
        "0000",
        "--pin",
        "1234",
    ]));
    run(Command::new("softhsm2-util")
        .env("SOFTHSM2_CONF", &conf)
        .args(["--import"])
        .arg(pki().join("keys/sast2.key"))
        .args([
            "--token", "ctl", "--label", "sast2", "--id", "02", "--pin", "1234",
        ]));
    std::fs::write(dir.path().join("init.out"), init).unwrap();
    dir
}

/// The slot SoftHSM reassigned the token to ("... is reassigned to slot N").
fn token_slot(dir: &tempfile::TempDir) -> u64 {
    let text = std::fs::read_to_string(dir.path().join("init.out")).unwrap();
    text.rsplit("slot ")
        .next()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no slot number in softhsm2-util output: {text:?}"))
}

fn uri(module: &Path, rest: &str) -> Pkcs11Uri {
    Pkcs11Uri::parse(&format!("pkcs11:{rest}?module-path={}", module.display())).unwrap()
}

fn pin(value: &str) -> SecretSource {
    SecretSource::Value(Secret::new(value))
}

#[test]
fn token_signature_equals_key_file_signature_and_verifies() {
    let Some(module) = module() else { return };
    let _guard = TOKEN_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let _dir = init_token();
    let message = b"CTL signed bytes";
    let file_signer = KeyFileSigner::open(&pki().join("keys/sast2.key"), &SecretSource::None).unwrap();
    let cert_path = pki().join("sast2.pem");
    let cert_key = CertificateRecord::from_file(&cert_path)
        .unwrap()
        .rsa_public_key()
        .unwrap();
    for locator in ["token=ctl;object=sast2", "token=ctl;id=%02", "object=sast2"] {
        let token = Pkcs11Signer::open(&uri(&module, locator), &pin("1234"))
            .unwrap_or_else(|e| panic!("{locator}: {e}"));
        assert!(ctl_sign::build::same_rsa_key(token.public_key(), &cert_key));
        assert!(!format!("{token:?}").contains("1234"));
        for hash in [HashAlgorithm::Sha1, HashAlgorithm::Sha512] {
            let from_token = token.sign(hash, message).unwrap();
            let from_file = file_signer.sign(hash, message).unwrap();
            assert_eq!(
                from_token, from_file,
                "{locator} {hash}: PKCS#1 v1.5 is deterministic"
            );
            assert!(ctl_sign::hash::verify_pkcs1v15(
                &cert_key,
                hash,
                message,
                &from_token
            ));
            if have_tool("openssl", "openssl") {
                let dir = tempfile::tempdir().unwrap();
                assert!(openssl_verifies(
                    dir.path(),
                    &cert_path,
                    hash.name(),
                    message,
                    &from_token
                ));
            }
        }
    }
}

#[test]
fn pin_from_uri_pin_source_file() {
    let Some(module) = module() else { return };
    let _guard = TOKEN_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let dir = init_token();
    let pin_file = dir.path().join("pin.txt");
    std::fs::write(&pin_file, "1234\n").unwrap();
    let uri = Pkcs11Uri::parse(&format!(
        "pkcs11:token=ctl;object=sast2?module-path={}&pin-source=file:{}",
        module.display(),
        pin_file.display()
    ))
    .unwrap();
    let token = Pkcs11Signer::open(&uri, &SecretSource::None).unwrap();
    assert_eq!(token.signature_len(), 128);
}

#[test]
fn wrong_pin_absent_token_absent_key_absent_module_are_clear_errors() {
    let Some(module) = module() else { return };
    let _guard = TOKEN_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let _dir = init_token();
    let err = Pkcs11Signer::open(&uri(&module, "token=ctl;object=sast2"), &pin("9999")).unwrap_err();
    assert!(err.to_string().contains("wrong PIN"), "{err}");
    assert!(!err.to_string().contains("9999"));

    let err = Pkcs11Signer::open(&uri(&module, "token=nosuch;object=sast2"), &pin("1234")).unwrap_err();
    assert!(err.to_string().contains("no token matches"), "{err}");
    assert!(
        err.to_string().contains("\"ctl\""),
        "lists the tokens present: {err}"
    );

    let err = Pkcs11Signer::open(&uri(&module, "token=ctl;object=nokey"), &pin("1234")).unwrap_err();
    assert!(err.to_string().contains("no RSA private key matches"), "{err}");

    let err = Pkcs11Signer::open(
        &uri(Path::new("/nonexistent/libpkcs11.so"), "token=ctl;object=sast2"),
        &pin("1234"),
    )
    .unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");

    let no_module = Pkcs11Uri::parse("pkcs11:token=ctl;object=sast2").unwrap();
    let err = Pkcs11Signer::open(&no_module, &pin("1234")).unwrap_err();
    assert!(err.to_string().contains("module-path"), "{err}");
}

#[test]
fn token_chosen_by_slot_id_and_key_by_id() {
    let Some(module) = module() else { return };
    let _guard = TOKEN_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let dir = init_token();
    let slot = token_slot(&dir);
    let token = Pkcs11Signer::open(&uri(&module, &format!("slot-id={slot};id=%02")), &pin("1234")).unwrap();
    let file_signer = KeyFileSigner::open(&pki().join("keys/sast2.key"), &SecretSource::None).unwrap();
    assert_eq!(
        token.sign(HashAlgorithm::Sha1, b"m").unwrap(),
        file_signer.sign(HashAlgorithm::Sha1, b"m").unwrap()
    );
    assert!(
        token.describe().contains(&format!("slot {slot}")),
        "{}",
        token.describe()
    );
    // Another slot number finds no token and says which tokens exist.
    let err = Pkcs11Signer::open(
        &uri(&module, &format!("slot-id={};object=sast2", slot.wrapping_add(1))),
        &pin("1234"),
    )
    .unwrap_err();
    assert!(err.to_string().contains("no token matches"), "{err}");
    // Slot and label must both match.
    let err = Pkcs11Signer::open(
        &uri(&module, &format!("slot-id={slot};token=other;object=sast2")),
        &pin("1234"),
    )
    .unwrap_err();
    assert!(err.to_string().contains("no token matches"), "{err}");
}
