//! The file catalog: what the server may send, one consistent version per transfer.
//!
//! * One root. Request names are checked first ([`check_request_name`]); the resolved path is
//!   canonicalised and must stay under the canonical root, so symlinks cannot leave it.
//!   Errors returned to clients never contain server paths.
//! * Case-insensitive lookup (an exact-case match wins when several files differ only in case).
//! * Per-device aliases: `CTLSEP<MAC>.tlv` / `ITLSEP<MAC>.tlv` are served from that file when
//!   it exists, else from `CTLFile.tlv` / `ITLFile.tlv`.
//! * Snapshots: trust lists (`*.tlv`) are held in memory as immutable [`Bytes`]; other files
//!   are opened when a transfer starts and read through that handle, so a file replaced by
//!   rename keeps serving the old version to transfers already running.
//! * [`Catalog::refresh`] rescans the root (the server calls it on a timer) and swaps the index
//!   atomically. A new or changed trust list passes the [`PublishGuard`] first; if it is
//!   refused the old version stays on the wire and an error is logged.

mod ctl_guard;
mod guard;
mod names;

pub use ctl_guard::CtlSignGuard;

pub use guard::{PublishGuard, Rejection, TrustListInfo};
pub use names::{
    check_request_name, device_alias, device_mac, is_trust_list, DeviceAlias, DeviceListKind, NameRejection,
    MAX_NAME_LEN,
};

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::fs::{File, Metadata};
use std::io::{self, Read};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Duration;

use bytes::Bytes;

/// Settings of a [`Catalog`].
#[derive(Debug, Clone)]
pub struct CatalogOptions {
    /// Publish a changed trust list even if the guard refuses it (first deployment, reset).
    pub allow_untrusted_update: bool,
    /// Trust lists larger than this are refused (they are held in memory).
    pub max_trust_list_size: u64,
    /// How deep subdirectories of the root are scanned.
    pub max_depth: usize,
    /// At most this many files are indexed; the rest are ignored with a warning.
    pub max_files: usize,
    /// Budget for snapshots of plain files kept between transfers (bytes). A file version
    /// is read once and every concurrent transfer of it shares that buffer; beyond the
    /// budget a snapshot lives only while some transfer holds it.
    pub file_cache_bytes: u64,
    /// Where the last published version of each trust list is remembered, so that after a
    /// restart the publish guard still checks the files found against what devices hold.
    /// `None`: a restart serves what it finds (after checking that it verifies).
    pub state_dir: Option<PathBuf>,
}

impl Default for CatalogOptions {
    fn default() -> Self {
        CatalogOptions {
            allow_untrusted_update: false,
            max_trust_list_size: 16 * 1024 * 1024,
            max_depth: 8,
            max_files: 1_000_000,
            file_cache_bytes: 256 * 1024 * 1024,
            state_dir: None,
        }
    }
}

/// A catalog that cannot be opened or rescanned. Operator-facing: may name paths.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The root does not exist or is not a readable directory.
    #[error("cannot open TFTP root {path}: {source}")]
    Root {
        /// The root as given.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The state directory cannot be created or read.
    #[error("cannot use state directory {path}: {source}")]
    StateDir {
        /// The directory as given.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
}

/// Why a request cannot be served. Client-facing: the text goes into an ERROR packet and
/// never contains a server path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    /// No such file (TFTP error 1).
    #[error("file not found")]
    NotFound,
    /// The name is refused by the naming rules (TFTP error 2).
    #[error("access violation: {0}")]
    NameNotAllowed(NameRejection),
    /// The file exists but may not or cannot be read (TFTP error 2).
    #[error("access violation")]
    AccessDenied,
}

/// The bytes one transfer sends: an immutable snapshot.
#[derive(Clone)]
pub enum Content {
    /// Held in memory (trust lists, embedded files).
    Memory(Bytes),
    /// An open file; `len` is its size when the transfer started.
    File {
        /// The handle opened at request time.
        file: Arc<File>,
        /// Size at open time; a shorter read later means the file was truncated in place.
        len: u64,
    },
}

impl fmt::Debug for Content {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Content::Memory(bytes) => write!(f, "Memory({} bytes)", bytes.len()),
            Content::File { len, .. } => write!(f, "File({len} bytes)"),
        }
    }
}

