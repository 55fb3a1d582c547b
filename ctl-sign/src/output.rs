//! Atomic output: a file is either the old one or the complete new one, never half.
use std::io::Write;
use std::path::Path;

/// Why an output file was not written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// The file exists and replacing it was not allowed.
    #[error("{0} exists; use --force to replace it")]
    Exists(String),
    /// An I/O step failed.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The output path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Writes `bytes` to `path` via a temporary file in the same directory, fsync, rename.
/// Refuses to replace an existing file unless `force`; without it the final step is a
/// no-replace link, so a file that appears meanwhile is not overwritten either.
pub fn write_atomic(path: &Path, bytes: &[u8], force: bool) -> Result<(), OutputError> {
    let name = path.display().to_string();
    if !force && path.exists() {
        return Err(OutputError::Exists(name));
    }
    let io = |source| OutputError::Io {
        path: name.clone(),
        source,
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => std::path::PathBuf::from("."),
    };
    // Removed on drop if anything below fails.
    let mut temp = tempfile::Builder::new()
        .prefix(".ctl-")
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(io)?;
    temp.write_all(bytes).map_err(io)?;
    temp.as_file().sync_all().map_err(io)?;
    let persisted = if force {
        temp.persist(path)
    } else {
        temp.persist_noclobber(path)
    };
    if let Err(err) = persisted {
        if err.error.kind() == std::io::ErrorKind::AlreadyExists {
            return Err(OutputError::Exists(name));
        }
        return Err(io(err.error));
    }
    // Make the rename durable too.
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_to_replace_without_force_and_replaces_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("CTLFile.tlv");
        write_atomic(&path, b"one", false).unwrap();
        let err = write_atomic(&path, b"two", false).unwrap_err();
        assert!(err.to_string().contains("--force"));
        assert_eq!(std::fs::read(&path).unwrap(), b"one");
        write_atomic(&path, b"two", true).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        // No temp file left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
