//! `ctl fetch` against independent TFTP servers serving a directory on a loopback port:
//! atftpd (Debian package atftpd) and tftpd-hpa's `in.tftpd`. CI installs both (tftpd-hpa
//! conflicts with atftpd as a package, so `.ci/run` unpacks its server under
//! `/opt/tftpd-hpa`; `TFTPD_HPA` names another `in.tftpd`). A missing server skips its
//! tests with a note, unless CI is set (then they fail).

mod fetch_support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use fetch_support::*;

/// A TFTP server that is not ours.
#[derive(Clone, Copy, Debug)]
enum Peer {
    Atftpd,
    TftpdHpa,
}

impl Peer {
    fn name(self) -> &'static str {
        match self {
            Peer::Atftpd => "atftpd",
            Peer::TftpdHpa => "tftpd-hpa",
        }
    }

    /// The server binary, or `None` (after a note) when it is missing and CI is not set.
    fn binary(self) -> Option<PathBuf> {
        let found = match self {
            Peer::Atftpd => ["/usr/sbin/atftpd", "/sbin/atftpd", "/usr/local/sbin/atftpd"]
                .iter()
                .map(PathBuf::from)
                .find(|p| p.is_file()),
            // atftpd also installs a /usr/sbin/in.tftpd: take the one that says tftp-hpa.
            Peer::TftpdHpa => std::env::var_os("TFTPD_HPA")
                .map(PathBuf::from)
                .into_iter()
                .chain(
                    [
                        "/usr/sbin/in.tftpd",
                        "/opt/tftpd-hpa/usr/sbin/in.tftpd",
                        "/usr/local/sbin/in.tftpd",
                    ]
                    .map(PathBuf::from),
                )
                .find(|p| is_tftpd_hpa(p)),
        };
        if found.is_none() {
            if std::env::var_os("CI").is_some() {
                panic!("{} not found: see .ci/run", self.name());
            }
            eprintln!("note: skipping: {} not found (see .ci/run)", self.name());
        }
        found
    }

    /// Starts the server in the foreground on a free 127.0.0.1 port, serving `root`.
    fn start(self, binary: &Path, root: &Path) -> Running {
        let server = dead_port();
        let port = server.rsplit_once(':').unwrap().1.to_owned();
        let mut command = Command::new(binary);
        match self {
            Peer::Atftpd => {
                // atftpd drops privileges (to nobody unless told otherwise).
                let user = if is_root() { "root.root" } else { "nobody" };
                command
                    .args(["--daemon", "--no-fork", "--bind-address", "127.0.0.1"])
                    .args(["--port", &port, "--user", user, "--logfile", "/dev/null"])
                    .arg(root);
            }
            Peer::TftpdHpa => {
                // -L: stay in the foreground; -s: chroot into the served directory (needs
                // root), then run as nobody; -a: listen on loopback only.
                command
                    .args(["-L", "-u", "nobody", "-s"])
                    .arg(root)
                    .args(["-a", &server]);
            }
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{} starts: {e}", self.name()));
        Running { child, server }
    }

    /// Whether this host can run the peer as the tests do.
    fn runnable(self) -> bool {
        match self {
            Peer::Atftpd => true,
            // chroot (-s) needs root.
            Peer::TftpdHpa if is_root() => true,
            Peer::TftpdHpa => {
                eprintln!("note: skipping: tftpd-hpa's chroot (-s) needs root");
                false
            }
        }
    }
}

fn is_tftpd_hpa(path: &Path) -> bool {
    if !path.is_file() {
        return false;
    }
    Command::new(path)
        .arg("-V")
        .stdin(Stdio::null())
        .output()
        .map(|out| String::from_utf8_lossy(&[out.stdout, out.stderr].concat()).contains("tftp-hpa"))
        .unwrap_or(false)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|out| out.stdout.starts_with(b"0\n"))
        .unwrap_or(false)
}