impl Content {
    /// Total size in bytes.
    pub fn len(&self) -> u64 {
        match self {
            Content::Memory(bytes) => bytes.len() as u64,
            Content::File { len, .. } => *len,
        }
    }

    /// True for an empty file.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Copies the bytes at `offset..offset + buf.len()` (clipped to [`Content::len`]) into
    /// `buf` and returns how many were copied. A file that shrank since the transfer began is
    /// an error, so a truncated-in-place file is never sent as if it were complete.
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let len = self.len();
        if offset >= len {
            return Ok(0);
        }
        let wanted = buf.len().min((len - offset) as usize);
        match self {
            Content::Memory(bytes) => {
                let start = offset as usize;
                buf[..wanted].copy_from_slice(&bytes[start..start + wanted]);
                Ok(wanted)
            }
            Content::File { file, .. } => {
                file.read_exact_at(&mut buf[..wanted], offset)
                    .map_err(|err| match err.kind() {
                        io::ErrorKind::UnexpectedEof => io::Error::other("file shrank while being served"),
                        _ => err,
                    })?;
                Ok(wanted)
            }
        }
    }

    /// The whole content as one buffer if it is in memory (cheap clone).
    pub fn as_bytes(&self) -> Option<&Bytes> {
        match self {
            Content::Memory(bytes) => Some(bytes),
            Content::File { .. } => None,
        }
    }
}

/// What is logged about the trust list a transfer serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustStamp {
    /// SHA-256 of the served bytes, lower-case hex.
    pub sha256: String,
    /// Signer as reported by the guard, `None` if the file could not be parsed.
    pub signer: Option<String>,
}

/// A request resolved to one immutable version of one file.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The file actually served, relative to the root as it is named there
    /// (e.g. `CTLFile.tlv` for a `CTLSEP<MAC>.tlv` request without a per-device file).
    pub served_name: String,
    /// The device MAC when the requested name carries one (upper-case hex).
    pub mac: Option<String>,
    /// The bytes to send.
    pub content: Content,
    /// Set for trust lists.
    pub trust: Option<TrustStamp>,
}

/// What happened to a trust list during a scan; also logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustEvent {
    /// Served as is: loaded at startup, or a new name with no served predecessor.
    Loaded {
        /// File name relative to the root.
        name: String,
        /// SHA-256 (hex).
        sha256: String,
        /// Why the guard could not read it, if it could not (served anyway at startup).
        problem: Option<String>,
    },
    /// A changed version passed the guard and is now served.
    Updated {
        /// File name relative to the root.
        name: String,
        /// SHA-256 of the version served before (hex).
        old_sha256: String,
        /// SHA-256 of the version served now (hex).
        sha256: String,
    },
    /// The guard refused the version but `allow_untrusted_update` published it anyway.
    ForcedUpdate {
        /// File name relative to the root.
        name: String,
        /// SHA-256 (hex).
        sha256: String,
        /// What the guard said.
        reason: String,
    },
    /// The version on disk was refused; the previous one (if any) stays served.
    Rejected {
        /// File name relative to the root.
        name: String,
        /// SHA-256 of the refused bytes (hex), `None` if they could not be read whole.
        sha256: Option<String>,
        /// What the guard said.
        reason: String,
    },
    /// The file disappeared and is no longer served. A later file of that name is still
    /// checked against the last version served.
    Removed {
        /// File name relative to the root.
        name: String,
    },
}

/// One trust-list version kept in memory.
#[derive(Debug)]
struct TrustVersion {
    bytes: Bytes,
    stamp: TrustStamp,
}

#[derive(Debug, Clone)]
enum Entry {
    Trust(Arc<TrustVersion>),
    /// Plain file on disk, opened per transfer (path relative to the root).
    Disk,
    /// Plain file held in memory (embedded catalogs).
    Memory(Bytes),
}

/// Immutable lookup table; replaced as a whole on every change.
#[derive(Debug, Default)]
struct Index {
    /// Lower-cased name -> (exact name, entry), exact names sorted.
    by_lower: HashMap<String, Vec<(String, Entry)>>,
}

impl Index {
    fn insert(&mut self, name: String, entry: Entry) {
        let slot = self.by_lower.entry(name.to_ascii_lowercase()).or_default();
        slot.push((name, entry));
    }

