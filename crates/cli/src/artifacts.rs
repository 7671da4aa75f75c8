//! The artifact commands: `put`, `get`, `head`, `ls`, `rm`.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use perfstore::baseline::list_baselines;
use perfstore::{
    Artifact, ArtifactMeta, ArtifactPath, Key, KeyPrefix, SessionName, Store, TargetPath,
};
use serde_json::json;

use crate::failure::Failure;
use crate::plural::count;

/// Output format of `head` and `ls`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Human-readable lines.
    #[default]
    Text,
    /// Machine-readable JSON.
    Json,
}

/// `<session> <target> <key>`.
#[derive(Debug, Args)]
pub struct PathArgs {
    /// Session name.
    pub session: String,
    /// Target name.
    pub target: String,
    /// Key, e.g. results/metrics.json.
    pub key: String,
}

impl PathArgs {
    fn parse(&self) -> Result<ArtifactPath, Failure> {
        Ok(ArtifactPath::parse(&self.session, &self.target, &self.key)?)
    }
}

/// Arguments of `put`.
#[derive(Debug, Args)]
pub struct PutArgs {
    #[command(flatten)]
    pub path: PathArgs,
    /// File to store; `-` or nothing reads stdin.
    pub file: Option<PathBuf>,
    /// Store as JSON (validated; stored in canonical form).
    #[arg(long, conflicts_with = "text")]
    pub json: bool,
    /// Store as text (must be UTF-8).
    #[arg(long)]
    pub text: bool,
    #[command(flatten)]
    pub labels: crate::workflows::session::LabelArgs,
}

