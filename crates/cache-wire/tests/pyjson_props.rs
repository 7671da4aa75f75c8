//! Property tests of the Python-exact JSON serialiser and the cache hash.
//!
//! * `matches_python_json_dumps`: random JSON texts are fed to one long-lived `python3` process,
//!   which answers with `json.dumps(json.loads(text), ...)` in four option combinations and the
//!   `cache_hash` of the sorted form; ours must be identical byte for byte. Set
//!   `CACHE_WIRE_PYTHON` to use another interpreter. A missing interpreter fails the test.
//! * `output_parses_back_to_the_input`: every output is valid JSON whose value equals the input
//!   with Python's number semantics (int stays int, floats keep their exact bits).

use std::cell::RefCell;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use cache_wire::hash::hash_json;
use cache_wire::pyjson::{DumpOptions, dumps};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::Value;

// ---------------------------------------------------------------------------------------------
// Generator of JSON *text*, so number literals and string escapes vary as real clients send them.

/// A JSON document before it is written as text.
#[derive(Debug, Clone)]
enum Doc {
    Null,
    Bool(bool),
    /// A number literal exactly as it will appear in the text.
    Number(String),
    /// A string and the escaping style used to write it (see `write_json_string`).
    Str(String, u8),
    Array(Vec<Doc>),
    Object(Vec<((String, u8), Doc)>),
}

impl Doc {
    fn to_text(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        match self {
            Doc::Null => out.push_str("null"),
            Doc::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Doc::Number(literal) => out.push_str(literal),
            Doc::Str(s, style) => write_json_string(out, s, *style),
            Doc::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            Doc::Object(entries) => {
                out.push('{');
                for (i, ((key, style), item)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    write_json_string(out, key, *style);
                    out.push(':');
                    item.write(out);
                }
                out.push('}');
            }
        }
    }
}

/// Writes a valid JSON string literal. `style` bit 0: escape every non-ASCII char as `\uXXXX`;
/// bit 1: uppercase hex; bit 2: escape `/`; bit 3: use `\u00XX` instead of short control escapes.
/// Never writes a raw newline, so one document fits on one line.
fn write_json_string(out: &mut String, s: &str, style: u8) {
    let escape_unicode = style & 1 != 0;
    let upper = style & 2 != 0;
    let escape_slash = style & 4 != 0;
    let long_controls = style & 8 != 0;
    let push_u = |out: &mut String, unit: u16| {
        if upper {
            out.push_str(&format!("\\u{unit:04X}"));
        } else {
            out.push_str(&format!("\\u{unit:04x}"));
        }
    };
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' if escape_slash => out.push_str("\\/"),
            '\n' if !long_controls => out.push_str("\\n"),
            '\r' if !long_controls => out.push_str("\\r"),
            '\t' if !long_controls => out.push_str("\\t"),
            '\u{8}' if !long_controls => out.push_str("\\b"),
            '\u{c}' if !long_controls => out.push_str("\\f"),
            c if (c as u32) < 0x20 => push_u(out, c as u16),
            c if !c.is_ascii() && escape_unicode => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    push_u(out, *unit);
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn char_strategy() -> impl Strategy<Value = char> {
    prop_oneof![
        6 => proptest::char::range(' ', '~'),
        2 => proptest::char::range('\u{0}', '\u{1f}'),
        1 => Just('\u{7f}'),
        1 => prop::sample::select(vec!['"', '\\', '/', '\u{2028}', '\u{feff}', '\u{fffd}']),
        2 => proptest::char::range('\u{80}', '\u{7ff}'),
        2 => proptest::char::range('\u{800}', '\u{ffff}'),
        1 => prop::sample::select(vec!['\u{d7ff}', '\u{e000}', '\u{ff61}', '\u{ffff}', '\u{10000}', '\u{10ffff}']),
        3 => proptest::char::range('\u{10000}', '\u{10ffff}'),
    ]
}

fn string_strategy(max_len: usize) -> impl Strategy<Value = (String, u8)> {
    (
        prop::collection::vec(char_strategy(), 0..max_len),
        any::<u8>(),
    )
        .prop_map(|(chars, style)| (chars.into_iter().collect(), style))
}

/// Object keys: often from a tiny alphabet so that duplicates and shared prefixes are common.
fn key_strategy() -> impl Strategy<Value = (String, u8)> {
    prop_oneof![
        2 => (prop::sample::select(vec!["a", "b", "B", "ab", "a b", "", "é", "😀", "\u{ff61}", "_"]), any::<u8>())
            .prop_map(|(k, style)| (k.to_owned(), style)),
        3 => string_strategy(8),
    ]
}

fn digits(len: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = String> {
    prop::collection::vec(0u8..10, len)
        .prop_map(|ds| ds.into_iter().map(|d| char::from(b'0' + d)).collect())
}

fn sign() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["", "-"])
}

