//! Response bodies rendered as Starlette's `JSONResponse` does:
//! `json.dumps(content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":"))`.
//!
//! That is serde_json's compact form except for numbers, which Python re-renders from its own
//! `int` / `float` objects (`1E5` becomes `100000.0`, `1.5e-7` becomes `1.5e-07`, `-0` becomes
//! `0`), and which fail for out-of-range floats. String escaping is identical: both escape `"`,
//! `\` and control characters only, with lowercase `\u00XX`.

use std::io;

use serde::Serialize;
use serde_json::Value;
use serde_json::ser::{Formatter, Serializer};

/// Python's error for a value `allow_nan=False` refuses; the reference turns it into a 500.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Out of range float values are not JSON compliant: {0}")]
pub struct OutOfRangeFloat(pub &'static str);

/// Renders `value` compactly with Python's number forms.
pub fn to_compact_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, OutOfRangeFloat> {
    let mut out = Vec::with_capacity(128);
    let mut serializer = Serializer::with_formatter(&mut out, PythonCompact);
    match value.serialize(&mut serializer) {
        Ok(()) => Ok(out),
        Err(e) => {
            // The only error our formatter raises; anything else would be a serde bug.
            let text = e.to_string();
            Err(OutOfRangeFloat(if text.contains("-inf") {
                "-inf"
            } else {
                "inf"
            }))
        }
    }
}

/// Python's text for a JSON number literal: integers exactly (`-0` as `0`), floats as `repr`.
pub fn python_number_text(literal: &str) -> Result<String, OutOfRangeFloat> {
    let is_float = literal.contains(['.', 'e', 'E']);
    if !is_float {
        let digits = literal.trim_start_matches('-');
        if digits.bytes().all(|b| b == b'0') {
            return Ok("0".to_owned());
        }
        return Ok(literal.to_owned());
    }
    let f: f64 = literal.parse().unwrap_or(f64::NAN);
    if f.is_infinite() {
        return Err(OutOfRangeFloat(if f < 0.0 { "-inf" } else { "inf" }));
    }
    if f.is_nan() {
        return Err(OutOfRangeFloat("nan"));
    }
    Ok(cache_wire::pyjson::float_repr(f))
}

struct PythonCompact;

impl Formatter for PythonCompact {
    fn write_number_str<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        value: &str,
    ) -> io::Result<()> {
        let text = python_number_text(value).map_err(io::Error::other)?;
        writer.write_all(text.as_bytes())
    }

    fn write_f64<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        if !value.is_finite() {
            let text = if value < 0.0 { "-inf" } else { "inf" };
            return Err(io::Error::other(OutOfRangeFloat(text)));
        }
        writer.write_all(cache_wire::pyjson::float_repr(value).as_bytes())
    }

    fn write_f32<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f32) -> io::Result<()> {
        self.write_f64(writer, f64::from(value))
    }
}

/// Largest `input` a validation error echoes, in bytes of its text (issue 12 W4; COMPAT.md
/// D35): the reference echoes the whole body, so a 200 MB bad body made a 1 GB answer.
pub const ERROR_INPUT_MAX_BYTES: usize = 8 << 10;
/// What is kept of a longer input: room is left for the marker, so a cut input fits the bound
/// (and is not cut again).
const ERROR_INPUT_HEAD_BYTES: usize = ERROR_INPUT_MAX_BYTES - 64;

/// `python_bytes_repr` of a body echoed in a validation error: unchanged when its repr fits in
/// [`ERROR_INPUT_MAX_BYTES`], otherwise the repr's first bytes and ` … [truncated: N bytes]`
/// (N the body's size). Only the head of the body is rendered.
pub fn bounded_bytes_repr(data: &[u8]) -> String {
    let head = &data[..data.len().min(ERROR_INPUT_MAX_BYTES)];
    let mut repr = python_bytes_repr(head);
    if data.len() <= ERROR_INPUT_MAX_BYTES && repr.len() <= ERROR_INPUT_MAX_BYTES {
        return repr;
    }
    // The repr is ASCII, so any byte index is a character boundary.
    repr.truncate(ERROR_INPUT_HEAD_BYTES);
    repr.push_str(&format!(" … [truncated: {} bytes]", data.len()));
    repr
}

