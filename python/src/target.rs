//! `perfstore.Target`: one target of one session, with typed saves and loads.

use perfstore::{Artifact, ArtifactMeta, Error, TargetHandle};
use std::future::Future;

use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyMemoryView, PyString};
use serde_json::Value;

use crate::convert::{ToPython, to_json};
use crate::errors::{IntoPyResult, to_py};
use crate::store::block_on;

/// How a bulk call stores or returns values.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Json,
    String,
    Bytes,
}

impl Kind {
    fn parse(kind: &str) -> PyResult<Self> {
        match kind {
            "json" => Ok(Kind::Json),
            "string" => Ok(Kind::String),
            "bytes" => Ok(Kind::Bytes),
            other => Err(PyValueError::new_err(format!(
                "kind must be \"json\", \"string\" or \"bytes\", not {other:?}"
            ))),
        }
    }
}

/// A loaded artifact, decoded as far as possible without the GIL.
enum Loaded {
    Json(Value),
    /// Not parsable by serde (e.g. `NaN`, which Python's json writes): Python's json tries.
    JsonFallback(bytes::Bytes, Error),
    String(String),
    Bytes(bytes::Bytes),
}

/// One target of one session. Thread-safe; holds no mutable state.
#[pyclass(name = "Target", module = "perfstore", frozen)]
pub struct PyTarget {
    handle: TargetHandle,
}

impl PyTarget {
    pub(crate) fn new(handle: TargetHandle) -> Self {
        Self { handle }
    }
}

fn meta_dict<'py>(py: Python<'py>, meta: &ArtifactMeta) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("size", meta.size)?;
    dict.set_item("kind", meta.kind.as_str())?;
    dict.set_item("hash", meta.hash.as_str())?;
    Ok(dict)
}

/// The artifact decoded as `kind`; runs without the GIL.
fn decode(
    handle: &TargetHandle,
    key: &str,
    artifact: Artifact,
    kind: Kind,
) -> Result<Loaded, Error> {
    let bytes = artifact.into_bytes();
    match kind {
        Kind::Json => match serde_json::from_slice::<Value>(&bytes) {
            Ok(value) => Ok(Loaded::Json(value)),
            Err(source) => Ok(Loaded::JsonFallback(
                bytes,
                Error::NotJson {
                    path: handle.artifact(key)?,
                    source,
                },
            )),
        },
        Kind::String => match std::str::from_utf8(&bytes) {
            Ok(text) => Ok(Loaded::String(text.to_owned())),
            Err(source) => Err(Error::NotText {
                path: handle.artifact(key)?,
                source,
            }),
        },
        Kind::Bytes => Ok(Loaded::Bytes(bytes)),
    }
}

fn to_object<'py>(
    py: Python<'py>,
    loaded: Loaded,
    json: &mut ToPython<'py>,
) -> PyResult<Bound<'py, PyAny>> {
    match loaded {
        Loaded::Json(value) => json.convert(&value),
        Loaded::JsonFallback(bytes, error) => {
            // Python's json reads what it wrote (NaN, Infinity); anything else is not JSON.
            let loads = py.import("json")?.getattr("loads")?;
            loads
                .call1((PyBytes::new(py, &bytes),))
                .map_err(|_| to_py(py, error))
        }
        Loaded::String(text) => Ok(PyString::new(py, &text).into_any()),
        Loaded::Bytes(bytes) => Ok(PyBytes::new(py, &bytes).into_any()),
    }
}

/// The bytes of a `bytes`, `bytearray` or `memoryview`.
fn py_bytes(obj: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    if let Ok(b) = obj.cast::<PyByteArray>() {
        return Ok(b.to_vec());
    }
    if let Ok(view) = obj.cast::<PyMemoryView>() {
        return Ok(view
            .call_method0("tobytes")?
            .cast::<PyBytes>()?
            .as_bytes()
            .to_vec());
    }
    Err(PyTypeError::new_err(format!(
        "expected bytes, bytearray or memoryview, not {}",
        obj.get_type().name()?
    )))
}

/// Bulk calls with at least this many items are split in [`BULK_PARTS`] parts that run on the
/// runtime's threads at once: file-system calls and JSON parsing then use every core.
const BULK_SPLIT_MIN: usize = 256;
const BULK_PARTS: usize = 4;

fn split<T>(items: Vec<T>) -> Vec<Vec<T>> {
    if items.len() < BULK_SPLIT_MIN {
        return vec![items];
    }
    let size = items.len().div_ceil(BULK_PARTS);
    let mut parts = Vec::with_capacity(BULK_PARTS);
    let mut items = items.into_iter();
    loop {
        let part: Vec<T> = items.by_ref().take(size).collect();
        if part.is_empty() {
            return parts;
        }
        parts.push(part);
    }
}

