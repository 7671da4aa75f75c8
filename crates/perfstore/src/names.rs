//! Validated names: [`SessionName`], [`TargetName`], [`Key`] and [`KeyPrefix`].
//!
//! Every name that reaches a backend has been validated here, so no backend ever sees `..`, an
//! absolute path, a NUL or a character it would have to escape. The rules (design.md §2):
//!
//! | type | characters | length | other rules |
//! |---|---|---|---|
//! | [`SessionName`], [`TargetName`] | `[A-Za-z0-9_-]` | 1–100 | |
//! | [`Key`] | segments of `[A-Za-z0-9_.-]` joined by `/` | 1–256 | no empty, `.` or `..` segment; no leading or trailing `/`; a segment at most 255 |
//!
//! Constructors reject invalid input with a [`NameError`] that names the offending character or
//! segment. The explicit `sanitized()` constructors apply the original Python module's rule instead
//! (replace each disallowed character with `_`, reject over-long values), for callers deriving a
//! name from something like a URL.

use std::borrow::Borrow;
use std::fmt;
use std::str::FromStr;

/// Longest [`SessionName`] or [`TargetName`], in characters.
pub const MAX_NAME_LEN: usize = 100;
/// Longest [`Key`], in characters.
pub const MAX_KEY_LEN: usize = 256;
/// The longest key segment: a file name on every common file system (`NAME_MAX`), so a valid
/// key is always a path the local backend can create.
pub const MAX_SEGMENT_LEN: usize = 255;

/// What kind of name an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    /// A [`SessionName`].
    Session,
    /// A [`TargetName`].
    Target,
    /// A [`Key`].
    Key,
    /// A [`KeyPrefix`].
    Prefix,
}

impl fmt::Display for NameKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NameKind::Session => "session name",
            NameKind::Target => "target name",
            NameKind::Key => "key",
            NameKind::Prefix => "key prefix",
        })
    }
}

/// Why a session name, target name, key or prefix was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The value is empty.
    #[error("invalid {kind}: must not be empty")]
    Empty {
        /// Which kind of name.
        kind: NameKind,
    },
    /// The value is longer than allowed.
    #[error("invalid {kind} {value:?}: {len} characters, the maximum is {max}")]
    TooLong {
        /// Which kind of name.
        kind: NameKind,
        /// The value, cut to 64 characters so the message stays one line.
        value: String,
        /// Its length in characters.
        len: usize,
        /// The maximum.
        max: usize,
    },
    /// The value contains a character outside the allowed set.
    #[error(
        "invalid {kind} {value:?}: character {character:?} at position {position} is not allowed (allowed: {allowed})"
    )]
    InvalidChar {
        /// Which kind of name.
        kind: NameKind,
        /// The value, cut to 64 characters.
        value: String,
        /// The offending character.
        character: char,
        /// Its position in characters, from 0.
        position: usize,
        /// The allowed set, for the message.
        allowed: &'static str,
    },
    /// A key has an empty, `.` or `..` segment (which covers leading, trailing and doubled `/`).
    #[error("invalid {kind} {value:?}: segment {segment:?} is not allowed ({reason})")]
    InvalidSegment {
        /// Which kind of name.
        kind: NameKind,
        /// The value, cut to 64 characters.
        value: String,
        /// The offending segment.
        segment: String,
        /// Why it is refused.
        reason: &'static str,
    },
}

const NAME_ALLOWED: &str = "A-Z a-z 0-9 _ -";
const KEY_ALLOWED: &str = "A-Z a-z 0-9 _ - . and / between segments";

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

fn is_key_char(c: char) -> bool {
    is_name_char(c) || c == '.'
}

fn shown(value: &str) -> String {
    value.chars().take(64).collect()
}

fn check_len(kind: NameKind, value: &str, max: usize) -> Result<(), NameError> {
    let len = value.chars().count();
    if len == 0 {
        return Err(NameError::Empty { kind });
    }
    if len > max {
        return Err(NameError::TooLong {
            kind,
            value: shown(value),
            len,
            max,
        });
    }
    Ok(())
}

fn check_chars(
    kind: NameKind,
    value: &str,
    allowed: &'static str,
    ok: impl Fn(char) -> bool,
) -> Result<(), NameError> {
    match value.chars().enumerate().find(|(_, c)| !ok(*c)) {
        Some((position, character)) => Err(NameError::InvalidChar {
            kind,
            value: shown(value),
            character,
            position,
            allowed,
        }),
        None => Ok(()),
    }
}

