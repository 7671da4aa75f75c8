//! Moving sessions in and out of a store: import from a folder, export to one, copy between
//! backends (only missing or different artifacts move, by content hash).
//!
//! | operation | from | to | skips |
//! |---|---|---|---|
//! | [`import_dir`] | `DIR/<target>/<key…>` | a session | files whose bytes are stored already |
//! | [`export_dir`] | a session | `DIR/<target>/<key…>` | files that hold the stored bytes already |
//! | [`copy_session`] | a session of one [`Store`] | the same session of another | artifacts whose hashes match |
//!
//! All three move the **exact stored bytes** (an imported file's kind is
//! [inferred](ArtifactKind::infer), which never changes its bytes on any backend), compare by
//! [`ContentHash`], so a second run after a crash or an interruption only does the rest, and run
//! at most [`concurrency`](ImportOptions::concurrency) transfers at once. One item failing does
//! not stop the others: it is counted and listed in the report with its reason.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use perfstore::transfer::{CopyOptions, ExportOptions, ImportOptions, copy_session, export_dir, import_dir};
//! use perfstore::{SessionName, Store};
//!
//! let dir = tempfile::tempdir()?;
//! std::fs::create_dir_all(dir.path().join("in/parser/results"))?;
//! std::fs::write(dir.path().join("in/parser/results/summary.md"), "# parser\n")?;
//!
//! let local = Store::local(dir.path().join("store"));
//! let run = SessionName::new("nightly")?;
//! let imported = import_dir(&local, &run, &dir.path().join("in"), &ImportOptions::default()).await?;
//! assert_eq!(imported.moved.items, 1);
//!
//! let elsewhere = Store::memory();
//! let copied = copy_session(&local, &elsewhere, &run, &CopyOptions::default()).await?;
//! assert_eq!(copied.moved.items, 1);
//! let again = copy_session(&local, &elsewhere, &run, &CopyOptions::default()).await?;
//! assert_eq!((again.moved.items, again.unchanged.items), (0, 1));
//!
//! let exported = export_dir(&elsewhere, &run, &dir.path().join("out"), &ExportOptions::default()).await?;
//! assert_eq!(exported.moved.items, 1);
//! assert_eq!(std::fs::read(dir.path().join("out/parser/results/summary.md"))?, b"# parser\n");
//! # Ok(()) }
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::stream::{self, StreamExt};
use serde::Serialize;

use crate::artifact::{Artifact, ArtifactKind, ContentHash};
use crate::error::Error;
use crate::names::{ArtifactPath, Key, KeyPrefix, SessionName, TargetName, TargetPath};
use crate::storage::Store;
use crate::workflows::session::ensure_session;

/// How many artifacts a transfer moves at once unless told otherwise.
pub const DEFAULT_CONCURRENCY: usize = 8;

/// Temp files of [`export_dir`] start with this; `~` is not a key character, so an import of a
/// folder an interrupted export left behind reports them as skipped instead of storing them.
const EXPORT_TEMP_PREFIX: &str = ".perfstore-export~";

/// Why a transfer could not run at all (a single item failing is not an error: it is listed in
/// the report).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransferError {
    /// The store refused or failed (unknown session, invalid name, backend error, …).
    #[error(transparent)]
    Store(#[from] Error),

    /// The folder to import does not exist.
    #[error("folder {} does not exist", path.display())]
    DirNotFound {
        /// The folder given.
        path: PathBuf,
    },

    /// The path given as a folder is something else.
    #[error("{} is not a folder", path.display())]
    NotADir {
        /// The path given.
        path: PathBuf,
    },

    /// An export would replace files whose bytes differ from the store; nothing was written.
    #[error(
        "{} from the stored artifacts (first: {}); nothing was written; allow overwriting (--overwrite) to replace them",
        if files.len() == 1 { "1 existing file differs".to_owned() } else { format!("{} existing files differ", files.len()) },
        files.first().map_or_else(String::new, |f| f.display().to_string())
    )]
    WouldOverwrite {
        /// The files that differ, sorted.
        files: Vec<PathBuf>,
    },
}

impl TransferError {
    /// Whether the input was invalid (a name, or a path that is not a folder).
    pub fn is_invalid_input(&self) -> bool {
        match self {
            TransferError::Store(e) => e.is_invalid_input(),
            TransferError::NotADir { .. } => true,
            TransferError::DirNotFound { .. } | TransferError::WouldOverwrite { .. } => false,
        }
    }

