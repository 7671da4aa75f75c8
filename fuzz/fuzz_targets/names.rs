//! `SessionName`, `TargetName`, `Key` and `KeyPrefix` on arbitrary strings: no panic, and each
//! constructor accepts exactly what an independent restatement of the rules (names.rs module
//! docs) accepts; an accepted value re-validates, round-trips through Display / FromStr / serde,
//! and `sanitized` output, when Ok, is accepted by `new`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use perfstore::names::{MAX_KEY_LEN, MAX_NAME_LEN, MAX_SEGMENT_LEN};
use perfstore::{Key, KeyPrefix, SessionName, TargetName};

fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

fn key_char(c: char) -> bool {
    name_char(c) || c == '.'
}

/// The rules for session and target names, restated.
fn valid_name(s: &str) -> bool {
    let len = s.chars().count();
    (1..=MAX_NAME_LEN).contains(&len) && s.chars().all(name_char)
}

/// The rules for keys, restated.
fn valid_key(s: &str) -> bool {
    let len = s.chars().count();
    (1..=MAX_KEY_LEN).contains(&len)
        && s.chars().all(|c| key_char(c) || c == '/')
        && s.split('/').all(|seg| {
            !seg.is_empty() && seg != "." && seg != ".." && seg.chars().count() <= MAX_SEGMENT_LEN
        })
}

/// What `sanitized` makes of a name: each disallowed character becomes `_`.
fn replaced(s: &str, ok: fn(char) -> bool) -> String {
    s.chars().map(|c| if ok(c) { c } else { '_' }).collect()
}

fn check_name<N>(
    s: &str,
    new: fn(String) -> Result<N, perfstore::NameError>,
    sanitized: fn(&str) -> Result<N, perfstore::NameError>,
    as_str: fn(&N) -> &str,
) where
    N: PartialEq + std::fmt::Debug + std::fmt::Display + std::str::FromStr,
    <N as std::str::FromStr>::Err: std::fmt::Debug,
{
    match new(s.to_owned()) {
        Ok(name) => {
            assert!(valid_name(s), "accepted an invalid name {s:?}");
            assert_eq!(as_str(&name), s);
            assert_eq!(new(as_str(&name).to_owned()).as_ref(), Ok(&name));
            assert_eq!(name.to_string(), s);
            assert_eq!(s.parse::<N>().ok().as_ref(), Some(&name));
        }
        Err(e) => {
            assert!(!valid_name(s), "refused a valid name {s:?}: {e}");
            // The message is one line whatever the input (values are cut to 64 characters and
            // Debug-escaped, so at most ~10 characters each).
            let message = e.to_string();
            assert!(
                !message.contains('\n') && message.chars().count() < 1000,
                "{message}"
            );
        }
    }
    let len = s.chars().count();
    match sanitized(s) {
        Ok(name) => {
            assert!((1..=MAX_NAME_LEN).contains(&len), "sanitized {s:?}");
            assert_eq!(as_str(&name), replaced(s, name_char));
            assert!(
                new(as_str(&name).to_owned()).is_ok(),
                "sanitized {s:?} to {name:?}, which new() refuses"
            );
        }
        Err(_) => assert!(!(1..=MAX_NAME_LEN).contains(&len), "sanitized {s:?}"),
    }
}

fn check_key(s: &str) {
    match Key::new(s) {
        Ok(key) => {
            assert!(valid_key(s), "accepted an invalid key {s:?}");
            assert_eq!(key.as_str(), s);
            assert!(s.len() <= MAX_KEY_LEN);
            assert!(!s.starts_with('/') && !s.ends_with('/') && !s.contains("//"));
            for seg in key.segments() {
                assert!(!seg.is_empty() && seg != "." && seg != "..", "{s:?}");
                assert!(seg.len() <= MAX_SEGMENT_LEN, "{s:?}");
            }
            assert_eq!(Key::new(key.as_str()).as_ref(), Ok(&key));
            assert_eq!(Key::new(key.to_string()).as_ref(), Ok(&key));
            assert_eq!(s.parse::<Key>().as_ref(), Ok(&key));
            let wire = serde_json::to_string(&key).unwrap();
            assert_eq!(serde_json::from_str::<Key>(&wire).unwrap(), key);
            // Parts.
            let file_name = key.file_name();
            assert!(!file_name.is_empty());
            match key.parent() {
                Some(parent) => {
                    assert_eq!(format!("{parent}/{file_name}"), s);
                    assert!(Key::new(parent).is_ok(), "parent of {s:?}");
                }
                None => assert_eq!(file_name, s),
            }
            if let Some(ext) = key.extension() {
                assert!(!ext.is_empty() && file_name.ends_with(&format!(".{ext}")));
            }
            // A key is a valid prefix that matches itself; sanitizing a valid key changes nothing.
            let prefix = KeyPrefix::new(s).expect("a key is a valid prefix");
            assert!(prefix.matches(&key));
            assert_eq!(Key::sanitized(s).as_ref(), Ok(&key));
        }
        Err(e) => {
            assert!(!valid_key(s), "refused a valid key {s:?}: {e}");
            let message = e.to_string();
            assert!(
                !message.contains('\n') && message.chars().count() < 1000,
                "{message}"
            );
        }
    }
    match Key::sanitized(s) {
        Ok(key) => {
            assert_eq!(key.as_str(), replaced(s, |c| key_char(c) || c == '/'));
            assert!(Key::new(key.as_str()).is_ok(), "sanitized {s:?} to {key:?}");
        }
        Err(_) => assert!(!valid_key(&replaced(s, |c| key_char(c) || c == '/'))),
    }
}

fn check_prefix(s: &str) {
    let ok = s.chars().count() <= MAX_KEY_LEN && s.chars().all(|c| key_char(c) || c == '/');
    match KeyPrefix::new(s) {
        Ok(prefix) => {
            assert!(ok, "accepted an invalid prefix {s:?}");
            assert_eq!(prefix.as_str(), s);
            assert_eq!(prefix.to_string(), s);
            if let Some(folder) = prefix.folder() {
                assert!(s.starts_with(&format!("{folder}/")), "{s:?} -> {folder:?}");
                assert!(Key::new(folder).is_ok(), "{s:?} -> {folder:?}");
            }
            let wire = serde_json::to_string(&prefix).unwrap();
            assert_eq!(serde_json::from_str::<KeyPrefix>(&wire).unwrap(), prefix);
        }
        Err(_) => assert!(!ok, "refused a valid prefix {s:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    check_name(
        &s,
        SessionName::new,
        SessionName::sanitized,
        SessionName::as_str,
    );
    check_name(
        &s,
        TargetName::new,
        TargetName::sanitized,
        TargetName::as_str,
    );
    check_key(&s);
    check_prefix(&s);
    if let Ok(path) = perfstore::names::ArtifactPath::parse("s", "t", &s) {
        assert_eq!(path.key.as_str(), &*s);
    }
});
