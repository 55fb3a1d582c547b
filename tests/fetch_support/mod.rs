//! Harness for `ctl fetch` end-to-end tests: signed trust lists from the committed test PKI
//! (fixtures/pki), `ctl serve` on a loopback port chosen by the OS, store snapshots.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use ctl_format::Role;
use ctl_sign::{build_signed, BuildInput, CertificateRecord, HashAlgorithm, KeyFileSigner, SecretSource};

#[path = "../serve_support/mod.rs"]
mod serve_support;

pub use serve_support::CTL;

pub fn pki(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/pki")
        .join(name)
}

/// A CTLFile.tlv holding the SAST certificates `sasts` (1..=3 = fixtures sast1..3) and the
/// cluster certificates, signed with the key of SAST `signer`; `version` is its TIMESTAMP
/// offset so every version differs.
pub fn signed(sasts: &[u8], signer: u8, version: u32) -> Vec<u8> {
    let mut entries: Vec<(Role, CertificateRecord)> = sasts
        .iter()
        .map(|n| {
            (
                Role::Sast,
                CertificateRecord::from_file(&pki(&format!("sast{n}.pem"))).unwrap(),
            )
        })
        .collect();
    for (role, file) in [
        (Role::CcmTftp, "CallManager.pem"),
        (Role::Tftp, "tftp1.pem"),
        (Role::Capf, "CAPF.0"),
    ] {
        entries.push((role, CertificateRecord::from_file(&pki(file)).unwrap()));
    }
    let input = BuildInput {
        entries,
        filename: "CTLFile.tlv".to_owned(),
        digest: HashAlgorithm::Sha1,
        signer_version: None,
        timestamp: 1_700_000_000 + version,
    };
    let key = KeyFileSigner::open(&pki(&format!("keys/sast{signer}.key")), &SecretSource::None).unwrap();
    build_signed(&input, &key).unwrap()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    tftp_server::trust_store::decide::sha256_hex(bytes)
}

/// A running `ctl serve --root DIR` on a loopback port chosen by the OS. Killed on drop.
pub struct Serve {
    // Declared before the root so the server stops before its directory goes.
    server: serve_support::Serve,
    pub address: SocketAddr,
    root: tempfile::TempDir,
}

impl Serve {
    /// Serves `files` (name, content) from a fresh directory on `listen` (e.g. 127.0.0.1:0);
    /// `None` when the server cannot listen there (e.g. no IPv6). The server plays a
    /// compromised or misconfigured one, so its publish guard is off
    /// (`--allow-untrusted-update`): it serves broken files for the client to reject.
    pub fn start_on(listen: &str, files: &[(&str, &[u8])]) -> Option<Serve> {
        let root = tempfile::tempdir().unwrap();
        for (name, bytes) in files {
            std::fs::write(root.path().join(name), bytes).unwrap();
        }
        let root_arg = root.path().to_str().expect("temp dir path is UTF-8").to_owned();
        let server = serve_support::Serve::try_start(
            &[
                "--root",
                &root_arg,
                "--listen",
                listen,
                "--allow-untrusted-update",
            ],
            root.path(),
            1,
        )
        .ok()?;
        let address = server.address();
        Some(Serve {
            server,
            address,
            root,
        })
    }

    pub fn start(files: &[(&str, &[u8])]) -> Serve {
        Serve::start_on("127.0.0.1:0", files).expect("ctl serve listens on 127.0.0.1")
    }

    /// Serves one CTLFile.tlv.
    pub fn ctl(bytes: &[u8]) -> Serve {
        Serve::start(&[("CTLFile.tlv", bytes)])
    }

    pub fn server(&self) -> String {
        self.address.to_string()
    }
}

pub fn ctl(args: &[&str]) -> Output {
    Command::new(CTL)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("ctl runs")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn code(output: &Output) -> i32 {
    output.status.code().expect("exited normally")
}

/// `ctl fetch --store STORE --timeout 1 --server S...` plus `extra` (and `--retries 0`
/// unless `extra` sets it).
pub fn fetch(store: &Path, servers: &[String], extra: &[&str]) -> Output {
    let mut args: Vec<String> = vec![
        "fetch".into(),
        "--store".into(),
        store.display().to_string(),
        "--timeout".into(),
        "1".into(),
    ];
    if !extra.contains(&"--retries") {
        args.extend(["--retries".into(), "0".into()]);
    }
    for s in servers {
        args.push("--server".into());
        args.push(s.clone());
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    ctl(&refs)
}

/// Every file in the store (recursively) with its bytes, except the lock file.
pub fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                let name = path.strip_prefix(base).unwrap().display().to_string();
                if name != ".lock" {
                    out.insert(name, std::fs::read(&path).unwrap());
                }
            }
        }
    }
    walk(dir, dir, &mut out);
    out
}

pub fn show_json(store: &Path) -> serde_json::Value {
    let output = ctl(&[
        "fetch",
        "--show",
        "--json",
        "--store",
        &store.display().to_string(),
    ]);
    assert_eq!(code(&output), 0, "{}", text(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

/// A port on 127.0.0.1 where nothing listens (bound by the OS, then released).
pub fn dead_port() -> String {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let address = socket.local_addr().unwrap();
    drop(socket);
    address.to_string()
}