    /// Whether something asked for does not exist (a session, a baseline, the folder).
    pub fn is_not_found(&self) -> bool {
        match self {
            TransferError::Store(e) => e.is_not_found(),
            TransferError::DirNotFound { .. } => true,
            TransferError::NotADir { .. } | TransferError::WouldOverwrite { .. } => false,
        }
    }
}

/// What a transfer is doing when it reports [`Progress`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Walking the folder to import; no totals yet.
    Scanning,
    /// Comparing hashes to decide what moves; counts items, no bytes.
    Checking,
    /// Moving (or confirming) artifacts; counts items and bytes.
    Transferring,
}

/// A progress report: totals are known from the start of each stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Progress {
    /// The current stage.
    pub stage: Stage,
    /// Items finished in this stage.
    pub items_done: u64,
    /// Items in this stage.
    pub items_total: u64,
    /// Bytes finished in this stage (0 outside [`Stage::Transferring`]).
    pub bytes_done: u64,
    /// Bytes in this stage (0 outside [`Stage::Transferring`]).
    pub bytes_total: u64,
}

/// A callback receiving [`Progress`] (e.g. to drive a progress bar). Called from the task that
/// runs the transfer, one report at a time.
#[derive(Clone)]
pub struct ProgressFn(Arc<dyn Fn(&Progress) + Send + Sync>);

impl ProgressFn {
    /// Wraps `f`.
    pub fn new(f: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }

    fn emit(this: Option<&ProgressFn>, progress: Progress) {
        if let Some(f) = this {
            (f.0)(&progress);
        }
    }
}

impl fmt::Debug for ProgressFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProgressFn(..)")
    }
}

/// A count of items and their bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// Number of items.
    pub items: u64,
    /// Their total size in bytes.
    pub bytes: u64,
}

impl Tally {
    fn add(&mut self, bytes: u64) {
        self.items += 1;
        self.bytes += bytes;
    }
}

/// One item that failed, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemFailure {
    /// The item: `target/key`, or a path relative to the folder.
    pub item: String,
    /// What went wrong.
    pub reason: String,
}

/// A file of an imported folder that is not an artifact, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedFile {
    /// Its path relative to the folder, with `/` separators (lossy if not UTF-8).
    pub path: String,
    /// Why it was not imported.
    pub reason: String,
}

/// Options of [`import_dir`].
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Artifacts stored at once (at least 1).
    pub concurrency: usize,
    /// Labels merged into the session's metadata ([`ensure_session`]).
    pub labels: BTreeMap<String, String>,
    /// Progress reports.
    pub progress: Option<ProgressFn>,
    /// Map invalid target names and keys to valid ones with [`TargetName::sanitized`] and
    /// [`Key::sanitized`] instead of skipping them; a file whose sanitized name another file
    /// already has is skipped.
    pub sanitize: bool,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            concurrency: DEFAULT_CONCURRENCY,
            labels: BTreeMap::new(),
            progress: None,
            sanitize: false,
        }
    }
}

/// What [`import_dir`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// The session imported into.
    pub session: SessionName,
    /// Files stored.
    pub moved: Tally,
    /// Files already stored with the same bytes (not stored again).
    pub unchanged: Tally,
    /// Files that could not be listed, read or stored (see `failures`); bytes as listed.
    pub failed: Tally,
    /// Files that are not artifacts (invalid names, symlinks, …), with the reason, sorted.
    pub skipped: Vec<SkippedFile>,
    /// Why each failed item failed, sorted.
    pub failures: Vec<ItemFailure>,
}

/// Options of [`export_dir`].
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// Artifacts written at once (at least 1).
    pub concurrency: usize,
    /// Replace existing files whose bytes differ; without it such files make the export fail
    /// with [`TransferError::WouldOverwrite`] before anything is written.
    pub overwrite: bool,
    /// Progress reports.
    pub progress: Option<ProgressFn>,
}

impl Default for ExportOptions {
    fn default() -> Self {
        Self {
            concurrency: DEFAULT_CONCURRENCY,
            overwrite: false,
            progress: None,
        }
    }
}

/// What [`export_dir`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportReport {
    /// The session exported.
    pub session: SessionName,
    /// Files written.
    pub moved: Tally,
    /// How many of the written files replaced a different file (only with `overwrite`).
    pub replaced: u64,
    /// Files that already held the stored bytes (not written again).
    pub unchanged: Tally,
    /// Artifacts that could not be read or written (see `failures`); bytes where known.
    pub failed: Tally,
    /// Why each failed item failed, sorted.
    pub failures: Vec<ItemFailure>,
}

