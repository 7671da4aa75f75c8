//! The local-disk backend, the embedded default.
//!
//! Layout (the original module's): `{root}/sessions/{session}/targets/{target}/{key}`, one file
//! per artifact holding exactly its bytes; JSON in canonical form (Python `json.dumps(indent=4)`),
//! so a tree written by the original module is read as-is and ours is byte-identical to it.
//!
//! - **Atomic writes:** bytes go to a temp file in the destination folder, which is then renamed
//!   over the key (optionally fsync'd, file and folder). A reader sees the old file or the new
//!   one; a crash leaves at most a temp file, whose name (`.~perfstore-….tmp`) is never a valid
//!   key, so listings skip it. Saving the bytes a file already holds writes nothing.
//! - **No escape:** every path component comes from a validated name, and no symbolic link
//!   below the root is ever followed: before every read, write, delete and listing each existing
//!   folder and file on the way down from the root is checked not to be a link (a link is an
//!   error naming it). The root itself may be a link.
//! - **Crash leftovers are reclaimed:** a temp file's name carries its writer's process id;
//!   listings delete temp files whose writer is gone and that have not changed for
//!   [`STALE_TEMP_AGE`], and a target with no artifact left is neither listed nor kept.
//! - Kinds are not recorded; [`ArtifactKind::infer`](crate::ArtifactKind::infer) tells them apart.
//! - Deleting the last artifact of a target removes its empty folders, so the target (and an
//!   emptied session) drop out of listings.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use async_trait::async_trait;

use crate::artifact::{Artifact, ArtifactKind, ArtifactMeta, ContentHash};
use crate::compression::{self, CompressionOptions, HEADER_LEN, STREAM_CHUNK, TRAILER_LEN};
use crate::error::{Error, Result};
use crate::names::{ArtifactPath, Key, KeyPrefix, SessionName, TargetName, TargetPath};
use crate::storage::{ByteReader, Capabilities, Storage, Store, TargetSizes};

/// Temp files start with this; `~` is not a key character, so no key can collide with one.
const TEMP_PREFIX: &str = ".~perfstore-";
const TEMP_SUFFIX: &str = ".tmp";
/// A temp file untouched this long whose writer's process is gone is a crash leftover. A live
/// writer touches its file with every chunk, so this only delays the reclaim of a dead one.
pub const STALE_TEMP_AGE: std::time::Duration = std::time::Duration::from_secs(600);
/// How often a write retries after a concurrent delete removed its (empty) folder.
const CREATE_DIR_RETRIES: usize = 8;

/// Options of the local backend.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LocalOptions {
    /// fsync each written file and its folder before the write returns (durable across power
    /// loss, slower). Atomicity does not depend on it.
    pub fsync: bool,
    /// Which artifacts are stored compressed (see [`crate::compression`]); compressed files are
    /// read whatever this says.
    pub compression: CompressionOptions,
}

/// Artifacts as files under a root folder.
#[derive(Debug, Clone)]
pub struct LocalStorage {
    root: PathBuf,
    options: LocalOptions,
}

impl Store {
    /// A local-disk store rooted at `root` (created on first write).
    pub fn local(root: impl Into<PathBuf>) -> Self {
        Self::new(LocalStorage::new(root))
    }
}

impl LocalStorage {
    /// A store rooted at `root`, created on first write.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self::with_options(root, LocalOptions::default())
    }

    /// A store rooted at `root` with `options`.
    pub fn with_options(root: impl Into<PathBuf>, options: LocalOptions) -> Self {
        Self {
            root: root.into(),
            options,
        }
    }

    /// The root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn sessions_dir(&self) -> PathBuf {
        self.root.join("sessions")
    }

    fn targets_dir(&self, session: &SessionName) -> PathBuf {
        self.sessions_dir().join(session.as_str()).join("targets")
    }

    fn target_dir(&self, target: &TargetPath) -> PathBuf {
        self.targets_dir(&target.session)
            .join(target.target.as_str())
    }

    /// The file of an artifact.
    pub fn file_path(&self, path: &ArtifactPath) -> PathBuf {
        let mut file = self.target_dir(&path.target);
        file.extend(path.key.segments());
        file
    }
}