/// A peer server in the foreground; killed on drop.
struct Running {
    child: Child,
    server: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A served directory readable by the unprivileged user the servers switch to.
fn served_dir() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

fn publish(dir: &Path, bytes: &[u8]) {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("CTLFile.tlv");
    let temp = dir.join(".CTLFile.tlv.new");
    std::fs::write(&temp, bytes).unwrap();
    std::fs::set_permissions(&temp, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::rename(temp, path).unwrap();
}

/// Retries cover the moment the server needs to bind.
const PATIENT: [&str; 4] = ["--retries", "3", "--retry-interval", "1"];

/// First use (pinned wrongly, then trusted with a warning), a signed update kept with a
/// backup, and four rejected updates that leave the store byte for byte untouched.
fn first_use_update_and_rejections(peer: Peer) {
    let Some(binary) = peer.binary() else { return };
    if !peer.runnable() {
        return;
    }
    let root = served_dir();
    let v1 = signed(&[1, 2], 1, 1);
    publish(root.path(), &v1);
    let running = peer.start(&binary, root.path());
    let server = std::slice::from_ref(&running.server);
    let store = tempfile::tempdir().unwrap();

    let wrong = sha256_hex(&signed(&[1, 2], 1, 99));
    let pinned: Vec<&str> = PATIENT
        .iter()
        .copied()
        .chain(["--expect-sha256", &wrong])
        .collect();
    let out = fetch(store.path(), server, &pinned);
    assert_eq!(code(&out), 12, "{peer:?}: {}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(&format!("does not match the pinned {wrong}")),
        "{peer:?}: {}",
        text(&out.stderr)
    );
    assert!(snapshot(store.path()).is_empty(), "{peer:?}");

    let out = fetch(store.path(), server, &PATIENT);
    assert_eq!(code(&out), 0, "{peer:?}: {}", text(&out.stderr));
    assert!(text(&out.stderr).contains("trust on first use"), "{peer:?}");
    assert_eq!(std::fs::read(store.path().join("CTLFile.tlv")).unwrap(), v1);
    assert_eq!(show_json(store.path())["state"]["server"], running.server);

    let v2 = signed(&[1, 2], 2, 2);
    publish(root.path(), &v2);
    let out = fetch(store.path(), server, &PATIENT);
    assert_eq!(code(&out), 0, "{peer:?}: {}", text(&out.stderr));
    assert_eq!(std::fs::read(store.path().join("CTLFile.tlv")).unwrap(), v2);
    assert_eq!(
        std::fs::read(store.path().join("CTLFile.tlv.previous")).unwrap(),
        v1
    );

    let before = snapshot(store.path());
    let mut bad_signature = signed(&[1, 2], 1, 3);
    let inside_last_certificate = bad_signature.len() - 20;
    bad_signature[inside_last_certificate] ^= 0x40;
    let garbage: Vec<u8> = (0..3000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let cases: [(&str, Vec<u8>, &str); 4] = [
        (
            "unknown signer",
            signed(&[3], 3, 4),
            "not a SAST key of the installed list",
        ),
        ("bad signature", bad_signature, "signature does not verify"),
        ("garbage", garbage, "malformed trust list"),
        ("truncated", v2[..v2.len() / 2].to_vec(), "malformed trust list"),
    ];
    for (label, bytes, reason) in cases {
        publish(root.path(), &bytes);
        let out = fetch(store.path(), server, &PATIENT);
        let stderr = text(&out.stderr);
        assert_eq!(code(&out), 11, "{peer:?} {label}: {stderr}");
        assert!(stderr.contains(reason), "{peer:?} {label}: {stderr}");
        let attempt = format!("{} (attempt ", running.server);
        assert!(
            stderr
                .lines()
                .any(|l| l.contains(&attempt) && l.contains("): rejected")),
            "{peer:?} {label}: {stderr}"
        );
        assert!(
            stderr.contains("kept the stored trust list"),
            "{peer:?} {label}: {stderr}"
        );
        assert_eq!(snapshot(store.path()), before, "{peer:?} {label}");
    }
}

/// The peer answers ERROR 1 (it serves an empty directory); the client moves on to
/// `ctl serve`, which has the file.
fn error_1_fails_over_to_ctl_serve(peer: Peer) {
    let Some(binary) = peer.binary() else { return };
    if !peer.runnable() {
        return;
    }
    let empty = served_dir();
    let running = peer.start(&binary, empty.path());
    let v1 = signed(&[1, 2], 1, 1);
    let serve = Serve::ctl(&v1);
    // Wait until the peer answers (ERROR 1) so the failover below is not a timeout.
    let probe = tempfile::tempdir().unwrap();
    let mut answered = false;
    for _ in 0..20 {
        let out = fetch(probe.path(), std::slice::from_ref(&running.server), &["--json"]);
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        if report["attempts"][0]["detail"]
            .as_str()
            .unwrap_or("")
            .contains("error 1")
        {
            answered = true;
            break;
        }
    }
    assert!(answered, "{peer:?} never answered ERROR 1");
    assert!(snapshot(probe.path()).is_empty(), "{peer:?}");
    let store = tempfile::tempdir().unwrap();
    let out = fetch(
        store.path(),
        &[running.server.clone(), serve.server()],
        &["--json"],
    );
    assert_eq!(code(&out), 0, "{peer:?}: {}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["attempts"][0]["server"], running.server, "{report}");
    assert!(
        report["attempts"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("error 1"),
        "{report}"
    );
    assert_eq!(report["server"], serve.server());
    assert_eq!(std::fs::read(store.path().join("CTLFile.tlv")).unwrap(), v1);
}

#[test]
fn first_use_update_and_rejections_through_atftpd() {
    first_use_update_and_rejections(Peer::Atftpd);
}

#[test]
fn first_use_update_and_rejections_through_tftpd_hpa() {
    first_use_update_and_rejections(Peer::TftpdHpa);
}

#[test]
fn error_1_from_atftpd_fails_over_to_ctl_serve() {
    error_1_fails_over_to_ctl_serve(Peer::Atftpd);
}

#[test]
fn error_1_from_tftpd_hpa_fails_over_to_ctl_serve() {
    error_1_fails_over_to_ctl_serve(Peer::TftpdHpa);
}
