//! Library errors as the exceptions of `perfstore.errors` (defined in Python, so they can
//! also derive from `ValueError`, `LookupError` and `OSError`).

use perfstore::Error;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyModule;

static ERRORS: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// The `perfstore.errors` class for `error`, by name.
fn class_name(error: &Error) -> &'static str {
    match error {
        Error::InvalidName(_) => "InvalidName",
        e if e.is_not_found() => "NotFound",
        Error::Config(_) => "ConfigError",
        Error::NotJson { .. } | Error::NotText { .. } => "DecodeError",
        _ => "StorageError",
    }
}

/// The Python exception for a library error, carrying the library's message.
pub fn to_py(py: Python<'_>, error: Error) -> PyErr {
    let module = match ERRORS.get_or_try_init(py, || {
        PyModule::import(py, "perfstore.errors").map(Bound::unbind)
    }) {
        Ok(module) => module.bind(py),
        Err(import_failed) => return import_failed,
    };
    match module.getattr(class_name(&error)) {
        Ok(class) => PyErr::from_value(match class.call1((error.to_string(),)) {
            Ok(instance) => instance,
            Err(e) => return e,
        }),
        Err(e) => e,
    }
}

/// `Result<T, perfstore::Error>` into a `PyResult<T>`.
pub trait IntoPyResult<T> {
    /// Maps the error to its Python exception.
    fn py_err(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> IntoPyResult<T> for perfstore::Result<T> {
    fn py_err(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| to_py(py, e))
    }
}