fn validate_name(kind: NameKind, value: &str) -> Result<(), NameError> {
    check_len(kind, value, MAX_NAME_LEN)?;
    check_chars(kind, value, NAME_ALLOWED, is_name_char)
}

fn sanitize_name(kind: NameKind, value: &str) -> Result<String, NameError> {
    // The original checks the length of the raw value first and never truncates.
    check_len(kind, value, MAX_NAME_LEN)?;
    Ok(value
        .chars()
        .map(|c| if is_name_char(c) { c } else { '_' })
        .collect())
}

fn validate_segment(kind: NameKind, value: &str, segment: &str) -> Result<(), NameError> {
    let reason = match segment {
        "" => "empty segments (leading, trailing or doubled '/') are not allowed",
        "." | ".." => "'.' and '..' segments are not allowed",
        s if s.len() > MAX_SEGMENT_LEN => {
            "longer than 255 characters, the most a file name may have"
        }
        _ => return Ok(()),
    };
    Err(NameError::InvalidSegment {
        kind,
        value: shown(value),
        segment: shown(segment),
        reason,
    })
}

fn validate_key(value: &str) -> Result<(), NameError> {
    let kind = NameKind::Key;
    check_len(kind, value, MAX_KEY_LEN)?;
    check_chars(kind, value, KEY_ALLOWED, |c| is_key_char(c) || c == '/')?;
    value
        .split('/')
        .try_for_each(|segment| validate_segment(kind, value, segment))
}

macro_rules! string_newtype {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// The name as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The name as an owned `String`.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = NameError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::new(s)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = NameError;
            fn try_from(s: &str) -> Result<Self, Self::Error> {
                Self::new(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = NameError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::new(s)
            }
        }

        impl From<$name> for String {
            fn from(n: $name) -> String {
                n.0
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::new(s).map_err(serde::de::Error::custom)
            }
        }
    };
}

string_newtype!(
    /// The name of a session (one batch run): `[A-Za-z0-9_-]`, 1–100 characters.
    ///
    /// ```
    /// use perfstore::SessionName;
    /// assert!(SessionName::new("run-2026_11").is_ok());
    /// assert!(SessionName::new("../etc").is_err());
    /// assert_eq!(SessionName::sanitized("nightly 11/21").unwrap().as_str(), "nightly_11_21");
    /// ```
    SessionName
);

string_newtype!(
    /// The name of a target (one unit of work in a session): `[A-Za-z0-9_-]`, 1–100 characters.
    ///
    /// ```
    /// use perfstore::TargetName;
    /// assert!(TargetName::new("example_com_page1").is_ok());
    /// assert_eq!(TargetName::sanitized("example.com/page1").unwrap().as_str(), "example_com_page1");
    /// ```
    TargetName
);

string_newtype!(
    /// The path of an artifact inside a target, e.g. `results/metrics.json`.
    ///
    /// Segments of `[A-Za-z0-9_.-]` joined by `/`, at most 256 characters, with no empty, `.` or
    /// `..` segment (so no leading, trailing or doubled `/`).
    ///
    /// ```
    /// use perfstore::Key;
    /// let key = Key::new("results/detailed/metrics.json").unwrap();
    /// assert_eq!(key.file_name(), "metrics.json");
    /// assert_eq!(key.parent(), Some("results/detailed"));
    /// assert!(Key::new("a/../../b").is_err());
    /// ```
    Key
);

/// The name perfstore gives its own records (session metadata, batch status, baselines). It is
/// not a valid [`SessionName`] or [`TargetName`], so no user name can ever equal it, every
/// backend stores the records through the same interface, and listings leave them out.
pub const RESERVED_NAME: &str = ".perfstore";

impl SessionName {
    /// Validates `value`; errors name the offending character.
    pub fn new(value: impl Into<String>) -> Result<Self, NameError> {
        let value = value.into();
        validate_name(NameKind::Session, &value)?;
        Ok(Self(value))
    }

    /// The original module's rule: each disallowed character becomes `_`; empty or over-long
    /// values are still refused.
    pub fn sanitized(value: &str) -> Result<Self, NameError> {
        sanitize_name(NameKind::Session, value).map(Self)
    }