/// Runs blocking file-system work without stalling the runtime.
///
/// On a multi-thread runtime the work runs in place (`block_in_place` hands this worker's other
/// tasks to another worker), which for small files costs a fraction of a `spawn_blocking` round
/// trip; elsewhere (current-thread runtimes) it goes to the blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    use tokio::runtime::{Handle, RuntimeFlavor};
    if Handle::current().runtime_flavor() == RuntimeFlavor::MultiThread {
        return tokio::task::block_in_place(work);
    }
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|join| Error::Backend {
            backend: "local",
            message: format!("file-system task failed: {join}"),
            source: None,
        })?
}

/// `Ok(None)` for the errors that mean "no file there": missing, or a folder where the file
/// would be, or a file where a folder would be.
fn absent_as_none<T>(result: io::Result<T>) -> io::Result<Option<T>> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound
                    | io::ErrorKind::IsADirectory
                    | io::ErrorKind::NotADirectory
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// The folders of a bulk call's files found to be real folders below the root (no link on the
/// way), each checked once: [`no_links`] per file then stats only the file itself. A bulk read
/// of 10,000 small files spent more time in these checks than in reading.
#[derive(Clone, Default)]
struct CheckedFolders(std::sync::Arc<std::collections::HashSet<PathBuf>>);

impl CheckedFolders {
    async fn of<'a>(root: &Path, files: impl Iterator<Item = &'a PathBuf>) -> Self {
        let parents: std::collections::BTreeSet<PathBuf> = files
            .filter_map(|file| file.parent().map(Path::to_path_buf))
            .collect();
        let root = root.to_path_buf();
        let checked = blocking(move || {
            let mut checked = std::collections::HashSet::new();
            for parent in parents {
                let Ok(below) = parent.strip_prefix(&root) else {
                    continue;
                };
                let mut at = root.clone();
                for part in below.components() {
                    at.push(part);
                    if checked.contains(&at) {
                        continue;
                    }
                    match fs::symlink_metadata(&at) {
                        Ok(meta) if meta.is_dir() => {
                            checked.insert(at.clone());
                        }
                        // A link, a file or nothing: the per-file check meets it and says so.
                        _ => break,
                    }
                }
            }
            Ok(checked)
        })
        .await
        .unwrap_or_default();
        CheckedFolders(std::sync::Arc::new(checked))
    }

    /// Reads `file`: in a checked folder with one open that refuses a link (`O_NOFOLLOW`), so
    /// the file needs no check of its own; elsewhere after [`no_links`] from the root.
    fn read(&self, root: &Path, file: &Path, path: &ArtifactPath) -> Result<Option<Artifact>> {
        #[cfg(unix)]
        if file.parent().is_some_and(|folder| self.0.contains(folder)) {
            use std::io::Read;
            use std::os::unix::fs::OpenOptionsExt;
            let opened = fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NOFOLLOW)
                .open(file);
            let opened = match opened {
                Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return Err(link_refused(file)),
                other => other,
            };
            let Some(mut f) = absent_as_none(opened).map_err(|e| Error::io("read", file, e))?
            else {
                return Ok(None);
            };
            let mut bytes = Vec::new();
            // A folder opens too; reading it fails as "is a directory": no artifact there.
            if absent_as_none(f.read_to_end(&mut bytes))
                .map_err(|e| Error::io("read", file, e))?
                .is_none()
            {
                return Ok(None);
            }
            return decode_stored(bytes, path).map(Some);
        }
        self.no_links(root, file)?;
        read_artifact(file, path)
    }

    /// [`no_links`] for `file`, from its folder when that folder was checked.
    fn no_links(&self, root: &Path, file: &Path) -> Result<()> {
        match file.parent() {
            Some(folder) if self.0.contains(folder) => no_links(folder, file),
            _ => no_links(root, file),
        }
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

/// Fails if any existing component of `path` below `root` is a symbolic link: nothing under
/// the root is reached through a link (which could lead outside it). Components that do not
/// exist yet end the check: they will be created as real folders.
fn no_links(root: &Path, path: &Path) -> Result<()> {
    let Ok(below) = path.strip_prefix(root) else {
        return Ok(());
    };
    let mut at = root.to_path_buf();
    for part in below.components() {
        at.push(part);
        match fs::symlink_metadata(&at) {
            Ok(meta) if meta.file_type().is_symlink() => return Err(link_refused(&at)),
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                ) =>
            {
                return Ok(());
            }
            Err(e) => return Err(Error::io("stat", &at, e)),
        }
    }
    Ok(())
}

