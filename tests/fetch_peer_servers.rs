//! `ctl fetch` against a second, independent TFTP server: atftpd (Debian package atftpd,
//! which CI installs) serving a directory on a loopback port. Skipped with a note when
//! atftpd is missing, unless CI is set (then it fails).

mod fetch_support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use fetch_support::*;

fn atftpd() -> Option<PathBuf> {
    let found = ["/usr/sbin/atftpd", "/sbin/atftpd", "/usr/local/sbin/atftpd"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file());
    if found.is_none() {
        if std::env::var_os("CI").is_some() {
            panic!("atftpd not found: install the Debian package atftpd");
        }
        eprintln!("note: skipping: atftpd not found (apt-get install atftpd)");
    }
    found
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|out| out.stdout.starts_with(b"0\n"))
        .unwrap_or(false)
}

/// atftpd in the foreground on a free 127.0.0.1 port; killed on drop.
struct Atftpd {
    child: Child,
    server: String,
}

impl Atftpd {
    fn start(binary: &Path, root: &Path) -> Atftpd {
        let server = dead_port();
        let port = server.rsplit_once(':').unwrap().1.to_owned();
        // atftpd drops privileges (to nobody unless told otherwise).
        let user = if is_root() { "root.root" } else { "nobody" };
        let child = Command::new(binary)
            .args(["--daemon", "--no-fork", "--bind-address", "127.0.0.1"])
            .args(["--port", &port, "--user", user, "--logfile", "/dev/null"])
            .arg(root)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("atftpd starts");
        Atftpd { child, server }
    }
}

impl Drop for Atftpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A served directory readable by the unprivileged user atftpd switches to.
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

#[test]
fn first_use_update_and_rejection_through_atftpd() {
    let Some(binary) = atftpd() else { return };
    let root = served_dir();
    let v1 = signed(&[1, 2], 1, 1);
    publish(root.path(), &v1);
    let server = Atftpd::start(&binary, root.path());
    let store = tempfile::tempdir().unwrap();
    // Retries cover the moment atftpd needs to bind.
    let patient = ["--retries", "3", "--retry-interval", "1"];
    let out = fetch(store.path(), std::slice::from_ref(&server.server), &patient);
    assert_eq!(code(&out), 0, "atftpd: {}", text(&out.stderr));
    assert_eq!(std::fs::read(store.path().join("CTLFile.tlv")).unwrap(), v1);

    let v2 = signed(&[2, 3], 2, 2);
    publish(root.path(), &v2);
    let out = fetch(store.path(), std::slice::from_ref(&server.server), &patient);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert_eq!(std::fs::read(store.path().join("CTLFile.tlv")).unwrap(), v2);

    let before = snapshot(store.path());
    publish(root.path(), &signed(&[1, 2], 1, 3));
    let out = fetch(store.path(), std::slice::from_ref(&server.server), &patient);
    assert_eq!(code(&out), 11, "{}", text(&out.stderr));
    assert_eq!(snapshot(store.path()), before);
}

#[test]
fn error_1_from_atftpd_fails_over_to_ctl_serve() {
    let Some(binary) = atftpd() else { return };
    let empty = served_dir();
    let server = Atftpd::start(&binary, empty.path());
    let v1 = signed(&[1, 2], 1, 1);
    let serve = Serve::ctl(&v1);
    // Wait until atftpd answers (ERROR 1) so the failover below is not a timeout.
    let probe = tempfile::tempdir().unwrap();
    let mut answered = false;
    for _ in 0..20 {
        let out = fetch(probe.path(), std::slice::from_ref(&server.server), &["--json"]);
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
    assert!(answered, "atftpd never answered ERROR 1");
    let store = tempfile::tempdir().unwrap();
    let out = fetch(
        store.path(),
        &[server.server.clone(), serve.server()],
        &["--json"],
    );
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
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
