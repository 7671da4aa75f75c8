//! Python 3.12 `json.dumps` reproduced byte for byte.
//!
//! The reference cache service hashes `json.dumps(obj, sort_keys=True)`, so every byte of that text
//! matters: separators, float `repr`, exact big integers, `ensure_ascii` escapes and key order.
//! The input is a [`serde_json::Value`] parsed with the workspace's `arbitrary_precision` and
//! `preserve_order` features, so number literals keep their original text and objects keep their
//! insertion order, which is what Python's `json.loads` gives the reference.

use serde_json::{Map, Number, Value};

/// Options of Python's `json.dumps` that the cache service uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DumpOptions {
    /// `indent=N`; `None` gives the single-line form with `", "` and `": "` separators.
    pub indent: Option<usize>,
    /// `sort_keys=True`.
    pub sort_keys: bool,
}

impl DumpOptions {
    /// `json.dumps(v)`: single line, insertion order.
    pub const PYTHON_DEFAULT: DumpOptions = DumpOptions {
        indent: None,
        sort_keys: false,
    };

    /// `json.dumps(v, sort_keys=True)`: the canonical text that `cache_hash` is computed over.
    pub const HASH: DumpOptions = DumpOptions {
        indent: None,
        sort_keys: true,
    };

    /// `json.dumps(v, indent=n)`: one item per line, insertion order.
    pub const fn indented(indent: usize) -> DumpOptions {
        DumpOptions {
            indent: Some(indent),
            sort_keys: false,
        }
    }

    /// The same options with `sort_keys=True`.
    pub const fn sorted(self) -> DumpOptions {
        DumpOptions {
            indent: self.indent,
            sort_keys: true,
        }
    }
}

/// `json.dumps(value, indent=opts.indent, sort_keys=opts.sort_keys)` with Python's defaults
/// (`ensure_ascii=True`, `allow_nan=True`), without a trailing newline.
pub fn dumps(value: &Value, opts: DumpOptions) -> String {
    let mut out = String::new();
    write_value(&mut out, value, opts, 0);
    out
}