/// Integer literals: zero, `-0`, machine-sized, and far beyond u64 (Python's `int` has no bound
/// below its 4300-digit string conversion limit).
fn int_literal() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => prop::sample::select(vec!["0", "-0", "9223372036854775807", "-9223372036854775808",
            "18446744073709551615", "18446744073709551616", "-18446744073709551616"])
            .prop_map(str::to_owned),
        3 => any::<i64>().prop_map(|i| i.to_string()),
        2 => any::<u64>().prop_map(|u| u.to_string()),
        3 => (sign(), 1u8..10, digits(0..=80)).prop_map(|(s, lead, rest)| format!("{s}{lead}{rest}")),
        1 => (sign(), 1u8..10, digits(500..=1500)).prop_map(|(s, lead, rest)| format!("{s}{lead}{rest}")),
    ]
}

fn finite_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => any::<u64>().prop_map(f64::from_bits).prop_filter("finite", |f| f.is_finite()),
        1 => (0u64..(1u64 << 52), any::<bool>())
            .prop_map(|(bits, neg)| f64::from_bits(bits | if neg { 1 << 63 } else { 0 })),
        2 => -1.0e6f64..1.0e6,
        2 => (-30i32..30, 1u32..10_000).prop_map(|(e, m)| f64::from(m) * 10f64.powi(e)),
    ]
}

/// Float literals: shortest and over-long digit strings, hand-built literals with and without
/// fraction or exponent (`1E5`, `1.50`, `0.000e-3`), subnormals, and values that overflow to
/// infinity or underflow to zero when `finite_only` is false.
fn float_literal(finite_only: bool) -> BoxedStrategy<String> {
    let exponent_limit = if finite_only { 250i32 } else { 400 };
    let built = (
        sign(),
        prop_oneof![
            Just("0".to_owned()),
            (1u8..10, digits(0..=20)).prop_map(|(l, r)| format!("{l}{r}"))
        ],
        prop::option::of(digits(1..=25)),
        prop::sample::select(vec!["e", "E", "e+", "E-", "e-"]),
        -exponent_limit..exponent_limit,
        any::<bool>(),
    )
        .prop_map(|(s, int, frac, e, exp, with_exp)| {
            let mut text = format!("{s}{int}");
            if let Some(frac) = &frac {
                text.push('.');
                text.push_str(frac);
            }
            if with_exp || frac.is_none() {
                let exp = if e.len() > 1 { exp.abs() } else { exp };
                text.push_str(&format!("{e}{exp}"));
            }
            text
        });
    let mut specials = vec![
        "1e16",
        "1e15",
        "9999999999999998.0",
        "1e22",
        "1e23",
        "0.0001",
        "0.00001",
        "0.0",
        "-0.0",
        "1.0",
        "5e-324",
        "2.4703282292062327e-324",
        "2.4703282292062328e-324",
        "1.7976931348623157e308",
        "2.2250738585072014e-308",
        "2.2250738585072011e-308",
        "0.1",
        "1.5e-7",
        "123456789012345.0",
    ];
    if !finite_only {
        specials.extend(["1e400", "-1e400", "1.8e308", "-1.7976931348623159e308"]);
    }
    prop_oneof![
        3 => finite_f64().prop_map(|f| format!("{f:e}")),
        2 => finite_f64().prop_map(|f| format!("{f:?}")),
        2 => (finite_f64(), 0usize..25).prop_map(|(f, p)| format!("{f:.p$e}")),
        1 => (finite_f64(), 1usize..20).prop_map(|(f, p)| format!("{f:.p$}")),
        3 => built,
        1 => prop::sample::select(specials).prop_map(str::to_owned),
    ]
    .prop_filter("finite when required", move |text| {
        !finite_only || text.parse::<f64>().is_ok_and(f64::is_finite)
    })
    .boxed()
}

