//! Python's `json.loads(bytes)` as Starlette's `Request.json()` calls it, with CPython's error
//! messages and positions.
//!
//! The reference answers an undecodable JSON body with
//! `{"type":"json_invalid","loc":["body",<pos>],…,"ctx":{"error":<msg>}}`, where `msg` and `pos`
//! come from CPython's C scanner (`Modules/_json.c`), `pos` counted in characters. A
//! `ValueError` that is not a decode error (bad UTF-8, an integer of more than 4300 digits, too
//! deep nesting) becomes `{"detail":"There was an error parsing the body"}` instead.
//!
//! Values are built as [`serde_json::Value`]; number literals keep their text
//! (`arbitrary_precision`), so `cache_wire::pyjson` renders them as Python would.

use std::str::FromStr;

use serde_json::{Map, Number, Value};

/// Why a body could not be decoded as JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError {
    /// `json.JSONDecodeError(msg, doc, pos)`: `pos` is a character index into the decoded text.
    Decode {
        /// CPython's message, e.g. `Expecting value`.
        msg: &'static str,
        /// Character index of the error.
        pos: usize,
    },
    /// Any other failure (bad encoding, integer too long, nesting too deep, a lone surrogate
    /// that this server cannot represent): the reference's generic body error.
    Unparseable,
}

/// CPython refuses to convert integers of more than 4300 digits (`sys.int_info`).
const MAX_INT_DIGITS: usize = 4300;

/// Nesting depth at which the reference's parser hits Python's recursion limit (1000 frames,
/// minus the frames of the server stack above the parser).
const MAX_DEPTH: usize = 950;

/// `json.loads(body)` for a request body.
pub fn loads(body: &[u8]) -> Result<Value, LoadError> {
    let text = decode_bytes(body).ok_or(LoadError::Unparseable)?;
    loads_str(&text)
}

/// `json.loads(text)` for already decoded text.
pub fn loads_str(text: &str) -> Result<Value, LoadError> {
    if text.starts_with('\u{feff}') {
        return Err(LoadError::Decode {
            msg: "Unexpected UTF-8 BOM (decode using utf-8-sig)",
            pos: 0,
        });
    }
    let mut scanner = Scanner {
        text,
        bytes: text.as_bytes(),
        lone_surrogate: std::cell::Cell::new(false),
    };
    let start = scanner.skip_ws(0);
    let (value, end) = scanner.scan_once(start).map_err(|e| scanner.to_error(e))?;
    let end = scanner.skip_ws(end);
    if end != scanner.bytes.len() {
        return Err(scanner.to_error(Fail::Decode("Extra data", end)));
    }
    if scanner.lone_surrogate.get() {
        return Err(LoadError::Unparseable);
    }
    Ok(value)
}

/// `bytes.decode(json.detect_encoding(b))`: UTF-8 (BOM stripped), UTF-16 or UTF-32.
fn decode_bytes(b: &[u8]) -> Option<String> {
    const BOM_UTF8: &[u8] = &[0xEF, 0xBB, 0xBF];
    if b.starts_with(&[0x00, 0x00, 0xFE, 0xFF]) {
        return decode_utf32(&b[4..], true);
    }
    if b.starts_with(&[0xFF, 0xFE, 0x00, 0x00]) {
        return decode_utf32(&b[4..], false);
    }
    if b.starts_with(&[0xFE, 0xFF]) {
        return decode_utf16(&b[2..], true);
    }
    if b.starts_with(&[0xFF, 0xFE]) {
        return decode_utf16(&b[2..], false);
    }
    if let Some(rest) = b.strip_prefix(BOM_UTF8) {
        return String::from_utf8(rest.to_vec()).ok();
    }
    if b.len() >= 4 {
        if b[0] == 0 {
            return if b[1] != 0 {
                decode_utf16(b, true)
            } else {
                decode_utf32(b, true)
            };
        }
        if b[1] == 0 {
            return if b[2] != 0 || b[3] != 0 {
                decode_utf16(b, false)
            } else {
                decode_utf32(b, false)
            };
        }
    } else if b.len() == 2 {
        if b[0] == 0 {
            return decode_utf16(b, true);
        }
        if b[1] == 0 {
            return decode_utf16(b, false);
        }
    }
    String::from_utf8(b.to_vec()).ok()
}

fn decode_utf16(b: &[u8], big_endian: bool) -> Option<String> {
    if !b.len().is_multiple_of(2) {
        return None;
    }
    let units = b.chunks_exact(2).map(|c| {
        if big_endian {
            u16::from_be_bytes([c[0], c[1]])
        } else {
            u16::from_le_bytes([c[0], c[1]])
        }
    });
    char::decode_utf16(units)
        .collect::<Result<String, _>>()
        .ok()
}