    fn find(&self, name: &str) -> Option<&(String, Entry)> {
        let candidates = self.by_lower.get(&name.to_ascii_lowercase())?;
        candidates
            .iter()
            .find(|(exact, _)| exact == name)
            .or_else(|| candidates.first())
    }
}

/// File identity and state; a change means "read it again".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fingerprint {
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
    ino: u64,
    dev: u64,
}

impl Fingerprint {
    /// Same inode with the same size and modification time. Ignores ctime, which changes
    /// when the file is merely unlinked (renamed over), not rewritten.
    fn same_content(&self, other: &Fingerprint) -> bool {
        (self.ino, self.dev, self.len, self.mtime) == (other.ino, other.dev, other.len, other.mtime)
    }

    fn of(meta: &Metadata) -> Self {
        Fingerprint {
            len: meta.len(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
            ino: meta.ino(),
            dev: meta.dev(),
        }
    }
}

/// Scanner memory between refreshes.
#[derive(Debug, Default)]
struct ScanState {
    startup_done: bool,
    /// Exact name -> fingerprint of the trust list last evaluated under that name.
    evaluated: HashMap<String, Fingerprint>,
    /// Lower-cased name -> version served. Survives removal so a re-created file is checked
    /// against what devices hold.
    served: HashMap<String, Arc<TrustVersion>>,
}

enum Source {
    Directory(PathBuf),
    Embedded,
}

/// The file catalog. Share it as `Arc<Catalog>`; lookups never block on a rescan.
pub struct Catalog {
    source: Source,
    guard: Arc<dyn PublishGuard>,
    options: CatalogOptions,
    index: RwLock<Arc<Index>>,
    scan: Mutex<ScanState>,
    file_cache: Mutex<FileCache>,
}

/// Snapshots of plain files, keyed by exact name.
///
/// `files` keeps recently loaded snapshots up to the cache budget even while nobody
/// downloads them. `live` knows every snapshot still held by a running transfer, so a
/// file version is in memory at most once however many transfers serve it and whatever
/// the budget: memory grows with the distinct files being served, not with the clients.
#[derive(Debug, Default)]
struct FileCache {
    files: HashMap<String, (Fingerprint, Bytes)>,
    total: u64,
    live: HashMap<String, (Fingerprint, Weak<Vec<u8>>)>,
    /// One lock per name, so a boot storm that asks for one uncached file reads it once.
    loading: HashMap<String, Arc<Mutex<()>>>,
}

impl FileCache {
    /// The snapshot of this version of `name`, if one is cached or still in use.
    fn get(&self, name: &str, fingerprint: &Fingerprint) -> Option<Bytes> {
        if let Some((cached, bytes)) = self.files.get(name) {
            if cached.same_content(fingerprint) {
                return Some(bytes.clone());
            }
        }
        let (live, weak) = self.live.get(name)?;
        if !live.same_content(fingerprint) {
            return None;
        }
        weak.upgrade()
            .map(|shared| Bytes::from_owner(SharedSnapshot(shared)))
    }
}

/// A snapshot's buffer shared between [`Bytes`] handles and [`FileCache::live`].
struct SharedSnapshot(Arc<Vec<u8>>);

impl AsRef<[u8]> for SharedSnapshot {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Catalog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = match &self.source {
            Source::Directory(root) => root.display().to_string(),
            Source::Embedded => "<embedded>".to_string(),
        };
        f.debug_struct("Catalog")
            .field("source", &source)
            .finish_non_exhaustive()
    }
}

impl Catalog {
    /// Opens a directory and loads it. Trust lists found now are served as they are
    /// (devices have to get a first version from somewhere); each is logged with its
    /// SHA-256 and signer.
    pub fn open_dir(
        root: impl AsRef<Path>,
        guard: Arc<dyn PublishGuard>,
        options: CatalogOptions,
    ) -> Result<Catalog, CatalogError> {
        let given = root.as_ref();
        let root_error = |source| CatalogError::Root {
            path: given.to_path_buf(),
            source,
        };
        let canonical = std::fs::canonicalize(given).map_err(root_error)?;
        if !canonical.is_dir() {
            return Err(root_error(io::Error::other("not a directory")));
        }
        let mut scan = ScanState::default();
        if let Some(dir) = &options.state_dir {
            scan.served =
                restore_published(dir, guard.as_ref(), options.max_trust_list_size).map_err(|source| {
                    CatalogError::StateDir {
                        path: dir.clone(),
                        source,
                    }
                })?;
        }
        let catalog = Catalog {
            source: Source::Directory(canonical),
            guard,
            options,
            index: RwLock::new(Arc::new(Index::default())),
            scan: Mutex::new(scan),
            file_cache: Mutex::new(FileCache::default()),
        };
        catalog.refresh()?;
        Ok(catalog)
    }

