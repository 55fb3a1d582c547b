//! `--verify-root`: what each requested name should contain (by SHA-256).

use std::collections::HashMap;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::transfer::FailureKind;

/// Expected content hash per requested name.
pub struct Expected {
    by_name: HashMap<String, [u8; 32]>,
}

impl Expected {
    /// Hashes `root/<name>` for every name; a per-device trust-list name without its own
    /// file falls back to the cluster file (`CTLSEP<MAC>.tlv` -> `CTLFile.tlv`,
    /// `ITLSEP<MAC>.tlv` -> `ITLFile.tlv`), as the server's aliases do.
    pub fn load(root: &Path, names: impl IntoIterator<Item = String>) -> Result<Expected, String> {
        let mut by_path: HashMap<std::path::PathBuf, [u8; 32]> = HashMap::new();
        let mut by_name = HashMap::new();
        for name in names {
            let path = [Some(name.as_str()), alias_of(&name)]
                .into_iter()
                .flatten()
                .map(|candidate| root.join(candidate))
                .find(|path| path.is_file())
                .ok_or_else(|| {
                    format!(
                        "--verify-root: neither {} nor an alias of it exists",
                        root.join(&name).display()
                    )
                })?;
            let hash = match by_path.get(&path) {
                Some(hash) => *hash,
                None => {
                    let bytes = std::fs::read(&path)
                        .map_err(|error| format!("--verify-root: cannot read {}: {error}", path.display()))?;
                    let hash: [u8; 32] = Sha256::digest(&bytes).into();
                    by_path.insert(path, hash);
                    hash
                }
            };
            by_name.insert(name, hash);
        }
        Ok(Expected { by_name })
    }

    /// `Ok` when `data` is what `name` should contain.
    pub fn check(&self, name: &str, data: &[u8]) -> Result<(), FailureKind> {
        let actual: [u8; 32] = Sha256::digest(data).into();
        match self.by_name.get(name) {
            Some(expected) if *expected == actual => Ok(()),
            _ => Err(FailureKind::ContentMismatch),
        }
    }
}

fn alias_of(name: &str) -> Option<&'static str> {
    let is_device = |prefix: &str| {
        name.len() == prefix.len() + 12 + 4
            && name.starts_with(prefix)
            && name.ends_with(".tlv")
            && name[prefix.len()..prefix.len() + 12]
                .bytes()
                .all(|b| b.is_ascii_hexdigit())
    };
    if is_device("CTLSEP") {
        Some("CTLFile.tlv")
    } else if is_device("ITLSEP") {
        Some("ITLFile.tlv")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_device_names_alias_the_cluster_files() {
        assert_eq!(alias_of("CTLSEP001E4A93748B.tlv"), Some("CTLFile.tlv"));
        assert_eq!(alias_of("ITLSEP001E4A93748B.tlv"), Some("ITLFile.tlv"));
        assert_eq!(alias_of("CTLSEP001E4A93748.tlv"), None);
        assert_eq!(alias_of("SEP001E4A93748B.cnf.xml"), None);
    }
}