fn decode_utf32(b: &[u8], big_endian: bool) -> Option<String> {
    if !b.len().is_multiple_of(4) {
        return None;
    }
    b.chunks_exact(4)
        .map(|c| {
            let n = if big_endian {
                u32::from_be_bytes([c[0], c[1], c[2], c[3]])
            } else {
                u32::from_le_bytes([c[0], c[1], c[2], c[3]])
            };
            char::from_u32(n)
        })
        .collect()
}

/// `float('inf')` / `float('-inf')` as a number literal that overflows `f64`.
fn infinity(negative: bool) -> Result<Value, Fail> {
    let literal = if negative { "-1e400" } else { "1e400" };
    Number::from_str(literal)
        .map(Value::Number)
        .map_err(|_| Fail::Unparseable)
}

/// A scan failure at a byte offset, converted to a character offset only when reported.
enum Fail {
    /// `JSONDecodeError(msg, pos)` or a `StopIteration(pos)` turned into `Expecting value`.
    Decode(&'static str, usize),
    /// A non-decode `ValueError` / `RecursionError`.
    Unparseable,
}

struct Scanner<'a> {
    text: &'a str,
    bytes: &'a [u8],
    /// A lone surrogate was decoded: valid for Python, unrepresentable here. Reported only
    /// after the whole document scanned, so that Python's decode errors take precedence.
    lone_surrogate: std::cell::Cell<bool>,
}

/// An open container while scanning.
enum Frame {
    /// An array and its items so far.
    Array(Vec<Value>),
    /// An object, its members so far, and the key whose value is being scanned.
    Object(Map<String, Value>, String),
}

const EXPECTING_VALUE: &str = "Expecting value";