    /// The session holding store-wide records ([`RESERVED_NAME`]).
    pub(crate) fn reserved() -> Self {
        Self(RESERVED_NAME.to_owned())
    }

    /// Whether this is perfstore's own reserved session.
    pub fn is_reserved(&self) -> bool {
        self.0 == RESERVED_NAME
    }
}

impl TargetName {
    /// Validates `value`; errors name the offending character.
    pub fn new(value: impl Into<String>) -> Result<Self, NameError> {
        let value = value.into();
        validate_name(NameKind::Target, &value)?;
        Ok(Self(value))
    }

    /// The original module's rule: each disallowed character becomes `_`; empty or over-long
    /// values are still refused.
    pub fn sanitized(value: &str) -> Result<Self, NameError> {
        sanitize_name(NameKind::Target, value).map(Self)
    }

    /// The target holding a session's records ([`RESERVED_NAME`]).
    pub(crate) fn reserved() -> Self {
        Self(RESERVED_NAME.to_owned())
    }

    /// Whether this is perfstore's own reserved target.
    pub fn is_reserved(&self) -> bool {
        self.0 == RESERVED_NAME
    }
}

impl Key {
    /// Validates `value`; errors name the offending character or segment.
    pub fn new(value: impl Into<String>) -> Result<Self, NameError> {
        let value = value.into();
        validate_key(&value)?;
        Ok(Self(value))
    }

    /// Replaces each character outside `[A-Za-z0-9_.-/]` with `_`, then validates the result
    /// (so `..` segments and over-long keys are still refused).
    pub fn sanitized(value: &str) -> Result<Self, NameError> {
        let replaced: String = value
            .chars()
            .map(|c| if is_key_char(c) || c == '/' { c } else { '_' })
            .collect();
        Self::new(replaced)
    }

    /// The segments of the key, in order.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }

    /// The last segment (`metrics.json` for `results/metrics.json`).
    pub fn file_name(&self) -> &str {
        self.0.rsplit_once('/').map_or(self.0.as_str(), |(_, f)| f)
    }

    /// Everything before the last `/`, or `None` for a single-segment key.
    pub fn parent(&self) -> Option<&str> {
        self.0.rsplit_once('/').map(|(p, _)| p)
    }

    /// The extension of the last segment, without the dot (`json` for `metrics.json`).
    pub fn extension(&self) -> Option<&str> {
        let name = self.file_name();
        name.rsplit_once('.')
            .and_then(|(stem, ext)| (!stem.is_empty() && !ext.is_empty()).then_some(ext))
    }
}

impl PartialEq<str> for Key {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Key {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// A prefix that [`crate::Storage::list_keys`] matches keys against.
///
/// Matching is by **string prefix** (like the original module's `startswith`): `results/`
/// matches `results/a.json` but not `results_old/a.json`; `results` matches both. The empty
/// prefix matches every key. A prefix may only contain characters a key can contain, so a prefix
/// can never select anything outside its target.
///
/// ```
/// use perfstore::{Key, KeyPrefix};
/// let p = KeyPrefix::new("results/").unwrap();
/// assert!(p.matches(&Key::new("results/a.json").unwrap()));
/// assert!(!p.matches(&Key::new("results_old/a.json").unwrap()));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct KeyPrefix(String);

impl KeyPrefix {
    /// The empty prefix: every key.
    pub fn all() -> Self {
        Self(String::new())
    }

    /// Validates `value`: key characters and `/` only, at most 256 characters.
    pub fn new(value: impl Into<String>) -> Result<Self, NameError> {
        let value = value.into();
        let kind = NameKind::Prefix;
        if value.chars().count() > MAX_KEY_LEN {
            return Err(NameError::TooLong {
                kind,
                len: value.chars().count(),
                value: shown(&value),
                max: MAX_KEY_LEN,
            });
        }
        check_chars(kind, &value, KEY_ALLOWED, |c| is_key_char(c) || c == '/')?;
        Ok(Self(value))
    }

    /// The prefix as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `key` starts with this prefix.
    pub fn matches(&self, key: &Key) -> bool {
        key.as_str().starts_with(&self.0)
    }

