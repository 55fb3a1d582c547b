//! Key-file backends: every container signs, gives the same deterministic bytes, and
//! verifies with both the pure-Rust key and the openssl command line.
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use ctl_sign::keyfile::KeyFileFormat;
use ctl_sign::{
    CertificateRecord, HashAlgorithm, KeyFileSigner, Secret, SecretSource, SecurityToken, SignError,
};
use support::tools::{have_tool, openssl_verifies, pki, run};

const MESSAGE: &[u8] = b"the signed bytes of a CTL file";

fn passphrase() -> SecretSource {
    SecretSource::Value(Secret::new("correct horse"))
}

/// Converts the committed PKCS#8 PEM key of `stem` into every container via openssl.
fn containers(dir: &Path, stem: &str) -> Vec<(PathBuf, KeyFileFormat)> {
    let key = pki().join("keys").join(format!("{stem}.key"));
    let cert = pki().join(format!("{stem}.pem"));
    let out = |name: &str| dir.join(name);
    let openssl = |args: &[&str]| {
        run(Command::new("openssl").args(args));
    };
    let k = key.to_str().unwrap();
    openssl(&[
        "pkey",
        "-in",
        k,
        "-traditional",
        "-out",
        out("pkcs1.pem").to_str().unwrap(),
    ]);
    openssl(&[
        "pkey",
        "-in",
        k,
        "-traditional",
        "-outform",
        "DER",
        "-out",
        out("pkcs1.der").to_str().unwrap(),
    ]);
    openssl(&[
        "pkcs8",
        "-topk8",
        "-nocrypt",
        "-in",
        k,
        "-outform",
        "DER",
        "-out",
        out("pkcs8.der").to_str().unwrap(),
    ]);
    openssl(&[
        "pkcs8",
        "-topk8",
        "-v2",
        "aes-256-cbc",
        "-in",
        k,
        "-passout",
        "pass:correct horse",
        "-out",
        out("enc.pem").to_str().unwrap(),
    ]);
    openssl(&[
        "pkcs8",
        "-topk8",
        "-v2",
        "aes-128-cbc",
        "-in",
        k,
        "-passout",
        "pass:correct horse",
        "-outform",
        "DER",
        "-out",
        out("enc.der").to_str().unwrap(),
    ]);
    openssl(&[
        "pkcs12",
        "-export",
        "-inkey",
        k,
        "-in",
        cert.to_str().unwrap(),
        "-passout",
        "pass:correct horse",
        "-out",
        out("bundle.p12").to_str().unwrap(),
    ]);
    openssl(&[
        "pkcs12",
        "-export",
        "-inkey",
        k,
        "-in",
        cert.to_str().unwrap(),
        "-passout",
        "pass:",
        "-out",
        out("nopass.p12").to_str().unwrap(),
    ]);
    vec![
        (key.clone(), KeyFileFormat::Pkcs8Pem),
        (out("pkcs1.pem"), KeyFileFormat::Pkcs1Pem),
        (out("pkcs1.der"), KeyFileFormat::Pkcs1Der),
        (out("pkcs8.der"), KeyFileFormat::Pkcs8Der),
        (out("enc.pem"), KeyFileFormat::EncryptedPkcs8Pem),
        (out("enc.der"), KeyFileFormat::EncryptedPkcs8Der),
        (out("bundle.p12"), KeyFileFormat::Pkcs12),
        (out("nopass.p12"), KeyFileFormat::Pkcs12),
    ]
}

