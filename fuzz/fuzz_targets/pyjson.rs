//! Python-exact JSON: arbitrary bytes through `cache_service::json::loads::loads` (CPython's
//! `json.loads`); whatever it accepts must render with `cache_wire::pyjson::dumps` under every
//! option set without panicking, and the text must load again to the same Python value and
//! render to the same text (a fixpoint).
//!
//! What truly holds, and so what is asserted (read from `pyjson.rs` / `loads.rs`):
//! - `dumps` output is ASCII (`ensure_ascii=True`; numbers from `loads` are always valid
//!   literals, so none is written as it came).
//! - The value that comes back is equal *as Python sees it*, not as `serde_json::Value` sees
//!   it: with `arbitrary_precision` numbers compare by their text, and `dumps` rewrites `1E5` as
//!   `100000.0`, `-0` as `0`, `1e400` as `Infinity`. So integers compare by value (`-0` == `0`),
//!   floats by their `f64` bits (`-0.0` != `0.0`; `1e400` and `Infinity` are both +inf), and an
//!   integer never turns into a float or back. Objects keep their order unless `sort_keys`.
//! - `dumps(loads(dumps(v))) == dumps(v)`.
//! - Starlette's compact rendering (`json::render::to_compact_vec`) either refuses an infinite
//!   float or gives text that loads back to the same value.

#![no_main]

use cache_service::json::loads::loads;
use cache_service::json::render::to_compact_vec;
use cache_wire::pyjson::{self, DumpOptions};
use libfuzzer_sys::fuzz_target;
use serde_json::{Number, Value};

const OPTIONS: [DumpOptions; 5] = [
    DumpOptions::PYTHON_DEFAULT,
    DumpOptions::HASH,
    DumpOptions::indented(4),
    DumpOptions::indented(2).sorted(),
    DumpOptions::indented(0),
];

#[derive(Debug, PartialEq)]
enum PyNum {
    Int(String),
    Float(u64),
}

fn py_number(n: &Number) -> PyNum {
    let text = n.as_str();
    if text.contains(['.', 'e', 'E']) {
        let f: f64 = text.parse().expect("a float literal from loads parses");
        return PyNum::Float(f.to_bits());
    }
    let digits = text.trim_start_matches('-').trim_start_matches('0');
    if digits.is_empty() {
        PyNum::Int("0".to_owned())
    } else if text.starts_with('-') {
        PyNum::Int(format!("-{digits}"))
    } else {
        PyNum::Int(digits.to_owned())
    }
}

/// Equality of the Python objects `json.loads` would build; `any_order` for `sort_keys`.
fn py_eq(a: &Value, b: &Value, any_order: bool) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Number(x), Value::Number(y)) => py_number(x) == py_number(y),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| py_eq(p, q, any_order))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && if any_order {
                    x.iter()
                        .all(|(k, p)| y.get(k).is_some_and(|q| py_eq(p, q, any_order)))
                } else {
                    x.iter()
                        .zip(y)
                        .all(|((k, p), (l, q))| k == l && py_eq(p, q, any_order))
                }
        }
        _ => false,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(value) = loads(data) else {
        return;
    };
    for opts in OPTIONS {
        let text = pyjson::dumps(&value, opts);
        assert!(text.is_ascii(), "{opts:?}: {text:?}");
        if opts.indent.is_none() {
            assert!(!text.contains('\n'), "{opts:?}: {text:?}");
        }
        let again = match loads(text.as_bytes()) {
            Ok(v) => v,
            Err(e) => panic!("{opts:?}: dumps gave {text:?}, which loads refuses: {e:?}"),
        };
        assert!(
            py_eq(&value, &again, opts.sort_keys),
            "{opts:?}: {value:?} -> {text:?} -> {again:?}"
        );
        assert_eq!(
            pyjson::dumps(&again, opts),
            text,
            "{opts:?}: not a fixpoint"
        );
    }
    // The hash and Python `str()` of scalars: no panic.
    let _ = cache_wire::hash::hash_json(&value);
    let _ = pyjson::python_str(&value);
    if let Value::Object(map) = &value {
        for key in map.keys().take(4) {
            let _ = cache_wire::hash::hash_json_field(&value, key);
        }
    }
    // Starlette's JSONResponse rendering.
    if let Ok(compact) = to_compact_vec(&value) {
        let again = match loads(&compact) {
            Ok(v) => v,
            Err(e) => panic!(
                "compact rendering {:?} does not load: {e:?}",
                String::from_utf8_lossy(&compact)
            ),
        };
        assert!(py_eq(&value, &again, false), "{value:?} -> {again:?}");
    }
});