    /// A fixed in-memory catalog (e.g. samples compiled into the binary); never changes.
    pub fn embedded<N: Into<String>>(
        files: impl IntoIterator<Item = (N, Bytes)>,
        guard: Arc<dyn PublishGuard>,
    ) -> Catalog {
        let mut index = Index::default();
        for (name, bytes) in files {
            let name = name.into();
            let entry = if is_trust_list(&name) {
                let (version, problem) = first_version(guard.as_ref(), bytes);
                log_event(
                    &TrustEvent::Loaded {
                        name: name.clone(),
                        sha256: version.stamp.sha256.clone(),
                        problem,
                    },
                    Some(&version.stamp),
                );
                Entry::Trust(Arc::new(version))
            } else {
                Entry::Memory(bytes)
            };
            index.insert(name, entry);
        }
        sort_index(&mut index);
        Catalog {
            source: Source::Embedded,
            guard,
            options: CatalogOptions::default(),
            index: RwLock::new(Arc::new(index)),
            scan: Mutex::new(ScanState {
                startup_done: true,
                ..ScanState::default()
            }),
            file_cache: Mutex::new(FileCache::default()),
        }
    }

    /// The canonical root, `None` for an embedded catalog.
    pub fn root(&self) -> Option<&Path> {
        match &self.source {
            Source::Directory(root) => Some(root),
            Source::Embedded => None,
        }
    }

    /// Names currently served (exact case), sorted. For startup messages and tests.
    pub fn names(&self) -> Vec<String> {
        let index = self.current();
        let mut names: Vec<String> = index
            .by_lower
            .values()
            .flatten()
            .map(|(name, _)| name.clone())
            .collect();
        names.sort();
        names
    }

