//! The reversible mapping between a [`Key`] (plus its kind) and a child data file of the
//! target's cache entry: `(data_key, data_file_id, data_type)`.
//!
//! The service sanitises `data_file_id` to `[A-Za-z0-9_-]` (so `metrics.json` would come back
//! as `metrics_json`, indistinguishable from a key `metrics_json`), accepts only JSON *objects*
//! as `json` data and refuses empty `string`/`binary` bodies. So every segment is escaped, and the
//! few shapes the service cannot hold natively carry a tag:
//!
//! | in a key segment | escaped |
//! |---|---|
//! | `_` | `__` |
//! | `.` | `_d` |
//! | `[A-Za-z0-9-]` | itself |
//!
//! | artifact | `data_type` | `data_file_id` | body |
//! |---|---|---|---|
//! | JSON object | `json` | `esc(name)` | the object (the service writes it as indent-4 JSON: our canonical bytes) |
//! | other JSON (array, scalar, null) | `string` | `esc(name)_j` | its canonical text |
//! | non-empty text | `string` | `esc(name)` | the text |
//! | non-empty bytes | `binary` | `esc(name)` | the bytes |
//! | empty text | `json` | `esc(name)_t` | `{}` (a marker) |
//! | empty bytes | `json` | `esc(name)_b` | `{}` (a marker) |
//!
//! `data_key` is the escaped folder part of the key (`""` for a single-segment key). Escaped
//! folder segments never contain `.` while every child file name has an extension, so a key
//! `a` and a key `a/b` (or `a.json/b`) never collide, on object stores or on disk. Example:
//! `results/node_stats.json` (JSON object) is `results/node__stats_djson.json` under the entry's
//! `data/` folder.

use cache_wire::ids::DataType;

use crate::artifact::ArtifactKind;
use crate::names::Key;

/// The service's maximum `data_file_id` length (`Safe_Str__Id`).
pub const MAX_DATA_FILE_ID_LEN: usize = 128;

/// How one artifact is held as a child data file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChildShape {
    /// A JSON object as `json` data.
    JsonObject,
    /// Any other JSON value as `string` data holding its canonical text.
    JsonText,
    /// Non-empty text as `string` data.
    Text,
    /// Non-empty bytes as `binary` data.
    Binary,
    /// An empty text, as a `json` marker.
    EmptyText,
    /// Empty bytes, as a `json` marker.
    EmptyBinary,
}

impl ChildShape {
    /// Every shape: the variants a key may be stored under.
    pub const ALL: [ChildShape; 6] = [
        ChildShape::JsonObject,
        ChildShape::JsonText,
        ChildShape::Text,
        ChildShape::Binary,
        ChildShape::EmptyText,
        ChildShape::EmptyBinary,
    ];

    /// The data type the service stores this shape as.
    pub fn data_type(self) -> DataType {
        match self {
            ChildShape::JsonObject | ChildShape::EmptyText | ChildShape::EmptyBinary => {
                DataType::Json
            }
            ChildShape::JsonText | ChildShape::Text => DataType::String,
            ChildShape::Binary => DataType::Binary,
        }
    }

    /// The artifact kind this shape holds.
    pub fn kind(self) -> ArtifactKind {
        match self {
            ChildShape::JsonObject | ChildShape::JsonText => ArtifactKind::Json,
            ChildShape::Text | ChildShape::EmptyText => ArtifactKind::Text,
            ChildShape::Binary | ChildShape::EmptyBinary => ArtifactKind::Binary,
        }
    }

    fn tag(self) -> &'static str {
        match self {
            ChildShape::JsonText => "_j",
            ChildShape::EmptyText => "_t",
            ChildShape::EmptyBinary => "_b",
            ChildShape::JsonObject | ChildShape::Text | ChildShape::Binary => "",
        }
    }

    /// The shape for an artifact of `kind` whose bytes are `bytes` (a JSON artifact's bytes are
    /// its canonical text).
    pub fn for_artifact(kind: ArtifactKind, bytes: &[u8]) -> Self {
        match kind {
            ArtifactKind::Json if bytes.first() == Some(&b'{') => ChildShape::JsonObject,
            ArtifactKind::Json => ChildShape::JsonText,
            ArtifactKind::Text if bytes.is_empty() => ChildShape::EmptyText,
            ArtifactKind::Text => ChildShape::Text,
            ArtifactKind::Binary if bytes.is_empty() => ChildShape::EmptyBinary,
            ArtifactKind::Binary => ChildShape::Binary,
        }
    }
}

