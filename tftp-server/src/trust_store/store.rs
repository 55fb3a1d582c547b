//! The store directory and its crash-safe updates.
//!
//! Layout of `--store DIR` (for the default file name):
//!
//! | path | content |
//! |---|---|
//! | `CTLFile.tlv` | the trusted file (its rename is the commit point of an update) |
//! | `CTLFile.tlv.previous` | the file it replaced (absent until the first update) |
//! | `state.json` | [`State`]: when accepted, from which server, SHA-256, signer |
//! | `certs/` | certificates for TLS clients, see [`CertificateFile`] |
//! | `.lock` | advisory lock file: one update at a time |
//!
//! An update runs, under the lock, the [`CommitStep`]s in order. Before the commit point
//! only staged files exist (`state.pending.json`, `CTLFile.tlv.previous.pending`, temp
//! files); after it, the store is brought in line with the new trusted file. Every
//! [`Store::lock`] first finishes (commit point passed: the pending state's SHA-256 is the
//! trusted file's) or discards (not passed) a half-done update, and rebuilds `certs/` and
//! `state.json` if they do not match the trusted file. So a crash at any point leaves the
//! old or the new trust list, never a mix.
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ctl_format::{Role, TrustList};
use ctl_sign::CertificateRecord;
use serde::{Deserialize, Serialize};

use super::decide::{evaluate, sha256_hex, Pin, Verdict};

const STATE: &str = "state.json";
const PENDING_STATE: &str = "state.pending.json";
const CERTS: &str = "certs";
const CERTS_NEW: &str = "certs.new";
const CERTS_OLD: &str = "certs.old";
const LOCK: &str = ".lock";
/// Inside `certs/`: SHA-256 of the trusted file the certificates came from.
const CERTS_SOURCE: &str = ".source-sha256";
/// Inside `certs/`: the CCM, CCM+TFTP and TFTP certificates in one PEM file.
pub const TLS_BUNDLE: &str = "tls-servers.pem";

/// The steps of an update, in order. A [`FaultHook`] is called after each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CommitStep {
    /// `state.pending.json` (the new state) is in place.
    PendingStateWritten,
    /// The current trusted file is copied to `<file>.previous.pending`.
    BackupStaged,
    /// The new file is in a synced temp file, not yet renamed.
    TrustedFileWritten,
    /// The new file replaced the trusted file: the commit point.
    TrustedFileRenamed,
    /// `<file>.previous.pending` became `<file>.previous`.
    BackupInstalled,
    /// The new certificates are in `certs.new/`.
    CertificatesStaged,
    /// The old `certs/` was moved to `certs.old/`.
    OldCertificatesMovedAside,
    /// `certs.new/` became `certs/`.
    CertificatesInstalled,
    /// `state.pending.json` became `state.json`: the update is complete.
    StateWritten,
}

impl CommitStep {
    /// Every step, in order.
    pub const ALL: [CommitStep; 9] = [
        CommitStep::PendingStateWritten,
        CommitStep::BackupStaged,
        CommitStep::TrustedFileWritten,
        CommitStep::TrustedFileRenamed,
        CommitStep::BackupInstalled,
        CommitStep::CertificatesStaged,
        CommitStep::OldCertificatesMovedAside,
        CommitStep::CertificatesInstalled,
        CommitStep::StateWritten,
    ];

    /// True from the commit point on: the new file is the trusted one.
    pub fn is_committed(self) -> bool {
        Self::ALL.iter().position(|s| *s == self)
            >= Self::ALL
                .iter()
                .position(|s| *s == CommitStep::TrustedFileRenamed)
    }
}

/// Called after each [`CommitStep`]; an error stops the update right there, as if the
/// process had been killed (no cleanup), which is how tests simulate crashes.
pub type FaultHook = Arc<dyn Fn(CommitStep) -> io::Result<()> + Send + Sync>;

/// How the trusted file came to be trusted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Acceptance {
    /// Trust on first use, nothing checked but the file's own signature.
    FirstUse,
    /// First use, matching a `--expect-sha256` or `--trust-anchor` pin.
    FirstUsePinned,
    /// Signed by a SAST key of the file it replaced.
    SignedUpdate,
    /// Found in the store without a matching state (state rebuilt; history unknown).
    Recovered,
}

