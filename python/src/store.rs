//! `perfstore.Store`: opens a backend; lists sessions and targets; diffs sessions.

use std::future::Future;
use std::path::PathBuf;
use std::sync::OnceLock;

use perfstore::diff::{DiffOptions, diff_sessions};
use perfstore::history::{HistoryQuery, history};
use perfstore::local::{LocalOptions, LocalStorage};
use perfstore::{SessionName, StorageConfig, StorageMode, Store, TargetName};
use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde_json::Value;

use crate::convert;
use crate::errors::IntoPyResult;
use crate::target::PyTarget;

/// The runtime every call runs on; worker threads drive what the backends spawn.
static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();

pub(crate) fn runtime() -> PyResult<&'static tokio::runtime::Runtime> {
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("perfstore")
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start perfstore's runtime: {e}"))
        })
        .as_ref()
        .map_err(|e| PyRuntimeError::new_err(e.clone()))
}

/// Runs the future `make` returns to completion with the GIL released. The future is made
/// on the detached thread, so it need not be `Send` (only what it captures).
pub(crate) fn block_on<M, F>(py: Python<'_>, make: M) -> PyResult<F::Output>
where
    M: FnOnce() -> F + Send,
    F: Future,
    F::Output: Send,
{
    let runtime = runtime()?;
    Ok(py.detach(|| runtime.block_on(make())))
}

/// A store of performance artifacts: sessions, holding targets, holding keyed artifacts.
#[pyclass(name = "Store", module = "perfstore", frozen)]
pub struct PyStore {
    pub(crate) store: Store,
    description: String,
}

impl PyStore {
    fn open(py: Python<'_>, config: &StorageConfig, description: String) -> PyResult<Self> {
        // Backends may spawn tasks when opened (the in-process cache service).
        let _entered = runtime()?.enter();
        Ok(Self {
            store: config.open().py_err(py)?,
            description,
        })
    }
}

#[pymethods]
impl PyStore {
    /// Files under `path`, in the original module's layout
    /// (`{path}/sessions/{session}/targets/{target}/{key}`).
    #[staticmethod]
    #[pyo3(signature = (path, *, fsync = false))]
    fn local(path: PathBuf, fsync: bool) -> Self {
        let description = format!("Store.local({:?})", path.display().to_string());
        let options = LocalOptions {
            fsync,
            ..LocalOptions::default()
        };
        Self {
            store: Store::new(LocalStorage::with_options(path, options)),
            description,
        }
    }

    /// A store in memory, private to this object and lost when it goes.
    #[staticmethod]
    fn memory() -> Self {
        Self {
            store: Store::memory(),
            description: "Store.memory()".to_owned(),
        }
    }

    /// The MGraph-AI cache service at `url`, or, with no URL, one running in this process
    /// (in memory, lost at exit).
    #[staticmethod]
    #[pyo3(signature = (url = None, *, namespace = String::from("perf-results"), api_key = None, api_key_header = String::from("x-api-key")))]
    fn cache_service(
        py: Python<'_>,
        url: Option<String>,
        namespace: String,
        api_key: Option<String>,
        api_key_header: String,
    ) -> PyResult<Self> {
        let description = match &url {
            Some(url) => format!("Store.cache_service({url:?}, namespace={namespace:?})"),
            None => format!("Store.cache_service(namespace={namespace:?})"),
        };
        let config = StorageConfig {
            mode: StorageMode::CacheService,
            namespace: namespace.to_owned(),
            cache_service_url: url,
            api_key: api_key.map(|value| (api_key_header.to_owned(), value)),
            ..StorageConfig::default()
        };
        Self::open(py, &config, description)
    }

    /// The store the environment describes: `PERF_STORAGE_MODE`, `PERF_LOCAL_STORAGE_PATH`,
    /// `PERF_CACHE_NAMESPACE`, `URL__TARGET_SERVER__CACHE_SERVICE`, … (as the CLI reads them).
    #[staticmethod]
    fn from_env(py: Python<'_>) -> PyResult<Self> {
        let config = StorageConfig::from_env().py_err(py)?;
        let description = format!("Store.from_env() [{}]", config.mode);
        Self::open(py, &config, description)
    }

    /// The backend's name: `local`, `memory` or `cache_service`.
    #[getter]
    fn backend(&self) -> &'static str {
        self.store.name()
    }

    /// A handle on one target of one session (names: 1-100 of `A-Z a-z 0-9 _ -`).
    fn target(&self, py: Python<'_>, session: String, target: String) -> PyResult<PyTarget> {
        Ok(PyTarget::new(
            self.store.target(&session, &target).py_err(py)?,
        ))
    }

    /// The sessions, sorted.
    fn list_sessions(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        let store = self.store.clone();
        let sessions =
            block_on(py, move || async move { store.list_sessions().await })?.py_err(py)?;
        Ok(sessions.into_iter().map(|s| s.into_string()).collect())
    }

    /// The targets of `session` that hold artifacts, sorted.
    fn list_targets(&self, py: Python<'_>, session: String) -> PyResult<Vec<String>> {
        let session = SessionName::new(session)
            .map_err(perfstore::Error::from)
            .py_err(py)?;
        let store = self.store.clone();
        let targets = block_on(
            py,
            move || async move { store.list_targets(&session).await },
        )?
        .py_err(py)?;
        Ok(targets.into_iter().map(|t| t.into_string()).collect())
    }

    /// Compares session `candidate` against session `base`, as a dict (what
    /// `perfstore diff --format json` prints). `threshold` (relative, 0.05 = 5 %) and
    /// `direction` (`higher-is-worse`, `lower-is-worse`, `neutral`) set the defaults; other
    /// keywords are the library's diff options (`target`, `key_prefix`, `rules`, …).
    #[pyo3(signature = (base, candidate, *, threshold = None, direction = None, **options))]
    fn diff<'py>(
        &self,
        py: Python<'py>,
        base: String,
        candidate: String,
        threshold: Option<f64>,
        direction: Option<String>,
        options: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let base = SessionName::new(base)
            .map_err(perfstore::Error::from)
            .py_err(py)?;
        let candidate = SessionName::new(candidate)
            .map_err(perfstore::Error::from)
            .py_err(py)?;
        let options = diff_options(threshold, direction, options)?;
        let store = self.store.clone();
        let diff = block_on(py, move || async move {
            diff_sessions(&store, &base, &candidate, &options).await
        })?
        .py_err(py)?;
        Ok(pythonize::pythonize(py, &diff)?)
    }

    /// The metrics of `target` across the sessions holding it, oldest first, as a dict:
    /// `{"target", "sessions": [{"session", "created_at", "baselines", "labels", "git_commit"}],
    /// "series": [{"key", "metric", "direction", "points", "regressions", "threshold"}]}`.
    /// `metric` is a glob over metric paths (or `KEYGLOB:PATHGLOB`); `last` keeps the last N
    /// sessions.
    #[pyo3(signature = (target, *, metric = None, last = None))]
    fn history<'py>(
        &self,
        py: Python<'py>,
        target: String,
        metric: Option<String>,
        last: Option<usize>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let target = TargetName::new(target)
            .map_err(perfstore::Error::from)
            .py_err(py)?;
        let query = HistoryQuery {
            metric_glob: metric,
            last,
        };
        let store = self.store.clone();
        let found = block_on(
            py,
            move || async move { history(&store, &target, &query).await },
        )?
        .py_err(py)?;
        Ok(pythonize::pythonize(py, &found)?)
    }

    fn __repr__(&self) -> String {
        self.description.clone()
    }
}