fn link_refused(at: &Path) -> Error {
    Error::io(
        "refuse to follow",
        at,
        io::Error::other("it is a symbolic link; perfstore never follows links below its root"),
    )
}

/// Whether `name` (in a folder of the root) is a temp file of a writer that is gone, untouched
/// for [`STALE_TEMP_AGE`].
fn is_stale_temp(name: &str, meta: &fs::Metadata) -> bool {
    let Some(rest) = name.strip_prefix(TEMP_PREFIX) else {
        return false;
    };
    let untouched = meta
        .modified()
        .ok()
        .and_then(|m| m.elapsed().ok())
        .is_some_and(|age| age >= STALE_TEMP_AGE);
    // `deleting-…` folders of an interrupted delete_target, and temp files of older versions
    // (no pid), go by age alone.
    let writer = rest
        .split('-')
        .next()
        .and_then(|pid| pid.parse::<u32>().ok());
    untouched && writer.is_none_or(|pid| !process_alive(pid))
}

/// Whether process `pid` runs on this machine (where that cannot be told, it is assumed to).
fn process_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let proc_root = Path::new("/proc");
    !proc_root.join("self").exists() || proc_root.join(pid.to_string()).exists()
}

/// Deletes a crash leftover (a file, or the folder of an interrupted target delete); a
/// failure is left for the next listing.
fn reclaim(path: &Path, is_dir: bool) {
    let removed = match is_dir {
        true => fs::remove_dir_all(path),
        false => fs::remove_file(path),
    };
    match removed {
        Ok(()) => tracing::info!(path = %path.display(), "reclaimed a crash leftover"),
        Err(e) => tracing::debug!(path = %path.display(), error = %e, "could not reclaim"),
    }
}

/// Whether the folder `dir` holds at least one artifact (stopping at the first), reclaiming
/// crash leftovers met on the way.
fn holds_an_artifact(dir: &Path) -> bool {
    let mut walk = walkdir::WalkDir::new(dir)
        .follow_links(false)
        .min_depth(1)
        .into_iter();
    while let Some(entry) = walk.next() {
        let Ok(entry) = entry else { continue };
        let name = entry.file_name().to_str().unwrap_or_default();
        if name.starts_with(TEMP_PREFIX) {
            if entry.metadata().is_ok_and(|m| is_stale_temp(name, &m)) {
                if entry.file_type().is_dir() {
                    walk.skip_current_dir();
                }
                reclaim(entry.path(), entry.file_type().is_dir());
            }
            continue;
        }
        if entry.file_type().is_file() && Key::new(name).is_ok() {
            return true;
        }
    }
    false
}

fn write_atomic(
    file: &Path,
    bytes: &[u8],
    options: LocalOptions,
    path: &ArtifactPath,
) -> Result<()> {
    if !options.fsync && holds_exactly(file, bytes) {
        return Ok(());
    }
    let mut temp = create_temp(file, path)?;
    temp.write_all(bytes)
        .map_err(|e| Error::io("write", temp.path(), e))?;
    persist(temp, file, options, path)
}

/// Whether `file` is a plain file holding exactly `bytes`: then a save of them is already done,
/// and skipping it spares the temp file and rename that cost most of a small save (creating and
/// freeing an inode per save). Only a file of the same size is read. With `fsync` asked for,
/// every save writes, as the file on disk may not be durable yet.
fn holds_exactly(file: &Path, bytes: &[u8]) -> bool {
    use std::io::Read;
    let same_size = fs::symlink_metadata(file)
        .is_ok_and(|meta| meta.is_file() && meta.len() == bytes.len() as u64);
    if !same_size {
        return false;
    }
    let Ok(f) = fs::File::open(file) else {
        return false;
    };
    // One byte more than expected tells a file that grew since the stat.
    let mut stored = Vec::with_capacity(bytes.len() + 1);
    f.take(bytes.len() as u64 + 1)
        .read_to_end(&mut stored)
        .is_ok_and(|_| stored == bytes)
}