fn doc_strategy(finite_only: bool) -> impl Strategy<Value = Doc> {
    let leaf = prop_oneof![
        1 => Just(Doc::Null),
        1 => any::<bool>().prop_map(Doc::Bool),
        3 => int_literal().prop_map(Doc::Number),
        4 => float_literal(finite_only).prop_map(Doc::Number),
        4 => string_strategy(24).prop_map(|(s, style)| Doc::Str(s, style)),
    ];
    leaf.prop_recursive(5, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Doc::Array),
            prop::collection::vec((key_strategy(), inner), 0..8).prop_map(Doc::Object),
        ]
    })
}

// ---------------------------------------------------------------------------------------------
// The Python oracle: one process for the whole test, one request line and one answer line per case.

const ORACLE_SCRIPT: &str = r#"
import hashlib, json, sys
out = sys.stdout
for line in sys.stdin.buffer:
    try:
        value = json.loads(line.decode("utf-8"))
        sorted_text = json.dumps(value, sort_keys=True)
        answer = [
            sorted_text,
            json.dumps(value),
            json.dumps(value, indent=2),
            json.dumps(value, indent=4, sort_keys=True),
            hashlib.sha256(sorted_text.encode("utf-8")).hexdigest()[:16],
        ]
    except Exception as exc:
        answer = {"python_error": repr(exc)}
    out.write(json.dumps(answer) + "\n")
    out.flush()
"#;

struct PythonOracle {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

/// What Python printed for one input.
#[derive(Debug, PartialEq, Eq)]
struct PythonAnswer {
    sorted: String,
    plain: String,
    indent2: String,
    indent4_sorted: String,
    hash: String,
}

impl PythonOracle {
    fn spawn() -> PythonOracle {
        let python = std::env::var("CACHE_WIRE_PYTHON").unwrap_or_else(|_| "python3".to_owned());
        let mut child = Command::new(&python)
            .args(["-c", ORACLE_SCRIPT])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start `{python}`: {e}. This differential test needs a Python 3 \
                     interpreter on PATH (or its path in CACHE_WIRE_PYTHON)."
                )
            });
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        PythonOracle {
            child,
            stdin: Some(stdin),
            stdout,
        }
    }

    fn ask(&mut self, json_text: &str) -> PythonAnswer {
        assert!(!json_text.contains('\n'), "request must be one line");
        let stdin = self.stdin.as_mut().expect("python stdin is open");
        writeln!(stdin, "{json_text}").expect("write to python");
        stdin.flush().expect("flush to python");
        let mut line = String::new();
        let n = self.stdout.read_line(&mut line).expect("read from python");
        assert!(n > 0, "python exited before answering");
        let answer: Value = serde_json::from_str(&line).expect("python answer is JSON");
        let parts: Vec<String> = serde_json::from_value(answer.clone())
            .unwrap_or_else(|_| panic!("python failed on {json_text}: {answer}"));
        let [sorted, plain, indent2, indent4_sorted, hash]: [String; 5] =
            parts.try_into().expect("five answers");
        PythonAnswer {
            sorted,
            plain,
            indent2,
            indent4_sorted,
            hash,
        }
    }
}

