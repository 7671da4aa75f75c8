//! Response bodies rendered as Starlette's `JSONResponse` does:
//! `json.dumps(content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":"))`.
//!
//! That is serde_json's compact form except for numbers, which Python re-renders from its own
//! `int` / `float` objects (`1E5` becomes `100000.0`, `1.5e-7` becomes `1.5e-07`, `-0` becomes
//! `0`), and which fail for out-of-range floats. String escaping is identical: both escape `"`,
//! `\` and control characters only, with lowercase `\u00XX`.

use std::io;

use serde::Serialize;
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