/// The shape a key is most likely stored in: `.json` keys as a JSON object, `.bin` as bytes,
/// the others as text. It comes first in the key's [`precedence`].
pub fn likely_shape(key: &Key) -> ChildShape {
    match key.extension() {
        Some("json") => ChildShape::JsonObject,
        Some("bin") => ChildShape::Binary,
        _ => ChildShape::Text,
    }
}

/// The order in which the shapes of `key` take precedence: its [likely](likely_shape) shape,
/// then the others in [`ChildShape::ALL`] order. A key's artifact is the first shape in this
/// order that exists; a save stores its shape and then deletes only the shapes *before* it
/// (never after), so concurrent saves in different shapes can never delete every file of the
/// key: of the shapes stored, the one latest in the order is deleted by no save.
pub fn precedence(key: &Key) -> [ChildShape; 6] {
    let first = likely_shape(key);
    let mut order = [first; 6];
    let rest = ChildShape::ALL.into_iter().filter(|s| *s != first);
    for (slot, shape) in order[1..].iter_mut().zip(rest) {
        *slot = shape;
    }
    order
}

/// The shapes of `key` that take precedence over `shape`: what a save in `shape` deletes.
pub fn shadowing(key: &Key, shape: ChildShape) -> impl Iterator<Item = ChildShape> {
    precedence(key).into_iter().take_while(move |s| *s != shape)
}

/// One child data file: where an artifact lives inside its target's entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChildFile {
    /// Escaped folder part (`""` for none).
    pub data_key: String,
    /// Escaped last segment plus the shape's tag.
    pub data_file_id: String,
    /// How it is stored.
    pub shape: ChildShape,
}

impl ChildFile {
    /// The data type on the wire.
    pub fn data_type(&self) -> DataType {
        self.shape.data_type()
    }
}

/// Why a key cannot be held by the cache service.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "its last segment is {len} characters once escaped for the cache service; the service allows {MAX_DATA_FILE_ID_LEN}"
)]
pub struct SegmentTooLong {
    /// The escaped length.
    pub len: usize,
}

fn escape_into(out: &mut String, segment: &str) {
    for c in segment.chars() {
        match c {
            '_' => out.push_str("__"),
            '.' => out.push_str("_d"),
            c => out.push(c),
        }
    }
}

fn escape(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len() + 4);
    escape_into(&mut out, segment);
    out
}

/// Reverses [`escape`]; `None` for text no escaped segment can be.
fn unescape(escaped: &str) -> Option<String> {
    let mut out = String::with_capacity(escaped.len());
    let mut chars = escaped.chars();
    while let Some(c) = chars.next() {
        match c {
            '_' => match chars.next()? {
                '_' => out.push('_'),
                'd' => out.push('.'),
                _ => return None,
            },
            c if c.is_ascii_alphanumeric() || c == '-' => out.push(c),
            _ => return None,
        }
    }
    Some(out)
}

/// The escaped folder part of `key` (`""` for a single-segment key).
pub fn data_key_of(key: &Key) -> String {
    let mut out = String::new();
    if let Some(parent) = key.parent() {
        for (i, segment) in parent.split('/').enumerate() {
            if i > 0 {
                out.push('/');
            }
            escape_into(&mut out, segment);
        }
    }
    out
}

/// Where `key` lives when stored in `shape`.
pub fn child_file(key: &Key, shape: ChildShape) -> Result<ChildFile, SegmentTooLong> {
    let mut data_file_id = escape(key.file_name());
    data_file_id.push_str(shape.tag());
    if data_file_id.len() > MAX_DATA_FILE_ID_LEN {
        return Err(SegmentTooLong {
            len: data_file_id.len(),
        });
    }
    Ok(ChildFile {
        data_key: data_key_of(key),
        data_file_id,
        shape,
    })
}