/// A validation error's `input` bounded to [`ERROR_INPUT_MAX_BYTES`]: `None` when it fits (it
/// is echoed unchanged, as the reference does); otherwise a string: a long string's head, or
/// the head of any other value's compact JSON text, then ` … [truncated: N bytes]` (N the
/// string's or the JSON text's size). Nothing larger than the bound is allocated.
pub fn bounded_input(value: &Value) -> Option<Value> {
    if let Value::String(s) = value {
        if s.len() <= ERROR_INPUT_MAX_BYTES {
            return None;
        }
        let mut end = ERROR_INPUT_HEAD_BYTES;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        return Some(Value::String(format!(
            "{} … [truncated: {} bytes]",
            &s[..end],
            s.len()
        )));
    }
    let mut head = HeadWriter::default();
    if serde_json::to_writer(&mut head, value).is_err() || head.total <= ERROR_INPUT_MAX_BYTES {
        return None;
    }
    let mut end = head.bytes.len().min(ERROR_INPUT_HEAD_BYTES);
    while std::str::from_utf8(&head.bytes[..end]).is_err() {
        end -= 1;
    }
    let text = String::from_utf8_lossy(&head.bytes[..end]);
    Some(Value::String(format!(
        "{text} … [truncated: {} bytes]",
        head.total
    )))
}

/// Keeps the first [`ERROR_INPUT_MAX_BYTES`] bytes written and counts the rest.
#[derive(Default)]
struct HeadWriter {
    bytes: Vec<u8>,
    total: usize,
}

impl std::io::Write for HeadWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let room = ERROR_INPUT_MAX_BYTES.saturating_sub(self.bytes.len());
        self.bytes.extend_from_slice(&buf[..buf.len().min(room)]);
        self.total += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Python's `repr(bytes)`, which the reference's validation envelopes show for a raw body
/// (`"b'{\"a\":1}'"`).
pub fn python_bytes_repr(data: &[u8]) -> String {
    let quote = if data.contains(&b'\'') && !data.contains(&b'"') {
        b'"'
    } else {
        b'\''
    };
    let mut out = String::with_capacity(data.len() + 3);
    out.push('b');
    out.push(char::from(quote));
    for &b in data {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            _ if b == quote => {
                out.push('\\');
                out.push(char::from(b));
            }
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push(char::from(quote));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::loads::loads_str;
    use serde_json::json;

    #[test]
    fn renders_like_starlette_json_response() {
        let v = loads_str(
            r#"{"n":"José \u2028 \u0001 /","f":1.5e-7,"g":1E5,"h":1.0,"b":[true,null],"i":10000000000000000000000,"neg":-0.0,"big":12345678901234567890.5,"z":-0}"#,
        )
        .unwrap();
        let text = String::from_utf8(to_compact_vec(&v).unwrap()).unwrap();
        assert_eq!(
            text,
            "{\"n\":\"José \u{2028} \\u0001 /\",\"f\":1.5e-07,\"g\":100000.0,\"h\":1.0,\"b\":[true,null],\"i\":10000000000000000000000,\"neg\":-0.0,\"big\":1.2345678901234567e+19,\"z\":0}"
        );
    }

    #[test]
    fn out_of_range_floats_fail_like_python() {
        let v = loads_str("[1e400]").unwrap();
        assert_eq!(
            to_compact_vec(&v).unwrap_err().to_string(),
            "Out of range float values are not JSON compliant: inf"
        );
        let v = loads_str("[-1e400]").unwrap();
        assert_eq!(to_compact_vec(&v).unwrap_err().0, "-inf");
    }

    #[test]
    fn structs_render_compactly() {
        let text = to_compact_vec(&json!({"a": [1, 2], "b": {"c": null}})).unwrap();
        assert_eq!(text, br#"{"a":[1,2],"b":{"c":null}}"#);
    }

    #[test]
    fn bytes_repr_matches_python() {
        assert_eq!(python_bytes_repr(br#"{"a":1}"#), r#"b'{"a":1}'"#);
        assert_eq!(python_bytes_repr(b"\xff\xfe"), r"b'\xff\xfe'");
        assert_eq!(python_bytes_repr(b"it's"), r#"b"it's""#);
        assert_eq!(python_bytes_repr(b"it's \"x\""), r#"b'it\'s "x"'"#);
        assert_eq!(python_bytes_repr(b"a\tb\\\n\x7f"), r"b'a\tb\\\n\x7f'");
    }
}