/// The library's [`DiffOptions`] with the caller's keywords laid over its defaults, so options
/// the library adds are accepted without a change here.
fn diff_options(
    threshold: Option<f64>,
    direction: Option<String>,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<DiffOptions> {
    let defaults = serde_json::to_value(DiffOptions::default())
        .map_err(|e| PyRuntimeError::new_err(format!("diff options: {e}")))?;
    let Value::Object(mut fields) = defaults else {
        return Err(PyRuntimeError::new_err("diff options are not an object"));
    };
    if let Some(options) = options {
        for (name, value) in options.iter() {
            let name: String = name.extract()?;
            if !fields.contains_key(&name) {
                let known: Vec<&str> = fields
                    .keys()
                    .map(String::as_str)
                    .filter(|k| *k != "threshold")
                    .collect();
                return Err(PyTypeError::new_err(format!(
                    "diff() got an unexpected option {name:?}; known: threshold, direction, {}",
                    known.join(", ")
                )));
            }
            fields.insert(name, convert::to_json(&value, None)?);
        }
    }
    if let Some(Value::Object(t)) = fields.get_mut("threshold") {
        if let Some(relative) = threshold {
            t.insert("relative".into(), convert::to_json_f64(relative)?);
        }
        if let Some(direction) = direction {
            t.insert("direction".into(), Value::String(direction));
        }
    }
    serde_json::from_value(Value::Object(fields))
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(format!("invalid diff options: {e}")))
}