    /// The deepest folder every matching key must lie in (`results/quick` for
    /// `results/quick/a`), if it is a valid key path; lets disk backends walk less.
    pub fn folder(&self) -> Option<&str> {
        let (folder, _) = self.0.rsplit_once('/')?;
        validate_key(folder).ok().map(|_| folder)
    }
}

impl fmt::Display for KeyPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for KeyPrefix {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for KeyPrefix {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::new(String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl FromStr for KeyPrefix {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

/// A (session, target) pair: the address of one target.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TargetPath {
    /// The session.
    pub session: SessionName,
    /// The target within it.
    pub target: TargetName,
}

impl TargetPath {
    /// The reserved target of `session`, where perfstore keeps that session's records.
    pub(crate) fn records_of(session: SessionName) -> Self {
        Self::new(session, TargetName::reserved())
    }

    /// The reserved target of the reserved session, where perfstore keeps store-wide records.
    pub(crate) fn store_records() -> Self {
        Self::new(SessionName::reserved(), TargetName::reserved())
    }

    /// A target path from validated names.
    pub fn new(session: SessionName, target: TargetName) -> Self {
        Self { session, target }
    }

    /// Validates both names.
    pub fn parse(session: &str, target: &str) -> Result<Self, NameError> {
        Ok(Self::new(
            SessionName::new(session)?,
            TargetName::new(target)?,
        ))
    }

    /// The artifact `key` of this target.
    pub fn artifact(&self, key: Key) -> ArtifactPath {
        ArtifactPath {
            target: self.clone(),
            key,
        }
    }
}

impl fmt::Display for TargetPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.session, self.target)
    }
}

/// A (session, target, key) triple: the address of one artifact.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ArtifactPath {
    /// The target the artifact belongs to.
    pub target: TargetPath,
    /// The key within the target.
    pub key: Key,
}

impl ArtifactPath {
    /// Validates all three parts.
    pub fn parse(session: &str, target: &str, key: &str) -> Result<Self, NameError> {
        Ok(TargetPath::parse(session, target)?.artifact(Key::new(key)?))
    }

    /// The session.
    pub fn session(&self) -> &SessionName {
        &self.target.session
    }

    /// The target name.
    pub fn target_name(&self) -> &TargetName {
        &self.target.target
    }
}

impl fmt::Display for ArtifactPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.target, self.key)
    }
}

/// Anything that can name a [`Key`]: `&str`, `String`, `Key`, `&Key`.
///
/// Lets the typed helpers take `"results/metrics.json"` directly while still validating it.
pub trait ToKey {
    /// The validated key.
    fn to_key(self) -> Result<Key, NameError>;
}

impl ToKey for &str {
    fn to_key(self) -> Result<Key, NameError> {
        Key::new(self)
    }
}

impl ToKey for String {
    fn to_key(self) -> Result<Key, NameError> {
        Key::new(self)
    }
}

impl ToKey for &String {
    fn to_key(self) -> Result<Key, NameError> {
        Key::new(self.as_str())
    }
}

impl ToKey for Key {
    fn to_key(self) -> Result<Key, NameError> {
        Ok(self)
    }
}