/// The key and shape of a child file listed by the service; `None` for files perfstore did
/// not write (foreign names are skipped, never misread).
pub fn key_of(
    data_key: &str,
    data_file_id: &str,
    data_type: DataType,
) -> Option<(Key, ChildShape)> {
    let (stem, shape) = match data_type {
        DataType::Json => match data_file_id
            .len()
            .checked_sub(2)
            .map(|i| data_file_id.split_at(i))
        {
            Some((stem, "_t")) if is_tagged(stem) => (stem, ChildShape::EmptyText),
            Some((stem, "_b")) if is_tagged(stem) => (stem, ChildShape::EmptyBinary),
            _ => (data_file_id, ChildShape::JsonObject),
        },
        DataType::String => match data_file_id
            .len()
            .checked_sub(2)
            .map(|i| data_file_id.split_at(i))
        {
            Some((stem, "_j")) if is_tagged(stem) => (stem, ChildShape::JsonText),
            _ => (data_file_id, ChildShape::Text),
        },
        DataType::Binary => (data_file_id, ChildShape::Binary),
        DataType::TypeSafe => return None,
    };
    let mut key = String::new();
    if !data_key.is_empty() {
        for segment in data_key.split('/') {
            key.push_str(&unescape(segment)?);
            key.push('/');
        }
    }
    key.push_str(&unescape(stem)?);
    Key::new(key).ok().map(|k| (k, shape))
}