/// Arguments of `head`.
#[derive(Debug, Args)]
pub struct HeadArgs {
    #[command(flatten)]
    pub path: PathArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// Arguments of `ls`.
#[derive(Debug, Args)]
pub struct LsArgs {
    /// List the targets of this session.
    pub session: Option<String>,
    /// List the keys of this target.
    pub target: Option<String>,
    /// Only keys starting with this prefix (string prefix: `results/` excludes `results_old/`).
    pub prefix: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// Arguments of `rm`: `rm <session> <target> <key>`, `rm <session> <target> --all` (a target),
/// `rm <session> --all` (a whole session).
#[derive(Debug, Args)]
pub struct RmArgs {
    /// Session name.
    pub session: String,
    /// Target name (without it, --all deletes the whole session).
    #[arg(required_unless_present = "all")]
    pub target: Option<String>,
    /// Key to delete.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub key: Option<String>,
    /// Delete everything in the target, or with no target the whole session (refused while a
    /// baseline points at the session).
    #[arg(long)]
    pub all: bool,
}

/// Inputs up to this size are read whole, so their kind (text or binary) is known; larger ones
/// are streamed to the store in bounded memory, as bytes.
const WHOLE_INPUT_LIMIT: u64 = 4 << 20;

/// The input: FILE, or stdin for `-` or nothing.
async fn open_input(
    file: Option<&PathBuf>,
) -> Result<Box<dyn tokio::io::AsyncRead + Send + Unpin>, Failure> {
    match file {
        Some(path) if path.as_os_str() != "-" => {
            let opened = tokio::fs::File::open(path).await.map_err(|e| {
                let msg = format!("cannot read {}: {e}", path.display());
                if e.kind() == std::io::ErrorKind::NotFound {
                    Failure::not_found(msg)
                } else {
                    Failure::other(msg)
                }
            })?;
            Ok(Box::new(opened))
        }
        _ => Ok(Box::new(tokio::io::stdin())),
    }
}

/// `put`: without a flag, UTF-8 input is stored as text and anything else as binary, byte for
/// byte; input over 4 MiB is streamed (bounded memory) and stored as bytes. `--json` and
/// `--text` read the input whole, since they validate it.
pub async fn put(store: &Store, args: &PutArgs) -> Result<(), Failure> {
    use tokio::io::AsyncReadExt;
    let path = args.path.parse()?;
    let mut input = open_input(args.file.as_ref()).await?;
    // The session's context (time, fingerprint, git, labels) is recorded once valid input is
    // about to be written.
    let record = || crate::workflows::session::record_session(store, path.session(), &args.labels);
    let read_failed = |e: std::io::Error| Failure::other(format!("cannot read the input: {e}"));
    let mut bytes = Vec::with_capacity(WHOLE_INPUT_LIMIT as usize + 1);
    if args.json || args.text {
        input.read_to_end(&mut bytes).await.map_err(read_failed)?;
    } else {
        (&mut input)
            .take(WHOLE_INPUT_LIMIT + 1)
            .read_to_end(&mut bytes)
            .await
            .map_err(read_failed)?;
        if bytes.len() as u64 > WHOLE_INPUT_LIMIT {
            let rest = std::io::Cursor::new(bytes).chain(input);
            record().await?;
            store.put_stream(&path, Box::pin(rest)).await?;
            return Ok(());
        }
    }
    let artifact = if args.json {
        Artifact::json_from_slice(&bytes)
            .map_err(|e| Failure::invalid(format!("input is not valid JSON: {e}")))?
    } else {
        match String::from_utf8(bytes) {
            Ok(text) => Artifact::text(text),
            Err(_) if args.text => {
                return Err(Failure::invalid(
                    "input is not UTF-8 text (drop --text to store bytes)",
                ));
            }
            Err(e) => Artifact::binary(e.into_bytes()),
        }
    };
    record().await?;
    store.put(&path, artifact).await?;
    Ok(())
}

/// `get`: the stored bytes, unchanged, on stdout, streamed (bounded memory at any size).
pub async fn get(store: &Store, args: &PathArgs) -> Result<(), Failure> {
    use tokio::io::AsyncWriteExt;
    let path = args.parse()?;
    let mut reader = store
        .get_stream(&path)
        .await?
        .ok_or_else(|| Failure::not_found(format!("artifact {path} not found")))?;
    let mut out = tokio::io::stdout();
    let copied = tokio::io::copy(&mut reader, &mut out).await;
    let flushed = out.flush().await;
    match (copied, flushed) {
        (Ok(_), Ok(())) => Ok(()),
        // A damaged compressed artifact surfaces while reading.
        (Err(e), _) if e.kind() == std::io::ErrorKind::InvalidData => {
            Err(Failure::other(format!("artifact {path}: {e}")))
        }
        (Err(e), _) | (_, Err(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            Err(Failure::stdout(e))
        }
        (Err(e), _) | (_, Err(e)) => Err(Failure::other(format!(
            "cannot copy artifact {path} to stdout: {e}"
        ))),
    }
}

fn meta_json(path: &ArtifactPath, meta: &ArtifactMeta) -> serde_json::Value {
    json!({
        "session": path.session(),
        "target": path.target_name(),
        "key": path.key,
        "size": meta.size,
        "kind": meta.kind,
        "hash": meta.hash,
    })
}

fn print_json(value: &serde_json::Value) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value).map_err(Failure::other)?;
    println!("{text}");
    Ok(())
}

/// `head`: size, kind and hash.
pub async fn head(store: &Store, args: &HeadArgs) -> Result<(), Failure> {
    let path = args.path.parse()?;
    let meta = store
        .head(&path)
        .await?
        .ok_or_else(|| Failure::not_found(format!("artifact {path} not found")))?;
    match args.format {
        Format::Json => print_json(&meta_json(&path, &meta)),
        Format::Text => {
            println!(
                "key:  {path}\nsize: {}\nkind: {}\nhash: {}",
                meta.size, meta.kind, meta.hash
            );
            Ok(())
        }
    }
}

/// Fails with "not found" (exit 3, as `diff` does) unless `session` exists.
async fn require_session(store: &Store, session: &SessionName) -> Result<(), Failure> {
    if store.list_sessions().await?.contains(session) {
        Ok(())
    } else {
        Err(Failure::not_found(format!("session {session} not found")))
    }
}

/// `ls`: sessions, targets of a session, or keys of a target. A session or target that does
/// not exist is "not found" (exit 3); an existing one with nothing (matching) lists nothing.
pub async fn ls(store: &Store, args: &LsArgs) -> Result<(), Failure> {
    let names: Vec<String> = match (&args.session, &args.target) {
        (None, _) => store
            .list_sessions()
            .await?
            .into_iter()
            .map(String::from)
            .collect(),
        (Some(session), None) => {
            let session = SessionName::new(session.as_str())?;
            let targets = store.list_targets(&session).await?;
            if targets.is_empty() {
                require_session(store, &session).await?;
            }
            targets.into_iter().map(String::from).collect()
        }
        (Some(session), Some(target)) => {
            let target = TargetPath::parse(session, target)?;
            let prefix = KeyPrefix::new(args.prefix.clone().unwrap_or_default())?;
            let keys = store.list_keys(&target, &prefix).await?;
            if keys.is_empty()
                && !store
                    .list_targets(&target.session)
                    .await?
                    .contains(&target.target)
            {
                require_session(store, &target.session).await?;
                return Err(Failure::not_found(format!("target {target} not found")));
            }
            keys.into_iter().map(Key::into_string).collect()
        }
    };
    match args.format {
        Format::Json => print_json(&json!(names)),
        Format::Text => {
            let mut out = std::io::stdout().lock();
            for name in names {
                writeln!(out, "{name}").map_err(Failure::stdout)?;
            }
            Ok(())
        }
    }
}

/// `rm`: one artifact, a whole target with `--all`, or a whole session with `--all` and no
/// target. Deleting nothing is "not found".
pub async fn rm(store: &Store, args: &RmArgs) -> Result<(), Failure> {
    let Some(target) = &args.target else {
        return rm_session(store, &SessionName::new(args.session.as_str())?).await;
    };
    let target = TargetPath::parse(&args.session, target)?;
    match &args.key {
        Some(key) => {
            let path = target.artifact(Key::new(key.as_str())?);
            if !store.delete(&path).await? {
                return Err(Failure::not_found(format!("artifact {path} not found")));
            }
        }
        None => {
            let deleted = store.delete_target(&target).await?;
            if deleted == 0 {
                return Err(Failure::not_found(format!(
                    "target {target} has no artifacts"
                )));
            }
            eprintln!(
                "deleted {} of {target}",
                count(deleted as u64, "artifact", "artifacts")
            );
        }
    }
    Ok(())
}

/// `rm <session> --all`: every target of the session and its metadata. Refused while a
/// baseline points at the session, so `@name` never silently names a deleted session.
async fn rm_session(store: &Store, session: &SessionName) -> Result<(), Failure> {
    require_session(store, session).await?;
    let pointing: Vec<String> = list_baselines(store)
        .await?
        .into_iter()
        .filter(|b| &b.session == session)
        .map(|b| format!("@{}", b.name))
        .collect();
    if !pointing.is_empty() {
        let removal: Vec<String> = pointing
            .iter()
            .map(|name| format!("perfstore baseline rm {}", &name[1..]))
            .collect();
        return Err(Failure::other(format!(
            "session {session} is the baseline {}; nothing was deleted (first run: {})",
            pointing.join(", "),
            removal.join("; ")
        )));
    }
    let targets = store.list_targets(session).await?.len();
    let deleted = store.delete_session(session).await?;
    eprintln!(
        "deleted session {session}: {} in {}",
        count(deleted as u64, "artifact", "artifacts"),
        count(targets as u64, "target", "targets")
    );
    Ok(())
}