impl ToKey for &Key {
    fn to_key(self) -> Result<Key, NameError> {
        Ok(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_accept_the_allowed_set() {
        for ok in ["a", "A-b_9", &"x".repeat(100)] {
            assert!(SessionName::new(ok).is_ok(), "{ok}");
            assert!(TargetName::new(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn names_reject_hostile_input_naming_the_problem() {
        let err = SessionName::new("a/b").unwrap_err();
        assert!(
            matches!(
                err,
                NameError::InvalidChar {
                    character: '/',
                    position: 1,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("'/'"), "{err}");
        let err = SessionName::new("x".repeat(101)).unwrap_err();
        assert!(
            matches!(
                err,
                NameError::TooLong {
                    len: 101,
                    max: 100,
                    ..
                }
            ),
            "{err}"
        );
        assert!(matches!(
            TargetName::new("").unwrap_err(),
            NameError::Empty { .. }
        ));
        for bad in ["..", "a.b", "café", "a\0b", "a b", "/etc/passwd"] {
            assert!(SessionName::new(bad).is_err(), "{bad:?}");
            assert!(TargetName::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn sanitized_names_replace_like_the_original() {
        assert_eq!(
            TargetName::sanitized("example.com/page1").unwrap().as_str(),
            "example_com_page1"
        );
        assert_eq!(SessionName::sanitized("café").unwrap().as_str(), "caf_");
        assert!(TargetName::sanitized(&"x".repeat(101)).is_err());
        assert!(TargetName::sanitized("").is_err());
    }

    #[test]
    fn keys_accept_nested_paths() {
        for ok in [
            "metrics.json",
            "results/metrics.json",
            "a/b/c/d.e.f",
            ".hidden",
            "x...y",
            &format!("{}/{}", "k".repeat(128), "k".repeat(127)),
            &"k".repeat(255),
        ] {
            assert!(Key::new(ok).is_ok(), "{ok}");
        }
    }

    /// A segment must be a file name every file system can create (W5: a 256-character key
    /// passed validation, then failed at rename with "File name too long").
    #[test]
    fn a_segment_longer_than_a_file_name_is_refused_naming_it() {
        let err = Key::new("k".repeat(256)).unwrap_err();
        assert!(matches!(err, NameError::InvalidSegment { .. }), "{err}");
        assert!(err.to_string().contains("255"), "{err}");
        assert!(
            err.to_string().len() < 400,
            "the message stays one short line: {err}"
        );
    }

    #[test]
    fn keys_reject_traversal_and_hostile_input() {
        let cases: &[(&str, &str)] = &[
            ("..", "\"..\""),
            ("../x", "\"..\""),
            ("a/../../b", "\"..\""),
            ("/etc/passwd", "\"\""),
            ("a//b", "\"\""),
            ("a/", "\"\""),
            ("./a", "\".\""),
            ("a\0b", "'\\0'"),
            ("café.json", "'é'"),
            ("a\\b", "'\\\\'"),
            ("a b", "' '"),
        ];
        for (bad, mentions) in cases {
            let err = Key::new(*bad).unwrap_err();
            assert!(err.to_string().contains(mentions), "{bad:?}: {err}");
        }
        assert!(matches!(
            Key::new("k".repeat(257)).unwrap_err(),
            NameError::TooLong {
                len: 257,
                max: 256,
                ..
            }
        ));
        assert!(matches!(Key::new("").unwrap_err(), NameError::Empty { .. }));
    }

    #[test]
    fn key_parts() {
        let k = Key::new("results/detailed/analysis.json").unwrap();
        assert_eq!(k.parent(), Some("results/detailed"));
        assert_eq!(k.file_name(), "analysis.json");
        assert_eq!(k.extension(), Some("json"));
        let k = Key::new("simple").unwrap();
        assert_eq!(k.parent(), None);
        assert_eq!(k.extension(), None);
        assert_eq!(Key::new(".hidden").unwrap().extension(), None);
    }

    #[test]
    fn prefixes_match_by_string_prefix() {
        let key = |s: &str| Key::new(s).unwrap();
        let p = KeyPrefix::new("results/").unwrap();
        assert!(p.matches(&key("results/a.json")));
        assert!(!p.matches(&key("results_old/a.json")));
        let p = KeyPrefix::new("results").unwrap();
        assert!(p.matches(&key("results_old/a.json")));
        assert!(KeyPrefix::all().matches(&key("x")));
        assert_eq!(
            KeyPrefix::new("results/quick/a").unwrap().folder(),
            Some("results/quick")
        );
        assert_eq!(KeyPrefix::new("../x").unwrap().folder(), None);
        assert!(KeyPrefix::new("a\0").is_err());
    }

    proptest! {
        #[test]
        fn valid_keys_never_escape_their_folder(s in "[a-z./]{1,20}") {
            if let Ok(key) = Key::new(s.as_str()) {
                prop_assert!(key.segments().all(|seg| !seg.is_empty() && seg != "." && seg != ".."));
                prop_assert!(!key.as_str().starts_with('/'));
            }
        }

        #[test]
        fn sanitized_names_are_valid_names(s in "\\PC{1,100}") {
            if let Ok(name) = TargetName::sanitized(&s) {
                prop_assert!(TargetName::new(name.as_str()).is_ok());
                prop_assert_eq!(name.as_str().chars().count(), s.chars().count());
            }
        }

        #[test]
        fn key_roundtrips_through_display(s in "[a-zA-Z0-9_-]{1,8}(/[a-zA-Z0-9_.-]{1,8}){0,4}") {
            if let Ok(key) = Key::new(s.as_str()) {
                prop_assert_eq!(Key::new(key.to_string()).unwrap(), key);
            }
        }
    }
}