/// `state.json`: what is trusted and since when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// Name of the trusted file in the store (and on the TFTP server).
    pub file: String,
    /// SHA-256 of the trusted file (hex).
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
    /// When it was accepted (Unix seconds); `None` when recovered.
    pub accepted_at: Option<u64>,
    /// The same as UTC ISO-8601.
    pub accepted_at_utc: Option<String>,
    /// The server it came from (`HOST:PORT` as given).
    pub server: Option<String>,
    /// How it came to be trusted.
    pub how: Acceptance,
    /// The pin it matched on first use.
    pub pin: Option<String>,
    /// Subject of the record that signed it.
    pub signer: Option<String>,
    /// For an update: the SAST record of the previous file whose key verified it.
    pub verified_by: Option<String>,
    /// SHA-256 of the file it replaced.
    pub previous_sha256: Option<String>,
    /// Warnings raised when it was accepted.
    pub warnings: Vec<String>,
}

/// One certificate extracted into `certs/`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CertificateFile {
    /// Path relative to the store, e.g. `certs/CAPF.0`.
    pub path: String,
    /// Record role (SAST, CCM, CCM+TFTP, TFTP, CAPF).
    pub role: String,
    /// Record subject.
    pub subject: String,
    /// Certificate expiry (UTC ISO-8601), when the certificate parses.
    pub not_after: Option<String>,
}

/// What the store trusts now.
#[derive(Clone, Debug)]
pub struct Trusted {
    /// The trusted file's bytes.
    pub bytes: Vec<u8>,
    /// Its state.
    pub state: State,
    /// The certificates extracted from it.
    pub certificates: Vec<CertificateFile>,
}

/// A store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file operation failed.
    #[error("store {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// The file name cannot be used in a store.
    #[error("file name {0:?} cannot be stored: give a plain name such as CTLFile.tlv")]
    BadFileName(String),
    /// The store holds another trust list.
    #[error("store {dir} holds {held}, not {requested}: use one store per trust list")]
    OtherFile {
        /// The store directory.
        dir: PathBuf,
        /// The file it holds.
        held: String,
        /// The file asked for.
        requested: String,
    },
    /// A [`FaultHook`] stopped the update (tests).
    #[error("update interrupted after step {0:?}")]
    Interrupted(CommitStep),
}

/// A trust store directory for one trust-list file.
#[derive(Clone)]
pub struct Store {
    dir: PathBuf,
    file_name: String,
    fault: Option<FaultHook>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("dir", &self.dir)
            .field("file_name", &self.file_name)
            .finish_non_exhaustive()
    }
}

/// The store, locked and recovered. Dropping it releases the lock.
#[derive(Debug)]
pub struct Locked<'a> {
    store: &'a Store,
    _lock: File,
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_owned(),
        source,
    }
}

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, StoreError> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_at(path)(e)),
    }
}

fn read_state(path: &Path) -> Result<Option<State>, StoreError> {
    // An unreadable state file is rebuilt from the trusted file, like a missing one.
    Ok(read_optional(path)?.and_then(|bytes| serde_json::from_slice(&bytes).ok()))
}

fn remove_file_if_present(path: &Path) -> Result<(), StoreError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_at(path)(e)),
        _ => Ok(()),
    }
}

fn remove_dir_if_present(path: &Path) -> Result<(), StoreError> {
    match fs::remove_dir_all(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_at(path)(e)),
        _ => Ok(()),
    }
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io_at(dir))
}

fn rename(from: &Path, to: &Path) -> Result<(), StoreError> {
    fs::rename(from, to).map_err(io_at(from))
}

/// Writes `bytes` to `path` and syncs it (no rename).
fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(io_at(path))?;
    file.write_all(bytes).map_err(io_at(path))?;
    file.sync_all().map_err(io_at(path))
}

fn temp_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!(".{name}.tmp"))
}

/// Temp file, sync, rename, sync directory.
fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), StoreError> {
    let temp = temp_path(dir, name);
    write_synced(&temp, bytes)?;
    rename(&temp, &dir.join(name))?;
    sync_dir(dir)
}

