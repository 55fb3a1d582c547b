//! End-to-end tests of `ctl dump` on the genuine Cisco file (read from ../shared/vectors).

use std::io::Write;
use std::process::{Command, Output, Stdio};

const GENUINE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/vectors/cisco-cucm10-tokenless-CTLFile.tlv"
);

fn genuine() -> Vec<u8> {
    std::fs::read(GENUINE).unwrap_or_else(|e| panic!("test vector missing at {GENUINE}: {e}"))
}

fn ctl(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ctl"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ctl runs");
    let input = stdin.unwrap_or_default().to_vec();
    let mut pipe = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    output
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[test]
fn text_dump_shows_checksums_roles_signer_and_certificates() {
    let output = ctl(&["dump", GENUINE], None);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = stdout(&output);
    // Checksums of the whole file (independently known: sha256 from the vectors README).
    assert!(text.contains("SHA-256: 1e8d2ea5b034b1f1367b0d50f8a16cf70964c21ef06872308a42606cc2450813"));
    assert!(text.contains("MD5:     "));
    assert!(text.contains("Record #1 SAST (offset 0x0138, 1147 bytes)  <- signed this file"));
    assert!(text.contains("Record #4 CAPF"));
    assert!(text.contains("Record #5 SAST"));
    assert_eq!(text.matches("<- signed this file").count(), 1);
    assert!(text.contains("TIMESTAMP                  4  1430968247 (2015-05-07T03:10:47Z)"));
    assert!(text.contains("0x000137  13  PADDING"));
    assert!(text.contains("Key:       RSA 1024"));
    assert!(text.contains("IPADDRESS                  4  10.35.48.106"));
}

#[test]
fn json_items_concatenate_to_the_file_and_fields_are_typed() {
    let output = ctl(&["dump", "--json", GENUINE], None);
    assert!(output.status.success());
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let raw: String = json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["raw"].as_str().unwrap())
        .collect();
    let bytes: Vec<u8> = (0..raw.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&raw[i..i + 2], 16).unwrap())
        .collect();
    assert_eq!(bytes, genuine());
    assert_eq!(json["signer_record"], 0);
    let roles: Vec<&str> = json["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["role"].as_str().unwrap())
        .collect();
    assert_eq!(
        roles,
        ["SAST", "CCM+TFTP", "CCM+TFTP", "CAPF", "SAST", "CCM+TFTP"]
    );
    assert_eq!(json["records"][3]["role_code"], 4);
    assert_eq!(json["header"]["header_length"], 312);
    assert_eq!(json["header"]["version"], "1.2");
    assert_eq!(json["header"]["signer_serial"], "24491f10703fea9b");
    assert_eq!(json["header"]["digest"], "SHA-1");
    assert_eq!(json["header"]["key_bits"], 1024);
    assert_eq!(json["header"]["filename"], "CTLFile.tlv");
    assert_eq!(json["header"]["timestamp"], 0x554A_D7B7u32);
    assert_eq!(json["records"][0]["certificate_details"]["key"], "RSA 1024");
    assert_eq!(json["records"][0]["ip_address"], "10.35.48.106");
}

#[test]
fn cisco_layout_has_show_ctl_tables() {
    let output = ctl(&["dump", "--format", "cisco", GENUINE], None);
    assert!(output.status.success());
    let text = stdout(&output);
    assert!(text.contains("Version:        1.2"));
    assert!(text.contains("HeaderLength:   312 (BYTES)"));
    assert!(text.contains("8       DIGESTALGORTITHM    1"));
    assert!(text.contains("CTL Record #:6"));
    assert!(text.contains("4       FUNCTION            2       System Administrator Security Token"));
    assert_eq!(
        text.matches("This etoken was used to sign the CTL file.").count(),
        1
    );
    assert!(text.contains("(SHA1 Hash HEX)"));
}

#[test]
fn stdin_dash_reads_the_file_from_standard_input() {
    let file = genuine();
    let output = ctl(&["dump", "--json", "-"], Some(&file));
    assert!(output.status.success());
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["size"], file.len());
    assert_eq!(json["source"], "<stdin>");
}

#[test]
fn broken_file_exits_non_zero_with_one_line_naming_file_and_offset() {
    let dir = std::env::temp_dir().join(format!("ctl-dump-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut file = genuine();
    // Record #1 claims 0x0500 bytes: past its real end is fine, past EOF is not; make it tiny.
    file[0x138 + 3] = 0x00;
    file[0x138 + 4] = 0x03;
    let path = dir.join("broken.tlv");
    std::fs::write(&path, &file).unwrap();
    let output = ctl(&["dump", path.to_str().unwrap()], None);
    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("broken.tlv"), "{stderr}");
    assert!(stderr.contains("offset 0x0138 (312)"), "{stderr}");
    assert!(stderr.contains("RECORDLENGTH"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn missing_file_is_a_clear_error() {
    let output = ctl(&["dump", "/nonexistent/CTLFile.tlv"], None);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("/nonexistent/CTLFile.tlv"));
}

/// The digest of `bytes` by a coreutils tool (`md5sum`, `sha1sum`, `sha256sum`): an
/// implementation independent of the one `ctl dump` uses.
fn coreutils_digest(tool: &str, bytes: &[u8]) -> String {
    let mut child = Command::new(tool)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{tool} (coreutils): {e}"));
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let output = child.wait_with_output().unwrap();
    String::from_utf8(output.stdout)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn checksums_and_certificate_fingerprints_match_coreutils() {
    let file = genuine();
    let md5 = coreutils_digest("md5sum", &file);
    let sha1 = coreutils_digest("sha1sum", &file);
    let text = stdout(&ctl(&["dump", GENUINE], None));
    assert!(text.contains(&format!("MD5:     {md5}\n")), "{text}");
    assert!(text.contains(&format!("SHA-1:   {sha1}\n")), "{text}");
    let json: serde_json::Value =
        serde_json::from_slice(&ctl(&["dump", "--json", GENUINE], None).stdout).unwrap();
    assert_eq!(json["md5"], md5.as_str());
    assert_eq!(json["sha1"], sha1.as_str());
    let cisco = stdout(&ctl(&["dump", "--format", "cisco", GENUINE], None));
    for (index, record) in json["records"].as_array().unwrap().iter().enumerate() {
        let hex = record["certificate"].as_str().unwrap();
        let der: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        let cert_sha1 = coreutils_digest("sha1sum", &der);
        let cert_sha256 = coreutils_digest("sha256sum", &der);
        let details = &record["certificate_details"];
        assert_eq!(details["sha1"], cert_sha1.as_str(), "record {index}");
        assert_eq!(details["sha256"], cert_sha256.as_str(), "record {index}");
        assert!(
            text.contains(&cert_sha1),
            "text dump lacks record {index}'s SHA-1"
        );
        assert!(
            text.contains(&cert_sha256),
            "text dump lacks record {index}'s SHA-256"
        );
        let cisco_hash = format!("{} (SHA1 Hash HEX)", cert_sha1.to_ascii_uppercase());
        assert!(cisco.contains(&cisco_hash), "cisco layout lacks {cisco_hash}");
    }
}