    fn current(&self) -> Arc<Index> {
        // A poisoned lock only means a scan panicked mid-way; the Arc inside is still whole.
        self.index
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Resolves a requested name to one immutable version of one file.
    pub fn resolve(&self, requested: &str) -> Result<Resolved, LookupError> {
        check_request_name(requested).map_err(LookupError::NameNotAllowed)?;
        let mac = device_mac(requested);
        let index = self.current();
        let found = index.find(requested).or_else(|| {
            let alias = device_alias(requested)?;
            index.find(alias.kind.cluster_file())
        });
        let Some((served_name, entry)) = found else {
            return Err(LookupError::NotFound);
        };
        let (content, trust) = match entry {
            Entry::Trust(version) => (
                Content::Memory(version.bytes.clone()),
                Some(version.stamp.clone()),
            ),
            Entry::Memory(bytes) => (Content::Memory(bytes.clone()), None),
            Entry::Disk => {
                let Source::Directory(root) = &self.source else {
                    return Err(LookupError::NotFound);
                };
                let (file, meta) = open_inside(root, served_name).map_err(|err| match err.kind() {
                    io::ErrorKind::NotFound => LookupError::NotFound,
                    _ => LookupError::AccessDenied,
                })?;
                let len = meta.len();
                (
                    Content::File {
                        file: Arc::new(file),
                        len,
                    },
                    None,
                )
            }
        };
        Ok(Resolved {
            served_name: served_name.clone(),
            mac,
            content,
            trust,
        })
    }

    /// The whole content of a resolved file as one immutable buffer.
    ///
    /// In-memory content is returned as is. A file on disk is read through the handle opened
    /// by [`Catalog::resolve`] (so a rename over it does not matter) unless the same version
    /// is already cached; a file modified in place while being read is an error rather
    /// than a torn snapshot. A file version is read once and shared by every transfer that
    /// serves it while any holds it (beyond that, up to the cache budget). May block on disk
    /// reads, or on another caller reading the same file: call it off the async executor
    /// for [`Content::File`].
    pub fn load(&self, resolved: &Resolved) -> io::Result<Bytes> {
        let (file, len) = match &resolved.content {
            Content::Memory(bytes) => return Ok(bytes.clone()),
            Content::File { file, len } => (file, *len),
        };
        let before = Fingerprint::of(&file.metadata()?);
        let name = &resolved.served_name;
        let loading = {
            let mut cache = self.file_cache.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(bytes) = cache.get(name, &before) {
                return Ok(bytes);
            }
            Arc::clone(cache.loading.entry(name.clone()).or_default())
        };
        let _loading = loading.lock().unwrap_or_else(|p| p.into_inner());
        // Another transfer may have read this version while we waited.
        if let Some(bytes) = self
            .file_cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(name, &before)
        {
            return Ok(bytes);
        }
        let size = usize::try_from(len).map_err(|_| io::Error::other("file too large"))?;
        let mut buffer = vec![0u8; size];
        resolved.content.read_at(0, &mut buffer)?;
        if !Fingerprint::of(&file.metadata()?).same_content(&before) {
            return Err(io::Error::other("file changed while being read"));
        }
        let shared = Arc::new(buffer);
        let bytes = Bytes::from_owner(SharedSnapshot(Arc::clone(&shared)));
        let mut cache = self.file_cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.live.retain(|_, (_, weak)| weak.strong_count() > 0);
        cache.live.insert(name.clone(), (before, Arc::downgrade(&shared)));
        if let Some((_, old)) = cache.files.remove(name) {
            cache.total -= old.len() as u64;
        }
        if cache.total + len <= self.options.file_cache_bytes {
            cache.total += len;
            cache.files.insert(name.clone(), (before, bytes.clone()));
        }
        Ok(bytes)
    }

    /// Rescans the root, runs new or changed trust lists through the guard and swaps the
    /// index. Returns what happened to trust lists (also logged). Serialised: concurrent
    /// callers wait for each other. An embedded catalog never changes.
    pub fn refresh(&self) -> Result<Vec<TrustEvent>, CatalogError> {
        let Source::Directory(root) = &self.source else {
            return Ok(Vec::new());
        };
        let mut state = self.scan.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let files = walk(root, &self.options).map_err(|source| CatalogError::Root {
            path: root.clone(),
            source,
        })?;
        let mut events = Vec::new();
        let mut index = Index::default();
        for (name, fingerprint) in &files {
            if !is_trust_list(name) {
                index.insert(name.clone(), Entry::Disk);
                continue;
            }
            if state.evaluated.get(name) != Some(fingerprint) {
                match read_stable(root, name, self.options.max_trust_list_size) {
                    Ok((bytes, read_fingerprint)) => {
                        if let Some(event) = self.evaluate(&mut state, name, bytes) {
                            events.push(event);
                        }
                        state.evaluated.insert(name.clone(), read_fingerprint);
                    }
                    // Being written right now: look again at the next scan.
                    Err(ReadError::Changing) => {}
                    Err(ReadError::TooLarge) => {
                        events.push(TrustEvent::Rejected {
                            name: name.clone(),
                            sha256: None,
                            reason: format!(
                                "larger than the {} byte limit for trust lists",
                                self.options.max_trust_list_size
                            ),
                        });
                        state.evaluated.insert(name.clone(), *fingerprint);
                    }
                    Err(ReadError::Io(err)) => {
                        events.push(TrustEvent::Rejected {
                            name: name.clone(),
                            sha256: None,
                            reason: format!("cannot read: {err}"),
                        });
                        state.evaluated.insert(name.clone(), *fingerprint);
                    }
                }
            }
            if let Some(version) = state.served.get(&name.to_ascii_lowercase()) {
                index.insert(name.clone(), Entry::Trust(version.clone()));
            }
        }
        let present: std::collections::HashSet<&String> = files.keys().collect();
        let mut removed: Vec<String> = state
            .evaluated
            .keys()
            .filter(|name| !present.contains(name))
            .cloned()
            .collect();
        removed.sort();
        for name in removed {
            state.evaluated.remove(&name);
            events.push(TrustEvent::Removed { name });
        }
        state.startup_done = true;
        sort_index(&mut index);
        {
            // Forget snapshots of files that are gone (changed ones are replaced on next load).
            let mut cache = self.file_cache.lock().unwrap_or_else(|p| p.into_inner());
            let before = cache.files.len();
            cache.files.retain(|name, _| files.contains_key(name));
            cache.loading.retain(|name, _| files.contains_key(name));
            if cache.files.len() != before {
                cache.total = cache.files.values().map(|(_, b)| b.len() as u64).sum();
            }
        }
        *self
            .index
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(index);
        if let Some(dir) = &self.options.state_dir {
            for event in &events {
                if let TrustEvent::Loaded { name, .. }
                | TrustEvent::Updated { name, .. }
                | TrustEvent::ForcedUpdate { name, .. } = event
                {
                    if let Some(version) = state.served.get(&name.to_ascii_lowercase()) {
                        remember_published(dir, name, &version.bytes);
                    }
                }
            }
        }
        for event in &events {
            let stamp = match event {
                TrustEvent::Loaded { name, .. }
                | TrustEvent::Updated { name, .. }
                | TrustEvent::ForcedUpdate { name, .. } => state
                    .served
                    .get(&name.to_ascii_lowercase())
                    .map(|version| &version.stamp),
                _ => None,
            };
            log_event(event, stamp);
        }
        Ok(events)
    }

    /// Decides about trust-list bytes read from `name`; updates `state.served`.
    fn evaluate(&self, state: &mut ScanState, name: &str, bytes: Bytes) -> Option<TrustEvent> {
        let lower = name.to_ascii_lowercase();
        let sha256 = sha256_hex(&bytes);
        if let Some(current) = state.served.get(&lower) {
            if current.stamp.sha256 == sha256 {
                // Touched or re-copied, same content; at startup, the remembered version.
                return (!state.startup_done).then(|| TrustEvent::Loaded {
                    name: name.to_string(),
                    sha256,
                    problem: None,
                });
            }
        }
        // What devices asking for this name hold now: the same name, or for a new per-device
        // file, the cluster file they were being given instead. At startup only versions
        // remembered in the state directory count (nothing else has been served yet).
        let reference = state.served.get(&lower).cloned().or_else(|| {
            let alias = device_alias(name)?;
            state
                .served
                .get(&alias.kind.cluster_file().to_ascii_lowercase())
                .cloned()
                .filter(|_| state.startup_done)
        });
        let Some(reference) = reference else {
            let (version, problem) = first_version(self.guard.as_ref(), bytes);
            if problem.is_some() && !self.options.allow_untrusted_update {
                // With nothing served before (startup, or a new name), a trust list must at
                // least parse and verify under its own signer: never put garbage or a
                // broken signature on the wire, even after a restart.
                return Some(TrustEvent::Rejected {
                    name: name.to_string(),
                    sha256: Some(sha256),
                    reason: problem.unwrap_or_default(),
                });
            }
            state.served.insert(lower, Arc::new(version));
            return Some(TrustEvent::Loaded {
                name: name.to_string(),
                sha256,
                problem,
            });
        };
        let verdict = self.guard.check_update(&reference.bytes, &bytes);
        let (signer, event) = match verdict {
            Ok(info) => {
                for warning in &info.warnings {
                    tracing::warn!(file = %name, %sha256, warning = %warning, "trust list accepted with a warning");
                }
                (
                    Some(info.signer),
                    TrustEvent::Updated {
                        name: name.to_string(),
                        old_sha256: reference.stamp.sha256.clone(),
                        sha256: sha256.clone(),
                    },
                )
            }
            Err(rejection) if self.options.allow_untrusted_update => (
                self.guard.inspect(&bytes).ok().map(|info| info.signer),
                TrustEvent::ForcedUpdate {
                    name: name.to_string(),
                    sha256: sha256.clone(),
                    reason: rejection.reason,
                },
            ),
            Err(rejection) => {
                return Some(TrustEvent::Rejected {
                    name: name.to_string(),
                    sha256: Some(sha256),
                    reason: rejection.reason,
                })
            }
        };
        let version = TrustVersion {
            bytes,
            stamp: TrustStamp { sha256, signer },
        };
        state.served.insert(lower, Arc::new(version));
        Some(event)
    }

    /// Rescans every `interval` on the tokio runtime until the returned handle is aborted.
    pub fn spawn_watcher(self: &Arc<Self>, interval: Duration) -> tokio::task::JoinHandle<()> {
        let catalog = Arc::clone(self);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticker.tick().await; // the first tick is immediate; open_dir already scanned
            loop {
                ticker.tick().await;
                let scanner = Arc::clone(&catalog);
                match tokio::task::spawn_blocking(move || scanner.refresh()).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(err)) => {
                        tracing::warn!(error = %err, "catalog rescan failed; keeping the current index")
                    }
                    Err(err) => {
                        tracing::error!(error = %err, "catalog rescan panicked; keeping the current index")
                    }
                }
            }
        })
    }
}