/// Python `str(v)` of a JSON scalar as the reference hash uses it: `True`/`False`, integers exactly,
/// floats via `repr` (`1.5e-07`, `inf`), strings unchanged. `None` for `null`, arrays and objects.
pub fn python_str(value: &Value) -> Option<String> {
    match value {
        Value::Bool(true) => Some("True".to_owned()),
        Value::Bool(false) => Some("False".to_owned()),
        Value::Number(n) => Some(match PyNumber::from_json(n) {
            PyNumber::Int(text) => text,
            PyNumber::Float(f) => float_repr(f),
            PyNumber::Unparsed(text) => text.to_owned(),
        }),
        Value::String(s) => Some(s.clone()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

/// Python's `repr(float)`: shortest round-trip digits, fixed notation for decimal exponents in
/// `[-4, 16)`, else `d.ddde±XX`; `nan`, `inf`, `-inf` for the non-finite values.
pub fn float_repr(f: f64) -> String {
    let mut out = String::with_capacity(24);
    write_float_repr(&mut out, f);
    out
}

/// [`float_repr`] appended to `out`, without allocating.
pub fn write_float_repr(out: &mut String, f: f64) {
    if f.is_nan() {
        out.push_str("nan");
        return;
    }
    if f.is_infinite() {
        out.push_str(if f > 0.0 { "inf" } else { "-inf" });
        return;
    }
    let mut buffer = zmij::Buffer::new();
    let (digits, exponent) = shortest_digits(&mut buffer, f);
    let digits = digits.as_str();
    if f.is_sign_negative() {
        out.push('-');
    }
    if (-4..16).contains(&exponent) {
        if exponent >= 0 {
            let int_len = exponent.unsigned_abs() as usize + 1;
            if digits.len() > int_len {
                out.push_str(&digits[..int_len]);
                out.push('.');
                out.push_str(&digits[int_len..]);
            } else {
                out.push_str(digits);
                push_repeated(out, '0', int_len - digits.len());
                out.push_str(".0");
            }
        } else {
            out.push_str("0.");
            push_repeated(out, '0', exponent.unsigned_abs() as usize - 1);
            out.push_str(digits);
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exponent < 0 { '-' } else { '+' });
        let magnitude = exponent.unsigned_abs();
        if magnitude < 10 {
            out.push('0');
        }
        use std::fmt::Write as _;
        let _ = write!(out, "{magnitude}");
    }
}

/// The significant digits of a float (no leading or trailing zeros), on the stack.
struct Digits {
    buf: [u8; 40],
    len: usize,
}

impl Digits {
    fn as_str(&self) -> &str {
        // Only ASCII digits are ever stored.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("0")
    }
}

/// Shortest round-trip significant digits of `|f|` and the decimal exponent of the first one.
fn shortest_digits(buffer: &mut zmij::Buffer, f: f64) -> (Digits, i32) {
    let text = buffer.format_finite(f.abs());
    // zmij writes `123.45`, `1e-7`, `1.5e16` or `0.0001`; reduce any of them to digits + exponent.
    let (mantissa, exp_suffix) = match text.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (text, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let mut digits = Digits {
        buf: [0; 40],
        len: 0,
    };
    let mut leading_zeros = 0i32;
    for b in int_part.bytes().chain(frac_part.bytes()) {
        if digits.len == 0 && b == b'0' {
            leading_zeros += 1;
        } else if digits.len < digits.buf.len() {
            digits.buf[digits.len] = b;
            digits.len += 1;
        }
    }
    while digits.len > 0 && digits.buf[digits.len - 1] == b'0' {
        digits.len -= 1;
    }
    if digits.len == 0 {
        digits.buf[0] = b'0';
        digits.len = 1;
        return (digits, 0);
    }
    let int_len = i32::try_from(int_part.len()).unwrap_or(i32::MAX);
    (digits, int_len - 1 - leading_zeros + exp_suffix)
}

/// A JSON number as Python's `json.loads` sees it.
enum PyNumber<'a> {
    /// An integer literal, as Python's `int.__repr__` prints it.
    Int(String),
    /// Any literal with a fraction or exponent becomes a Python float.
    Float(f64),
    /// Not a JSON number literal (only possible through `Number::from_string_unchecked`); kept as is.
    Unparsed(&'a str),
}

impl<'a> PyNumber<'a> {
    fn from_json(n: &'a Number) -> PyNumber<'a> {
        let literal = n.as_str();
        if literal.contains(['.', 'e', 'E']) {
            // Overflow parses to +-inf, exactly like Python's `float('1e400')`.
            return match literal.parse::<f64>() {
                Ok(f) => PyNumber::Float(f),
                Err(_) => PyNumber::Unparsed(literal),
            };
        }
        let (negative, digits) = match literal.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, literal),
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return PyNumber::Unparsed(literal);
        }
        let digits = digits.trim_start_matches('0');
        if digits.is_empty() {
            // `-0` is the integer zero in Python.
            return PyNumber::Int("0".to_owned());
        }
        let mut text = String::with_capacity(digits.len() + 1);
        if negative {
            text.push('-');
        }
        text.push_str(digits);
        PyNumber::Int(text)
    }
}

fn write_value(out: &mut String, value: &Value, opts: DumpOptions, level: usize) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => write_array(out, items, opts, level),
        Value::Object(map) => write_object(out, map, opts, level),
    }
}

fn write_number(out: &mut String, n: &Number) {
    match PyNumber::from_json(n) {
        PyNumber::Int(text) => out.push_str(&text),
        // json.dumps writes non-finite floats as JavaScript literals (allow_nan=True).
        PyNumber::Float(f) if f.is_nan() => out.push_str("NaN"),
        PyNumber::Float(f) if f.is_infinite() => {
            out.push_str(if f > 0.0 { "Infinity" } else { "-Infinity" })
        }
        PyNumber::Float(f) => write_float_repr(out, f),
        PyNumber::Unparsed(text) => out.push_str(text),
    }
}

fn write_array(out: &mut String, items: &[Value], opts: DumpOptions, level: usize) {
    if items.is_empty() {
        out.push_str("[]");
        return;
    }
    out.push('[');
    for (i, item) in items.iter().enumerate() {
        write_item_separator(out, opts, level + 1, i == 0);
        write_value(out, item, opts, level + 1);
    }
    write_closing_newline(out, opts, level);
    out.push(']');
}

fn write_object(out: &mut String, map: &Map<String, Value>, opts: DumpOptions, level: usize) {
    if map.is_empty() {
        out.push_str("{}");
        return;
    }
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    if opts.sort_keys {
        // UTF-8 byte order equals Unicode code point order, which is how Python sorts `str`.
        entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
    }
    out.push('{');
    for (i, (key, item)) in entries.into_iter().enumerate() {
        write_item_separator(out, opts, level + 1, i == 0);
        write_string(out, key);
        out.push_str(": ");
        write_value(out, item, opts, level + 1);
    }
    write_closing_newline(out, opts, level);
    out.push('}');
}

/// Python puts `", "` between items on one line, or `","` plus a newline and indentation (the
/// indentation also precedes the first item).
fn write_item_separator(out: &mut String, opts: DumpOptions, level: usize, first: bool) {
    match opts.indent {
        None => {
            if !first {
                out.push_str(", ");
            }
        }
        Some(indent) => {
            if !first {
                out.push(',');
            }
            out.push('\n');
            push_repeated(out, ' ', indent * level);
        }
    }
}

fn write_closing_newline(out: &mut String, opts: DumpOptions, level: usize) {
    if let Some(indent) = opts.indent {
        out.push('\n');
        push_repeated(out, ' ', indent * level);
    }
}

/// Python's `ensure_ascii` string encoder (`ESCAPE_ASCII`).
fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    push_unicode_escape(out, *unit);
                }
            }
        }
    }
    out.push('"');
}