fn common_name(subject: &str) -> Option<&str> {
    subject
        .split([';', ','])
        .find_map(|part| part.trim().strip_prefix("CN="))
}

fn safe_name(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The certificates a TLS client needs, as (file name in `certs/`, PEM, description).
/// CAPF certificates are named `CAPF.0`, `CAPF.1`, ... like CUCM's; the others
/// `<ROLE>-<CN>.pem`.
fn extract_certificates(list: &TrustList) -> Vec<(String, String, CertificateFile)> {
    let mut out: Vec<(String, String, CertificateFile)> = Vec::new();
    let mut capf_count = 0;
    for (index, record) in list.records.iter().enumerate() {
        let Ok(role) = record.role() else { continue };
        if !matches!(
            role,
            Role::Sast | Role::Ccm | Role::CcmTftp | Role::Tftp | Role::Capf
        ) {
            continue;
        }
        let Some(der) = record.certificate() else {
            continue;
        };
        let subject = record
            .subject()
            .map(|s| String::from_utf8_lossy(s).trim_end_matches('\0').to_owned())
            .unwrap_or_default();
        let name = if role == Role::Capf {
            capf_count += 1;
            format!("CAPF.{}", capf_count - 1)
        } else {
            let label = common_name(&subject)
                .map(str::to_owned)
                .or_else(|| {
                    record
                        .dns_name()
                        .map(|d| String::from_utf8_lossy(d).trim_end_matches('\0').to_owned())
                })
                .filter(|l| !l.is_empty())
                .unwrap_or_else(|| format!("record{index}"));
            let base = format!("{role}-{}", safe_name(&label));
            if out.iter().any(|(n, _, _)| *n == format!("{base}.pem")) {
                format!("{base}-{index}.pem")
            } else {
                format!("{base}.pem")
            }
        };
        let pem =
            pem_rfc7468::encode_string("CERTIFICATE", pem_rfc7468::LineEnding::LF, der).unwrap_or_default();
        let not_after = CertificateRecord::from_der(der.to_vec(), &name)
            .ok()
            .and_then(|c| u32::try_from(c.not_after).ok())
            .map(ctl_format::dump::utc_iso8601);
        out.push((
            name.clone(),
            pem,
            CertificateFile {
                path: format!("{CERTS}/{name}"),
                role: role.to_string(),
                subject,
                not_after,
            },
        ));
    }
    out
}

impl Store {
    /// A store in `dir` for the trust list named `file_name` (e.g. `CTLFile.tlv`). Nothing
    /// is touched until [`Store::lock`].
    pub fn new(dir: impl Into<PathBuf>, file_name: &str) -> Result<Store, StoreError> {
        let reserved = [STATE, PENDING_STATE, CERTS, CERTS_NEW, CERTS_OLD];
        let plain = !file_name.is_empty()
            && !file_name.starts_with('.')
            && !file_name.contains(['/', '\\', '\0'])
            && !reserved.contains(&file_name)
            && !file_name.ends_with(".previous")
            && !file_name.ends_with(".pending");
        if !plain {
            return Err(StoreError::BadFileName(file_name.to_owned()));
        }
        Ok(Store {
            dir: dir.into(),
            file_name: file_name.to_owned(),
            fault: None,
        })
    }

    /// The same store with a [`FaultHook`] (crash simulation in tests).
    pub fn with_fault_hook(mut self, hook: FaultHook) -> Store {
        self.fault = Some(hook);
        self
    }

    /// The name of the trust list a store directory holds, from its state file.
    pub fn held_file_name(dir: &Path) -> Option<String> {
        [STATE, PENDING_STATE]
            .iter()
            .find_map(|name| read_state(&dir.join(name)).ok().flatten())
            .map(|state| state.file)
    }

    /// The store directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The trusted file's name.
    pub fn file_name(&self) -> &str {
        &self.file_name
    }

    /// Path of the trusted file.
    pub fn trusted_path(&self) -> PathBuf {
        self.dir.join(&self.file_name)
    }

    /// Path of the backup of the previous trusted file.
    pub fn previous_path(&self) -> PathBuf {
        self.dir.join(format!("{}.previous", self.file_name))
    }

    /// Path of the state file.
    pub fn state_path(&self) -> PathBuf {
        self.dir.join(STATE)
    }

    /// Directory of the extracted certificates.
    pub fn certs_dir(&self) -> PathBuf {
        self.dir.join(CERTS)
    }

    fn staged_backup_path(&self) -> PathBuf {
        self.dir.join(format!("{}.previous.pending", self.file_name))
    }

    /// Creates the directory if needed, takes the exclusive lock (waiting for another
    /// process or thread that holds it) and repairs a half-done update.
    pub fn lock(&self) -> Result<Locked<'_>, StoreError> {
        fs::create_dir_all(&self.dir).map_err(io_at(&self.dir))?;
        let lock_path = self.dir.join(LOCK);
        let lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(io_at(&lock_path))?;
        fs4::FileExt::lock(&lock).map_err(io_at(&lock_path))?;
        let locked = Locked {
            store: self,
            _lock: lock,
        };
        if let Some(held) = [STATE, PENDING_STATE]
            .iter()
            .find_map(|name| read_state(&self.dir.join(name)).ok().flatten())
            .map(|s| s.file)
        {
            if held != self.file_name {
                return Err(StoreError::OtherFile {
                    dir: self.dir.clone(),
                    held,
                    requested: self.file_name.clone(),
                });
            }
        }
        locked.recover()?;
        Ok(locked)
    }

    /// Offers a downloaded file: decides under the lock, against what is stored at that
    /// moment, and commits it when it is acceptable. `server` and `now` (Unix seconds) go
    /// into the state file.
    pub fn offer(&self, candidate: &[u8], server: &str, pin: &Pin, now: u64) -> Result<Verdict, StoreError> {
        let locked = self.lock()?;
        let stored = locked.trusted_bytes()?;
        let verdict = evaluate(stored.as_deref(), candidate, pin);
        let base = State {
            file: self.file_name.clone(),
            sha256: sha256_hex(candidate),
            size: candidate.len() as u64,
            accepted_at: Some(now),
            accepted_at_utc: u32::try_from(now).ok().map(ctl_format::dump::utc_iso8601),
            server: Some(server.to_owned()),
            how: Acceptance::FirstUse,
            pin: None,
            signer: None,
            verified_by: None,
            previous_sha256: stored.as_deref().map(sha256_hex),
            warnings: Vec::new(),
        };
        let state = match &verdict {
            Verdict::FirstUse {
                pinned,
                signer,
                warnings,
            } => State {
                how: if pinned.is_some() {
                    Acceptance::FirstUsePinned
                } else {
                    Acceptance::FirstUse
                },
                pin: pinned.map(str::to_owned),
                signer: Some(signer.clone()),
                warnings: warnings.clone(),
                ..base
            },
            Verdict::Update {
                signer,
                verified_by,
                warnings,
            } => State {
                how: Acceptance::SignedUpdate,
                signer: Some(signer.clone()),
                verified_by: Some(verified_by.clone()),
                warnings: warnings.clone(),
                ..base
            },
            Verdict::Unchanged | Verdict::Rejected(_) => return Ok(verdict),
        };
        locked.commit(candidate, &state)?;
        Ok(verdict)
    }

    /// What the store trusts (after repairing a half-done update), or `None` when empty.
    pub fn show(&self) -> Result<Option<Trusted>, StoreError> {
        self.lock()?.trusted()
    }
}