/// Whether the `_x` at the end of `stem + "_x"` is a tag rather than the tail of an escape:
/// an escaped segment ends in a complete escape, so the `_`s before the tag come in pairs.
fn is_tagged(stem: &str) -> bool {
    stem.bytes().rev().take_while(|b| *b == b'_').count() % 2 == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(s: &str) -> Key {
        Key::new(s).unwrap()
    }

    #[test]
    fn precedence_puts_the_likely_shape_first_and_lists_every_shape_once() {
        for (k, first) in [
            ("a/m.json", ChildShape::JsonObject),
            ("blob.bin", ChildShape::Binary),
            ("r.html", ChildShape::Text),
            ("noext", ChildShape::Text),
        ] {
            let order = precedence(&key(k));
            assert_eq!(order[0], first, "{k}");
            let mut sorted = order.to_vec();
            sorted.sort_by_key(|s| ChildShape::ALL.iter().position(|x| x == s));
            assert_eq!(sorted, ChildShape::ALL, "{k}: {order:?}");
            assert_eq!(
                shadowing(&key(k), first).count(),
                0,
                "a likely save deletes nothing"
            );
        }
        let shadows: Vec<_> = shadowing(&key("r.html"), ChildShape::Binary).collect();
        assert_eq!(
            shadows,
            [
                ChildShape::Text,
                ChildShape::JsonObject,
                ChildShape::JsonText
            ]
        );
    }

    proptest! {
        /// Saves in several shapes, their steps (store own shape, then delete each shadowing
        /// shape) interleaved in any order: the key never has no file.
        #[test]
        fn concurrent_saves_in_any_shapes_never_leave_the_key_without_a_file(
            initial in 0usize..6,
            writers in proptest::collection::vec(0usize..6, 2..5),
            schedule in proptest::collection::vec(0usize..5, 0..40),
        ) {
            let k = key("reports/r.html");
            let order = precedence(&k);
            let mut present = vec![order[initial]];
            // Each writer's remaining steps: `None` stores its shape, `Some(s)` deletes `s`.
            let mut steps: Vec<Vec<Option<ChildShape>>> = writers
                .iter()
                .map(|&w| {
                    let own = order[w];
                    let mut steps: Vec<_> =
                        std::iter::once(None).chain(shadowing(&k, own).map(Some)).collect();
                    steps.reverse();
                    steps
                })
                .collect();
            let mut picks = schedule.into_iter().chain(std::iter::repeat(0));
            while steps.iter().any(|s| !s.is_empty()) {
                let live: Vec<usize> = (0..steps.len()).filter(|&i| !steps[i].is_empty()).collect();
                let w = live[picks.next().unwrap_or(0) % live.len()];
                match steps[w].pop().flatten() {
                    None => {
                        let own = order[writers[w]];
                        if !present.contains(&own) {
                            present.push(own);
                        }
                    }
                    Some(gone) => present.retain(|s| *s != gone),
                }
                prop_assert!(!present.is_empty(), "no file left; writers {writers:?}");
            }
        }
    }

    #[test]
    fn the_documented_examples() {
        let f = child_file(&key("results/node_stats.json"), ChildShape::JsonObject).unwrap();
        assert_eq!(f.data_key, "results");
        assert_eq!(f.data_file_id, "node__stats_djson");
        assert_eq!(f.data_type(), DataType::Json);
        let f = child_file(&key("a.b/c_d/e"), ChildShape::JsonText).unwrap();
        assert_eq!(
            (f.data_key.as_str(), f.data_file_id.as_str()),
            ("a_db/c__d", "e_j")
        );
        assert_eq!(f.data_type(), DataType::String);
        let f = child_file(&key("x"), ChildShape::EmptyBinary).unwrap();
        assert_eq!((f.data_key.as_str(), f.data_file_id.as_str()), ("", "x_b"));
    }

    #[test]
    fn tags_are_not_confused_with_escapes() {
        // A name ending in `_` escapes to `…__`; `_t` after it is a tag, `_t` in `a_t` is not.
        let k = key("a_");
        let f = child_file(&k, ChildShape::EmptyText).unwrap();
        assert_eq!(f.data_file_id, "a___t");
        assert_eq!(
            key_of("", "a___t", DataType::Json),
            Some((k, ChildShape::EmptyText))
        );
        assert_eq!(
            key_of("", "a__t", DataType::Json),
            Some((key("a_t"), ChildShape::JsonObject))
        );
    }

    #[test]
    fn foreign_files_are_skipped() {
        assert_eq!(key_of("", "a_x", DataType::Json), None);
        assert_eq!(key_of("bad_", "a", DataType::Json), None);
        assert_eq!(key_of("", "a", DataType::TypeSafe), None);
        assert_eq!(key_of("", "", DataType::String), None);
    }

    #[test]
    fn over_long_segments_are_refused() {
        let name = "_".repeat(65);
        assert_eq!(
            child_file(&key(&name), ChildShape::Text),
            Err(SegmentTooLong { len: 130 })
        );
        assert!(child_file(&key(&"a".repeat(128)), ChildShape::Text).is_ok());
        assert!(child_file(&key(&"a".repeat(127)), ChildShape::JsonText).is_err());
    }

    #[test]
    fn shapes_follow_kind_and_content() {
        assert_eq!(
            ChildShape::for_artifact(ArtifactKind::Json, b"{}"),
            ChildShape::JsonObject
        );
        assert_eq!(
            ChildShape::for_artifact(ArtifactKind::Json, b"[]"),
            ChildShape::JsonText
        );
        assert_eq!(
            ChildShape::for_artifact(ArtifactKind::Text, b""),
            ChildShape::EmptyText
        );
        assert_eq!(
            ChildShape::for_artifact(ArtifactKind::Binary, b""),
            ChildShape::EmptyBinary
        );
        assert_eq!(
            ChildShape::for_artifact(ArtifactKind::Binary, b"x"),
            ChildShape::Binary
        );
        for shape in ChildShape::ALL {
            assert_eq!(ChildShape::for_artifact(shape.kind(), sample(shape)), shape);
        }
    }

    fn sample(shape: ChildShape) -> &'static [u8] {
        match shape {
            ChildShape::JsonObject => b"{}",
            ChildShape::JsonText => b"1",
            ChildShape::Text | ChildShape::Binary => b"x",
            ChildShape::EmptyText | ChildShape::EmptyBinary => b"",
        }
    }

    proptest! {
        #[test]
        fn every_key_and_shape_maps_back(
            raw in "[A-Za-z0-9_.-]{1,12}(/[A-Za-z0-9_.-]{1,12}){0,4}",
            shape_index in 0usize..6,
        ) {
            let Ok(k) = Key::new(raw) else { return Ok(()) };
            let shape = ChildShape::ALL[shape_index];
            let f = child_file(&k, shape).unwrap();
            // What the service keeps: sanitising would change nothing.
            prop_assert!(f.data_file_id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'));
            prop_assert!(!f.data_key.contains('.'));
            prop_assert_eq!(key_of(&f.data_key, &f.data_file_id, f.data_type()), Some((k, shape)));
        }

        #[test]
        fn distinct_keys_never_share_a_file(
            a in "[a_.]{1,6}(/[a_.]{1,6}){0,2}",
            b in "[a_.]{1,6}(/[a_.]{1,6}){0,2}",
            sa in 0usize..6, sb in 0usize..6,
        ) {
            let (Ok(ka), Ok(kb)) = (Key::new(a), Key::new(b)) else { return Ok(()) };
            let fa = child_file(&ka, ChildShape::ALL[sa]).unwrap();
            let fb = child_file(&kb, ChildShape::ALL[sb]).unwrap();
            let same_file = fa.data_key == fb.data_key
                && fa.data_file_id == fb.data_file_id
                && fa.data_type() == fb.data_type();
            prop_assert_eq!(same_file, ka == kb && sa == sb);
        }
    }
}