/// A temp file in the folder of `file` (created if missing), to be [`persist`]ed over it.
fn create_temp(file: &Path, path: &ArtifactPath) -> Result<tempfile::NamedTempFile> {
    let dir = file
        .parent()
        .ok_or_else(|| Error::io("write", file, io::ErrorKind::InvalidInput.into()))?;
    let mut attempts = 0;
    loop {
        let mut builder = tempfile::Builder::new();
        // The writer's pid in the name tells a crash leftover from a live write.
        let prefix = format!("{TEMP_PREFIX}{}-", std::process::id());
        builder.prefix(&prefix).suffix(TEMP_SUFFIX);
        // An artifact is an ordinary file: 0666 less the umask, as the server and `cp` make
        // them (tempfile's default, 0600, would hide results from the rest of a team).
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
        match builder.tempfile_in(dir) {
            Ok(temp) => return Ok(temp),
            // The folder is missing (first write, or a concurrent delete pruned it): create it.
            Err(e) if e.kind() == io::ErrorKind::NotFound && attempts < CREATE_DIR_RETRIES => {
                attempts += 1;
                match fs::create_dir_all(dir) {
                    Ok(()) => {}
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::NotADirectory | io::ErrorKind::AlreadyExists
                        ) =>
                    {
                        return Err(folder_is_artifact(path));
                    }
                    Err(e) => return Err(Error::io("create folder", dir, e)),
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotADirectory => {
                return Err(folder_is_artifact(path));
            }
            Err(e) => return Err(Error::io("create temp file in", dir, e)),
        }
    }
}

fn folder_is_artifact(path: &ArtifactPath) -> Error {
    Error::Conflict {
        path: path.clone(),
        reason: "a folder of this key is stored as an artifact".to_owned(),
    }
}

/// Renames a fully written temp file over `file`: the one step that makes a write visible.
fn persist(
    temp: tempfile::NamedTempFile,
    file: &Path,
    options: LocalOptions,
    path: &ArtifactPath,
) -> Result<()> {
    if options.fsync {
        temp.as_file()
            .sync_all()
            .map_err(|e| Error::io("fsync", temp.path(), e))?;
    }
    match temp.persist(file) {
        Ok(_) => {}
        Err(e)
            if matches!(
                e.error.kind(),
                io::ErrorKind::IsADirectory | io::ErrorKind::DirectoryNotEmpty
            ) =>
        {
            return Err(Error::Conflict {
                path: path.clone(),
                reason: "other keys are stored below this key".to_owned(),
            });
        }
        Err(e) => return Err(Error::io("rename temp file to", file, e.error)),
    }
    if options.fsync
        && let Some(dir) = file.parent()
    {
        sync_dir(dir).map_err(|e| Error::io("fsync", dir, e))?;
    }
    Ok(())
}

/// The artifact held by a file's bytes (decoded if compressed).
fn read_artifact(file: &Path, path: &ArtifactPath) -> Result<Option<Artifact>> {
    let Some(bytes) = absent_as_none(fs::read(file)).map_err(|e| Error::io("read", file, e))?
    else {
        return Ok(None);
    };
    decode_stored(bytes, path).map(Some)
}

/// The artifact a file's bytes hold (decoded if compressed).
fn decode_stored(bytes: Vec<u8>, path: &ArtifactPath) -> Result<Artifact> {
    compression::decode(bytes.into(), None).map_err(|reason| Error::Corrupt {
        path: path.clone(),
        reason,
    })
}

/// Plain files up to this size get their kind inferred on `head` (which reads them whole);
/// larger ones are hashed in chunks and reported as text or binary.
const INFER_LIMIT: u64 = 16 << 20;

/// `head` of a file: a container's own record, else the bytes hashed (in chunks when large).
fn head_of(file: &Path, path: &ArtifactPath) -> Result<Option<ArtifactMeta>> {
    use std::io::{Read, Seek, SeekFrom};
    let io_err = |op, e| Error::io(op, file, e);
    let Some(mut f) = absent_as_none(fs::File::open(file)).map_err(|e| io_err("open", e))? else {
        return Ok(None);
    };
    let stat = f.metadata().map_err(|e| io_err("stat", e))?;
    if !stat.is_file() {
        return Ok(None);
    }
    let len = stat.len();
    if len >= (HEADER_LEN + TRAILER_LEN) as u64 {
        let mut head = [0u8; HEADER_LEN];
        f.read_exact(&mut head).map_err(|e| io_err("read", e))?;
        if compression::is_container(&head) {
            let mut tail = [0u8; TRAILER_LEN];
            f.seek(SeekFrom::End(-(TRAILER_LEN as i64)))
                .and_then(|_| f.read_exact(&mut tail))
                .map_err(|e| io_err("read", e))?;
            let corrupt = |reason| Error::Corrupt {
                path: path.clone(),
                reason,
            };
            let recorded = compression::container_meta(&head, &tail)
                .ok_or_else(|| corrupt("not a container".to_owned()))?
                .map_err(corrupt)?;
            return Ok(Some(ArtifactMeta {
                size: recorded.size,
                kind: recorded.kind.unwrap_or(ArtifactKind::Binary),
                hash: recorded.hash,
            }));
        }
        f.rewind().map_err(|e| io_err("read", e))?;
    }
    if len <= INFER_LIMIT {
        let mut bytes = Vec::with_capacity(len as usize);
        f.read_to_end(&mut bytes).map_err(|e| io_err("read", e))?;
        return Ok(Some(Artifact::from_stored(bytes, None).meta()));
    }
    let (size, hash, utf8) = hash_in_chunks(&mut f).map_err(|e| io_err("read", e))?;
    Ok(Some(ArtifactMeta {
        size,
        kind: if utf8 {
            ArtifactKind::Text
        } else {
            ArtifactKind::Binary
        },
        hash,
    }))
}

/// Size, hash and UTF-8 validity of everything `reader` yields, in bounded memory.
fn hash_in_chunks(reader: &mut impl io::Read) -> io::Result<(u64, ContentHash, bool)> {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; STREAM_CHUNK];
    let (mut size, mut utf8, mut carry) = (0u64, true, Vec::new());
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
        if utf8 {
            // A character split across chunks is carried into the next one.
            carry.extend_from_slice(&buf[..n]);
            match std::str::from_utf8(&carry) {
                Ok(_) => carry.clear(),
                Err(e) if e.error_len().is_none() => {
                    carry.drain(..e.valid_up_to());
                }
                Err(_) => utf8 = false,
            }
        }
    }
    Ok((
        size,
        ContentHash::from_digest(&hasher.finalize()),
        utf8 && carry.is_empty(),
    ))
}

