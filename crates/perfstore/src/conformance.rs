//! The conformance suite every backend runs (feature `conformance`).
//!
//! Each scenario is a public async function taking a fresh, empty [`Store`]; the
//! [`conformance_tests!`](crate::conformance_tests) macro turns them all into `#[tokio::test]`s
//! for one backend:
//!
//! ```ignore
//! perfstore::conformance_tests!(|| async { (perfstore::Store::memory(), ()) });
//! ```
//!
//! The closure returns the store and a guard kept alive for the test (e.g. a `TempDir`). The
//! calling crate needs `tokio` (macros, rt-multi-thread) as a dev-dependency. Scenarios that
//! depend on a [`Capabilities`](crate::Capabilities) flag check it and assert the documented
//! behaviour either way. Every trap found in one backend becomes an assertion here for all.

use std::collections::BTreeSet;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::artifact::{ArtifactKind, ContentHash, canonical_json};
use crate::error::Error;
use crate::names::{Key, SessionName, TargetName};
use crate::storage::{StorageExt, Store, TargetHandle};

/// Generates one `#[tokio::test]` per scenario of this module for the backend `$make` builds.
/// Attributes written after the closure (e.g. `, #[ignore = "needs a server"]`) are put on
/// every generated test.
#[macro_export]
macro_rules! conformance_tests {
    ($make:expr $(, #[$attr:meta])* $(,)?) => {
        $crate::__conformance_scenarios!([$crate::conformance_tests] @each [$(#[$attr])*] $make);
    };
    (@each $attrs:tt $make:expr; $($scenario:ident),* $(,)?) => {
        $( $crate::conformance_tests!(@one $attrs $make; $scenario); )*
    };
    (@one [$($attr:tt)*] $make:expr; $scenario:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        $($attr)*
        async fn $scenario() {
            let (store, _guard) = ($make)().await;
            $crate::conformance::$scenario(&store).await;
        }
    };
}

/// Runs every scenario in turn inside one async context (for backends too costly to set up
/// once per test, e.g. a fleet of server processes): `$make` is called with the scenario's
/// name and returns a fresh, empty store and a guard. Evaluates to a future.
#[macro_export]
macro_rules! conformance_sequence {
    ($make:expr $(,)?) => {
        $crate::__conformance_scenarios!([$crate::conformance_sequence] @seq $make)
    };
    (@seq $make:expr; $($scenario:ident),* $(,)?) => {
        async {
            $(
                let (store, _guard) = ($make)(stringify!($scenario)).await;
                $crate::conformance::$scenario(&store).await;
            )*
        }
    };
}

/// The one list of scenarios, handed to a macro: `[callback] prefix…` → `callback!(prefix…; scenario, …)`.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_scenarios {
    ([$($callback:tt)*] $($prefix:tt)*) => {
        $($callback)*! { $($prefix)*;
            json_roundtrip, typed_roundtrip, text_roundtrip, bytes_roundtrip, large_artifact_roundtrip,
            missing_is_none, empty_artifacts_exist, save_replaces_across_kinds, load_string_of_json_returns_its_text,
            load_of_non_json_is_a_typed_error, head_reports_size_kind_and_hash, list_keys_is_exact_and_sorted,
            list_keys_prefix_is_a_string_prefix, targets_and_sessions_are_isolated, delete_removes_one_artifact,
            delete_target_removes_everything_in_it, delete_session_removes_it_and_nothing_else,
            list_sessions_and_targets, file_and_folder_keys,
            concurrent_writers_of_distinct_keys_all_land, concurrent_writers_of_one_key_leave_one_intact_value,
            reserved_records_are_stored_but_never_listed, bulk_save_load_and_delete,
            streams_round_trip, failed_stream_keeps_the_previous_version,
            compressed_artifacts_are_transparent, bytes_that_look_compressed_round_trip,
            writers_in_different_kinds_never_make_a_key_vanish, list_sizes_counts_every_artifact_once,
            list_session_sizes_is_every_target_listed, a_large_target_behaves_like_a_small_one
        }
    };
}

fn target(store: &Store, session: &str, target: &str) -> TargetHandle {
    store
        .target(session, target)
        .expect("conformance names are valid")
}

fn keys(list: &[Key]) -> Vec<&str> {
    list.iter().map(Key::as_str).collect()
}

/// JSON values of every shape come back equal, on every loader.
pub async fn json_roundtrip(store: &Store) {
    let t = target(store, "s", "t");
    let value = json!({
        "name": "café ☕ 𝄞",
        "nested": {"list": [1, -2, 3.5, 1.5e-7, 1e22, null, true, false], "empty": {}, "none": []},
        "big": 12345678901234567890123_u128,
        "order": {"z": 1, "a": 2, "m": 3},
        "escapes": "tab\tnewline\nquote\"backslash\\nul\u{0}"
    });
    t.save_json("results/metrics.json", &value).await.unwrap();
    assert_eq!(
        t.load_json("results/metrics.json").await.unwrap(),
        Some(value.clone())
    );
    let order = t.load_json("results/metrics.json").await.unwrap().unwrap();
    let order: Vec<&str> = order["order"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(order, ["z", "a", "m"], "JSON key order is preserved");
    for scalar in [
        json!(0),
        json!("just a string"),
        json!([]),
        json!({}),
        json!(null),
    ] {
        t.save_json("scalar.json", &scalar).await.unwrap();
        assert_eq!(t.load_json("scalar.json").await.unwrap(), Some(scalar));
    }
}

/// `save::<T>` / `load::<T>` round-trip a typed value; loading as the wrong type is `NotJson`.
pub async fn typed_roundtrip(store: &Store) {
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Metrics {
        url: String,
        p50_ms: f64,
        samples: Vec<u32>,
    }
    let t = target(store, "s", "t");
    let m = Metrics {
        url: "https://example.com/a".into(),
        p50_ms: 0.1,
        samples: vec![1, 2, 3],
    };
    t.save("m.json", &m).await.unwrap();
    assert_eq!(t.load::<Metrics>("m.json").await.unwrap(), Some(m));
    let err = t.load::<Vec<String>>("m.json").await.unwrap_err();
    assert!(matches!(err, Error::NotJson { .. }), "{err}");
    assert!(
        err.to_string().contains("s/t/m.json"),
        "error names the artifact: {err}"
    );
}

/// Text of every kind comes back exactly, including unicode and the empty string.
pub async fn text_roundtrip(store: &Store) {
    let t = target(store, "s", "t");
    for text in [
        "café ☕",
        "",
        "# Title\n\n- a\n- b\n",
        "<html><body>x</body></html>",
        "  spaces  ",
        "\r\n",
    ] {
        t.save_string("reports/summary.md", text).await.unwrap();
        assert_eq!(
            t.load_string("reports/summary.md")
                .await
                .unwrap()
                .as_deref(),
            Some(text)
        );
        assert_eq!(
            t.load_bytes("reports/summary.md").await.unwrap().as_deref(),
            Some(text.as_bytes())
        );
    }
}

/// Bytes, including invalid UTF-8 and the empty slice, come back exactly.
pub async fn bytes_roundtrip(store: &Store) {
    let t = target(store, "s", "t");
    let all: Vec<u8> = (0..=255u8).rev().collect();
    for bytes in [
        all.clone(),
        vec![],
        vec![0xff, 0xfe, 0x00],
        b"plain".to_vec(),
    ] {
        t.save_bytes("bin/blob.bin", bytes.clone()).await.unwrap();
        assert_eq!(
            t.load_bytes("bin/blob.bin").await.unwrap(),
            Some(Bytes::from(bytes))
        );
    }
    let err = t.load_string("bin/blob.bin").await;
    assert!(err.is_ok(), "valid UTF-8 bytes load as text");
    t.save_bytes("bin/blob.bin", all).await.unwrap();
    let err = t.load_string("bin/blob.bin").await.unwrap_err();
    assert!(matches!(err, Error::NotText { .. }), "{err}");
}

/// A 10 MiB artifact round-trips with the right size and hash.
pub async fn large_artifact_roundtrip(store: &Store) {
    let t = target(store, "s", "t");
    let big: Vec<u8> = (0..10 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let meta = t.save_bytes("big/profile.bin", big.clone()).await.unwrap();
    assert_eq!(meta.size, big.len() as u64);
    let back = t.load_bytes("big/profile.bin").await.unwrap().unwrap();
    assert!(back == big, "10 MiB artifact differs after the round trip");
    let head = t.head("big/profile.bin").await.unwrap().unwrap();
    assert_eq!(head.size, big.len() as u64);
    assert_eq!(head.hash, ContentHash::of(&big));
}

/// Everything about a missing artifact is `None` / `false`, never an error.
pub async fn missing_is_none(store: &Store) {
    let t = target(store, "s", "t");
    assert_eq!(t.load_json("missing.json").await.unwrap(), None);
    assert_eq!(t.load::<Value>("missing.json").await.unwrap(), None);
    assert_eq!(t.load_string("missing.txt").await.unwrap(), None);
    assert_eq!(t.load_bytes("missing.bin").await.unwrap(), None);
    assert_eq!(t.head("missing.bin").await.unwrap(), None);
    assert!(!t.exists("missing.bin").await.unwrap());
    assert!(!t.delete("missing.bin").await.unwrap());
    assert!(t.list_keys("").await.unwrap().is_empty());
    assert_eq!(t.delete_all().await.unwrap(), 0);
    t.save_string("a/b.txt", "x").await.unwrap();
    assert_eq!(t.load_string("a/c.txt").await.unwrap(), None);
    assert_eq!(
        t.load_string("a").await.unwrap(),
        None,
        "a folder is not an artifact"
    );
    assert!(!t.exists("a").await.unwrap());
    assert_eq!(t.load_string("a/b.txt/c").await.unwrap(), None);
    let err = store
        .require(&t.artifact("nope").unwrap())
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

/// An empty string, empty bytes and `{}` are artifacts that exist (the original service
/// backend called them missing).
pub async fn empty_artifacts_exist(store: &Store) {
    let t = target(store, "s", "t");
    t.save_string("empty.txt", "").await.unwrap();
    t.save_bytes("empty.bin", Vec::new()).await.unwrap();
    t.save_json("empty.json", &json!({})).await.unwrap();
    for key in ["empty.txt", "empty.bin", "empty.json"] {
        assert!(t.exists(key).await.unwrap(), "{key} exists");
    }
    assert_eq!(
        t.load_string("empty.txt").await.unwrap().as_deref(),
        Some("")
    );
    assert_eq!(t.head("empty.bin").await.unwrap().unwrap().size, 0);
    assert_eq!(t.load_json("empty.json").await.unwrap(), Some(json!({})));
    assert_eq!(
        keys(&t.list_keys("").await.unwrap()),
        ["empty.bin", "empty.json", "empty.txt"]
    );
}

/// Saving a key again replaces it, also when the kind changes.
pub async fn save_replaces_across_kinds(store: &Store) {
    let t = target(store, "s", "t");
    let k = "results/x";
    t.save_json(k, &json!({"v": 1})).await.unwrap();
    t.save_json(k, &json!({"v": 2})).await.unwrap();
    assert_eq!(t.load_json(k).await.unwrap(), Some(json!({"v": 2})));
    t.save_string(k, "now text").await.unwrap();
    assert_eq!(t.load_string(k).await.unwrap().as_deref(), Some("now text"));
    assert!(matches!(t.load_json(k).await, Err(Error::NotJson { .. })));
    t.save_bytes(k, vec![0xff, 0x00]).await.unwrap();
    assert_eq!(
        t.load_bytes(k).await.unwrap().as_deref(),
        Some(&[0xff, 0x00][..])
    );
    t.save_json(k, &json!([1, 2])).await.unwrap();
    assert_eq!(t.load_json(k).await.unwrap(), Some(json!([1, 2])));
    assert_eq!(
        keys(&t.list_keys("").await.unwrap()),
        [k],
        "one key, one artifact"
    );
}

/// `load_string` of a JSON artifact returns its canonical text.
pub async fn load_string_of_json_returns_its_text(store: &Store) {
    let t = target(store, "s", "t");
    let value = json!({"b": [1, 2.5], "a": "é"});
    t.save_json("m.json", &value).await.unwrap();
    let text = t.load_string("m.json").await.unwrap().unwrap();
    assert_eq!(text, canonical_json(&value));
    assert_eq!(
        text,
        "{\n    \"b\": [\n        1,\n        2.5\n    ],\n    \"a\": \"\\u00e9\"\n}"
    );
}

/// `load` of text that is not JSON is `Error::NotJson`, naming the artifact.
pub async fn load_of_non_json_is_a_typed_error(store: &Store) {
    let t = target(store, "s", "t");
    t.save_string("reports/summary.md", "# not json")
        .await
        .unwrap();
    let err = t.load_json("reports/summary.md").await.unwrap_err();
    assert!(matches!(err, Error::NotJson { .. }), "{err}");
    assert!(err.to_string().contains("reports/summary.md"), "{err}");
    // A text that is valid JSON loads as JSON.
    t.save_string("n.txt", "[1, 2]").await.unwrap();
    assert_eq!(t.load_json("n.txt").await.unwrap(), Some(json!([1, 2])));
}

/// `head` reports size, kind and the SHA-256 prefix of the stored bytes.
pub async fn head_reports_size_kind_and_hash(store: &Store) {
    let t = target(store, "s", "t");
    let records = store.capabilities().records_kind;
    let value = json!({"k": 1});
    let cases: Vec<(&str, ArtifactKind, Vec<u8>)> = vec![
        (
            "j.json",
            ArtifactKind::Json,
            canonical_json(&value).into_bytes(),
        ),
        ("t.txt", ArtifactKind::Text, "héllo".as_bytes().to_vec()),
        ("b.bin", ArtifactKind::Binary, vec![0, 159, 146, 150]),
        ("u.bin", ArtifactKind::Binary, b"utf8 bytes".to_vec()),
    ];
    t.save_json("j.json", &value).await.unwrap();
    t.save_string("t.txt", "héllo").await.unwrap();
    t.save_bytes("b.bin", vec![0, 159, 146, 150]).await.unwrap();
    t.save_bytes("u.bin", b"utf8 bytes".to_vec()).await.unwrap();
    for (key, saved_kind, bytes) in cases {
        let head = t.head(key).await.unwrap().unwrap();
        assert_eq!(head.size, bytes.len() as u64, "{key}");
        assert_eq!(head.hash, ContentHash::of(&bytes), "{key}");
        let expected = if records {
            saved_kind
        } else {
            ArtifactKind::infer(&bytes)
        };
        assert_eq!(head.kind, expected, "{key}");
        let loaded = t.load_bytes(key).await.unwrap().unwrap();
        assert_eq!(
            ContentHash::of(&loaded),
            head.hash,
            "{key}: hash of the loaded bytes"
        );
    }
}

/// `list_keys` returns exactly the saved keys, sorted, nested keys with their full path.
pub async fn list_keys_is_exact_and_sorted(store: &Store) {
    let t = target(store, "s", "t");
    let saved = [
        "results/quick/a.json",
        "reports/c.md",
        "results/detailed/b.json",
        "z",
        "results/a.json",
        "a/b/c/d/e/f.txt",
        "results/b.json",
        ".hidden",
    ];
    for key in saved {
        t.save_string(key, key).await.unwrap();
    }
    let mut expected: Vec<&str> = saved.to_vec();
    expected.sort();
    assert_eq!(keys(&t.list_keys("").await.unwrap()), expected);
    // Saving again adds nothing; deleting removes exactly one.
    t.save_string("z", "again").await.unwrap();
    assert!(t.delete("reports/c.md").await.unwrap());
    expected.retain(|k| *k != "reports/c.md");
    assert_eq!(keys(&t.list_keys("").await.unwrap()), expected);
}

/// Prefix matching is by string prefix: `results/` never matches `results_old/…`.
pub async fn list_keys_prefix_is_a_string_prefix(store: &Store) {
    let t = target(store, "s", "t");
    for key in [
        "results/a.json",
        "results/deep/b.json",
        "results_old/a.json",
        "reports/c.md",
        "res",
    ] {
        t.save_string(key, "x").await.unwrap();
    }
    assert_eq!(
        keys(&t.list_keys("results/").await.unwrap()),
        ["results/a.json", "results/deep/b.json"]
    );
    assert_eq!(
        keys(&t.list_keys("results").await.unwrap()),
        [
            "results/a.json",
            "results/deep/b.json",
            "results_old/a.json"
        ]
    );
    assert_eq!(
        keys(&t.list_keys("results/deep/").await.unwrap()),
        ["results/deep/b.json"]
    );
    assert_eq!(
        keys(&t.list_keys("results/de").await.unwrap()),
        ["results/deep/b.json"]
    );
    assert_eq!(keys(&t.list_keys("re").await.unwrap()).len(), 5);
    assert!(t.list_keys("nothing/").await.unwrap().is_empty());
    assert!(matches!(t.list_keys("../").await, Ok(v) if v.is_empty()));
    assert!(matches!(
        t.list_keys("a b").await,
        Err(Error::InvalidName(_))
    ));
}

/// Target `t` never sees target `t2`'s keys (the original memory backend leaked them), and
/// sessions are isolated the same way.
pub async fn targets_and_sessions_are_isolated(store: &Store) {
    let t = target(store, "s", "t");
    let t2 = target(store, "s", "t2");
    let other_session = target(store, "s2", "t");
    t.save_json("data.json", &json!({"who": "t"}))
        .await
        .unwrap();
    t2.save_json("data.json", &json!({"who": "t2"}))
        .await
        .unwrap();
    t2.save_string("only-t2.txt", "x").await.unwrap();
    other_session
        .save_json("data.json", &json!({"who": "s2/t"}))
        .await
        .unwrap();
    assert_eq!(keys(&t.list_keys("").await.unwrap()), ["data.json"]);
    assert_eq!(
        keys(&t2.list_keys("").await.unwrap()),
        ["data.json", "only-t2.txt"]
    );
    assert_eq!(
        t.load_json("data.json").await.unwrap(),
        Some(json!({"who": "t"}))
    );
    assert_eq!(
        other_session.load_json("data.json").await.unwrap(),
        Some(json!({"who": "s2/t"}))
    );
    assert_eq!(t.load_string("only-t2.txt").await.unwrap(), None);
    assert_eq!(t.delete_all().await.unwrap(), 1);
    assert_eq!(
        t2.load_json("data.json").await.unwrap(),
        Some(json!({"who": "t2"}))
    );
    assert_eq!(
        other_session.load_json("data.json").await.unwrap(),
        Some(json!({"who": "s2/t"}))
    );
    // A handle on another session is just another handle.
    let baseline = t2.in_session("s2").unwrap().sibling("t").unwrap();
    assert_eq!(
        baseline.load_json("data.json").await.unwrap(),
        Some(json!({"who": "s2/t"}))
    );
}

/// `delete` removes exactly one artifact.
pub async fn delete_removes_one_artifact(store: &Store) {
    let t = target(store, "s", "t");
    t.save_string("a/1.txt", "1").await.unwrap();
    t.save_string("a/2.txt", "2").await.unwrap();
    assert!(t.delete("a/1.txt").await.unwrap());
    assert!(!t.exists("a/1.txt").await.unwrap());
    assert!(
        !t.delete("a/1.txt").await.unwrap(),
        "a second delete finds nothing"
    );
    assert_eq!(
        t.load_string("a/2.txt").await.unwrap().as_deref(),
        Some("2")
    );
}

/// `delete_target` removes the target and everything in it, and nothing else.
pub async fn delete_target_removes_everything_in_it(store: &Store) {
    let t = target(store, "s", "t");
    let keep = target(store, "s", "keep");
    for key in ["a.json", "deep/er/b.txt", "c.bin"] {
        t.save_string(key, "x").await.unwrap();
    }
    keep.save_string("a.json", "kept").await.unwrap();
    assert_eq!(t.delete_all().await.unwrap(), 3);
    assert!(t.list_keys("").await.unwrap().is_empty());
    assert!(!t.exists("deep/er/b.txt").await.unwrap());
    let targets = store
        .list_targets(&SessionName::new("s").unwrap())
        .await
        .unwrap();
    assert_eq!(targets, [TargetName::new("keep").unwrap()]);
    assert_eq!(
        keep.load_string("a.json").await.unwrap().as_deref(),
        Some("kept")
    );
    assert_eq!(t.delete_all().await.unwrap(), 0);
    // The target can be used again afterwards.
    t.save_string("again.txt", "y").await.unwrap();
    assert_eq!(keys(&t.list_keys("").await.unwrap()), ["again.txt"]);
}

/// `Store::delete_session` removes every target of the session and its records (metadata), and
/// nothing of another session, also one whose name starts the same.
pub async fn delete_session_removes_it_and_nothing_else(store: &Store) {
    let s = |n: &str| SessionName::new(n).unwrap();
    for (session, tgt, key) in [
        ("s", "a", "results/m.json"),
        ("s", "a", "r.md"),
        ("s", "b", "x"),
        ("s2", "a", "results/m.json"),
        ("other", "s", "x"),
    ] {
        target(store, session, tgt)
            .save_string(key, "1")
            .await
            .unwrap();
    }
    crate::session::ensure_session(store, &s("s"), &Default::default())
        .await
        .unwrap();
    assert_eq!(store.delete_session(&s("s")).await.unwrap(), 3);
    assert_eq!(store.list_sessions().await.unwrap(), [s("other"), s("s2")]);
    assert!(store.list_targets(&s("s")).await.unwrap().is_empty());
    assert_eq!(
        crate::session::session_meta(store, &s("s")).await.unwrap(),
        None,
        "the session's records went with it"
    );
    let kept = target(store, "s2", "a");
    assert_eq!(
        kept.load_string("results/m.json").await.unwrap().as_deref(),
        Some("1")
    );
    assert!(target(store, "other", "s").exists("x").await.unwrap());
    assert_eq!(store.delete_session(&s("s")).await.unwrap(), 0);
}

/// Sessions and targets are listed sorted; they exist while they hold artifacts.
pub async fn list_sessions_and_targets(store: &Store) {
    assert!(store.list_sessions().await.unwrap().is_empty());
    let s = |n: &str| SessionName::new(n).unwrap();
    let tn = |n: &str| TargetName::new(n).unwrap();
    for (session, tgt) in [("s2", "b"), ("s1", "z"), ("s1", "a"), ("s2", "a-b")] {
        target(store, session, tgt)
            .save_string("k", "v")
            .await
            .unwrap();
    }
    assert_eq!(store.list_sessions().await.unwrap(), [s("s1"), s("s2")]);
    assert_eq!(
        store.list_targets(&s("s1")).await.unwrap(),
        [tn("a"), tn("z")]
    );
    assert_eq!(
        store.list_targets(&s("s2")).await.unwrap(),
        [tn("a-b"), tn("b")]
    );
    assert!(store.list_targets(&s("nope")).await.unwrap().is_empty());
    // Deleting a target's last artifact drops the target; the last target drops the session.
    assert!(target(store, "s1", "z").delete("k").await.unwrap());
    assert_eq!(store.list_targets(&s("s1")).await.unwrap(), [tn("a")]);
    target(store, "s1", "a").delete_all().await.unwrap();
    assert_eq!(store.list_sessions().await.unwrap(), [s("s2")]);
}

/// `a` next to `a/b`: stored side by side where the backend allows it, otherwise a
/// `Conflict` that loses nothing.
pub async fn file_and_folder_keys(store: &Store) {
    let t = target(store, "s", "t");
    t.save_string("a/b", "child").await.unwrap();
    let as_file = t.save_string("a", "parent").await;
    t.save_string("x", "file").await.unwrap();
    let as_folder = t.save_string("x/y", "below").await;
    if store.capabilities().file_and_folder_keys {
        as_file.unwrap();
        as_folder.unwrap();
        assert_eq!(
            keys(&t.list_keys("").await.unwrap()),
            ["a", "a/b", "x", "x/y"]
        );
        assert_eq!(t.load_string("a").await.unwrap().as_deref(), Some("parent"));
    } else {
        for result in [as_file, as_folder] {
            let err = result.unwrap_err();
            assert!(matches!(err, Error::Conflict { .. }), "{err}");
        }
        assert_eq!(keys(&t.list_keys("").await.unwrap()), ["a/b", "x"]);
    }
    assert_eq!(
        t.load_string("a/b").await.unwrap().as_deref(),
        Some("child")
    );
    assert_eq!(t.load_string("x").await.unwrap().as_deref(), Some("file"));
}

/// 16 tasks writing distinct keys of one target all land.
pub async fn concurrent_writers_of_distinct_keys_all_land(store: &Store) {
    let t = target(store, "s", "t");
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let t = t.clone();
            tokio::spawn(async move {
                let key = format!("results/worker-{i:02}/metrics.json");
                t.save_json(key.as_str(), &json!({"worker": i}))
                    .await
                    .unwrap();
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let listed = t.list_keys("").await.unwrap();
    assert_eq!(listed.len(), 16);
    for i in 0..16 {
        let key = format!("results/worker-{i:02}/metrics.json");
        assert_eq!(
            t.load_json(key.as_str()).await.unwrap(),
            Some(json!({"worker": i}))
        );
    }
}

/// 16 tasks writing the same key leave exactly one intact value; readers racing them only
/// ever see a whole value.
pub async fn concurrent_writers_of_one_key_leave_one_intact_value(store: &Store) {
    let t = target(store, "s", "t");
    let payload = |i: u8| vec![i; 256 * 1024];
    let writers: Vec<_> = (0..16u8)
        .map(|i| {
            let t = t.clone();
            tokio::spawn(async move { t.save_bytes("shared.bin", payload(i)).await.unwrap() })
        })
        .collect();
    let reader = {
        let t = t.clone();
        tokio::spawn(async move {
            let mut seen = BTreeSet::new();
            for _ in 0..50 {
                if let Some(bytes) = t.load_bytes("shared.bin").await.unwrap() {
                    assert_eq!(bytes.len(), 256 * 1024, "a reader saw a partial artifact");
                    assert!(
                        bytes.iter().all(|b| *b == bytes[0]),
                        "a reader saw a torn artifact"
                    );
                    seen.insert(bytes[0]);
                }
                tokio::task::yield_now().await;
            }
            seen
        })
    };
    for w in writers {
        w.await.unwrap();
    }
    reader.await.unwrap();
    let last = t.load_bytes("shared.bin").await.unwrap().unwrap();
    assert_eq!(last.len(), 256 * 1024);
    assert!(
        last[0] < 16 && last.iter().all(|b| *b == last[0]),
        "the final value is one writer's, whole"
    );
    assert_eq!(
        keys(&t.list_keys("").await.unwrap()),
        ["shared.bin"],
        "no temp files are listed"
    );
}

/// Saves of one key as text and as bytes at once, while readers read it: the key exists
/// before and after, so no read may find it missing (a reader sees the old or a new value).
pub async fn writers_in_different_kinds_never_make_a_key_vanish(store: &Store) {
    let t = target(store, "s", "t");
    t.save_string("report", "v0").await.unwrap();
    let writers: Vec<_> = (0..4usize)
        .map(|w| {
            let t = t.clone();
            tokio::spawn(async move {
                for i in 0..40usize {
                    match (w + i) % 2 {
                        0 => t.save_string("report", &format!("text {w}/{i}")).await,
                        _ => t.save_bytes("report", vec![0xff, w as u8, i as u8]).await,
                    }
                    .unwrap();
                }
            })
        })
        .collect();
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let t = t.clone();
            tokio::spawn(async move {
                let mut missing = 0;
                for _ in 0..80 {
                    missing += usize::from(t.get("report").await.unwrap().is_none());
                    missing += usize::from(!t.exists("report").await.unwrap());
                }
                missing
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    let mut missing = 0;
    for r in readers {
        missing += r.await.unwrap();
    }
    assert_eq!(missing, 0, "reads found an existing key missing");
    assert_eq!(keys(&t.list_keys("").await.unwrap()), ["report"]);
}

/// `list_sizes` lists each artifact once, sorted, with the bytes it takes (for artifacts too
/// small to compress, their size), after kinds changed too.
pub async fn list_sizes_counts_every_artifact_once(store: &Store) {
    let t = target(store, "s", "t");
    t.save_json("a/m.json", &json!({"p50_ms": 1.5}))
        .await
        .unwrap();
    t.save_string("b.txt", "hello").await.unwrap();
    t.save_bytes("c", vec![1u8, 2, 3]).await.unwrap();
    t.save_string("c", "now text").await.unwrap();
    t.save_bytes("empty.bin", Vec::new()).await.unwrap();
    let sizes = store.list_sizes(t.path()).await.unwrap();
    let mut expected = Vec::new();
    for key in t.list_keys("").await.unwrap() {
        let size = t.head(key.clone()).await.unwrap().unwrap().size;
        expected.push((key, size));
    }
    assert_eq!(sizes, expected);
    assert_eq!(sizes.len(), 4);
    let other = target(store, "s", "none");
    assert_eq!(store.list_sizes(other.path()).await.unwrap(), []);
}

/// `list_session_sizes` gives exactly what `list_targets` and `list_sizes` of each give: no
/// emptied target, no record target, nothing of another session.
pub async fn list_session_sizes_is_every_target_listed(store: &Store) {
    use crate::names::TargetPath;
    let session = SessionName::new("s").unwrap();
    assert!(store.list_session_sizes(&session).await.unwrap().is_empty());
    target(store, "s", "b")
        .save_json("deep/er/m.json", &json!({"x": 1}))
        .await
        .unwrap();
    target(store, "s", "b")
        .save_string("top", "t")
        .await
        .unwrap();
    target(store, "s", "a")
        .save_bytes("bin", vec![0u8, 1, 2])
        .await
        .unwrap();
    let emptied = target(store, "s", "emptied");
    emptied.save_string("k", "v").await.unwrap();
    assert!(emptied.delete("k").await.unwrap());
    target(store, "other", "c")
        .save_string("k", "v")
        .await
        .unwrap();
    let records =
        TargetPath::records_of(session.clone()).artifact(Key::new("session.json").unwrap());
    store
        .save_json(&records, &json!({"created": 1}))
        .await
        .unwrap();

    let listed = store.list_session_sizes(&session).await.unwrap();
    let mut expected = Vec::new();
    for name in store.list_targets(&session).await.unwrap() {
        let sizes = store
            .list_sizes(&TargetPath::new(session.clone(), name.clone()))
            .await
            .unwrap();
        expected.push((name, sizes));
    }
    assert_eq!(listed, expected);
    let names: Vec<&str> = listed.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    let b_keys: Vec<&str> = listed[1].1.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(b_keys, ["deep/er/m.json", "top"]);
}

/// A target of many artifacts: single saves, loads, deletes and listings stay exact.
pub async fn a_large_target_behaves_like_a_small_one(store: &Store) {
    let t = target(store, "s", "big");
    let n = 1500;
    let items = (0..n).map(|i| {
        (
            format!("pages/p{i:05}.json"),
            crate::Artifact::json(&json!({ "i": i })),
        )
    });
    assert!(t.save_many(items).await.iter().all(Result::is_ok));
    t.save_json("pages/new.json", &json!({"new": true}))
        .await
        .unwrap();
    t.save_string("pages/p00007.json", "replaced by text")
        .await
        .unwrap();
    assert_eq!(
        t.load_json("pages/new.json").await.unwrap(),
        Some(json!({"new": true}))
    );
    assert_eq!(
        t.load_string("pages/p00007.json").await.unwrap().as_deref(),
        Some("replaced by text")
    );
    assert_eq!(
        t.load_json("pages/p01234.json").await.unwrap(),
        Some(json!({"i": 1234}))
    );
    assert!(t.exists("pages/p00000.json").await.unwrap());
    assert!(!t.exists("pages/p99999.json").await.unwrap());
    assert!(t.delete("pages/p00001.json").await.unwrap());
    assert!(!t.delete("pages/p00001.json").await.unwrap());
    let listed = t.list_keys("pages/").await.unwrap();
    assert_eq!(listed.len(), n);
    assert!(
        listed.windows(2).all(|w| w[0] < w[1]),
        "sorted, no duplicate"
    );
    assert_eq!(store.list_sizes(t.path()).await.unwrap().len(), n);
}

/// perfstore's own records (under [`RESERVED_NAME`](crate::names::RESERVED_NAME)) round-trip
/// like any artifact but never appear as a session or target.
pub async fn reserved_records_are_stored_but_never_listed(store: &Store) {
    use crate::names::TargetPath;
    let session = SessionName::new("s").unwrap();
    let records =
        TargetPath::records_of(session.clone()).artifact(Key::new("session.json").unwrap());
    let store_wide = TargetPath::store_records().artifact(Key::new("baselines/main.json").unwrap());
    store
        .save_json(&records, &json!({"created": 1}))
        .await
        .unwrap();
    store
        .save_json(&store_wide, &json!({"session": "s"}))
        .await
        .unwrap();
    assert_eq!(
        store.load_json(&records).await.unwrap(),
        Some(json!({"created": 1}))
    );
    assert_eq!(
        store.load_json(&store_wide).await.unwrap(),
        Some(json!({"session": "s"}))
    );
    // A session with records but no targets exists; its record target is never listed.
    assert_eq!(
        store.list_sessions().await.unwrap(),
        std::slice::from_ref(&session)
    );
    assert!(store.list_targets(&session).await.unwrap().is_empty());
    target(store, "s", "t").save_string("k", "v").await.unwrap();
    assert_eq!(
        store.list_targets(&session).await.unwrap(),
        [TargetName::new("t").unwrap()]
    );
    assert_eq!(store.list_sessions().await.unwrap(), [session]);
}

/// `put_many` / `get_many` / `delete_many` (and the handle's `save_many` / `load_many`):
/// per-item results in input order, every kind, several targets, missing items, one bad key.
pub async fn bulk_save_load_and_delete(store: &Store) {
    use crate::artifact::Artifact;
    use crate::names::ArtifactPath;
    let make = |i: usize| -> (ArtifactPath, Artifact) {
        let target = if i.is_multiple_of(3) { "a" } else { "b" };
        let key = format!(
            "bulk/{}/item-{i:03}{}",
            i % 5,
            [".json", ".txt", ".bin", "", ".json"][i % 5]
        );
        let artifact = match i % 6 {
            0 => Artifact::json(&json!({"i": i, "name": format!("n{i}")})),
            1 => Artifact::json(&json!([i, i + 1])),
            2 => Artifact::text(format!("text {i} é")),
            3 => Artifact::binary(vec![(i % 251) as u8, 0xff, 0x00]),
            4 => Artifact::text(""),
            _ => Artifact::binary(Vec::new()),
        };
        (ArtifactPath::parse("bulk", target, &key).unwrap(), artifact)
    };
    let items: Vec<(ArtifactPath, Artifact)> = (0..120).map(make).collect();
    let results = store.put_many(items.clone()).await;
    assert_eq!(results.len(), 120);
    for ((path, artifact), result) in items.iter().zip(&results) {
        let meta = result.as_ref().unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(meta.hash, ContentHash::of(artifact.bytes()), "{path}");
    }
    let mut paths: Vec<ArtifactPath> = items.iter().map(|(p, _)| p.clone()).collect();
    paths.push(ArtifactPath::parse("bulk", "a", "missing").unwrap());
    paths.push(ArtifactPath::parse("nobody", "x", "missing").unwrap());
    let loaded = store.get_many(&paths).await;
    assert_eq!(loaded.len(), 122);
    for ((path, artifact), got) in items.iter().zip(&loaded) {
        let got = got
            .as_ref()
            .unwrap()
            .as_ref()
            .unwrap_or_else(|| panic!("{path} missing"));
        assert_eq!(got.bytes(), artifact.bytes(), "{path}");
        if store.capabilities().records_kind {
            assert_eq!(got.kind(), artifact.kind(), "{path}");
        }
    }
    assert!(matches!(loaded[120], Ok(None)) && matches!(loaded[121], Ok(None)));
    let listed = target(store, "bulk", "a")
        .list_keys("bulk/")
        .await
        .unwrap()
        .len()
        + target(store, "bulk", "b")
            .list_keys("bulk/")
            .await
            .unwrap()
            .len();
    assert_eq!(listed, 120);

    // Replacing through the bulk path, across kinds, leaves one artifact per key.
    let t = target(store, "bulk", "a");
    let again = t
        .save_many([
            ("bulk/0/item-000.json", Artifact::text("now text")),
            ("../bad", Artifact::text("x")),
            ("bulk/3/item-003", Artifact::json(&json!({"now": "json"}))),
        ])
        .await;
    assert!(again[0].is_ok() && again[2].is_ok(), "{again:?}");
    assert!(
        matches!(again[1], Err(Error::InvalidName(_))),
        "{:?}",
        again[1]
    );
    let back = t
        .load_many(["bulk/0/item-000.json", "bulk/3/item-003"])
        .await
        .unwrap();
    assert_eq!(back[0].as_ref().unwrap().bytes().as_ref(), b"now text");
    assert_eq!(back[1].as_ref().unwrap().kind(), ArtifactKind::Json);
    assert_eq!(t.list_keys("bulk/").await.unwrap().len(), 40);

    let deleted = t
        .delete_many(["bulk/0/item-000.json", "bulk/0/nope"])
        .await
        .unwrap();
    assert_eq!(deleted, [true, false]);
    assert_eq!(t.list_keys("bulk/").await.unwrap().len(), 39);
}

/// A report-like text of `len` bytes: compresses well, like real HTML reports.
fn report_text(len: usize) -> String {
    let row = "<tr><td class=\"metric\">p99_latency_ms</td><td>12.5</td><td>ok</td></tr>\n";
    row.chars().cycle().take(len).collect()
}

/// Bytes no compressor shrinks (xorshift), `len` long.
pub fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

async fn read_stream(t: &TargetHandle, key: &str) -> Option<Vec<u8>> {
    use tokio::io::AsyncReadExt;
    let mut reader = t.load_stream(key).await.unwrap()?;
    let mut out = Vec::new();
    reader.read_to_end(&mut out).await.unwrap();
    Some(out)
}

/// `save_stream` / `load_stream` round-trip any size (empty, small, large compressible, large
/// incompressible), agree with the whole-artifact loaders, and `head` reports the original.
pub async fn streams_round_trip(store: &Store) {
    let t = target(store, "s", "t");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty.bin", Vec::new()),
        ("small.txt", b"hello stream".to_vec()),
        ("big/report.html", report_text(3 << 20).into_bytes()),
        ("big/noise.bin", noise((1 << 20) + 12_345)),
    ];
    for (key, bytes) in &cases {
        let meta = t
            .save_stream(*key, std::io::Cursor::new(bytes.clone()))
            .await
            .unwrap_or_else(|e| panic!("{key}: {e}"));
        assert_eq!(meta.size, bytes.len() as u64, "{key}");
        assert_eq!(meta.hash, ContentHash::of(bytes), "{key}");
    }
    for (key, bytes) in &cases {
        assert_eq!(read_stream(&t, key).await.as_ref(), Some(bytes), "{key}");
        assert_eq!(
            t.load_bytes(*key).await.unwrap().as_deref(),
            Some(&bytes[..]),
            "{key}"
        );
        let head = t.head(*key).await.unwrap().unwrap();
        assert_eq!(
            (head.size, &head.hash),
            (bytes.len() as u64, &ContentHash::of(bytes)),
            "{key}"
        );
    }
    // Whole-artifact saves are streamed back too.
    t.save_string("plain.md", "# not streamed").await.unwrap();
    assert_eq!(
        read_stream(&t, "plain.md").await.as_deref(),
        Some(&b"# not streamed"[..])
    );
    assert!(read_stream(&t, "missing.bin").await.is_none());
    assert_eq!(
        keys(&t.list_keys("").await.unwrap()),
        [
            "big/noise.bin",
            "big/report.html",
            "empty.bin",
            "plain.md",
            "small.txt"
        ]
    );
}

/// An input that fails midway, with or without compression, stores nothing: the previous
/// version stays intact and no partial artifact is listed.
pub async fn failed_stream_keeps_the_previous_version(store: &Store) {
    use tokio::io::AsyncReadExt;
    let t = target(store, "s", "t");
    t.save_string("report.html", "version 1").await.unwrap();
    for prefix in [report_text(2 << 20).into_bytes(), noise(3 << 20)] {
        let failing = std::io::Cursor::new(prefix).chain(FailingInput);
        let err = t.save_stream("report.html", failing).await.unwrap_err();
        assert!(matches!(err, Error::Stream { .. }), "{err:?}");
        assert!(err.to_string().contains("input went away"), "{err}");
        let failing = std::io::Cursor::new(noise(1000)).chain(FailingInput);
        assert!(t.save_stream("new/never.bin", failing).await.is_err());
    }
    assert_eq!(
        t.load_string("report.html").await.unwrap().as_deref(),
        Some("version 1")
    );
    assert_eq!(keys(&t.list_keys("").await.unwrap()), ["report.html"]);
    assert!(!t.exists("new/never.bin").await.unwrap());
}

/// A reader that fails: a client that died, a disk that filled up.
struct FailingInput;

impl tokio::io::AsyncRead for FailingInput {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        _: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Err(std::io::Error::other("input went away")))
    }
}

/// Artifacts above the default compression threshold come back exactly, on every loader and
/// in bulk, with their kind; `head` and save report the original size and hash; listing shows
/// the keys as saved.
pub async fn compressed_artifacts_are_transparent(store: &Store) {
    use crate::artifact::Artifact;
    let t = target(store, "s", "t");
    let rows: Vec<Value> = (0..40_000)
        .map(|i| json!({"node": format!("n{i}"), "p50_ms": 1.5, "ok": true}))
        .collect();
    let metrics = json!({"rows": rows});
    let html = report_text(2 << 20);
    let saved_json = t.save_json("results/metrics.json", &metrics).await.unwrap();
    let saved_html = t.save_string("reports/page.html", &html).await.unwrap();
    let canonical = canonical_json(&metrics);
    assert!(canonical.len() > 1 << 20);
    assert_eq!(saved_json.hash, ContentHash::of(canonical.as_bytes()));
    assert_eq!(saved_html.size, html.len() as u64);

    assert_eq!(
        t.load_json("results/metrics.json").await.unwrap(),
        Some(metrics.clone())
    );
    assert_eq!(
        t.load_string("results/metrics.json").await.unwrap(),
        Some(canonical.clone())
    );
    assert_eq!(
        t.load_string("reports/page.html").await.unwrap(),
        Some(html.clone())
    );
    let head = t.head("results/metrics.json").await.unwrap().unwrap();
    assert_eq!(head.size, canonical.len() as u64);
    assert_eq!(head.hash, ContentHash::of(canonical.as_bytes()));
    assert_eq!(head.kind, ArtifactKind::Json);
    let head = t.head("reports/page.html").await.unwrap().unwrap();
    assert_eq!(
        (head.size, head.kind),
        (html.len() as u64, ArtifactKind::Text)
    );
    let got = t.get("reports/page.html").await.unwrap().unwrap();
    assert_eq!(got.kind(), ArtifactKind::Text);

    let bulk = t
        .load_many(["results/metrics.json", "reports/page.html"])
        .await
        .unwrap();
    assert_eq!(bulk[0].as_ref().unwrap().bytes(), canonical.as_bytes());
    assert_eq!(bulk[1].as_ref().unwrap().bytes(), html.as_bytes());
    let saved = t
        .save_many([("bulk/page.html", Artifact::text(html.clone()))])
        .await;
    assert_eq!(saved[0].as_ref().unwrap().size, html.len() as u64);
    assert_eq!(
        t.load_string("bulk/page.html").await.unwrap().as_deref(),
        Some(html.as_str())
    );
    assert_eq!(
        keys(&t.list_keys("").await.unwrap()),
        [
            "bulk/page.html",
            "reports/page.html",
            "results/metrics.json"
        ]
    );
    // Replacing a compressed artifact with a small one, and back, leaves one artifact.
    t.save_string("reports/page.html", "tiny").await.unwrap();
    assert_eq!(
        t.load_string("reports/page.html").await.unwrap().as_deref(),
        Some("tiny")
    );
    t.save_string("reports/page.html", &html).await.unwrap();
    assert_eq!(
        t.load_string("reports/page.html").await.unwrap(),
        Some(html)
    );
    assert_eq!(t.list_keys("reports/").await.unwrap().len(), 1);
}

/// Bytes that begin like a compressed container (a zstd skippable frame) are stored and read
/// back as they are.
pub async fn bytes_that_look_compressed_round_trip(store: &Store) {
    let t = target(store, "s", "t");
    let mut tricky = vec![0x5E, 0x2A, 0x4D, 0x18, 8, 0, 0, 0];
    tricky.extend_from_slice(b"PSZ\x01\x01\x01\x00\x00 and then some");
    t.save_bytes("tricky.bin", tricky.clone()).await.unwrap();
    assert_eq!(
        t.load_bytes("tricky.bin").await.unwrap().as_deref(),
        Some(&tricky[..])
    );
    let head = t.head("tricky.bin").await.unwrap().unwrap();
    assert_eq!(
        (head.size, head.hash),
        (tricky.len() as u64, ContentHash::of(&tricky))
    );
    t.save_stream("tricky-streamed.bin", std::io::Cursor::new(tricky.clone()))
        .await
        .unwrap();
    assert_eq!(read_stream(&t, "tricky-streamed.bin").await, Some(tricky));
}
