//! Request names: which names may be looked up at all, and the per-device aliases phones use.
//!
//! Everything here works on the name as the client sent it and never touches the filesystem,
//! so a hostile name is refused before any path is built from it.

use std::fmt;

/// Why a requested name is refused before any lookup.
///
/// The text is sent to the client in an ERROR packet, so it names the rule, never a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRejection {
    /// The name is empty.
    Empty,
    /// The name starts with `/`: absolute paths are not served.
    Absolute,
    /// The name contains a backslash (Windows separator tricks such as `..\..\x`).
    Backslash,
    /// A path component is `..` or `.`, or empty (`a//b`, trailing `/`).
    BadComponent,
    /// The name contains a control character.
    ControlCharacter,
    /// The name is longer than [`MAX_NAME_LEN`].
    TooLong,
}

/// Longest name accepted (bytes). Real names are short; this bounds work on hostile input.
pub const MAX_NAME_LEN: usize = 255;

impl fmt::Display for NameRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NameRejection::Empty => "empty file name",
            NameRejection::Absolute => "absolute paths are not allowed",
            NameRejection::Backslash => "backslashes are not allowed in file names",
            NameRejection::BadComponent => "'.', '..' and empty path components are not allowed",
            NameRejection::ControlCharacter => "control characters are not allowed in file names",
            NameRejection::TooLong => "file name too long",
        })
    }
}

/// Checks a requested name: relative, `/`-separated, no `.`/`..`/empty components,
/// no backslash, no control characters. `a..b` is an ordinary name and passes.
pub fn check_request_name(name: &str) -> Result<(), NameRejection> {
    if name.is_empty() {
        return Err(NameRejection::Empty);
    }
    if name.len() > MAX_NAME_LEN {
        return Err(NameRejection::TooLong);
    }
    if name.starts_with('/') {
        return Err(NameRejection::Absolute);
    }
    if name.contains('\\') {
        return Err(NameRejection::Backslash);
    }
    if name.chars().any(char::is_control) {
        return Err(NameRejection::ControlCharacter);
    }
    if name
        .split('/')
        .any(|component| component.is_empty() || component == "." || component == "..")
    {
        return Err(NameRejection::BadComponent);
    }
    Ok(())
}

/// The two kinds of per-device trust-list names a phone requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceListKind {
    /// `CTLSEP<MAC>.tlv`, falling back to `CTLFile.tlv`.
    Ctl,
    /// `ITLSEP<MAC>.tlv`, falling back to `ITLFile.tlv`.
    Itl,
}

impl DeviceListKind {
    /// The cluster-wide file served when no per-device file exists.
    pub fn cluster_file(self) -> &'static str {
        match self {
            DeviceListKind::Ctl => "CTLFile.tlv",
            DeviceListKind::Itl => "ITLFile.tlv",
        }
    }
}

/// A per-device name: which list, and the device MAC (12 upper-case hex digits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceAlias {
    /// CTL or ITL.
    pub kind: DeviceListKind,
    /// The MAC from the name, upper-cased (phones send it upper-case already).
    pub mac: String,
}

/// Recognises `CTLSEP<MAC>.tlv` / `ITLSEP<MAC>.tlv` (case-insensitive, MAC = 12 hex digits).
pub fn device_alias(name: &str) -> Option<DeviceAlias> {
    let bytes = name.as_bytes();
    // "CTLSEP" + 12 + ".tlv"
    if bytes.len() != 6 + 12 + 4 {
        return None;
    }
    let kind = if bytes[..6].eq_ignore_ascii_case(b"CTLSEP") {
        DeviceListKind::Ctl
    } else if bytes[..6].eq_ignore_ascii_case(b"ITLSEP") {
        DeviceListKind::Itl
    } else {
        return None;
    };
    if !bytes[18..].eq_ignore_ascii_case(b".tlv") {
        return None;
    }
    let mac = &name[6..18];
    if !mac.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some(DeviceAlias {
        kind,
        mac: mac.to_ascii_uppercase(),
    })
}