/// Runs the parts as tasks at once and concatenates their results in order.
async fn run_parts<T, F>(parts: impl Iterator<Item = F>) -> Result<Vec<T>, String>
where
    F: Future<Output = Vec<T>> + Send + 'static,
    T: Send + 'static,
{
    let tasks: Vec<_> = parts.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for task in tasks {
        out.extend(task.await.map_err(|e| format!("a bulk task failed: {e}"))?);
    }
    Ok(out)
}

/// A value of a bulk save, converted as `kind` says (under the GIL).
fn bulk_value(
    value: &Bound<'_, PyAny>,
    kind: Kind,
    default: Option<&Bound<'_, PyAny>>,
) -> PyResult<BulkValue> {
    Ok(match kind {
        Kind::Json => BulkValue::Json(to_json(value, default)?),
        Kind::String => BulkValue::String(
            value
                .cast::<PyString>()
                .map_err(|_| PyTypeError::new_err("kind=\"string\" needs str values"))?
                .to_cow()?
                .into_owned(),
        ),
        Kind::Bytes => BulkValue::Bytes(py_bytes(value)?),
    })
}

enum BulkValue {
    Json(Value),
    String(String),
    Bytes(Vec<u8>),
}

impl BulkValue {
    /// The artifact; JSON is rendered here, without the GIL.
    fn into_artifact(self) -> Artifact {
        match self {
            BulkValue::Json(value) => Artifact::json(&value),
            BulkValue::String(text) => Artifact::text(text),
            BulkValue::Bytes(bytes) => Artifact::binary(bytes),
        }
    }
}

#[pymethods]
impl PyTarget {
    /// The session name.
    #[getter]
    fn session(&self) -> &str {
        self.handle.session().as_str()
    }

    /// The target name.
    #[getter]
    fn name(&self) -> &str {
        self.handle.name().as_str()
    }