/// Options of [`copy_session`].
#[derive(Debug, Clone)]
pub struct CopyOptions {
    /// Artifacts copied at once (at least 1).
    pub concurrency: usize,
    /// Delete artifacts (and targets) of the destination session that the source lacks.
    pub prune: bool,
    /// Progress reports.
    pub progress: Option<ProgressFn>,
}

impl Default for CopyOptions {
    fn default() -> Self {
        Self {
            concurrency: DEFAULT_CONCURRENCY,
            prune: false,
            progress: None,
        }
    }
}

/// What [`copy_session`] did. Counts are of the session's artifacts; its records (metadata) are
/// counted in `records_moved` only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CopyReport {
    /// The session copied.
    pub session: SessionName,
    /// Artifacts copied.
    pub moved: Tally,
    /// Artifacts the destination held with the same bytes already.
    pub unchanged: Tally,
    /// Artifacts that could not be checked, copied or pruned (see `failures`); bytes where
    /// known.
    pub failed: Tally,
    /// Artifacts deleted from the destination because the source lacks them (with `prune`).
    pub pruned: u64,
    /// perfstore's records of the session (its metadata, with the environment fingerprint)
    /// written to the destination because they were missing or different there.
    pub records_moved: u64,
    /// Why each failed item failed, sorted.
    pub failures: Vec<ItemFailure>,
}

/// Runs `work` on the blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::Backend {
            backend: "transfer",
            message: format!("a file-system task failed: {e}"),
            source: None,
        })
}

/// Identity of a file as walked, so a file swapped for another (or for a symlink) between the
/// walk and the read is never read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileIdentity {
    #[cfg(unix)]
    dev: u64,
    #[cfg(unix)]
    ino: u64,
}

impl FileIdentity {
    fn of(meta: &fs::Metadata) -> Self {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            Self {
                dev: meta.dev(),
                ino: meta.ino(),
            }
        }
        #[cfg(not(unix))]
        {
            let _ = meta;
            Self {}
        }
    }
}

fn rel_display(rel: &Path) -> String {
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// A file of the folder that names an artifact.
#[derive(Debug)]
struct ImportFile {
    file: PathBuf,
    identity: FileIdentity,
    size: u64,
    path: ArtifactPath,
}

/// What walking the folder found.
#[derive(Debug, Default)]
struct Scan {
    files: Vec<ImportFile>,
    skipped: Vec<SkippedFile>,
    failures: Vec<ItemFailure>,
}

/// The artifact a file at `rel` (relative to the folder) names, or why it names none.
fn artifact_of(session: &SessionName, rel: &Path) -> Result<ArtifactPath, String> {
    let mut parts = Vec::new();
    for component in rel.components() {
        match component.as_os_str().to_str() {
            Some(part) => parts.push(part),
            None => return Err("the name is not UTF-8".to_owned()),
        }
    }
    let Some((target, key)) = parts.split_first() else {
        return Err("empty path".to_owned());
    };
    if key.is_empty() {
        return Err("not inside a target folder (expected DIR/<target>/<key>)".to_owned());
    }
    let target = TargetName::new(*target).map_err(|e| e.to_string())?;
    let key = Key::new(key.join("/")).map_err(|e| e.to_string())?;
    Ok(TargetPath::new(session.clone(), target).artifact(key))
}

/// [`artifact_of`] with the names sanitized (each disallowed character becomes `_`).
fn sanitized_artifact_of(session: &SessionName, rel: &Path) -> Result<ArtifactPath, String> {
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let Some((target, key)) = parts.split_first() else {
        return Err("empty path".to_owned());
    };
    if key.is_empty() {
        return Err("not inside a target folder (expected DIR/<target>/<key>)".to_owned());
    }
    let target = TargetName::sanitized(target).map_err(|e| e.to_string())?;
    let key = Key::sanitized(&key.join("/")).map_err(|e| e.to_string())?;
    Ok(TargetPath::new(session.clone(), target).artifact(key))
}

/// Walks `dir` without following symlinks; every file is either planned or reported.
fn scan_dir(session: &SessionName, dir: &Path, sanitize: bool) -> Scan {
    let mut scan = Scan::default();
    // Sanitized name -> the file that has it, so two files never become one artifact.
    let mut taken: BTreeMap<String, String> = BTreeMap::new();
    let walker = walkdir::WalkDir::new(dir)
        .follow_links(false)
        .min_depth(1)
        .sort_by_file_name();
    for entry in walker {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                let rel = e
                    .path()
                    .and_then(|p| p.strip_prefix(dir).ok())
                    .map_or_else(|| ".".to_owned(), rel_display);
                scan.failures.push(ItemFailure {
                    item: rel,
                    reason: format!("cannot list: {e}"),
                });
                continue;
            }
        };
        let Ok(rel) = entry.path().strip_prefix(dir) else {
            continue;
        };
        let file_type = entry.file_type();
        if file_type.is_dir() {
            continue;
        }
        let skip = |reason: String| SkippedFile {
            path: rel_display(rel),
            reason,
        };
        if file_type.is_symlink() {
            scan.skipped
                .push(skip("symbolic link (links are not followed)".to_owned()));
            continue;
        }
        if !file_type.is_file() {
            scan.skipped.push(skip("not a regular file".to_owned()));
            continue;
        }
        let mapped = if sanitize {
            sanitized_artifact_of(session, rel)
        } else {
            artifact_of(session, rel)
        };
        let path = match mapped {
            Ok(path) => path,
            Err(reason) => {
                scan.skipped.push(skip(reason));
                continue;
            }
        };
        if sanitize {
            if let Some(first) = taken.get(&item_name(&path)) {
                scan.skipped.push(skip(format!(
                    "its sanitized name {} is already that of {first}",
                    item_name(&path)
                )));
                continue;
            }
            taken.insert(item_name(&path), rel_display(rel));
        }
        match entry.metadata() {
            Ok(meta) => scan.files.push(ImportFile {
                file: entry.path().to_path_buf(),
                identity: FileIdentity::of(&meta),
                size: meta.len(),
                path,
            }),
            Err(e) => scan.failures.push(ItemFailure {
                item: rel_display(rel),
                reason: format!("cannot stat: {e}"),
            }),
        }
    }
    scan
}