/// Extracts the MAC of a per-device name such as `SEP001E4A93748B.cnf.xml`, for logging.
///
/// Only used to label log lines; lookup of such names is an ordinary case-insensitive lookup.
pub fn device_mac(name: &str) -> Option<String> {
    if let Some(alias) = device_alias(name) {
        return Some(alias.mac);
    }
    let base = name.rsplit('/').next().unwrap_or(name);
    let bytes = base.as_bytes();
    if bytes.len() >= 15 && bytes[..3].eq_ignore_ascii_case(b"SEP") {
        let mac = &base[3..15];
        let terminated = bytes.len() == 15 || bytes[15] == b'.';
        if terminated && mac.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Some(mac.to_ascii_uppercase());
        }
    }
    None
}

/// True if the name is a trust list (`*.tlv`, any case): held in memory and guarded.
pub fn is_trust_list(name: &str) -> bool {
    let bytes = name.as_bytes();
    bytes.len() >= 4 && bytes[bytes.len() - 4..].eq_ignore_ascii_case(b".tlv")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_names_pass() {
        for name in [
            "CTLFile.tlv",
            "a..b",
            "..a",
            "b..",
            "dir/file.bin",
            "SEP001E4A93748B.cnf.xml",
        ] {
            assert_eq!(check_request_name(name), Ok(()), "{name}");
        }
    }

    #[test]
    fn traversal_and_tricks_are_refused() {
        let cases = [
            ("", NameRejection::Empty),
            ("/etc/passwd", NameRejection::Absolute),
            ("../etc/passwd", NameRejection::BadComponent),
            ("dir/../../x", NameRejection::BadComponent),
            ("..", NameRejection::BadComponent),
            ("./x", NameRejection::BadComponent),
            ("a//b", NameRejection::BadComponent),
            ("dir/", NameRejection::BadComponent),
            ("..\\..\\etc\\passwd", NameRejection::Backslash),
            ("\\etc\\passwd", NameRejection::Backslash),
            ("a\nb", NameRejection::ControlCharacter),
        ];
        for (name, expected) in cases {
            assert_eq!(check_request_name(name), Err(expected), "{name:?}");
        }
        assert_eq!(check_request_name(&"a".repeat(256)), Err(NameRejection::TooLong));
    }

    #[test]
    fn device_aliases_are_recognised_in_any_case() {
        assert_eq!(
            device_alias("CTLSEP001E4A93748B.tlv"),
            Some(DeviceAlias {
                kind: DeviceListKind::Ctl,
                mac: "001E4A93748B".into()
            })
        );
        assert_eq!(
            device_alias("itlsep001e4a93748b.TLV"),
            Some(DeviceAlias {
                kind: DeviceListKind::Itl,
                mac: "001E4A93748B".into()
            })
        );
    }

    #[test]
    fn near_miss_names_are_not_aliases() {
        for name in [
            "CTLSEP001E4A93748.tlv",   // 11 digits
            "CTLSEP001E4A93748BB.tlv", // 13 digits
            "CTLSEP001E4A93748G.tlv",  // not hex
            "CTLSEP001E4A93748B.tl",
            "XTLSEP001E4A93748B.tlv",
            "CTLFile.tlv",
        ] {
            assert_eq!(device_alias(name), None, "{name}");
        }
    }

    #[test]
    fn config_names_carry_a_mac_for_logging() {
        assert_eq!(
            device_mac("SEP001E4A93748B.cnf.xml").as_deref(),
            Some("001E4A93748B")
        );
        assert_eq!(
            device_mac("sep001e4a93748b.cnf.xml.sgn").as_deref(),
            Some("001E4A93748B")
        );
        assert_eq!(
            device_mac("ITLSEP001E4A93748B.tlv").as_deref(),
            Some("001E4A93748B")
        );
        assert_eq!(device_mac("SEPDefault.cnf"), None);
        assert_eq!(device_mac("SEP001E4A93748B0.cnf.xml"), None);
    }

    #[test]
    fn trust_lists_are_recognised_by_extension() {
        assert!(is_trust_list("CTLFile.tlv"));
        assert!(is_trust_list("itlfile.TLV"));
        assert!(!is_trust_list("SEP001E4A93748B.cnf.xml"));
        assert!(!is_trust_list("tlv"));
    }
}
