//! Python objects to JSON values and back.
//!
//! Into JSON by hand rather than through `pythonize`, because saves must follow Python's
//! `json.dumps` rules (what the original module wrote): non-string keys become strings,
//! tuples are arrays, a `default` callable replaces what JSON cannot hold, and the errors are
//! json's own (`TypeError`, `ValueError`). Out of JSON by hand too ([`ToPython`]), sharing the
//! key strings across the documents of a bulk load.

use std::collections::HashMap;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value};

/// Deeper than this is refused (Python's json would hit its recursion limit).
const MAX_DEPTH: usize = 512;

/// `obj` as a JSON value, as `json.dumps(obj, default=default, allow_nan=False)` reads it.
pub fn to_json(obj: &Bound<'_, PyAny>, default: Option<&Bound<'_, PyAny>>) -> PyResult<Value> {
    convert(obj, default, 0)
}

fn convert(
    obj: &Bound<'_, PyAny>,
    default: Option<&Bound<'_, PyAny>>,
    depth: usize,
) -> PyResult<Value> {
    if depth > MAX_DEPTH {
        return Err(PyValueError::new_err(format!(
            "the value nests deeper than {MAX_DEPTH} levels (a circular reference?)"
        )));
    }
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::String(s.to_cow()?.into_owned()));
    }
    // bool before int: bool is a subclass of int.
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if let Ok(i) = obj.cast::<PyInt>() {
        return int_number(i).map(Value::Number);
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return float_number(f.value()).map(Value::Number);
    }
    if let Ok(dict) = obj.cast::<PyDict>() {
        let mut map = Map::with_capacity(dict.len());
        for (k, v) in dict.iter() {
            map.insert(key_string(&k)?, convert(&v, default, depth + 1)?);
        }
        return Ok(Value::Object(map));
    }
    if let Ok(list) = obj.cast::<PyList>() {
        let mut items = Vec::with_capacity(list.len());
        for item in list.iter() {
            items.push(convert(&item, default, depth + 1)?);
        }
        return Ok(Value::Array(items));
    }
    if let Ok(tuple) = obj.cast::<PyTuple>() {
        let mut items = Vec::with_capacity(tuple.len());
        for item in tuple.iter() {
            items.push(convert(&item, default, depth + 1)?);
        }
        return Ok(Value::Array(items));
    }
    match default {
        Some(replace) => convert(&replace.call1((obj,))?, default, depth + 1),
        None => Err(PyTypeError::new_err(format!(
            "Object of type {} is not JSON serializable",
            obj.get_type().name()?
        ))),
    }
}

/// An int as json writes it: `int.__repr__`, so big ints stay exact and `IntEnum`s are numbers.
fn int_number(i: &Bound<'_, PyInt>) -> PyResult<Number> {
    if let Ok(v) = i.extract::<i64>() {
        return Ok(Number::from(v));
    }
    if let Ok(v) = i.extract::<u64>() {
        return Ok(Number::from(v));
    }
    let digits: String = int_repr(i.as_any())?;
    serde_json::from_str::<Number>(&digits)
        .map_err(|e| PyValueError::new_err(format!("cannot store the integer {digits}: {e}")))
}

fn int_repr(obj: &Bound<'_, PyAny>) -> PyResult<String> {
    obj.py()
        .get_type::<PyInt>()
        .call_method1("__repr__", (obj,))?
        .extract()
}

/// A float as a JSON number; NaN and the infinities are refused.
pub fn to_json_f64(f: f64) -> PyResult<Value> {
    float_number(f).map(Value::Number)
}

fn float_number(f: f64) -> PyResult<Number> {
    Number::from_f64(f).ok_or_else(|| {
        PyValueError::new_err(format!(
            "Out of range float values are not JSON compliant: {f}"
        ))
    })
}

/// A dict key as json writes it.
fn key_string(key: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(s) = key.cast::<PyString>() {
        return Ok(s.to_cow()?.into_owned());
    }
    if let Ok(b) = key.cast::<PyBool>() {
        return Ok(if b.is_true() { "true" } else { "false" }.to_owned());
    }
    if key.is_instance_of::<PyInt>() {
        return int_repr(key);
    }
    if key.is_instance_of::<PyFloat>() {
        return key
            .py()
            .get_type::<PyFloat>()
            .call_method1("__repr__", (key,))?
            .extract();
    }
    if key.is_none() {
        return Ok("null".to_owned());
    }
    Err(PyTypeError::new_err(format!(
        "keys must be str, int, float, bool or None, not {}",
        key.get_type().name()?
    )))
}

/// JSON values as Python objects, as `json.loads` gives them (dicts keep the stored key order,
/// integers stay exact, `1e400` is `inf`). Object keys are made once per converter and shared:
/// the documents of a bulk load repeat the same keys, and a shared `str` keeps its hash.
pub struct ToPython<'py> {
    py: Python<'py>,
    keys: HashMap<String, Bound<'py, PyString>>,
}

/// Distinct keys a converter keeps (a bound on its memory for documents of ever-new keys).
const SHARED_KEYS: usize = 4096;

impl<'py> ToPython<'py> {
    /// A converter for one call.
    pub fn new(py: Python<'py>) -> Self {
        ToPython {
            py,
            keys: HashMap::new(),
        }
    }

    /// `value` as Python objects.
    pub fn convert(&mut self, value: &Value) -> PyResult<Bound<'py, PyAny>> {
        let py = self.py;
        Ok(match value {
            Value::Null => py.None().into_bound(py),
            Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
            Value::Number(n) => self.number(n)?,
            Value::String(text) => PyString::new(py, text).into_any(),
            Value::Array(items) => {
                let list = PyList::empty(py);
                for item in items {
                    list.append(self.convert(item)?)?;
                }
                list.into_any()
            }
            Value::Object(map) => {
                let dict = PyDict::new(py);
                for (key, item) in map {
                    let key = self.key(key);
                    dict.set_item(key, self.convert(item)?)?;
                }
                dict.into_any()
            }
        })
    }

    fn key(&mut self, key: &str) -> Bound<'py, PyString> {
        if let Some(shared) = self.keys.get(key) {
            return shared.clone();
        }
        let made = PyString::new(self.py, key);
        if self.keys.len() < SHARED_KEYS {
            self.keys.insert(key.to_owned(), made.clone());
        }
        made
    }

    fn number(&self, n: &Number) -> PyResult<Bound<'py, PyAny>> {
        let py = self.py;
        if let Some(i) = n.as_i64() {
            return Ok(i.into_pyobject(py)?.into_any());
        }
        if let Some(u) = n.as_u64() {
            return Ok(u.into_pyobject(py)?.into_any());
        }
        if n.is_f64() {
            return Ok(PyFloat::new(py, n.as_f64().unwrap_or(f64::NAN)).into_any());
        }
        // The stored text (serde_json keeps it exactly): a float out of range, or an integer
        // beyond 64 bits, which Python's int reads exactly.
        let text = n.to_string();
        if text.contains(['.', 'e', 'E']) {
            return Ok(PyFloat::new(py, text.parse().unwrap_or(f64::NAN)).into_any());
        }
        py.import("builtins")?.getattr("int")?.call1((text,))
    }
}