fn sort_index(index: &mut Index) {
    for candidates in index.by_lower.values_mut() {
        candidates.sort_by(|a, b| a.0.cmp(&b.0));
    }
}

/// A first version: served as is; the guard only labels it.
fn first_version(guard: &dyn PublishGuard, bytes: Bytes) -> (TrustVersion, Option<String>) {
    let sha256 = sha256_hex(&bytes);
    let (signer, problem) = match guard.inspect(&bytes) {
        Ok(info) => (Some(info.signer), None),
        Err(rejection) => (None, Some(rejection.reason)),
    };
    (
        TrustVersion {
            bytes,
            stamp: TrustStamp { sha256, signer },
        },
        problem,
    )
}

/// File name in the state directory for a trust list's (relative) name: lower-cased, with
/// `%` and `/` escaped so names in subdirectories stay one flat, reversible file name.
fn state_file_name(name: &str) -> String {
    name.to_ascii_lowercase().replace('%', "%25").replace('/', "%2F")
}

fn name_from_state_file(file_name: &str) -> String {
    file_name.replace("%2F", "/").replace("%25", "%")
}

/// Reads the versions published before a restart (see [`CatalogOptions::state_dir`]).
/// A remembered file that does not parse or verify is ignored with a warning: it cannot
/// be what devices hold.
fn restore_published(
    dir: &Path,
    guard: &dyn PublishGuard,
    max_size: u64,
) -> io::Result<HashMap<String, Arc<TrustVersion>>> {
    std::fs::create_dir_all(dir)?;
    let mut served = HashMap::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let Some(file_name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        if file_name.starts_with('.') || !is_trust_list(&file_name) {
            continue;
        }
        let name = name_from_state_file(&file_name);
        if entry.metadata()?.len() > max_size {
            tracing::warn!(file = %name, "remembered trust list too large; ignored");
            continue;
        }
        let bytes = Bytes::from(std::fs::read(entry.path())?);
        let (version, problem) = first_version(guard, bytes);
        if let Some(problem) = problem {
            tracing::warn!(file = %name, problem = %problem, "remembered trust list does not verify; ignored");
            continue;
        }
        tracing::info!(
            file = %name,
            sha256 = %version.stamp.sha256,
            "remembered trust list: updates are checked against it"
        );
        served.insert(name, Arc::new(version));
    }
    Ok(served)
}