/// Removes the now-empty folders from `from` up to and including the session folder, stopping
/// at the first folder that is not empty (another writer's files keep theirs).
fn prune_empty_dirs(from: &Path, sessions_dir: &Path) {
    let mut dir = Some(from);
    while let Some(d) = dir {
        if d == sessions_dir || !d.starts_with(sessions_dir) || fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
}

/// The keys under `target_dir` (optionally only below `start`), as sorted valid keys.
fn walk_keys(target_dir: &Path, start: &Path, prefix: &KeyPrefix) -> Result<Vec<Key>> {
    Ok(walk_files(target_dir, start, prefix, false)?
        .into_iter()
        .map(|(key, _)| key)
        .collect())
}

/// The keys below `start` that match `prefix`, sorted, each with its file's size if `sizes`
/// (from the walk's own metadata: no second look at the file).
fn walk_files(
    target_dir: &Path,
    start: &Path,
    prefix: &KeyPrefix,
    sizes: bool,
) -> Result<Vec<(Key, u64)>> {
    let mut keys = Vec::new();
    for entry in walkdir::WalkDir::new(start)
        .follow_links(false)
        .min_depth(1)
    {
        let entry = match entry {
            Ok(entry) => entry,
            // The folder vanished (not created yet, or deleted concurrently): nothing to list.
            Err(e)
                if e.io_error()
                    .is_some_and(|io| io.kind() == io::ErrorKind::NotFound) =>
            {
                continue;
            }
            Err(e) => {
                let path = e.path().unwrap_or(start).to_path_buf();
                return Err(Error::io("list", path, e.into()));
            }
        };
        let name = entry.file_name().to_str().unwrap_or_default();
        if name.starts_with(TEMP_PREFIX) {
            if entry.file_type().is_file()
                && entry.metadata().is_ok_and(|m| is_stale_temp(name, &m))
            {
                reclaim(entry.path(), false);
            }
            continue;
        }
        if !entry.file_type().is_file() {
            continue;
        }
        let Ok(rel) = entry.path().strip_prefix(target_dir) else {
            continue;
        };
        let Some(rel) = rel.to_str() else { continue };
        let rel = if std::path::MAIN_SEPARATOR == '/' {
            rel.to_owned()
        } else {
            rel.replace(std::path::MAIN_SEPARATOR, "/")
        };
        // Temp files and anything else that is not a valid key are not artifacts.
        if let Ok(key) = Key::new(rel)
            && prefix.matches(&key)
        {
            let size = match sizes {
                true => entry.metadata().map(|m| m.len()).unwrap_or(0),
                false => 0,
            };
            keys.push((key, size));
        }
    }
    keys.sort();
    Ok(keys)
}

/// The entries of `dir` that are folders with valid names and `keep`, sorted; stale leftovers
/// of interrupted deletes are reclaimed on the way.
fn list_dirs<N: Ord>(
    dir: &Path,
    parse: impl Fn(&str) -> Option<N>,
    keep: impl Fn(&Path) -> bool,
) -> Result<Vec<N>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("list", dir, e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("list", dir, e))?;
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        let file_name = entry.file_name();
        let raw = file_name.to_str().unwrap_or_default();
        if raw.starts_with(TEMP_PREFIX) {
            if entry.metadata().is_ok_and(|m| is_stale_temp(raw, &m)) {
                reclaim(&entry.path(), is_dir);
            }
            continue;
        }
        if !is_dir {
            continue;
        }
        if let Some(name) = parse(raw)
            && keep(&entry.path())
        {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

#[async_trait]
impl Storage for LocalStorage {
    fn name(&self) -> &'static str {
        "local"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            records_kind: false,
            file_and_folder_keys: false,
            persistent: true,
        }
    }

    async fn put(&self, path: &ArtifactPath, artifact: Artifact) -> Result<ArtifactMeta> {
        let file = self.file_path(path);
        let root = self.root.clone();
        let options = self.options;
        let path = path.clone();
        blocking(move || {
            no_links(&root, &file)?;
            let (stored, meta) = compression::encode(&artifact, &options.compression);
            write_atomic(&file, &stored, options, &path)?;
            Ok(meta)
        })
        .await
    }

    async fn get(&self, path: &ArtifactPath) -> Result<Option<Artifact>> {
        let file = self.file_path(path);
        let root = self.root.clone();
        let path = path.clone();
        blocking(move || {
            no_links(&root, &file)?;
            read_artifact(&file, &path)
        })
        .await
    }

    async fn head(&self, path: &ArtifactPath) -> Result<Option<ArtifactMeta>> {
        let file = self.file_path(path);
        let root = self.root.clone();
        let path = path.clone();
        blocking(move || {
            no_links(&root, &file)?;
            head_of(&file, &path)
        })
        .await
    }

    async fn put_stream(
        &self,
        path: &ArtifactPath,
        mut reader: ByteReader,
    ) -> Result<ArtifactMeta> {
        use tokio::io::AsyncWriteExt;
        let file = self.file_path(path);
        let options = self.options;
        let temp = {
            let (file, path, root) = (file.clone(), path.clone(), self.root.clone());
            blocking(move || {
                no_links(&root, &file)?;
                create_temp(&file, &path)
            })
            .await?
        };
        let write_err = |e| Error::io("write", temp.path(), e);
        let mut out = tokio::fs::File::from_std(temp.as_file().try_clone().map_err(write_err)?);
        let mut encoder = compression::StreamEncoder::new(options.compression, None);
        let mut buf = vec![0u8; STREAM_CHUNK];
        // Any failure returns early and drops `temp`, which deletes it: nothing half-written
        // is ever visible under the key.
        loop {
            let n = crate::storage::read_input(&mut reader, &mut buf, path).await?;
            if n == 0 {
                break;
            }
            let stored = encoder.push(&buf[..n]).map_err(write_err)?;
            out.write_all(&stored).await.map_err(write_err)?;
        }
        let (last, summary) = encoder.finish().map_err(write_err)?;
        out.write_all(&last).await.map_err(write_err)?;
        out.flush().await.map_err(write_err)?;
        drop(out);
        let path = path.clone();
        blocking(move || persist(temp, &file, options, &path)).await?;
        Ok(summary.meta)
    }

    async fn get_stream(&self, path: &ArtifactPath) -> Result<Option<ByteReader>> {
        let file = self.file_path(path);
        {
            let (root, file) = (self.root.clone(), file.clone());
            blocking(move || no_links(&root, &file)).await?;
        }
        let opened = match tokio::fs::File::open(&file).await {
            Ok(f) => f,
            Err(e) => {
                return absent_as_none::<()>(Err(e))
                    .map(|_| None)
                    .map_err(|e| Error::io("open", &file, e));
            }
        };
        if !opened
            .metadata()
            .await
            .map_err(|e| Error::io("stat", &file, e))?
            .is_file()
        {
            return Ok(None);
        }
        let chunks = tokio_util::io::ReaderStream::with_capacity(opened, STREAM_CHUNK);
        Ok(Some(compression::decoding_reader(chunks)))
    }

    async fn exists(&self, path: &ArtifactPath) -> Result<bool> {
        let file = self.file_path(path);
        let root = self.root.clone();
        blocking(move || {
            no_links(&root, &file)?;
            absent_as_none(fs::metadata(&file))
                .map(|m| m.is_some_and(|m| m.is_file()))
                .map_err(|e| Error::io("stat", &file, e))
        })
        .await
    }

    async fn delete(&self, path: &ArtifactPath) -> Result<bool> {
        let file = self.file_path(path);
        let root = self.root.clone();
        let sessions_dir = self.sessions_dir();
        blocking(move || {
            no_links(&root, &file)?;
            let removed = absent_as_none(fs::remove_file(&file))
                .map_err(|e| Error::io("delete", &file, e))?
                .is_some();
            if removed && let Some(dir) = file.parent() {
                prune_empty_dirs(dir, &sessions_dir);
            }
            Ok(removed)
        })
        .await
    }

    async fn list_keys(&self, target: &TargetPath, prefix: &KeyPrefix) -> Result<Vec<Key>> {
        let target_dir = self.target_dir(target);
        let root = self.root.clone();
        let prefix = prefix.clone();
        blocking(move || {
            let start = match prefix.folder() {
                Some(folder) => folder.split('/').fold(target_dir.clone(), |p, s| p.join(s)),
                None => target_dir.clone(),
            };
            no_links(&root, &start)?;
            walk_keys(&target_dir, &start, &prefix)
        })
        .await
    }

    async fn list_sizes(&self, target: &TargetPath) -> Result<Vec<(Key, u64)>> {
        let target_dir = self.target_dir(target);
        let root = self.root.clone();
        blocking(move || {
            no_links(&root, &target_dir)?;
            walk_files(&target_dir, &target_dir, &KeyPrefix::all(), true)
        })
        .await
    }

    async fn list_sessions(&self) -> Result<Vec<SessionName>> {
        let dir = self.sessions_dir();
        let root = self.root.clone();
        blocking(move || {
            no_links(&root, &dir)?;
            // A session is there while some target of it (its records too) holds an artifact.
            list_dirs(
                &dir,
                |n| SessionName::new(n).ok(),
                |session| holds_an_artifact(&session.join("targets")),
            )
        })
        .await
    }

    async fn list_targets(&self, session: &SessionName) -> Result<Vec<TargetName>> {
        let dir = self.targets_dir(session);
        let root = self.root.clone();
        blocking(move || {
            no_links(&root, &dir)?;
            list_dirs(&dir, |n| TargetName::new(n).ok(), holds_an_artifact)
        })
        .await
    }

    async fn list_session_sizes(&self, session: &SessionName) -> Result<Vec<TargetSizes>> {
        let dir = self.targets_dir(session);
        let root = self.root.clone();
        let targets = {
            let dir = dir.clone();
            blocking(move || {
                no_links(&root, &dir)?;
                // Linked target folders are not listed (as in `list_targets`), so never walked.
                list_dirs(
                    &dir,
                    |n| TargetName::new(n).ok().filter(|t| !t.is_reserved()),
                    |_| true,
                )
            })
            .await?
        };
        // Each target's walk is a few small folder reads: spread them over several threads.
        let walked = in_parallel(targets, move |target| {
            let target_dir = dir.join(target.as_str());
            let sizes = walk_files(&target_dir, &target_dir, &KeyPrefix::all(), true)?;
            Ok((target, sizes))
        })
        .await;
        let mut listed = Vec::with_capacity(walked.len());
        for result in walked {
            let (target, sizes) = result?;
            if !sizes.is_empty() {
                listed.push((target, sizes));
            }
        }
        Ok(listed)
    }

    async fn put_many(&self, items: Vec<(ArtifactPath, Artifact)>) -> Vec<Result<ArtifactMeta>> {
        let options = self.options;
        let jobs: Vec<(PathBuf, ArtifactPath, Artifact)> = items
            .into_iter()
            .map(|(path, artifact)| (self.file_path(&path), path, artifact))
            .collect();
        let root = self.root.clone();
        let folders = CheckedFolders::of(&root, jobs.iter().map(|(file, ..)| file)).await;
        in_parallel(jobs, move |(file, path, artifact)| {
            folders.no_links(&root, &file)?;
            let (stored, meta) = compression::encode(&artifact, &options.compression);
            write_atomic(&file, &stored, options, &path)?;
            Ok(meta)
        })
        .await
    }

    async fn get_many(&self, paths: &[ArtifactPath]) -> Vec<Result<Option<Artifact>>> {
        let files: Vec<(PathBuf, ArtifactPath)> = paths
            .iter()
            .map(|p| (self.file_path(p), p.clone()))
            .collect();
        let root = self.root.clone();
        let folders = CheckedFolders::of(&root, files.iter().map(|(file, _)| file)).await;
        in_parallel(files, move |(file, path)| folders.read(&root, &file, &path)).await
    }

    async fn delete_target(&self, target: &TargetPath) -> Result<usize> {
        let target_dir = self.target_dir(target);
        let root = self.root.clone();
        let sessions_dir = self.sessions_dir();
        blocking(move || {
            // B2: a linked session or target folder must not lead the delete outside the root.
            no_links(&root, &target_dir)?;
            let Some(parent) = target_dir.parent() else {
                return Ok(0);
            };
            // Move the target out of sight first, so no reader sees it half deleted.
            let doomed = parent.join(format!("{TEMP_PREFIX}deleting-{}", uuid_like()));
            match fs::rename(&target_dir, &doomed) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
                Err(e) => return Err(Error::io("delete", &target_dir, e)),
            }
            let count = walk_keys(&doomed, &doomed, &KeyPrefix::all())?.len();
            fs::remove_dir_all(&doomed).map_err(|e| Error::io("delete", &doomed, e))?;
            prune_empty_dirs(parent, &sessions_dir);
            Ok(count)
        })
        .await
    }
}