/// Reads the file walked as `identity`, refusing anything else now at that path.
fn read_walked(file: &Path, identity: FileIdentity) -> Result<Vec<u8>, String> {
    let mut handle = fs::File::open(file).map_err(|e| format!("cannot open: {e}"))?;
    let meta = handle.metadata().map_err(|e| format!("cannot stat: {e}"))?;
    if !meta.is_file() || FileIdentity::of(&meta) != identity {
        return Err("the file was replaced during the import; not read".to_owned());
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    handle
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read: {e}"))?;
    Ok(bytes)
}

/// What happened to one item.
enum Outcome {
    Moved(u64),
    Unchanged(u64),
    Failed(String),
}

fn item_name(path: &ArtifactPath) -> String {
    format!("{}/{}", path.target_name(), path.key)
}

async fn import_one(store: &Store, file: &ImportFile) -> Outcome {
    let (name, identity) = (file.file.clone(), file.identity);
    let bytes = match blocking(move || read_walked(&name, identity)).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(reason)) => return Outcome::Failed(reason),
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    let size = bytes.len() as u64;
    let hash = ContentHash::of(&bytes);
    match store.head(&file.path).await {
        Ok(Some(meta)) if meta.hash == hash => return Outcome::Unchanged(size),
        Ok(_) => {}
        Err(e) => return Outcome::Failed(e.to_string()),
    }
    let kind = ArtifactKind::infer(&bytes);
    match store
        .put(&file.path, Artifact::from_stored(bytes, Some(kind)))
        .await
    {
        Ok(meta) if meta.hash == hash => Outcome::Moved(size),
        Ok(meta) => Outcome::Failed(format!(
            "the backend stored different bytes (hash {} instead of {hash})",
            meta.hash
        )),
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

fn check_dir(dir: &Path) -> Result<(), TransferError> {
    match fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(TransferError::NotADir {
            path: dir.to_path_buf(),
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(TransferError::DirNotFound {
            path: dir.to_path_buf(),
        }),
        Err(e) => Err(Error::io("open", dir, e).into()),
    }
}

/// Stores every file `DIR/<target>/<key…>` as the artifact `(session, target, key)`.
///
/// - The target is the first path component, the key the rest joined with `/`; both are
///   validated, and a file whose path is not a valid name (or that is a symlink, or not a
///   regular file, or directly in `DIR`) is listed in [`ImportReport::skipped`] with the reason.
///   Symlinks are never followed, so nothing outside `DIR` is read.
/// - Bytes are stored exactly, with the kind [inferred](ArtifactKind::infer) from them.
/// - **Resumable:** a file whose bytes are stored already (same [`ContentHash`]) is not stored
///   again, so running the import again after an interruption only stores the rest.
/// - The session's metadata is recorded with [`ensure_session`] (merging `labels`).
///
/// Fails as a whole only if `DIR` is missing or not a folder, or the metadata cannot be
/// written; a file that cannot be read or stored is counted in [`ImportReport::failed`].
pub async fn import_dir(
    store: &Store,
    session: &SessionName,
    dir: &Path,
    options: &ImportOptions,
) -> Result<ImportReport, TransferError> {
    check_dir(dir)?;
    let progress = options.progress.as_ref();
    ProgressFn::emit(
        progress,
        Progress {
            stage: Stage::Scanning,
            items_done: 0,
            items_total: 0,
            bytes_done: 0,
            bytes_total: 0,
        },
    );
    let (walk_session, walk_dir) = (session.clone(), dir.to_path_buf());
    let sanitize = options.sanitize;
    let scan = blocking(move || scan_dir(&walk_session, &walk_dir, sanitize)).await?;
    ensure_session(store, session, &options.labels).await?;

    let mut report = ImportReport {
        session: session.clone(),
        moved: Tally::default(),
        unchanged: Tally::default(),
        failed: Tally::default(),
        skipped: scan.skipped,
        failures: Vec::new(),
    };
    for failure in scan.failures {
        report.failed.add(0);
        report.failures.push(failure);
    }
    let mut status = Progress {
        stage: Stage::Transferring,
        items_done: 0,
        items_total: scan.files.len() as u64,
        bytes_done: 0,
        bytes_total: scan.files.iter().map(|f| f.size).sum(),
    };
    ProgressFn::emit(progress, status);
    let mut results = stream::iter(&scan.files)
        .map(|file| async move { (file, import_one(store, file).await) })
        .buffer_unordered(options.concurrency.max(1));
    while let Some((file, outcome)) = results.next().await {
        match outcome {
            Outcome::Moved(size) => report.moved.add(size),
            Outcome::Unchanged(size) => report.unchanged.add(size),
            Outcome::Failed(reason) => {
                report.failed.add(file.size);
                report.failures.push(ItemFailure {
                    item: item_name(&file.path),
                    reason,
                });
            }
        }
        status.items_done += 1;
        status.bytes_done += file.size;
        ProgressFn::emit(progress, status);
    }
    report.failures.sort_by(|a, b| a.item.cmp(&b.item));
    Ok(report)
}

/// The file an artifact is exported to.
fn export_file(dir: &Path, path: &ArtifactPath) -> PathBuf {
    let mut file = dir.join(path.target_name().as_str());
    file.extend(path.key.segments());
    file
}

/// What is at an export destination now.
enum Existing {
    Absent,
    Same,
    Different,
}

/// Looks at `file` (below `dir`) without following symlinks: any symlink on the way is refused,
/// so an export never writes outside `dir`.
fn inspect_destination(dir: &Path, file: &Path, hash: &ContentHash) -> Result<Existing, String> {
    let rel = file.strip_prefix(dir).map_err(|_| "outside the folder")?;
    let mut at = dir.to_path_buf();
    let count = rel.components().count();
    for (i, component) in rel.components().enumerate() {
        at.push(component);
        let meta = match fs::symlink_metadata(&at) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Existing::Absent),
            Err(e) => return Err(format!("cannot stat {}: {e}", at.display())),
        };
        let last = i + 1 == count;
        if meta.file_type().is_symlink() {
            return Err(format!(
                "{} is a symbolic link; links are not followed",
                at.display()
            ));
        }
        if !last && !meta.is_dir() {
            return Err(format!(
                "{} is in the way: it is not a folder",
                at.display()
            ));
        }
        if last && !meta.is_file() {
            return Err(format!("{} is in the way: it is not a file", at.display()));
        }
    }
    let bytes = fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    Ok(if &ContentHash::of(&bytes) == hash {
        Existing::Same
    } else {
        Existing::Different
    })
}

/// Writes `bytes` to `file` atomically: a temp file in the same folder, renamed over it.
fn write_atomic(file: &Path, bytes: &[u8]) -> Result<(), String> {
    let parent = file.parent().ok_or("no parent folder")?;
    fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    let mut temp = tempfile::Builder::new()
        .prefix(EXPORT_TEMP_PREFIX)
        .tempfile_in(parent)
        .map_err(|e| format!("cannot create a temp file in {}: {e}", parent.display()))?;
    temp.write_all(bytes)
        .and_then(|()| temp.flush())
        .map_err(|e| format!("cannot write {}: {e}", temp.path().display()))?;
    #[cfg(unix)]
    {
        // Temp files are created owner-only; an exported file is an ordinary file.
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(temp.path(), fs::Permissions::from_mode(0o644))
            .map_err(|e| format!("cannot set permissions of {}: {e}", temp.path().display()))?;
    }
    temp.persist(file)
        .map_err(|e| format!("cannot rename into {}: {}", file.display(), e.error))?;
    Ok(())
}

/// An artifact checked for export.
struct ExportItem {
    path: ArtifactPath,
    file: PathBuf,
    size: u64,
    replaces: bool,
}

/// Every artifact of `session` in `store`, target by target (never perfstore's records).
async fn session_artifacts(
    store: &Store,
    session: &SessionName,
) -> Result<Vec<ArtifactPath>, Error> {
    let mut paths = Vec::new();
    for target in store.list_targets(session).await? {
        let target = TargetPath::new(session.clone(), target);
        for key in store.list_keys(&target, &KeyPrefix::all()).await? {
            paths.push(target.artifact(key));
        }
    }
    Ok(paths)
}

async fn require_session(store: &Store, session: &SessionName) -> Result<(), Error> {
    if store.list_sessions().await?.contains(session) {
        Ok(())
    } else {
        Err(Error::SessionNotFound {
            session: session.clone(),
        })
    }
}

/// Writes every artifact of `session` to `DIR/<target>/<key…>`, the layout [`import_dir`]
/// reads.
///
/// - Files get the exact stored bytes and are written atomically (a temp file in the same
///   folder, renamed over the destination), so a reader never sees half a file.
/// - A file that holds the stored bytes already is left alone (so an interrupted export can be
///   run again). A file with *different* bytes is replaced only with
///   [`overwrite`](ExportOptions::overwrite); otherwise the export fails with
///   [`TransferError::WouldOverwrite`] before writing anything.
/// - Symlinks below `DIR` are never followed: an artifact whose destination has one on the way
///   fails (so nothing is written outside `DIR`).
/// - `DIR` is created if missing. The session's records (metadata) are not exported.
pub async fn export_dir(
    store: &Store,
    session: &SessionName,
    dir: &Path,
    options: &ExportOptions,
) -> Result<ExportReport, TransferError> {
    require_session(store, session).await?;
    match fs::metadata(dir) {
        Ok(meta) if !meta.is_dir() => {
            return Err(TransferError::NotADir {
                path: dir.to_path_buf(),
            });
        }
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
        }
        Err(e) => return Err(Error::io("open", dir, e).into()),
    }
    let progress = options.progress.as_ref();
    let paths = session_artifacts(store, session).await?;
    let mut report = ExportReport {
        session: session.clone(),
        moved: Tally::default(),
        replaced: 0,
        unchanged: Tally::default(),
        failed: Tally::default(),
        failures: Vec::new(),
    };

    // Check every destination first, so a refusal to overwrite writes nothing.
    let mut status = Progress {
        stage: Stage::Checking,
        items_done: 0,
        items_total: paths.len() as u64,
        bytes_done: 0,
        bytes_total: 0,
    };
    ProgressFn::emit(progress, status);
    let mut checks = stream::iter(paths)
        .map(|path| async move {
            let meta = match store.head(&path).await {
                Ok(Some(meta)) => meta,
                Ok(None) => return (path, Err("deleted while exporting".to_owned())),
                Err(e) => return (path, Err(e.to_string())),
            };
            let file = export_file(dir, &path);
            let (dir, to, hash) = (dir.to_path_buf(), file.clone(), meta.hash.clone());
            let existing = blocking(move || inspect_destination(&dir, &to, &hash))
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r);
            (path, existing.map(|existing| (file, meta.size, existing)))
        })
        .buffer_unordered(options.concurrency.max(1));
    let mut to_write = Vec::new();
    let mut conflicts = Vec::new();
    while let Some((path, checked)) = checks.next().await {
        match checked {
            Ok((_, size, Existing::Same)) => report.unchanged.add(size),
            Ok((file, size, Existing::Absent)) => to_write.push(ExportItem {
                path,
                file,
                size,
                replaces: false,
            }),
            Ok((file, size, Existing::Different)) => {
                conflicts.push(file.clone());
                to_write.push(ExportItem {
                    path,
                    file,
                    size,
                    replaces: true,
                });
            }
            Err(reason) => {
                report.failed.add(0);
                report.failures.push(ItemFailure {
                    item: item_name(&path),
                    reason,
                });
            }
        }
        status.items_done += 1;
        ProgressFn::emit(progress, status);
    }
    drop(checks);
    if !conflicts.is_empty() && !options.overwrite {
        conflicts.sort();
        return Err(TransferError::WouldOverwrite { files: conflicts });
    }

    let mut status = Progress {
        stage: Stage::Transferring,
        items_done: 0,
        items_total: to_write.len() as u64,
        bytes_done: 0,
        bytes_total: to_write.iter().map(|i| i.size).sum(),
    };
    ProgressFn::emit(progress, status);
    let mut writes = stream::iter(&to_write)
        .map(|item| async move {
            let artifact = match store.get(&item.path).await {
                Ok(Some(artifact)) => artifact,
                Ok(None) => return (item, Outcome::Failed("deleted while exporting".into())),
                Err(e) => return (item, Outcome::Failed(e.to_string())),
            };
            let bytes = artifact.into_bytes();
            let size = bytes.len() as u64;
            let file = item.file.clone();
            let outcome = match blocking(move || write_atomic(&file, &bytes)).await {
                Ok(Ok(())) => Outcome::Moved(size),
                Ok(Err(reason)) => Outcome::Failed(reason),
                Err(e) => Outcome::Failed(e.to_string()),
            };
            (item, outcome)
        })
        .buffer_unordered(options.concurrency.max(1));
    while let Some((item, outcome)) = writes.next().await {
        match outcome {
            Outcome::Moved(size) => {
                report.moved.add(size);
                report.replaced += u64::from(item.replaces);
            }
            Outcome::Unchanged(size) => report.unchanged.add(size),
            Outcome::Failed(reason) => {
                report.failed.add(item.size);
                report.failures.push(ItemFailure {
                    item: item_name(&item.path),
                    reason,
                });
            }
        }
        status.items_done += 1;
        status.bytes_done += item.size;
        ProgressFn::emit(progress, status);
    }
    report.failures.sort_by(|a, b| a.item.cmp(&b.item));
    Ok(report)
}

