//! External tools in tests: FAIL with a clear message when missing under CI, else skip.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// True if `tool` runs. Under CI a missing tool panics; otherwise the test prints a note
/// and the caller returns early.
pub fn have_tool(tool: &str, package: &str) -> bool {
    let found = Command::new(tool)
        .arg(if tool == "openssl" { "version" } else { "--version" })
        .output()
        .is_ok();
    if !found {
        if std::env::var_os("CI").is_some() {
            panic!("{tool} is required in CI (Debian package {package}) but was not found");
        }
        eprintln!("note: skipping, {tool} not installed (apt-get install {package})");
    }
    found
}

/// Runs a command, panicking with its stderr if it fails.
pub fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The repository's fixtures/pki directory.
pub fn pki() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/pki")
}

/// `openssl dgst -<digest> -verify PUB -signature SIG MSG` succeeds?
pub fn openssl_verifies(dir: &Path, cert_pem: &Path, digest: &str, message: &[u8], signature: &[u8]) -> bool {
    let public = dir.join("pub.pem");
    run(Command::new("openssl")
        .args(["x509", "-pubkey", "-noout", "-in"])
        .arg(cert_pem)
        .arg("-out")
        .arg(&public));
    let msg = dir.join("msg.bin");
    let sig = dir.join("sig.bin");
    std::fs::write(&msg, message).unwrap();
    std::fs::write(&sig, signature).unwrap();
    Command::new("openssl")
        .arg("dgst")
        .arg(format!("-{digest}"))
        .arg("-verify")
        .arg(&public)
        .arg("-signature")
        .arg(&sig)
        .arg(&msg)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}
