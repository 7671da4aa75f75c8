//! JSON as the reference's Python stack reads and writes it.
//!
//! - [`mod@loads`]: request bodies, decoded by CPython's `json` module (error texts included);
//! - [`mod@render`]: response bodies, rendered by Starlette's `JSONResponse`;
//! - files use [`cache_wire::pyjson::dumps`] (`json.dumps` with `indent`).

pub mod loads;
pub mod render;

pub use loads::{LoadError, loads};
pub use render::{
    ERROR_INPUT_MAX_BYTES, OutOfRangeFloat, bounded_bytes_repr, bounded_input, python_bytes_repr,
    to_compact_vec,
};

use cache_wire::pyjson::{self, DumpOptions};
use serde::Serialize;
use serde_json::Value;

/// `json.dumps(value, indent=n)` as bytes: how the reference writes JSON files.
pub fn dumps_indented(value: &Value, indent: usize) -> Vec<u8> {
    pyjson::dumps(value, DumpOptions::indented(indent)).into_bytes()
}

/// [`dumps_indented`] for any serialisable value (struct fields keep declaration order).
pub fn dumps_indented_of<T: Serialize>(value: &T, indent: usize) -> Vec<u8> {
    match serde_json::to_value(value) {
        Ok(v) => dumps_indented(&v, indent),
        // Our schemas serialise infallibly; an empty object keeps the caller going.
        Err(_) => b"{}".to_vec(),
    }
}

/// `json.dumps(value)`: single line with `", "` / `": "` separators, insertion order.
pub fn dumps_default(value: &Value) -> String {
    pyjson::dumps(value, DumpOptions::PYTHON_DEFAULT)
}
