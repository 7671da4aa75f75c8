//! The workflow commands: moving sessions (`import`, `export`, `copy`), comparing them
//! (`diff`), naming them (`baseline`) and describing them (`session info`).
//!
//! Wherever a session is given, `@name` means the session the baseline `name` points at.

pub mod baseline;
pub mod console;
pub mod diff;
pub mod history;
pub mod progress;
pub mod rules;
pub mod session;
pub mod transfer;

use perfstore::baseline::resolve_session;
use perfstore::{SessionName, Store};
use serde::Serialize;

use crate::failure::Failure;

/// A session given by name or as `@baseline`.
async fn resolve(store: &Store, spec: &str) -> Result<SessionName, Failure> {
    Ok(resolve_session(store, spec).await?)
}

/// Fails with "not found" unless `session` exists in `store`.
async fn require_session(store: &Store, session: &SessionName) -> Result<(), Failure> {
    if store.list_sessions().await?.contains(session) {
        Ok(())
    } else {
        Err(Failure::not_found(format!("session {session} not found")))
    }
}

/// Prints `value` as pretty JSON on stdout.
fn print_json(value: &impl Serialize) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value).map_err(Failure::other)?;
    println!("{text}");
    Ok(())
}