/// Runs `work` over `jobs` on several blocking threads at once (file I/O parallelises where a
/// single async task would run it one file at a time); results come back in input order.
async fn in_parallel<J, T>(
    jobs: Vec<J>,
    work: impl Fn(J) -> Result<T> + Send + Sync + Clone + 'static,
) -> Vec<Result<T>>
where
    J: Send + 'static,
    T: Send + 'static,
{
    if jobs.is_empty() {
        return Vec::new();
    }
    let threads = std::thread::available_parallelism()
        .map_or(4, |n| n.get() * 2)
        .clamp(2, 16);
    let per_chunk = jobs.len().div_ceil(threads);
    let mut chunks = Vec::new();
    let mut jobs = jobs.into_iter().peekable();
    while jobs.peek().is_some() {
        let chunk: Vec<J> = jobs.by_ref().take(per_chunk).collect();
        let len = chunk.len();
        let work = work.clone();
        let handle =
            tokio::task::spawn_blocking(move || chunk.into_iter().map(&work).collect::<Vec<_>>());
        chunks.push((handle, len));
    }
    let mut results = Vec::new();
    for (chunk, len) in chunks {
        match chunk.await {
            Ok(done) => results.extend(done),
            // Still one result per item: every item of the lost chunk fails.
            Err(join) => results.extend((0..len).map(|_| {
                Err(Error::Backend {
                    backend: "local",
                    message: format!("file-system task failed: {join}"),
                    source: None,
                })
            })),
        }
    }
    results
}

/// A name unique enough for a folder being deleted (process id + time + a counter).
fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{}-{nanos}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}