impl Drop for PythonOracle {
    fn drop(&mut self) {
        // Closing stdin ends the script's loop; wait so no zombie is left behind.
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn matches_python_json_dumps() {
    let oracle = RefCell::new(PythonOracle::spawn());
    let mut runner = TestRunner::new(Config {
        cases: cases(2048),
        max_shrink_iters: 2000,
        // A hand-driven runner has no source file to persist failures next to.
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&doc_strategy(false), |doc| {
        let text = doc.to_text();
        let value: Value = serde_json::from_str(&text)
            .map_err(|e| TestCaseError::fail(format!("serde_json rejected {text}: {e}")))?;
        let ours = PythonAnswer {
            sorted: dumps(&value, DumpOptions::HASH),
            plain: dumps(&value, DumpOptions::PYTHON_DEFAULT),
            indent2: dumps(&value, DumpOptions::indented(2)),
            indent4_sorted: dumps(&value, DumpOptions::indented(4).sorted()),
            hash: hash_json(&value),
        };
        let python = oracle.borrow_mut().ask(&text);
        prop_assert_eq!(ours, python, "input text: {}", text);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

// ---------------------------------------------------------------------------------------------
// Round trip: our output is JSON that means the same value, with Python's number semantics.

/// A number as Python's `json.loads` would hold it.
#[derive(Debug, PartialEq)]
enum PyNum {
    Int { negative: bool, digits: String },
    FloatBits(u64),
}

fn py_num(n: &serde_json::Number) -> PyNum {
    let literal = n.as_str();
    if literal.contains(['.', 'e', 'E']) {
        PyNum::FloatBits(literal.parse::<f64>().expect("float literal").to_bits())
    } else {
        let (negative, digits) = match literal.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, literal),
        };
        let digits = digits.trim_start_matches('0');
        PyNum::Int {
            negative: negative && !digits.is_empty(),
            digits: digits.to_owned(),
        }
    }
}

/// `input` and `output` hold the same Python value; with `sorted`, output keys are in order,
/// otherwise in the input's order.
fn same_python_value(input: &Value, output: &Value, sorted: bool) -> Result<(), String> {
    match (input, output) {
        (Value::Null, Value::Null) => Ok(()),
        (Value::Bool(a), Value::Bool(b)) if a == b => Ok(()),
        (Value::String(a), Value::String(b)) if a == b => Ok(()),
        (Value::Number(a), Value::Number(b)) if py_num(a) == py_num(b) => Ok(()),
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .try_for_each(|(x, y)| same_python_value(x, y, sorted)),
        (Value::Object(a), Value::Object(b)) if a.len() == b.len() => {
            let mut expected_keys: Vec<&String> = a.keys().collect();
            if sorted {
                expected_keys.sort();
            }
            let actual_keys: Vec<&String> = b.keys().collect();
            if expected_keys != actual_keys {
                return Err(format!(
                    "key order {actual_keys:?}, expected {expected_keys:?}"
                ));
            }
            a.iter()
                .try_for_each(|(k, x)| same_python_value(x, &b[k.as_str()], sorted))
        }
        _ => Err(format!("{output} differs from {input}")),
    }
}

proptest! {
    #![proptest_config(Config { cases: cases(1024), ..Config::default() })]

    #[test]
    fn output_parses_back_to_the_input(doc in doc_strategy(true)) {
        let text = doc.to_text();
        let input: Value = serde_json::from_str(&text).unwrap();
        for (opts, sorted) in [
            (DumpOptions::PYTHON_DEFAULT, false),
            (DumpOptions::HASH, true),
            (DumpOptions::indented(2), false),
            (DumpOptions::indented(3).sorted(), true),
        ] {
            let out = dumps(&input, opts);
            prop_assert!(out.is_ascii(), "ensure_ascii output has non-ASCII: {}", out);
            let parsed: Value = serde_json::from_str(&out)
                .map_err(|e| TestCaseError::fail(format!("{opts:?} gave invalid JSON {out}: {e}")))?;
            if let Err(why) = same_python_value(&input, &parsed, sorted) {
                prop_assert!(false, "{:?}: {} (input {}, output {})", opts, why, text, out);
            }
        }
    }
}