    /// Saves a JSON-able object (dict, list, str, int, float, bool, None; tuples as lists,
    /// non-str keys as json writes them); `default` replaces other objects, as in `json.dumps`.
    /// Stored as `json.dumps(obj, indent=4)`. Returns the artifact's size, kind and hash.
    #[pyo3(signature = (key, obj, *, default = None))]
    fn save<'py>(
        &self,
        py: Python<'py>,
        key: String,
        obj: &Bound<'py, PyAny>,
        default: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let value = to_json(obj, default)?;
        let handle = self.handle.clone();
        let meta = block_on(py, move || async move {
            handle.put(key, Artifact::json(&value)).await
        })?
        .py_err(py)?;
        meta_dict(py, &meta)
    }

    /// The JSON artifact at `key` as Python objects, or None if missing.
    fn load<'py>(&self, py: Python<'py>, key: String) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.load_as(py, key, Kind::Json)
    }

    /// Saves text (UTF-8).
    fn save_string<'py>(
        &self,
        py: Python<'py>,
        key: String,
        text: String,
    ) -> PyResult<Bound<'py, PyDict>> {
        let handle = self.handle.clone();
        let meta = block_on(
            py,
            move || async move { handle.save_string(key, &text).await },
        )?
        .py_err(py)?;
        meta_dict(py, &meta)
    }

    /// The artifact at `key` as text (a JSON artifact gives its stored text), or None.
    fn load_string<'py>(
        &self,
        py: Python<'py>,
        key: String,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.load_as(py, key, Kind::String)
    }

    /// Saves bytes (`bytes`, `bytearray` or `memoryview`).
    fn save_bytes<'py>(
        &self,
        py: Python<'py>,
        key: String,
        data: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let data = py_bytes(data)?;
        let handle = self.handle.clone();
        let meta = block_on(
            py,
            move || async move { handle.save_bytes(key, data).await },
        )?
        .py_err(py)?;
        meta_dict(py, &meta)
    }

    /// The stored bytes of the artifact at `key`, or None.
    fn load_bytes<'py>(&self, py: Python<'py>, key: String) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.load_as(py, key, Kind::Bytes)
    }

    /// Whether an artifact exists at `key` (an empty one exists).
    fn exists(&self, py: Python<'_>, key: String) -> PyResult<bool> {
        let handle = self.handle.clone();
        block_on(py, move || async move { handle.exists(key).await })?.py_err(py)
    }

    /// Deletes the artifact at `key`; False if there was none.
    fn delete(&self, py: Python<'_>, key: String) -> PyResult<bool> {
        let handle = self.handle.clone();
        block_on(py, move || async move { handle.delete(key).await })?.py_err(py)
    }

    /// The keys starting with `prefix` (`""`: all), sorted; nested keys in full
    /// (`results/quick/a.json`).
    #[pyo3(signature = (prefix = String::new()))]
    fn list_keys(&self, py: Python<'_>, prefix: String) -> PyResult<Vec<String>> {
        let handle = self.handle.clone();
        let keys =
            block_on(py, move || async move { handle.list_keys(&prefix).await })?.py_err(py)?;
        Ok(keys.into_iter().map(|k| k.into_string()).collect())
    }

    /// `{"size", "kind", "hash"}` of the artifact at `key`, or None.
    fn head<'py>(&self, py: Python<'py>, key: String) -> PyResult<Option<Bound<'py, PyDict>>> {
        let handle = self.handle.clone();
        let meta = block_on(py, move || async move { handle.head(key).await })?.py_err(py)?;
        meta.map(|m| meta_dict(py, &m)).transpose()
    }

    /// Deletes the target and every artifact in it; returns how many were deleted.
    fn delete_all(&self, py: Python<'_>) -> PyResult<usize> {
        let handle = self.handle.clone();
        block_on(py, move || async move { handle.delete_all().await })?.py_err(py)
    }

    /// Saves many artifacts in one call (the backend batches them): `items` is a mapping or
    /// an iterable of `(key, value)` pairs; `kind` is `"json"`, `"string"` or `"bytes"`.
    /// Every item is attempted; then the first failure, if any, is raised. Returns one
    /// `{"size", "kind", "hash"}` per item, in order.
    #[pyo3(signature = (items, *, kind = String::from("json"), default = None))]
    fn save_many<'py>(
        &self,
        py: Python<'py>,
        items: &Bound<'py, PyAny>,
        kind: String,
        default: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let kind = Kind::parse(&kind)?;
        let pairs = match items.cast::<PyDict>() {
            Ok(dict) => dict.call_method0("items")?,
            Err(_) => items.clone(),
        };
        let mut values: Vec<(String, BulkValue)> = Vec::new();
        for pair in pairs.try_iter()? {
            let (key, value): (String, Bound<'py, PyAny>) = pair?.extract()?;
            values.push((key, bulk_value(&value, kind, default)?));
        }
        let handle = self.handle.clone();
        let results = block_on(py, move || async move {
            let parts = split(values).into_iter().map(|part| {
                let handle = handle.clone();
                async move {
                    let artifacts: Vec<(String, Artifact)> = part
                        .into_iter()
                        .map(|(k, v)| (k, v.into_artifact()))
                        .collect();
                    handle.save_many(artifacts).await
                }
            });
            run_parts(parts).await
        })?
        .map_err(PyRuntimeError::new_err)?;
        let mut metas = Vec::with_capacity(results.len());
        for result in results {
            metas.push(meta_dict(py, &result.py_err(py)?)?);
        }
        Ok(metas)
    }

    /// Loads many artifacts in one call (the backend batches them); one value per key, None
    /// where missing. `kind`: `"json"` (objects), `"string"` or `"bytes"`. Files are read and
    /// parsed with the GIL released.
    #[pyo3(signature = (keys, *, kind = String::from("json")))]
    fn load_many<'py>(
        &self,
        py: Python<'py>,
        keys: Vec<String>,
        kind: String,
    ) -> PyResult<Vec<Option<Bound<'py, PyAny>>>> {
        let kind = Kind::parse(&kind)?;
        let handle = self.handle.clone();
        let loaded = block_on(py, move || async move {
            let parts = split(keys).into_iter().map(|part| {
                let handle = handle.clone();
                async move {
                    let artifacts = match handle.load_many(part.iter().map(String::as_str)).await {
                        Ok(artifacts) => artifacts,
                        Err(e) => return vec![Err(e)],
                    };
                    part.iter()
                        .zip(artifacts)
                        .map(|(key, artifact)| {
                            artifact.map(|a| decode(&handle, key, a, kind)).transpose()
                        })
                        .collect()
                }
            });
            run_parts(parts).await
        })?
        .map_err(PyRuntimeError::new_err)?;
        let loaded = loaded
            .into_iter()
            .collect::<Result<Vec<Option<Loaded>>, Error>>();
        let mut json = ToPython::new(py);
        loaded
            .py_err(py)?
            .into_iter()
            .map(|item| item.map(|l| to_object(py, l, &mut json)).transpose())
            .collect()
    }

    /// Deletes many artifacts; one bool per key (False: there was none).
    fn delete_many(&self, py: Python<'_>, keys: Vec<String>) -> PyResult<Vec<bool>> {
        let handle = self.handle.clone();
        block_on(py, move || async move {
            handle.delete_many(keys.iter().map(String::as_str)).await
        })?
        .py_err(py)
    }

    fn __repr__(&self) -> String {
        format!(
            "Target({:?}, {:?})",
            self.handle.session().as_str(),
            self.handle.name().as_str()
        )
    }
}

impl PyTarget {
    fn load_as<'py>(
        &self,
        py: Python<'py>,
        key: String,
        kind: Kind,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let handle = self.handle.clone();
        let loaded = block_on(py, move || async move {
            match handle.get(key.as_str()).await? {
                Some(artifact) => decode(&handle, &key, artifact, kind).map(Some),
                None => Ok(None),
            }
        })?
        .py_err(py)?;
        loaded
            .map(|l| to_object(py, l, &mut ToPython::new(py)))
            .transpose()
    }
}
