//! The `perfstore._perfstore` extension module: perfstore's [`Store`] and [`TargetHandle`]
//! as Python classes. The Python package (`perfstore/__init__.py`) re-exports them.
//!
//! - Every storage call runs on one process-wide tokio runtime with the GIL released
//!   ([`Python::detach`]), so other Python threads run meanwhile and handles can be shared
//!   between threads (they hold no mutable state).
//! - JSON goes in through [`convert::to_json`] (Python's `json.dumps` rules) and comes out
//!   through `pythonize`; diffs and history are serde structures, returned as dicts and lists.
//! - Library errors become the exceptions of `perfstore.errors`, with the library's messages.

mod convert;
mod errors;
mod store;
mod target;

use pyo3::prelude::*;

#[pymodule]
fn _perfstore(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<store::PyStore>()?;
    m.add_class::<target::PyTarget>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