/// Records `bytes` as the published version of `name` (temp file, fsync, rename). A failure
/// is logged, not fatal: serving goes on, only the memory across restarts is stale.
fn remember_published(dir: &Path, name: &str, bytes: &[u8]) {
    let path = dir.join(state_file_name(name));
    if let Err(err) = ctl_sign::output::write_atomic(&path, bytes, true) {
        tracing::error!(file = %name, error = %err, "cannot remember the published trust list");
    }
}

fn log_event(event: &TrustEvent, stamp: Option<&TrustStamp>) {
    let signer = stamp.and_then(|s| s.signer.as_deref()).unwrap_or("-");
    match event {
        TrustEvent::Loaded {
            name,
            sha256,
            problem: None,
        } => {
            tracing::info!(file = %name, %sha256, signer = %signer, "serving trust list")
        }
        TrustEvent::Loaded {
            name,
            sha256,
            problem: Some(problem),
        } => tracing::warn!(
            file = %name, %sha256, problem = %problem,
            "serving trust list although it does not parse or verify (--allow-untrusted-update)"
        ),
        TrustEvent::Updated {
            name,
            old_sha256,
            sha256,
        } => tracing::info!(
            file = %name, %sha256, %old_sha256, signer = %signer,
            "trust list updated: devices holding the served version accept it"
        ),
        TrustEvent::ForcedUpdate { name, sha256, reason } => tracing::warn!(
            file = %name, %sha256, signer = %signer, reason = %reason,
            "trust list published despite the guard (--allow-untrusted-update)"
        ),
        TrustEvent::Rejected { name, sha256, reason } => tracing::error!(
            file = %name, sha256 = %sha256.as_deref().unwrap_or("-"), reason = %reason,
            "trust list NOT published, keeping the served version (if any)"
        ),
        TrustEvent::Removed { name } => {
            tracing::warn!(file = %name, "trust list removed from the root; no longer served")
        }
    }
}