impl Scanner<'_> {
    fn to_error(&self, fail: Fail) -> LoadError {
        match fail {
            Fail::Decode(msg, byte_pos) => LoadError::Decode {
                msg,
                pos: self.char_pos(byte_pos),
            },
            Fail::Unparseable => LoadError::Unparseable,
        }
    }

    /// Character index of a byte offset (offsets always sit on character boundaries).
    fn char_pos(&self, byte_pos: usize) -> usize {
        let end = byte_pos.min(self.text.len());
        self.text[..end].chars().count()
    }

    fn at(&self, i: usize) -> Option<u8> {
        self.bytes.get(i).copied()
    }

    fn skip_ws(&self, mut i: usize) -> usize {
        while matches!(self.at(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            i += 1;
        }
        i
    }

    fn starts_with_at(&self, i: usize, lit: &[u8]) -> bool {
        self.bytes.get(i..i + lit.len()) == Some(lit)
    }

    /// `scan_once_unicode`: one value starting exactly at `i`. Containers are parsed with an
    /// explicit stack, so deep nesting cannot overflow the thread's stack.
    fn scan_once(&mut self, i: usize) -> Result<(Value, usize), Fail> {
        const EXPECTING_NAME: &str = "Expecting property name enclosed in double quotes";
        let mut stack: Vec<Frame> = Vec::new();
        let mut idx = i;
        loop {
            // Parse the value at `idx`, descending into containers until a complete value.
            let (mut value, mut end) = loop {
                let Some(c) = self.at(idx) else {
                    return Err(Fail::Decode(EXPECTING_VALUE, idx));
                };
                match c {
                    b'"' => {
                        let (s, end) = self.scan_string(idx + 1)?;
                        break (Value::String(s), end);
                    }
                    b'{' => {
                        let next = self.skip_ws(idx + 1);
                        if self.at(next) == Some(b'}') {
                            break (Value::Object(Map::new()), next + 1);
                        }
                        if stack.len() >= MAX_DEPTH {
                            return Err(Fail::Unparseable);
                        }
                        let (key, value_at) = self.object_key(next, EXPECTING_NAME)?;
                        stack.push(Frame::Object(Map::new(), key));
                        idx = value_at;
                    }
                    b'[' => {
                        let next = self.skip_ws(idx + 1);
                        if self.at(next) == Some(b']') {
                            break (Value::Array(Vec::new()), next + 1);
                        }
                        if stack.len() >= MAX_DEPTH {
                            return Err(Fail::Unparseable);
                        }
                        stack.push(Frame::Array(Vec::new()));
                        idx = next;
                    }
                    b'n' if self.starts_with_at(idx, b"null") => break (Value::Null, idx + 4),
                    b't' if self.starts_with_at(idx, b"true") => {
                        break (Value::Bool(true), idx + 4);
                    }
                    b'f' if self.starts_with_at(idx, b"false") => {
                        break (Value::Bool(false), idx + 5);
                    }
                    // Python reads ±Infinity as float infinities; an overflowing literal is the
                    // same float here (and renders as `Infinity` again). NaN has no stand-in.
                    b'N' if self.starts_with_at(idx, b"NaN") => return Err(Fail::Unparseable),
                    b'I' if self.starts_with_at(idx, b"Infinity") => {
                        break (infinity(false)?, idx + 8);
                    }
                    b'-' if self.starts_with_at(idx, b"-Infinity") => {
                        break (infinity(true)?, idx + 9);
                    }
                    _ => break self.match_number(idx)?,
                }
            };
            // Attach the value to its container; close the containers that end here.
            loop {
                let Some(frame) = stack.last_mut() else {
                    return Ok((value, end));
                };
                let after = self.skip_ws(end);
                match frame {
                    Frame::Array(items) => {
                        items.push(value);
                        match self.at(after) {
                            Some(b']') => {
                                let Some(Frame::Array(items)) = stack.pop() else {
                                    return Err(Fail::Unparseable);
                                };
                                value = Value::Array(items);
                                end = after + 1;
                            }
                            Some(b',') => {
                                idx = self.skip_ws(after + 1);
                                break;
                            }
                            _ => return Err(Fail::Decode("Expecting ',' delimiter", after)),
                        }
                    }
                    Frame::Object(map, key) => {
                        // Python's dict keeps the first position of a repeated key and its
                        // last value.
                        map.insert(std::mem::take(key), value);
                        match self.at(after) {
                            Some(b'}') => {
                                let Some(Frame::Object(map, _)) = stack.pop() else {
                                    return Err(Fail::Unparseable);
                                };
                                value = Value::Object(map);
                                end = after + 1;
                            }
                            Some(b',') => {
                                let next = self.skip_ws(after + 1);
                                let (next_key, value_at) = self.object_key(next, EXPECTING_NAME)?;
                                *key = next_key;
                                idx = value_at;
                                break;
                            }
                            _ => return Err(Fail::Decode("Expecting ',' delimiter", after)),
                        }
                    }
                }
            }
        }
    }

    /// A member key at `idx` and its `:`; returns the key and where its value starts.
    fn object_key(
        &self,
        idx: usize,
        expecting_name: &'static str,
    ) -> Result<(String, usize), Fail> {
        if self.at(idx) != Some(b'"') {
            return Err(Fail::Decode(expecting_name, idx));
        }
        let (key, after_key) = self.scan_string(idx + 1)?;
        let colon = self.skip_ws(after_key);
        if self.at(colon) != Some(b':') {
            return Err(Fail::Decode("Expecting ':' delimiter", colon));
        }
        Ok((key, self.skip_ws(colon + 1)))
    }

    /// `_match_number_unicode`.
    fn match_number(&self, start: usize) -> Result<(Value, usize), Fail> {
        let digit = |i: usize| matches!(self.at(i), Some(b'0'..=b'9'));
        let mut i = start;
        if self.at(i) == Some(b'-') {
            i += 1;
            if i >= self.bytes.len() {
                return Err(Fail::Decode(EXPECTING_VALUE, start));
            }
        }
        match self.at(i) {
            Some(b'1'..=b'9') => {
                i += 1;
                while digit(i) {
                    i += 1;
                }
            }
            Some(b'0') => i += 1,
            _ => return Err(Fail::Decode(EXPECTING_VALUE, start)),
        }
        let mut is_float = false;
        if self.at(i) == Some(b'.') && digit(i + 1) {
            is_float = true;
            i += 2;
            while digit(i) {
                i += 1;
            }
        }
        if matches!(self.at(i), Some(b'e' | b'E')) && i + 1 < self.bytes.len() {
            let e_start = i;
            i += 1;
            if matches!(self.at(i), Some(b'-' | b'+')) && i + 1 < self.bytes.len() {
                i += 1;
            }
            while digit(i) {
                i += 1;
            }
            if digit(i - 1) {
                is_float = true;
            } else {
                i = e_start;
            }
        }
        let literal = &self.text[start..i];
        if !is_float && literal.trim_start_matches('-').len() > MAX_INT_DIGITS {
            return Err(Fail::Unparseable);
        }
        let number = Number::from_str(literal).map_err(|_| Fail::Unparseable)?;
        Ok((Value::Number(number), i))
    }

    /// `scanstring_unicode` in strict mode; `i` is just after the opening quote.
    fn scan_string(&self, i: usize) -> Result<(String, usize), Fail> {
        let begin = i - 1;
        let unterminated = Fail::Decode("Unterminated string starting at", begin);
        let mut out = String::new();
        let mut next = i;
        loop {
            // Copy the run of ordinary characters.
            let run_start = next;
            loop {
                match self.at(next) {
                    None => return Err(unterminated),
                    Some(b'"' | b'\\') => break,
                    Some(c) if c < 0x20 => {
                        return Err(Fail::Decode("Invalid control character at", next));
                    }
                    Some(_) => next += 1,
                }
            }
            out.push_str(&self.text[run_start..next]);
            if self.at(next) == Some(b'"') {
                return Ok((out, next + 1));
            }
            // Backslash escape.
            let backslash = next;
            next += 1;
            let Some(esc) = self.at(next) else {
                return Err(unterminated);
            };
            if esc != b'u' {
                let c = match esc {
                    b'"' => '"',
                    b'\\' => '\\',
                    b'/' => '/',
                    b'b' => '\u{8}',
                    b'f' => '\u{c}',
                    b'n' => '\n',
                    b'r' => '\r',
                    b't' => '\t',
                    _ => return Err(Fail::Decode("Invalid \\escape", backslash)),
                };
                out.push(c);
                next += 1;
                continue;
            }
            // \uXXXX, possibly followed by a low surrogate.
            next += 1;
            let mut end = next + 4;
            if end >= self.bytes.len() {
                return Err(Fail::Decode("Invalid \\uXXXX escape", next - 1));
            }
            let unit = self
                .hex4(next)
                .ok_or(Fail::Decode("Invalid \\uXXXX escape", end - 5))?;
            let mut code = u32::from(unit);
            if (0xD800..=0xDBFF).contains(&unit)
                && end + 6 < self.bytes.len()
                && self.at(end) == Some(b'\\')
                && self.at(end + 1) == Some(b'u')
            {
                let second_end = end + 6;
                let low = self
                    .hex4(end + 2)
                    .ok_or(Fail::Decode("Invalid \\uXXXX escape", second_end - 5))?;
                if (0xDC00..=0xDFFF).contains(&low) {
                    code =
                        0x10000 + (((u32::from(unit) - 0xD800) << 10) | (u32::from(low) - 0xDC00));
                    end = second_end;
                }
            }
            // A lone surrogate is a valid Python str but not a Rust one.
            let c = char::from_u32(code).unwrap_or_else(|| {
                self.lone_surrogate.set(true);
                char::REPLACEMENT_CHARACTER
            });
            out.push(c);
            next = end;
        }
    }

    fn hex4(&self, i: usize) -> Option<u16> {
        let digits = self.bytes.get(i..i + 4)?;
        if !digits.iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        let text = std::str::from_utf8(digits).ok()?;
        u16::from_str_radix(text, 16).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_error(text: &str) -> (&'static str, usize) {
        match loads_str(text) {
            Err(LoadError::Decode { msg, pos }) => (msg, pos),
            other => panic!("{text:?} gave {other:?}"),
        }
    }

    /// Vectors produced with CPython 3.12.1 `json.loads` (message, position).
    #[test]
    fn errors_match_cpython() {
        let cases: &[(&str, &str, usize)] = &[
            ("", "Expecting value", 0),
            (" ", "Expecting value", 1),
            ("{", "Expecting property name enclosed in double quotes", 1),
            ("}", "Expecting value", 0),
            ("[", "Expecting value", 1),
            ("{\"a\"", "Expecting ':' delimiter", 4),
            ("{\"a\":", "Expecting value", 5),
            ("{\"a\":1", "Expecting ',' delimiter", 6),
            (
                "{\"a\":1,",
                "Expecting property name enclosed in double quotes",
                7,
            ),
            (
                "{\"a\":1,}",
                "Expecting property name enclosed in double quotes",
                7,
            ),
            ("{\"a\" 1}", "Expecting ':' delimiter", 5),
            (
                "{a:1}",
                "Expecting property name enclosed in double quotes",
                1,
            ),
            ("{\"a\":1 \"b\":2}", "Expecting ',' delimiter", 7),
            ("[1,]", "Expecting value", 3),
            ("[1 2]", "Expecting ',' delimiter", 3),
            ("[,1]", "Expecting value", 1),
            ("[1", "Expecting ',' delimiter", 2),
            ("\"abc", "Unterminated string starting at", 0),
            ("\"a\\", "Unterminated string starting at", 0),
            ("\"a\\x\"", "Invalid \\escape", 2),
            ("\"a\\u12\"", "Invalid \\uXXXX escape", 3),
            ("\"a\\u12g4\"", "Invalid \\uXXXX escape", 3),
            ("\"\\u1234", "Invalid \\uXXXX escape", 2),
            ("\"\\ud800\\u12\"", "Invalid \\uXXXX escape", 8),
            ("\"\\ud800\\uzzzz\"", "Invalid \\uXXXX escape", 8),
            ("\"a\nb\"", "Invalid control character at", 2),
            ("\"a\u{1}\"", "Invalid control character at", 2),
            ("nul", "Expecting value", 0),
            ("tru", "Expecting value", 0),
            ("fals", "Expecting value", 0),
            ("-", "Expecting value", 0),
            ("-a", "Expecting value", 0),
            ("01", "Extra data", 1),
            ("1.", "Extra data", 1),
            ("1e", "Extra data", 1),
            ("1e+", "Extra data", 1),
            (".5", "Expecting value", 0),
            ("+1", "Expecting value", 0),
            ("1 2", "Extra data", 2),
            ("{\"a\":1} x", "Extra data", 8),
            ("[1,2", "Expecting ',' delimiter", 4),
            ("{\"a\":[1,2}", "Expecting ',' delimiter", 9),
            ("{\"a\":{\"b\":1]}", "Expecting ',' delimiter", 11),
            ("tx", "Expecting value", 0),
            ("\"é\u{2}\"", "Invalid control character at", 2),
            ("é", "Expecting value", 0),
            ("{\"é\":1,\"x\"}", "Expecting ':' delimiter", 10),
            ("[-]", "Expecting value", 1),
            ("[\"a\",]", "Expecting value", 5),
            ("{\"\":1", "Expecting ',' delimiter", 5),
            (" \t\n", "Expecting value", 3),
            (
                "\u{feff}{}",
                "Unexpected UTF-8 BOM (decode using utf-8-sig)",
                0,
            ),
            ("{\"a\":1}\u{0}", "Extra data", 7),
            ("{\"a\":nul}", "Expecting value", 5),
            ("[true false]", "Expecting ',' delimiter", 6),
            ("[true,false,null,", "Expecting value", 17),
            ("\"\\U0041\"", "Invalid \\escape", 1),
            ("{\"a\":1}}", "Extra data", 7),
            ("[[[]]]]", "Extra data", 6),
        ];
        for (text, msg, pos) in cases {
            assert_eq!(decode_error(text), (*msg, *pos), "input {text:?}");
        }
    }

    #[test]
    fn values_keep_number_text_and_python_dict_semantics() {
        let v = loads_str(r#"  {"a":1,"b":[-0.0, 1E5, 1.5e-7, 10000000000000000000000],"a":3}  "#)
            .unwrap();
        assert_eq!(
            cache_wire::pyjson::dumps(&v, cache_wire::pyjson::DumpOptions::PYTHON_DEFAULT),
            r#"{"a": 3, "b": [-0.0, 100000.0, 1.5e-07, 10000000000000000000000]}"#
        );
        let v = loads_str(r#""\t\n\/\b\f\r\"\\\u00e9\ud83d\ude00""#).unwrap();
        assert_eq!(v, Value::String("\t\n/\u{8}\u{c}\r\"\\é😀".into()));
    }

    #[test]
    fn non_decode_failures_are_unparseable() {
        assert_eq!(loads(b"{\"a\":\"\xff\"}"), Err(LoadError::Unparseable));
        let long = format!("[{}]", "1".repeat(4301));
        assert_eq!(loads_str(&long), Err(LoadError::Unparseable));
        assert!(loads_str(&format!("[{}]", "1".repeat(4300))).is_ok());
        assert_eq!(loads_str(&"[".repeat(5000)), Err(LoadError::Unparseable));
        assert_eq!(loads_str("NaN"), Err(LoadError::Unparseable));
        let inf = loads_str("[Infinity, -Infinity]").unwrap();
        assert_eq!(
            cache_wire::pyjson::dumps(&inf, cache_wire::pyjson::DumpOptions::PYTHON_DEFAULT),
            "[Infinity, -Infinity]"
        );
        assert_eq!(loads_str("\"\\ud800\""), Err(LoadError::Unparseable));
    }

    #[test]
    fn detects_encodings_like_python() {
        assert_eq!(loads(b"\xEF\xBB\xBF{}").unwrap(), serde_json::json!({}));
        let utf16le: Vec<u8> = "{\"a\":1}"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert_eq!(loads(&utf16le).unwrap(), serde_json::json!({"a": 1}));
    }
}