impl Locked<'_> {
    fn step(&self, step: CommitStep) -> Result<(), StoreError> {
        match &self.store.fault {
            Some(hook) => hook(step).map_err(|_| StoreError::Interrupted(step)),
            None => Ok(()),
        }
    }

    /// The trusted file's bytes, if any.
    pub fn trusted_bytes(&self) -> Result<Option<Vec<u8>>, StoreError> {
        read_optional(&self.store.trusted_path())
    }

    /// The trusted file with its state and certificates, if any.
    pub fn trusted(&self) -> Result<Option<Trusted>, StoreError> {
        let Some(bytes) = self.trusted_bytes()? else {
            return Ok(None);
        };
        let state = read_state(&self.store.state_path())?.ok_or_else(|| StoreError::Io {
            path: self.store.state_path(),
            source: io::Error::other("missing after recovery"),
        })?;
        let certificates = TrustList::parse(&bytes)
            .map(|list| {
                extract_certificates(&list)
                    .into_iter()
                    .map(|(_, _, c)| c)
                    .collect()
            })
            .unwrap_or_default();
        Ok(Some(Trusted {
            bytes,
            state,
            certificates,
        }))
    }

    /// Replaces the trusted file with `bytes` and `state`, step by step (see the module
    /// documentation). The caller has decided that `bytes` is acceptable.
    pub fn commit(&self, bytes: &[u8], state: &State) -> Result<(), StoreError> {
        let store = self.store;
        let dir = &store.dir;
        let state_json = serde_json::to_vec_pretty(state).unwrap_or_default();
        write_atomic(dir, PENDING_STATE, &state_json)?;
        self.step(CommitStep::PendingStateWritten)?;
        if let Some(old) = self.trusted_bytes()? {
            let staged = store.staged_backup_path();
            let name = staged
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            write_atomic(dir, &name, &old)?;
        }
        self.step(CommitStep::BackupStaged)?;
        let temp = temp_path(dir, &store.file_name);
        write_synced(&temp, bytes)?;
        self.step(CommitStep::TrustedFileWritten)?;
        rename(&temp, &store.trusted_path())?;
        sync_dir(dir)?;
        self.step(CommitStep::TrustedFileRenamed)?;
        self.finish(bytes)
    }

    /// Everything after the commit point; also how recovery completes an update.
    fn finish(&self, bytes: &[u8]) -> Result<(), StoreError> {
        let store = self.store;
        let staged = store.staged_backup_path();
        if staged.exists() {
            rename(&staged, &store.previous_path())?;
            sync_dir(&store.dir)?;
        }
        self.step(CommitStep::BackupInstalled)?;
        self.install_certificates(bytes)?;
        rename(&store.dir.join(PENDING_STATE), &store.state_path())?;
        sync_dir(&store.dir)?;
        self.step(CommitStep::StateWritten)
    }

    fn install_certificates(&self, bytes: &[u8]) -> Result<(), StoreError> {
        let dir = &self.store.dir;
        let new = dir.join(CERTS_NEW);
        let old = dir.join(CERTS_OLD);
        let current = dir.join(CERTS);
        remove_dir_if_present(&new)?;
        fs::create_dir(&new).map_err(io_at(&new))?;
        let files = TrustList::parse(bytes)
            .map(|list| extract_certificates(&list))
            .unwrap_or_default();
        let mut bundle = String::new();
        for (name, pem, info) in &files {
            write_synced(&new.join(name), pem.as_bytes())?;
            if matches!(info.role.as_str(), "CCM" | "CCM+TFTP" | "TFTP") {
                bundle.push_str(pem);
            }
        }
        write_synced(&new.join(TLS_BUNDLE), bundle.as_bytes())?;
        write_synced(&new.join(CERTS_SOURCE), sha256_hex(bytes).as_bytes())?;
        sync_dir(&new)?;
        self.step(CommitStep::CertificatesStaged)?;
        remove_dir_if_present(&old)?;
        if current.exists() {
            rename(&current, &old)?;
        }
        self.step(CommitStep::OldCertificatesMovedAside)?;
        rename(&new, &current)?;
        sync_dir(dir)?;
        self.step(CommitStep::CertificatesInstalled)?;
        remove_dir_if_present(&old)
    }

    /// Brings the store in line with its trusted file (see the module documentation).
    fn recover(&self) -> Result<(), StoreError> {
        let store = self.store;
        let dir = &store.dir;
        // Temp files are never part of a committed state.
        for entry in fs::read_dir(dir).map_err(io_at(dir))? {
            let entry = entry.map_err(io_at(dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') && name.ends_with(".tmp") {
                remove_file_if_present(&entry.path())?;
            }
        }
        remove_dir_if_present(&dir.join(CERTS_NEW))?;
        let trusted = self.trusted_bytes()?;
        let trusted_sha = trusted.as_deref().map(sha256_hex);
        let pending_path = dir.join(PENDING_STATE);
        let pending = read_state(&pending_path)?;
        match (&trusted, pending) {
            (Some(bytes), Some(p)) if Some(&p.sha256) == trusted_sha.as_ref() => {
                // Crashed after the commit point: complete the update.
                return self.finish(bytes);
            }
            _ => {
                // No update in progress, or crashed before the commit point: discard it.
                remove_file_if_present(&pending_path)?;
                remove_file_if_present(&store.staged_backup_path())?;
            }
        }
        let Some(bytes) = trusted else {
            // The trusted file is the truth: without it, nothing else is valid.
            remove_file_if_present(&store.state_path())?;
            remove_dir_if_present(&store.certs_dir())?;
            remove_dir_if_present(&dir.join(CERTS_OLD))?;
            return Ok(());
        };
        let sha = sha256_hex(&bytes);
        let certs_source = fs::read_to_string(store.certs_dir().join(CERTS_SOURCE)).ok();
        if certs_source.as_deref() != Some(sha.as_str()) {
            self.install_certificates(&bytes)?;
        }
        remove_dir_if_present(&dir.join(CERTS_OLD))?;
        let state = read_state(&store.state_path())?;
        if state.as_ref().map(|s| &s.sha256) != Some(&sha) {
            let signer = TrustList::parse(&bytes).ok().and_then(|l| {
                l.header
                    .signer_name()
                    .ok()
                    .map(|s| String::from_utf8_lossy(s).trim_end_matches('\0').to_owned())
            });
            let rebuilt = State {
                file: store.file_name.clone(),
                sha256: sha,
                size: bytes.len() as u64,
                accepted_at: None,
                accepted_at_utc: None,
                server: None,
                how: Acceptance::Recovered,
                pin: None,
                signer,
                verified_by: None,
                previous_sha256: None,
                warnings: vec![
                    "state rebuilt from the trusted file; when and from where it came is unknown".to_owned(),
                ],
            };
            let json = serde_json::to_vec_pretty(&rebuilt).unwrap_or_default();
            write_atomic(dir, STATE, &json)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trust_store::test_support::{signed, Key};
    use crate::trust_store::RejectReason;

    fn listing(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// Checks every invariant of a settled store holding `expected`.
    fn assert_valid_store(store: &Store, expected: &[u8]) {
        let trusted = store.show().unwrap().expect("a trusted file");
        assert_eq!(trusted.bytes, expected, "trusted file");
        assert_eq!(trusted.state.sha256, sha256_hex(expected));
        assert_eq!(trusted.state.file, "CTLFile.tlv");
        let certs = store.certs_dir();
        assert_eq!(
            fs::read_to_string(certs.join(CERTS_SOURCE)).unwrap(),
            sha256_hex(expected)
        );
        // Each extracted PEM is the DER of the matching record, byte for byte.
        let list = TrustList::parse(expected).unwrap();
        let ders: Vec<&[u8]> = list.records.iter().filter_map(|r| r.certificate()).collect();
        for cert in &trusted.certificates {
            let pem = fs::read_to_string(store.dir().join(&cert.path)).unwrap();
            let (label, der) = pem_rfc7468::decode_vec(pem.as_bytes()).unwrap();
            assert_eq!(label, "CERTIFICATE");
            assert!(ders.contains(&der.as_slice()), "{} not from the file", cert.path);
        }
        let names = listing(store.dir());
        for leftover in [
            PENDING_STATE,
            CERTS_NEW,
            CERTS_OLD,
            "CTLFile.tlv.previous.pending",
        ] {
            assert!(!names.iter().any(|n| n == leftover), "{leftover} left: {names:?}");
        }
        assert!(!names.iter().any(|n| n.ends_with(".tmp")), "{names:?}");
    }

    #[test]
    fn first_use_writes_file_state_and_certificates() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path(), "CTLFile.tlv").unwrap();
        assert!(store.show().unwrap().is_none());
        let v1 = signed(&[Key::Sast1, Key::Sast2], Key::Sast1, 1);
        let verdict = store
            .offer(&v1, "127.0.0.1:69", &Pin::None, 1_700_000_000)
            .unwrap();
        assert!(matches!(verdict, Verdict::FirstUse { pinned: None, .. }));
        assert_valid_store(&store, &v1);
        let trusted = store.show().unwrap().unwrap();
        assert_eq!(trusted.state.how, Acceptance::FirstUse);
        assert_eq!(trusted.state.server.as_deref(), Some("127.0.0.1:69"));
        assert_eq!(trusted.state.accepted_at, Some(1_700_000_000));
        assert_eq!(
            trusted.state.accepted_at_utc.as_deref(),
            Some("2023-11-14T22:13:20Z")
        );
        assert!(trusted
            .state
            .signer
            .as_deref()
            .unwrap()
            .contains("SAST-ctl-fixture-1"));
        let mut names: Vec<&str> = trusted.certificates.iter().map(|c| c.path.as_str()).collect();
        names.sort();
        assert_eq!(
            names,
            vec![
                "certs/CAPF.0",
                "certs/CCM+TFTP-cucm-pub.example.com.pem",
                "certs/SAST-SAST-ctl-fixture-1.pem",
                "certs/SAST-SAST-ctl-fixture-2.pem",
                "certs/TFTP-tftp1.example.com.pem",
            ]
        );
        // The CAPF PEM is the fixture CAPF.0 certificate (compared as DER).
        let fixture = CertificateRecord::from_file(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fixtures/pki/CAPF.0"
        )))
        .unwrap();
        let pem = fs::read(dir.path().join("certs/CAPF.0")).unwrap();
        assert_eq!(pem_rfc7468::decode_vec(&pem).unwrap().1, fixture.der);
        // The TLS bundle holds the CCM+TFTP and TFTP certificates only.
        let bundle = fs::read_to_string(dir.path().join("certs").join(TLS_BUNDLE)).unwrap();
        assert_eq!(bundle.matches("BEGIN CERTIFICATE").count(), 2);
        assert!(!store.previous_path().exists());
    }

    #[test]
    fn update_keeps_a_backup_and_rejection_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path(), "CTLFile.tlv").unwrap();
        let v1 = signed(&[Key::Sast1, Key::Sast2], Key::Sast1, 1);
        let v2 = signed(&[Key::Sast1, Key::Sast2], Key::Sast2, 2);
        store.offer(&v1, "a:69", &Pin::None, 1).unwrap();
        let verdict = store.offer(&v2, "b:69", &Pin::None, 2).unwrap();
        assert!(matches!(verdict, Verdict::Update { .. }), "{verdict:?}");
        assert_valid_store(&store, &v2);
        assert_eq!(fs::read(store.previous_path()).unwrap(), v1);
        let state = store.show().unwrap().unwrap().state;
        assert_eq!(state.how, Acceptance::SignedUpdate);
        assert_eq!(state.previous_sha256, Some(sha256_hex(&v1)));
        assert!(state.verified_by.unwrap().contains("SAST-ctl-fixture-2"));

        let before: Vec<(String, Vec<u8>)> = [STATE, "CTLFile.tlv", "CTLFile.tlv.previous"]
            .iter()
            .map(|n| (n.to_string(), fs::read(dir.path().join(n)).unwrap()))
            .collect();
        let stranger = signed(&[Key::Sast3], Key::Sast3, 3);
        let verdict = store.offer(&stranger, "c:69", &Pin::None, 3).unwrap();
        assert!(matches!(verdict, Verdict::Rejected(RejectReason::NotTrusted(_))));
        assert_eq!(
            store.offer(&v2, "c:69", &Pin::None, 3).unwrap(),
            Verdict::Unchanged
        );
        for (name, bytes) in before {
            assert_eq!(fs::read(dir.path().join(&name)).unwrap(), bytes, "{name}");
        }
    }

    #[test]
    fn a_crash_after_any_step_leaves_the_old_or_the_new_store() {
        let v1 = signed(&[Key::Sast1, Key::Sast2], Key::Sast1, 1);
        let v2 = signed(&[Key::Sast1, Key::Sast2], Key::Sast2, 2);
        for first_use in [true, false] {
            for crash_at in CommitStep::ALL {
                let dir = tempfile::tempdir().unwrap();
                let plain = Store::new(dir.path(), "CTLFile.tlv").unwrap();
                let (old, new): (Option<&[u8]>, &[u8]) =
                    if first_use { (None, &v1) } else { (Some(&v1), &v2) };
                if let Some(old) = old {
                    plain.offer(old, "a:69", &Pin::None, 1).unwrap();
                }
                let crashing = plain.clone().with_fault_hook(Arc::new(move |step| {
                    if step == crash_at {
                        Err(io::Error::other("killed"))
                    } else {
                        Ok(())
                    }
                }));
                let err = crashing.offer(new, "b:69", &Pin::None, 2).unwrap_err();
                assert!(matches!(err, StoreError::Interrupted(s) if s == crash_at));
                // Before any repair, the trusted file alone is already old or new.
                let raw = fs::read(plain.trusted_path()).ok();
                let expected = if crash_at.is_committed() { Some(new) } else { old };
                assert_eq!(raw.as_deref(), expected, "crash after {crash_at:?}");
                // The next open repairs the rest.
                match expected {
                    Some(bytes) => assert_valid_store(&plain, bytes),
                    None => {
                        assert!(plain.show().unwrap().is_none(), "{crash_at:?}");
                        let names = listing(dir.path());
                        assert_eq!(names, vec![LOCK.to_owned()], "{crash_at:?}");
                    }
                }
                if !first_use {
                    let backup = fs::read(plain.previous_path()).ok();
                    let expected_backup = crash_at.is_committed().then_some(v1.as_slice());
                    assert_eq!(backup.as_deref(), expected_backup, "{crash_at:?}");
                }
                // And the store keeps working.
                let again = plain.offer(new, "b:69", &Pin::None, 3).unwrap();
                let expected_verdict_is_unchanged = crash_at.is_committed();
                assert_eq!(
                    again == Verdict::Unchanged,
                    expected_verdict_is_unchanged,
                    "{crash_at:?}: {again:?}"
                );
                assert_valid_store(&plain, new);
            }
        }
    }

    #[test]
    fn a_lost_state_file_is_rebuilt_and_marked_recovered() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path(), "CTLFile.tlv").unwrap();
        let v1 = signed(&[Key::Sast1, Key::Sast2], Key::Sast1, 1);
        store.offer(&v1, "a:69", &Pin::None, 1).unwrap();
        fs::write(store.state_path(), b"{ truncated").unwrap();
        fs::remove_dir_all(store.certs_dir()).unwrap();
        assert_valid_store(&store, &v1);
        let state = store.show().unwrap().unwrap().state;
        assert_eq!(state.how, Acceptance::Recovered);
        assert_eq!(state.accepted_at, None);
    }

    #[test]
    fn file_names_are_checked_and_one_store_holds_one_list() {
        for bad in ["", ".hidden", "a/b", "state.json", "certs", "x.previous"] {
            assert!(
                matches!(Store::new("/tmp/x", bad), Err(StoreError::BadFileName(_))),
                "{bad}"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path(), "CTLFile.tlv").unwrap();
        let v1 = signed(&[Key::Sast1, Key::Sast2], Key::Sast1, 1);
        store.offer(&v1, "a:69", &Pin::None, 1).unwrap();
        assert_eq!(Store::held_file_name(dir.path()).as_deref(), Some("CTLFile.tlv"));
        let itl = Store::new(dir.path(), "ITLFile.tlv").unwrap();
        assert!(matches!(itl.lock(), Err(StoreError::OtherFile { .. })));
    }

    #[test]
    fn concurrent_offers_serialise_and_leave_one_consistent_store() {
        let dir = tempfile::tempdir().unwrap();
        let v1 = signed(&[Key::Sast1, Key::Sast2], Key::Sast1, 1);
        let v2 = signed(&[Key::Sast1, Key::Sast2], Key::Sast2, 2);
        let v3 = signed(&[Key::Sast2, Key::Sast3], Key::Sast2, 3);
        // Every thread offers the whole sequence; whatever the interleaving, each offer
        // is decided against the file stored at that moment, so the store ends at v3.
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let path = dir.path().to_owned();
                let files = [v1.clone(), v2.clone(), v3.clone()];
                std::thread::spawn(move || {
                    let store = Store::new(path, "CTLFile.tlv").unwrap();
                    for (i, file) in files.iter().enumerate() {
                        store.offer(file, "a:69", &Pin::None, i as u64).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let store = Store::new(dir.path(), "CTLFile.tlv").unwrap();
        assert_valid_store(&store, &v3);
    }
}