pub use ctl_sign::inspect::sha256_hex;

/// Opens `root/relative` only if its canonical path stays under the canonical `root`
/// and is a regular file. Re-checked at every open, not only at scan time.
fn open_inside(root: &Path, relative: &str) -> io::Result<(File, Metadata)> {
    let canonical = std::fs::canonicalize(root.join(relative))?;
    if !canonical.starts_with(root) {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "outside the root",
        ));
    }
    let file = File::open(&canonical)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "not a regular file",
        ));
    }
    Ok((file, meta))
}

enum ReadError {
    Changing,
    TooLarge,
    Io(io::Error),
}

/// Reads a whole file, refusing it if it changed while being read.
fn read_stable(root: &Path, name: &str, limit: u64) -> Result<(Bytes, Fingerprint), ReadError> {
    let (file, before) = open_inside(root, name).map_err(ReadError::Io)?;
    if before.len() > limit {
        return Err(ReadError::TooLarge);
    }
    let mut bytes = Vec::with_capacity(before.len() as usize);
    (&file)
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge);
    }
    let after = file.metadata().map_err(ReadError::Io)?;
    let by_path = std::fs::metadata(root.join(name)).map_err(ReadError::Io)?;
    let fingerprint = Fingerprint::of(&before);
    if !Fingerprint::of(&after).same_content(&fingerprint)
        || Fingerprint::of(&by_path) != fingerprint
        || bytes.len() as u64 != before.len()
    {
        return Err(ReadError::Changing);
    }
    Ok((Bytes::from(bytes), fingerprint))
}

/// Lists regular files under `root` (relative `/`-separated names -> fingerprint),
/// following symlinks only when their target stays inside the root.
fn walk(root: &Path, options: &CatalogOptions) -> io::Result<BTreeMap<String, Fingerprint>> {
    let mut files = BTreeMap::new();
    let mut pending = vec![(root.to_path_buf(), String::new(), 0usize)];
    let mut warned_full = false;
    while let Some((dir, prefix, depth)) = pending.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(err) if depth == 0 => return Err(err),
            Err(err) => {
                tracing::warn!(directory = %prefix, error = %err, "cannot list directory in the TFTP root");
                continue;
            }
        };
        for entry in entries.flatten() {
            let Ok(file_name) = entry.file_name().into_string() else {
                continue; // not UTF-8: no client can name it
            };
            if check_request_name(&file_name).is_err() {
                continue; // e.g. contains a backslash: could never be requested
            }
            let relative = format!("{prefix}{file_name}");
            let path = entry.path();
            let Ok(kind) = entry.file_type() else { continue };
            if kind.is_symlink() {
                match std::fs::canonicalize(&path) {
                    Ok(target) if target.starts_with(root) => {}
                    _ => {
                        tracing::debug!(file = %relative, "symlink leads outside the TFTP root or nowhere; not served");
                        continue;
                    }
                }
            }
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            if meta.is_dir() {
                if depth + 1 < options.max_depth {
                    pending.push((path, format!("{relative}/"), depth + 1));
                }
            } else if meta.is_file() {
                if files.len() >= options.max_files {
                    if !warned_full {
                        tracing::warn!(
                            limit = options.max_files,
                            "too many files in the TFTP root; the rest are not served"
                        );
                        warned_full = true;
                    }
                    continue;
                }
                files.insert(relative, Fingerprint::of(&meta));
            }
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests;