/// An artifact (or record) of the source to copy.
struct CopyItem {
    path: ArtifactPath,
    size: u64,
    record: bool,
}

/// What the destination must do.
enum CopyStep {
    Put(CopyItem),
    Prune(ArtifactPath),
}

async fn copy_one(from: &Store, to: &Store, path: &ArtifactPath) -> Outcome {
    let artifact = match from.get(path).await {
        Ok(Some(artifact)) => artifact,
        Ok(None) => return Outcome::Failed("deleted from the source while copying".into()),
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    let meta = artifact.meta();
    match to.put(path, artifact).await {
        Ok(stored) if stored.hash == meta.hash => Outcome::Moved(meta.size),
        Ok(stored) => Outcome::Failed(format!(
            "the destination stored different bytes (hash {} instead of {})",
            stored.hash, meta.hash
        )),
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

/// Mirrors `session` of `from` into `to` (any two backends).
///
/// - Only artifacts missing from `to` or with a different [`ContentHash`] are copied, with
///   their exact bytes (and their kind, where the source records one); so a second copy moves
///   nothing.
/// - perfstore's records of the session (its metadata, with the environment fingerprint) are
///   copied the same way, so [`crate::workflows::session::session_meta`] gives the same on both sides.
/// - With [`prune`](CopyOptions::prune), artifacts and targets of the session in `to` that
///   `from` lacks are deleted first (before copying, so a key freed by pruning can be reused).
///   Records are never pruned.
///
/// Fails as a whole if the session does not exist in `from` or a listing fails; an artifact
/// that cannot be copied is counted in [`CopyReport::failed`].
pub async fn copy_session(
    from: &Store,
    to: &Store,
    session: &SessionName,
    options: &CopyOptions,
) -> Result<CopyReport, TransferError> {
    require_session(from, session).await?;
    let progress = options.progress.as_ref();
    let concurrency = options.concurrency.max(1);

    let mut sources: Vec<(ArtifactPath, bool)> = session_artifacts(from, session)
        .await?
        .into_iter()
        .map(|p| (p, false))
        .collect();
    let records = TargetPath::records_of(session.clone());
    for key in from.list_keys(&records, &KeyPrefix::all()).await? {
        sources.push((records.artifact(key), true));
    }

    let mut prune = Vec::new();
    if options.prune {
        let wanted: BTreeSet<&ArtifactPath> = sources.iter().map(|(p, _)| p).collect();
        for path in session_artifacts(to, session).await? {
            if !wanted.contains(&path) {
                prune.push(path);
            }
        }
    }

    let mut report = CopyReport {
        session: session.clone(),
        moved: Tally::default(),
        unchanged: Tally::default(),
        failed: Tally::default(),
        pruned: 0,
        records_moved: 0,
        failures: Vec::new(),
    };
    let mut status = Progress {
        stage: Stage::Checking,
        items_done: 0,
        items_total: sources.len() as u64,
        bytes_done: 0,
        bytes_total: 0,
    };
    ProgressFn::emit(progress, status);
    let mut checks = stream::iter(sources)
        .map(|(path, record)| async move {
            let (source, destination) = futures::join!(from.head(&path), to.head(&path));
            (path, record, source, destination)
        })
        .buffer_unordered(concurrency);
    let mut puts = Vec::new();
    while let Some((path, record, source, destination)) = checks.next().await {
        status.items_done += 1;
        ProgressFn::emit(progress, status);
        let failure = match (source, destination) {
            // Gone from the source since it was listed: nothing to mirror.
            (Ok(None), _) => continue,
            (Ok(Some(s)), Ok(Some(d))) if s.hash == d.hash => {
                if !record {
                    report.unchanged.add(s.size);
                }
                continue;
            }
            (Ok(Some(s)), Ok(_)) => {
                puts.push(CopyItem {
                    path,
                    size: s.size,
                    record,
                });
                continue;
            }
            (Err(e), _) => format!("source: {e}"),
            (_, Err(e)) => format!("destination: {e}"),
        };
        report.failed.add(0);
        report.failures.push(ItemFailure {
            item: item_name(&path),
            reason: failure,
        });
    }
    drop(checks);

    // Prune first: on backends where `a` and `a/b` cannot coexist, a pruned key may be in the
    // way of a copied one.
    let steps: Vec<CopyStep> = prune
        .into_iter()
        .map(CopyStep::Prune)
        .chain(puts.into_iter().map(CopyStep::Put))
        .collect();
    let mut status = Progress {
        stage: Stage::Transferring,
        items_done: 0,
        items_total: steps.len() as u64,
        bytes_done: 0,
        bytes_total: steps
            .iter()
            .map(|s| match s {
                CopyStep::Put(item) => item.size,
                CopyStep::Prune(_) => 0,
            })
            .sum(),
    };
    ProgressFn::emit(progress, status);
    let (prunes, copies): (Vec<_>, Vec<_>) = steps
        .into_iter()
        .partition(|s| matches!(s, CopyStep::Prune(_)));
    for batch in [prunes, copies] {
        let mut done = stream::iter(batch)
            .map(|step| async move {
                match &step {
                    CopyStep::Prune(path) => {
                        let outcome = match to.delete(path).await {
                            Ok(_) => Outcome::Moved(0),
                            Err(e) => Outcome::Failed(format!("prune: {e}")),
                        };
                        (step, outcome)
                    }
                    CopyStep::Put(item) => {
                        let outcome = copy_one(from, to, &item.path).await;
                        (step, outcome)
                    }
                }
            })
            .buffer_unordered(concurrency);
        while let Some((step, outcome)) = done.next().await {
            let (path, planned, record) = match &step {
                CopyStep::Prune(path) => (path, 0, false),
                CopyStep::Put(item) => (&item.path, item.size, item.record),
            };
            match (&step, outcome) {
                (CopyStep::Prune(_), Outcome::Moved(_)) => report.pruned += 1,
                (_, Outcome::Moved(_)) if record => report.records_moved += 1,
                (_, Outcome::Moved(size)) => report.moved.add(size),
                (_, Outcome::Unchanged(size)) => report.unchanged.add(size),
                (_, Outcome::Failed(reason)) => {
                    report.failed.add(planned);
                    report.failures.push(ItemFailure {
                        item: item_name(path),
                        reason,
                    });
                }
            }
            status.items_done += 1;
            status.bytes_done += planned;
            ProgressFn::emit(progress, status);
        }
    }
    report.failures.sort_by(|a, b| a.item.cmp(&b.item));
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_paths_map_to_artifacts_or_say_why_not() {
        let s = SessionName::new("s").unwrap();
        let ok = artifact_of(&s, Path::new("t/results/m.json")).unwrap();
        assert_eq!(
            ok.to_string(),
            ArtifactPath::parse("s", "t", "results/m.json")
                .unwrap()
                .to_string()
        );
        assert!(
            artifact_of(&s, Path::new("loose.txt"))
                .unwrap_err()
                .contains("target folder")
        );
        assert!(
            artifact_of(&s, Path::new("bad target/k"))
                .unwrap_err()
                .contains("target name")
        );
        assert!(
            artifact_of(&s, Path::new("t/sp ace.txt"))
                .unwrap_err()
                .contains("key")
        );
        assert!(
            artifact_of(&s, Path::new(".perfstore/session.json"))
                .unwrap_err()
                .contains("target name")
        );
    }

    #[test]
    fn export_temp_files_are_not_valid_keys() {
        assert!(Key::new(format!("{EXPORT_TEMP_PREFIX}abc")).is_err());
    }
}