/// `\uXXXX` with four lowercase hex digits, as Python writes it.
fn push_unicode_escape(out: &mut String, unit: u16) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push_str("\\u");
    for shift in [12u16, 8, 4, 0] {
        out.push(char::from(HEX[usize::from((unit >> shift) & 0xf)]));
    }
}

fn push_repeated(out: &mut String, c: char, count: usize) {
    out.extend(std::iter::repeat_n(c, count));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    fn dumps_text(text: &str, opts: DumpOptions) -> String {
        dumps(&parse(text), opts)
    }

    #[test]
    fn float_repr_matches_python() {
        // Each pair is (f64, Python 3.12 `repr(f)`).
        let cases: &[(f64, &str)] = &[
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (-1.0, "-1.0"),
            (1.5, "1.5"),
            (0.1, "0.1"),
            (1.5e-7, "1.5e-07"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (0.00012345, "0.00012345"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (1e22, "1e+22"),
            (123456789012345.0, "123456789012345.0"),
            (1234567890123456.7, "1234567890123456.8"),
            (12345678901234567.0, "1.2345678901234568e+16"),
            (1e100, "1e+100"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (2.2250738585072014e-308, "2.2250738585072014e-308"),
            (-2.5e-5, "-2.5e-05"),
            (100.0, "100.0"),
            (0.30000000000000004, "0.30000000000000004"),
            // Exact ties between two shortest candidates go to the even digit, as in Python
            // (std's `{:e}` would print ...0.3, ...063 and ...13).
            (1_200_000_000_000_000.0 + 0.25, "1200000000000000.2"),
            (21_736_598_686_151.0 + 0.0625, "21736598686151.062"),
            (228_981_700_789_685.0 + 0.125, "228981700789685.12"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::NAN, "nan"),
        ];
        for (f, expected) in cases {
            assert_eq!(float_repr(*f), *expected, "repr({f:e})");
        }
    }

    #[test]
    fn number_literals_follow_python_int_and_float() {
        let opts = DumpOptions::PYTHON_DEFAULT;
        assert_eq!(dumps_text("-0", opts), "0");
        assert_eq!(dumps_text("-0.0", opts), "-0.0");
        assert_eq!(dumps_text("0", opts), "0");
        assert_eq!(dumps_text("1.50", opts), "1.5");
        assert_eq!(dumps_text("1E5", opts), "100000.0");
        assert_eq!(dumps_text("1e-7", opts), "1e-07");
        assert_eq!(dumps_text("2.0e0", opts), "2.0");
        assert_eq!(dumps_text("1e400", opts), "Infinity");
        assert_eq!(dumps_text("-1e400", opts), "-Infinity");
        assert_eq!(dumps_text("1e-400", opts), "0.0");
        assert_eq!(dumps_text("-1e-400", opts), "-0.0");
        assert_eq!(
            dumps_text("10000000000000000000000", opts),
            "10000000000000000000000"
        );
        assert_eq!(
            dumps_text("-123456789012345678901234567890", opts),
            "-123456789012345678901234567890"
        );
        assert_eq!(
            dumps_text("18446744073709551616", opts),
            "18446744073709551616"
        );
    }

    #[test]
    fn numbers_built_in_rust_print_like_python() {
        let opts = DumpOptions::PYTHON_DEFAULT;
        assert_eq!(dumps(&json!(1.0), opts), "1.0");
        assert_eq!(dumps(&json!(1.5e-7), opts), "1.5e-07");
        assert_eq!(dumps(&json!(1e16), opts), "1e+16");
        assert_eq!(dumps(&json!(u64::MAX), opts), "18446744073709551615");
        assert_eq!(dumps(&json!(i64::MIN), opts), "-9223372036854775808");
    }

    #[test]
    fn strings_use_ensure_ascii_escapes() {
        let value = json!("q\" b\\ /\n\r\t\u{8}\u{c}\u{0}\u{1f}\u{7f}\u{80}é\u{ffff}😀 ~");
        assert_eq!(
            dumps(&value, DumpOptions::PYTHON_DEFAULT),
            r#""q\" b\\ /\n\r\t\b\f\u0000\u001f\u007f\u0080\u00e9\uffff\ud83d\ude00 ~""#
        );
    }

    #[test]
    fn single_line_separators_and_key_order() {
        let text = r#"{"b": [1, {"z": null, "a": true}], "a": "x", "é": false, "Z": {}}"#;
        assert_eq!(
            dumps_text(text, DumpOptions::PYTHON_DEFAULT),
            r#"{"b": [1, {"z": null, "a": true}], "a": "x", "\u00e9": false, "Z": {}}"#
        );
        assert_eq!(
            dumps_text(text, DumpOptions::HASH),
            r#"{"Z": {}, "a": "x", "b": [1, {"a": true, "z": null}], "\u00e9": false}"#
        );
    }

    #[test]
    fn sort_keys_uses_code_point_order_across_planes() {
        // U+FF61 sorts before U+1F600 by code point, but after it by UTF-16 code unit.
        let text = r#"{"😀": 1, "｡": 2, "a": 3}"#;
        assert_eq!(
            dumps_text(text, DumpOptions::HASH),
            r#"{"a": 3, "\uff61": 2, "\ud83d\ude00": 1}"#
        );
    }

    #[test]
    fn indented_output_matches_python() {
        let text = r#"{"b": [1, [], {}], "a": {"c": [true]}}"#;
        assert_eq!(
            dumps_text(text, DumpOptions::indented(2)),
            "{\n  \"b\": [\n    1,\n    [],\n    {}\n  ],\n  \"a\": {\n    \"c\": [\n      true\n    ]\n  }\n}"
        );
        assert_eq!(
            dumps_text(text, DumpOptions::indented(0).sorted()),
            "{\n\"a\": {\n\"c\": [\ntrue\n]\n},\n\"b\": [\n1,\n[],\n{}\n]\n}"
        );
        assert_eq!(dumps_text("[]", DumpOptions::indented(4)), "[]");
        assert_eq!(dumps_text("{}", DumpOptions::indented(4)), "{}");
        assert_eq!(dumps_text("3", DumpOptions::indented(4)), "3");
    }

    #[test]
    fn python_str_of_scalars() {
        assert_eq!(python_str(&json!(true)).as_deref(), Some("True"));
        assert_eq!(python_str(&json!(false)).as_deref(), Some("False"));
        assert_eq!(python_str(&json!(42)).as_deref(), Some("42"));
        assert_eq!(python_str(&parse("-0")).as_deref(), Some("0"));
        assert_eq!(python_str(&parse("1.5e-7")).as_deref(), Some("1.5e-07"));
        assert_eq!(python_str(&parse("1e400")).as_deref(), Some("inf"));
        assert_eq!(python_str(&parse("-1e400")).as_deref(), Some("-inf"));
        assert_eq!(python_str(&parse("10e21")).as_deref(), Some("1e+22"));
        assert_eq!(python_str(&json!("José")).as_deref(), Some("José"));
        assert_eq!(python_str(&Value::Null), None);
        assert_eq!(python_str(&json!([])), None);
        assert_eq!(python_str(&json!({})), None);
    }
}