#[test]
fn every_container_signs_identically_and_openssl_verifies() {
    if !have_tool("openssl", "openssl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // Every container with the 1024-bit key; the 2048-bit key through two containers only
    // (RSA in debug builds is slow, and the container code does not depend on key size).
    for (stem, all_containers) in [("sast2", true), ("sast1", false)] {
        let cert_path = pki().join(format!("{stem}.pem"));
        let cert = CertificateRecord::from_file(&cert_path).unwrap();
        let cert_key = cert.rsa_public_key().unwrap();
        let mut reference: Option<(Vec<u8>, Vec<u8>)> = None;
        for (path, format) in containers(dir.path(), stem) {
            if !all_containers && !matches!(format, KeyFileFormat::Pkcs8Pem | KeyFileFormat::Pkcs12) {
                continue;
            }
            let signer = KeyFileSigner::open(&path, &passphrase())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(signer.format(), format, "{}", path.display());
            assert!(ctl_sign::build::same_rsa_key(signer.public_key(), &cert_key));
            let sha1 = signer.sign(HashAlgorithm::Sha1, MESSAGE).unwrap();
            let sha512 = signer.sign(HashAlgorithm::Sha512, MESSAGE).unwrap();
            assert_eq!(sha1.len(), signer.signature_len());
            assert!(ctl_sign::hash::verify_pkcs1v15(
                &cert_key,
                HashAlgorithm::Sha1,
                MESSAGE,
                &sha1
            ));
            assert!(ctl_sign::hash::verify_pkcs1v15(
                &cert_key,
                HashAlgorithm::Sha512,
                MESSAGE,
                &sha512
            ));
            assert!(!ctl_sign::hash::verify_pkcs1v15(
                &cert_key,
                HashAlgorithm::Sha1,
                b"other",
                &sha1
            ));
            assert!(
                openssl_verifies(dir.path(), &cert_path, "sha1", MESSAGE, &sha1),
                "{}",
                path.display()
            );
            assert!(
                openssl_verifies(dir.path(), &cert_path, "sha512", MESSAGE, &sha512),
                "{}",
                path.display()
            );
            match &reference {
                None => reference = Some((sha1, sha512)),
                Some((r1, r512)) => {
                    assert_eq!(&sha1, r1, "{} (PKCS#1 v1.5 is deterministic)", path.display());
                    assert_eq!(&sha512, r512, "{}", path.display());
                }
            }
            if format == KeyFileFormat::Pkcs12 {
                assert_eq!(signer.bundled_certificates(), std::slice::from_ref(&cert.der));
            }
        }
    }
}

#[test]
fn wrong_passphrase_is_reported_as_such() {
    if !have_tool("openssl", "openssl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let wrong = SecretSource::Value(Secret::new("wrong horse"));
    for (path, format) in containers(dir.path(), "sast2") {
        if !matches!(
            format,
            KeyFileFormat::EncryptedPkcs8Pem | KeyFileFormat::EncryptedPkcs8Der
        ) && path.file_name().unwrap() != "bundle.p12"
        {
            continue;
        }
        let err = KeyFileSigner::open(&path, &wrong).unwrap_err();
        assert!(
            matches!(err, SignError::WrongPassphrase { .. }),
            "{}: {err}",
            path.display()
        );
        assert!(err.to_string().contains("wrong passphrase"), "{err}");
        assert!(
            !format!("{err:?}").contains("wrong horse"),
            "secret leaked: {err:?}"
        );
        // No passphrase source at all: the error says how to give one.
        let err = KeyFileSigner::open(&path, &SecretSource::None).unwrap_err();
        assert!(err.to_string().contains("no source was given"), "{err}");
    }
}

#[test]
fn passphrase_from_environment_variable() {
    if !have_tool("openssl", "openssl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = containers(dir.path(), "sast2")
        .into_iter()
        .find(|(_, f)| *f == KeyFileFormat::EncryptedPkcs8Pem)
        .unwrap();
    // A variable name no other test uses; set once, read by this test only.
    std::env::set_var("CTL_SIGN_TEST_KEY_PASSPHRASE", "correct horse");
    let signer =
        KeyFileSigner::open(&path, &SecretSource::Env("CTL_SIGN_TEST_KEY_PASSPHRASE".into())).unwrap();
    assert!(!format!("{signer:?}").contains("correct horse"));
}

#[test]
fn bad_key_files_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("absent.key");
    let err = KeyFileSigner::open(&missing, &SecretSource::None).unwrap_err();
    assert!(matches!(err, SignError::KeyFileIo { .. }));
    assert!(err.to_string().contains("absent.key"), "{err}");

    // A certificate given where a key is expected.
    let err = KeyFileSigner::open(&pki().join("sast1.pem"), &SecretSource::None).unwrap_err();
    assert!(
        err.to_string()
            .contains("no private key in this PEM file (found CERTIFICATE)"),
        "{err}"
    );

    let garbage = dir.path().join("garbage.key");
    std::fs::write(&garbage, b"\x01\x02not a key").unwrap();
    let err = KeyFileSigner::open(&garbage, &SecretSource::None).unwrap_err();
    assert!(err.to_string().contains("not a private key"), "{err}");
}

#[test]
fn ec_key_is_refused_as_not_rsa() {
    if !have_tool("openssl", "openssl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ec.key");
    run(Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
        ])
        .arg(&path));
    let err = KeyFileSigner::open(&path, &SecretSource::None).unwrap_err();
    assert!(matches!(err, SignError::NotRsa { .. }), "{err}");
    assert!(err.to_string().contains("EC"), "{err}");
}
