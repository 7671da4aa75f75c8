//! Every client method against our real server, once in-process and once over 127.0.0.1:
//! each `async fn` below takes a client and is run for both transports by `on_both!`.

use bytes::Bytes;
use cache_client::types::{DeleteResponse, RetrieveResponse};
use cache_client::{CacheClient, CacheClientError, DataType, LocalServer, Strategy, TransportKind};
use serde_json::{Value, json};

/// Runs each named test body with `CacheClient::in_memory()` and with a `LocalServer`.
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn in_process() {
                    let client = cache_client::CacheClient::in_memory();
                    assert_eq!(client.transport_kind(), cache_client::TransportKind::InProcess);
                    super::$name(client).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn loopback() {
                    let server = cache_client::LocalServer::in_memory().await.unwrap();
                    let client = server.client();
                    assert_eq!(client.transport_kind(), cache_client::TransportKind::Remote);
                    super::$name(client).await;
                    server.stop().await.unwrap();
                }
            }
        )*
    };
}

on_both!(
    json_entry_round_trip,
    lookups_that_miss_are_none,
    string_and_binary_entries,
    gzip_binary_is_hashed_uncompressed,
    empty_bodies_are_sent_and_refused,
    malformed_ids_are_invalid_input,
    unroutable_values_are_refused_before_sending,
    exists_update_delete,
    child_data_files,
    child_data_misses_and_not_found,
    awkward_keys_are_encoded_and_sanitised,
    namespaces_and_admin_storage,
    info_and_server,
    concurrent_requests_share_one_client,
    child_data_batches,
);

const NS: &str = "demo";

fn alice() -> Value {
    json!({"name": "Alice", "age": 30})
}

async fn store_alice(c: &CacheClient) -> cache_client::types::StoreResponse {
    c.store()
        .json_with_key(
            NS,
            Strategy::KeyBased,
            "users/alice",
            Some("profile"),
            None,
            &alice(),
        )
        .await
        .unwrap()
}

async fn json_entry_round_trip(c: CacheClient) {
    let stored = store_alice(&c).await;
    assert_eq!(stored.cache_hash, "58954ab6bb1eca61");
    assert_eq!(stored.namespace, NS);
    assert_eq!(stored.size, 34);
    assert_eq!(
        stored.paths.data[0],
        "demo/data/key-based/users/alice/profile.json"
    );
    let id = stored.cache_id.as_str();

    // By hash.
    let hit = c
        .retrieve()
        .hash_cache_id(NS, &stored.cache_hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(hit.cache_id.as_deref(), Some(id));
    assert_eq!(
        c.retrieve()
            .by_hash_json(NS, &stored.cache_hash)
            .await
            .unwrap(),
        Some(alice())
    );
    let generic = c
        .retrieve()
        .by_hash(NS, &stored.cache_hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(generic.data_type(), "json");
    assert_eq!(generic.data(), Some(&alice()));
    let metadata = c
        .retrieve()
        .by_hash_metadata(NS, &stored.cache_hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(metadata.cache_key, json!("users/alice"));
    assert_eq!(metadata.file_id, json!("profile"));
    let refs = c
        .retrieve()
        .by_hash_refs(NS, &stored.cache_hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((refs.total_versions, refs.latest_id.as_str()), (1, id));
    assert_eq!(
        c.retrieve()
            .by_hash_string(NS, &stored.cache_hash)
            .await
            .unwrap()
            .as_deref(),
        Some(r#"{"name": "Alice", "age": 30}"#)
    );
    assert_eq!(
        c.retrieve()
            .by_hash_binary(NS, &stored.cache_hash)
            .await
            .unwrap(),
        Some(Bytes::from_static(br#"{"name": "Alice", "age": 30}"#))
    );

    // By id.
    match c.retrieve().by_id(NS, id).await.unwrap().unwrap() {
        RetrieveResponse::Value(v) => {
            assert_eq!(v.data, alice());
            assert_eq!(v.data_type, "json");
            assert_eq!(v.metadata.strategy, json!("key_based"));
        }
        other => panic!("expected a value, got {other:?}"),
    }
    assert_eq!(
        c.retrieve().by_id_json(NS, id).await.unwrap(),
        Some(alice())
    );
    // `/string` renders JSON like Python's json.dumps: insertion order, with spaces.
    assert_eq!(
        c.retrieve().by_id_string(NS, id).await.unwrap().as_deref(),
        Some(r#"{"name": "Alice", "age": 30}"#)
    );
    assert_eq!(
        c.retrieve().by_id_binary(NS, id).await.unwrap(),
        Some(Bytes::from_static(br#"{"name": "Alice", "age": 30}"#))
    );
    let refs = c.retrieve().by_id_refs(NS, id).await.unwrap().unwrap();
    assert_eq!(refs.cache_hash, stored.cache_hash);
    assert_eq!(refs.strategy, "key_based");
    let all = c.retrieve().by_id_refs_all(NS, id).await.unwrap().unwrap();
    assert_eq!(all.by_id, refs);
    assert!(
        all.details
            .keys()
            .any(|k| k.ends_with("profile.json.config")),
        "{:?}",
        all.details.keys().collect::<Vec<_>>()
    );
    let file_metadata = c.retrieve().by_id_metadata(NS, id).await.unwrap().unwrap();
    assert_eq!(file_metadata.content_size, 34);
    assert_eq!(file_metadata.data["cache_id"], json!(id));
    let config = c.retrieve().by_id_config(NS, id).await.unwrap().unwrap();
    assert_eq!(
        (config.file_id.as_str(), config.file_key.as_str()),
        ("profile", "users/alice")
    );

    // The store without a key, and json_field_path hashing only the field.
    let plain = c
        .store()
        .json(NS, Strategy::Direct, &json!({}))
        .await
        .unwrap();
    assert_eq!(plain.cache_hash, "44136fa355b3678a");
    let field = c
        .store()
        .json_with_key(
            NS,
            Strategy::KeyBased,
            "pages/x",
            None,
            Some("meta.url"),
            &json!({"meta": {"url": "https://x.com/a"}, "other": 1}),
        )
        .await
        .unwrap();
    assert_eq!(field.cache_hash, "ec9c0a2615940abb");
}

async fn lookups_that_miss_are_none(c: CacheClient) {
    let id = "00000000-0000-4000-8000-000000000000";
    let hash = "0123456789abcdef";
    let r = c.retrieve();
    assert!(r.by_id(NS, id).await.unwrap().is_none());
    assert!(r.by_id_json(NS, id).await.unwrap().is_none());
    assert!(r.by_id_string(NS, id).await.unwrap().is_none());
    assert!(r.by_id_binary(NS, id).await.unwrap().is_none());
    assert!(r.by_id_refs(NS, id).await.unwrap().is_none());
    assert!(r.by_id_refs_all(NS, id).await.unwrap().is_none());
    assert!(r.by_id_metadata(NS, id).await.unwrap().is_none());
    assert!(r.by_id_config(NS, id).await.unwrap().is_none());
    assert!(r.by_hash(NS, hash).await.unwrap().is_none());
    assert!(r.by_hash_json(NS, hash).await.unwrap().is_none());
    assert!(r.by_hash_string(NS, hash).await.unwrap().is_none());
    assert!(r.by_hash_binary(NS, hash).await.unwrap().is_none());
    assert!(r.by_hash_metadata(NS, hash).await.unwrap().is_none());
    assert!(r.by_hash_refs(NS, hash).await.unwrap().is_none());
    assert!(r.hash_cache_id(NS, hash).await.unwrap().is_none());
}

async fn string_and_binary_entries(c: CacheClient) {
    let hello = c
        .store()
        .string(NS, Strategy::Temporal, "hello")
        .await
        .unwrap();
    assert_eq!(hello.cache_hash, "2cf24dba5fb0a30e");
    assert_eq!(
        c.retrieve()
            .by_id_string(NS, &hello.cache_id)
            .await
            .unwrap()
            .as_deref(),
        Some("hello")
    );
    let generic = c
        .retrieve()
        .by_id(NS, &hello.cache_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(generic.data_type(), "string");

    // Texts a raw text/plain body would not carry faithfully travel as JSON strings.
    for text in [
        "123",
        "\"quoted\"\n\ttab",
        "{\"looks\": \"like json\"}",
        "naïve ☃ 𝄞",
        " padded ",
    ] {
        let stored = c
            .store()
            .string_with_key(NS, Strategy::KeyBased, "texts", None, text)
            .await
            .unwrap();
        assert_eq!(
            cache_wire::hash::hash_str(text),
            stored.cache_hash,
            "{text:?}"
        );
        assert_eq!(
            c.retrieve()
                .by_id_string(NS, &stored.cache_id)
                .await
                .unwrap()
                .as_deref(),
            Some(text)
        );
    }

    let binary = c
        .store()
        .binary(NS, Strategy::Direct, Bytes::from_static(b"BINARYDATA"))
        .await
        .unwrap();
    assert_eq!(binary.cache_hash, "5a128aa5f6f4982f");
    assert_eq!(
        c.retrieve()
            .by_id_binary(NS, &binary.cache_id)
            .await
            .unwrap(),
        Some(Bytes::from_static(b"BINARYDATA"))
    );
    match c
        .retrieve()
        .by_id(NS, &binary.cache_id)
        .await
        .unwrap()
        .unwrap()
    {
        RetrieveResponse::Binary(b) => {
            assert_eq!(
                b.binary_url,
                format!("/demo/retrieve/{}/binary", binary.cache_id)
            );
        }
        other => panic!("expected a binary reference, got {other:?}"),
    }
    // `/json` wraps binary in base64; `/string` by hash tries UTF-8 first.
    let wrapped = c
        .retrieve()
        .by_id_json(NS, &binary.cache_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        wrapped,
        json!({"data_type": "binary", "encoding": "base64", "data": "QklOQVJZREFUQQ=="})
    );
    assert_eq!(
        c.retrieve()
            .by_hash_string(NS, &binary.cache_hash)
            .await
            .unwrap()
            .as_deref(),
        Some("BINARYDATA")
    );

    let keyed = c
        .store()
        .binary_with_key(
            NS,
            Strategy::KeyBased,
            "blobs/a",
            Some("one"),
            vec![0u8, 255, 1],
        )
        .await
        .unwrap();
    assert_eq!(keyed.paths.data[0], "demo/data/key-based/blobs/a/one.bin");
    assert_eq!(
        c.retrieve()
            .by_hash_binary(NS, &keyed.cache_hash)
            .await
            .unwrap()
            .as_deref(),
        Some(&[0u8, 255, 1][..])
    );
    // A string entry that is not JSON cannot be read from `/json`: 415 from the server.
    let err = c
        .retrieve()
        .by_id_json(NS, &hello.cache_id)
        .await
        .unwrap_err();
    assert!(
        matches!(err, CacheClientError::Server { status: 415, .. }),
        "{err}"
    );
}

async fn gzip_binary_is_hashed_uncompressed(c: CacheClient) {
    use std::io::Write;
    let plain = b"hello gzip world";
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(plain).unwrap();
    let gzipped = encoder.finish().unwrap();

    let stored = c
        .store()
        .binary_gzip(NS, Strategy::Direct, gzipped.clone())
        .await
        .unwrap();
    assert_eq!(stored.cache_hash, cache_wire::hash::hash_bytes(plain));
    assert_eq!(
        c.retrieve()
            .by_id_binary(NS, &stored.cache_id)
            .await
            .unwrap()
            .as_deref(),
        Some(&plain[..])
    );
    let keyed = c
        .store()
        .binary_gzip_with_key(NS, Strategy::KeyBased, "gz", Some("g"), gzipped)
        .await
        .unwrap();
    assert_eq!(keyed.cache_hash, stored.cache_hash);
    let metadata = c
        .retrieve()
        .by_hash_metadata(NS, &keyed.cache_hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(metadata.content_encoding, json!("gzip"));
}

fn detail_field<'a>(err: &'a CacheClientError, field: &str) -> Option<&'a Value> {
    match err {
        CacheClientError::InvalidInput { detail, .. } => detail.get(field),
        _ => None,
    }
}

async fn empty_bodies_are_sent_and_refused(c: CacheClient) {
    let err = c
        .store()
        .string(NS, Strategy::Temporal, "")
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
    assert_eq!(
        detail_field(&err, "message"),
        Some(&json!("String data cannot be empty"))
    );
    assert_eq!(err.call().unwrap().op, "store().string");

    let err = c
        .store()
        .string_with_key(NS, Strategy::KeyBased, "k", None, "")
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");

    let err = c
        .store()
        .binary(NS, Strategy::Direct, Bytes::new())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            CacheClientError::InvalidInput {
                status: Some(400),
                ..
            }
        ),
        "{err}"
    );

    // Not an object: FastAPI's `dict_type` validation error, a list of issues.
    let err = c
        .store()
        .json(NS, Strategy::Direct, &json!([1, 2]))
        .await
        .unwrap_err();
    match &err {
        CacheClientError::InvalidInput {
            detail: Value::Array(issues),
            ..
        } => {
            assert_eq!(issues[0]["type"], json!("dict_type"));
        }
        other => panic!("expected a validation list, got {other}"),
    }

    // `{}` is valid (the official client never sends it).
    let empty = c
        .store()
        .json(NS, Strategy::Direct, &json!({}))
        .await
        .unwrap();
    assert_eq!(empty.cache_hash, "44136fa355b3678a");

    // Child data: empty bytes are refused (no body at all for FastAPI), empty update text too.
    let entry = c
        .store()
        .string(NS, Strategy::Direct, "parent")
        .await
        .unwrap();
    let err = c
        .data()
        .store_binary(NS, &entry.cache_id, None, Some("b"), Bytes::new())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
    let stored = c
        .data()
        .store_string(NS, &entry.cache_id, None, Some("s"), "")
        .await
        .unwrap();
    assert_eq!(stored.file_size, 0);
    let err = c
        .data()
        .update_string(NS, &entry.cache_id, None, "s", "")
        .await
        .unwrap_err();
    assert_eq!(
        detail_field(&err, "message"),
        Some(&json!("String data cannot be empty"))
    );

    // A cache-key route with an empty key, and a json_field_path that is not in the body.
    let err = c
        .store()
        .json_with_key(NS, Strategy::KeyBased, "", None, None, &json!({}))
        .await
        .unwrap_err();
    assert_eq!(detail_field(&err, "field_name"), Some(&json!("cache_key")));
    let err = c
        .store()
        .json_with_key(NS, Strategy::KeyBased, "k", None, Some("a.b"), &json!({}))
        .await
        .unwrap_err();
    assert!(
        matches!(err, CacheClientError::Server { status: 500, .. }),
        "{err}"
    );

    // Updates refuse empty text and bytes too.
    let entry = c.store().string(NS, Strategy::Direct, "x").await.unwrap();
    let err = c
        .update()
        .string(NS, &entry.cache_id, "")
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
    let err = c
        .update()
        .binary(NS, &entry.cache_id, Vec::new())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
}

async fn malformed_ids_are_invalid_input(c: CacheClient) {
    let err = c.retrieve().by_id(NS, "nope").await.unwrap_err();
    match &err {
        CacheClientError::InvalidInput {
            status: Some(400),
            detail: Value::Array(issues),
            call,
        } => {
            assert_eq!(issues[0]["loc"], json!(["query", "cache_id"]));
            assert_eq!(call.op, "retrieve().by_id");
            assert_eq!(call.path, "/demo/retrieve/nope");
        }
        other => panic!("expected a 400 validation error, got {other}"),
    }
    let err = c
        .retrieve()
        .hash_cache_id(NS, "NOT-A-HASH")
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
    let err = c.exists().by_id(NS, "nope").await.unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
    let err = c.data().list(NS, "nope", None, true).await.unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
    let err = c.delete().by_id(NS, "nope").await.unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
    // `type-safe` is accepted by the routes' enum; a bad hash on exists is a 400.
    let err = c.exists().by_hash(NS, "xyz").await.unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
}

async fn unroutable_values_are_refused_before_sending(c: CacheClient) {
    let err = c
        .retrieve()
        .by_id("", "00000000-0000-4000-8000-000000000000")
        .await
        .unwrap_err();
    match &err {
        CacheClientError::InvalidInput {
            status: None,
            detail,
            call,
        } => {
            assert_eq!(detail, &json!("namespace must not be empty"));
            assert_eq!(call.path, "/{namespace}/retrieve/{cache_id}");
        }
        other => panic!("expected a client-side refusal, got {other}"),
    }
    let err = c.namespace().file_ids("a/b").await.unwrap_err();
    assert!(
        err.to_string().contains("namespace \"a/b\" contains '/'"),
        "{err}"
    );
    let err = c
        .store()
        .json_with_key(NS, Strategy::KeyBased, "a/../b", None, None, &json!({}))
        .await
        .unwrap_err();
    assert!(
        matches!(err, CacheClientError::InvalidInput { status: None, .. }),
        "{err}"
    );
    let err = c
        .data()
        .retrieve_json(NS, "00000000-0000-4000-8000-000000000000", None, "")
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("data_file_id must not be empty"),
        "{err}"
    );
}

async fn exists_update_delete(c: CacheClient) {
    let stored = store_alice(&c).await;
    let id = stored.cache_id.as_str();
    assert!(c.exists().by_id(NS, id).await.unwrap());
    assert!(c.exists().by_hash(NS, &stored.cache_hash).await.unwrap());
    assert!(
        !c.exists()
            .by_id(NS, "00000000-0000-4000-8000-000000000000")
            .await
            .unwrap()
    );
    assert!(!c.exists().by_hash(NS, "0123456789abcdef").await.unwrap());

    // Update is content-only: the hash stays, the content changes.
    let updated = c
        .update()
        .json(NS, id, &json!({"name": "Bob"}))
        .await
        .unwrap();
    assert_eq!(updated.cache_hash, stored.cache_hash);
    assert!(updated.updated_content && !updated.updated_hash);
    assert_eq!(
        c.retrieve().by_id_json(NS, id).await.unwrap(),
        Some(json!({"name": "Bob"}))
    );
    let text = c
        .store()
        .string(NS, Strategy::Direct, "before")
        .await
        .unwrap();
    let updated = c
        .update()
        .string(NS, &text.cache_id, "after")
        .await
        .unwrap();
    assert_eq!(updated.size, 5);
    assert_eq!(
        c.retrieve()
            .by_id_string(NS, &text.cache_id)
            .await
            .unwrap()
            .as_deref(),
        Some("after")
    );
    let bin = c
        .store()
        .binary(NS, Strategy::Direct, vec![1u8, 2, 3])
        .await
        .unwrap();
    c.update()
        .binary(NS, &bin.cache_id, vec![9u8])
        .await
        .unwrap();
    assert_eq!(
        c.retrieve()
            .by_id_binary(NS, &bin.cache_id)
            .await
            .unwrap()
            .as_deref(),
        Some(&[9u8][..])
    );
    // Unknown id: the reference's 500 UPDATE_FAILED.
    let err = c
        .update()
        .json(NS, "00000000-0000-4000-8000-000000000000", &json!({"a": 1}))
        .await
        .unwrap_err();
    assert!(
        matches!(err, CacheClientError::Server { status: 500, .. }),
        "{err}"
    );

    // Delete: success, then a 200 "not_found" result (not an error).
    match c.delete().by_id(NS, id).await.unwrap() {
        DeleteResponse::Deleted {
            status,
            cache_id,
            deleted_count,
            ..
        } => {
            assert_eq!((status.as_str(), cache_id.as_str()), ("success", id));
            assert_eq!(deleted_count, 5);
        }
        other => panic!("expected a deletion, got {other:?}"),
    }
    match c.delete().by_id(NS, id).await.unwrap() {
        DeleteResponse::NotFound { status, message } => {
            assert_eq!(status, "not_found");
            assert_eq!(message, format!("Cache ID {id} not found"));
        }
        other => panic!("expected not_found, got {other:?}"),
    }
    assert!(c.retrieve().by_id(NS, id).await.unwrap().is_none());
    assert!(!c.exists().by_id(NS, id).await.unwrap());
}

async fn child_data_files(c: CacheClient) {
    let entry = store_alice(&c).await;
    let id = entry.cache_id.as_str();
    let d = c.data();

    let json_file = d
        .store_json(
            NS,
            id,
            Some("analysis"),
            Some("summary"),
            &json!({"score": 0.9}),
        )
        .await
        .unwrap();
    assert_eq!(
        json_file.data_files_created,
        vec!["demo/data/key-based/users/alice/profile/data/analysis/summary.json".to_owned()]
    );
    assert_eq!(
        (json_file.data_key.as_str(), json_file.file_id.as_str()),
        ("analysis", "summary")
    );
    let text_file = d
        .store_string(NS, id, None, Some("notes"), "hello world")
        .await
        .unwrap();
    assert_eq!(text_file.file_size, 11);
    assert_eq!(text_file.extension, "txt");
    let bin_file = d
        .store_binary(NS, id, Some("images/raw"), Some("pic"), vec![1u8, 2, 3, 4])
        .await
        .unwrap();
    assert_eq!(bin_file.data_key, "images/raw");
    // Without an id the server picks a uuid4; with a key but no id the client does.
    let anonymous = d
        .store_json(NS, id, None, None, &json!({"n": 1}))
        .await
        .unwrap();
    assert!(
        uuid::Uuid::parse_str(&anonymous.file_id).is_ok(),
        "{}",
        anonymous.file_id
    );
    let keyed_anonymous = d
        .store_string(NS, id, Some("logs"), None, "line")
        .await
        .unwrap();
    assert!(
        uuid::Uuid::parse_str(&keyed_anonymous.file_id).is_ok(),
        "{}",
        keyed_anonymous.file_id
    );
    assert_eq!(keyed_anonymous.data_key, "logs");
    // `Some("")` as data key means no key.
    let no_key = d
        .store_string(NS, id, Some(""), Some("plain"), "p")
        .await
        .unwrap();
    assert_eq!(no_key.data_key, "");

    assert_eq!(
        d.retrieve_json(NS, id, Some("analysis"), "summary")
            .await
            .unwrap(),
        Some(json!({"score": 0.9}))
    );
    assert_eq!(
        d.retrieve_string(NS, id, None, "notes")
            .await
            .unwrap()
            .as_deref(),
        Some("hello world")
    );
    assert_eq!(
        d.retrieve_binary(NS, id, Some("images/raw"), "pic")
            .await
            .unwrap()
            .as_deref(),
        Some(&[1u8, 2, 3, 4][..])
    );
    assert_eq!(
        d.retrieve_string(NS, id, Some("logs"), &keyed_anonymous.file_id)
            .await
            .unwrap()
            .as_deref(),
        Some("line")
    );
    // Stores overwrite silently.
    d.store_string(NS, id, None, Some("notes"), "second")
        .await
        .unwrap();
    assert_eq!(
        d.retrieve_string(NS, id, None, "notes")
            .await
            .unwrap()
            .as_deref(),
        Some("second")
    );

    assert!(
        d.exists(NS, id, DataType::Json, Some("analysis"), "summary")
            .await
            .unwrap()
    );
    assert!(
        !d.exists(NS, id, DataType::String, Some("analysis"), "summary")
            .await
            .unwrap()
    );
    let echoed = d
        .exists_response(NS, id, DataType::Binary, Some("images/raw"), "pic")
        .await
        .unwrap();
    assert!(echoed.exists);
    assert_eq!(echoed.data_key, "images/raw");

    let updated = d
        .update_json(NS, id, Some("analysis"), "summary", &json!({"score": 1}))
        .await
        .unwrap();
    assert!(updated.success);
    assert_eq!(
        d.retrieve_json(NS, id, Some("analysis"), "summary")
            .await
            .unwrap(),
        Some(json!({"score": 1}))
    );
    d.update_string(NS, id, None, "notes", "third")
        .await
        .unwrap();
    assert_eq!(
        d.retrieve_string(NS, id, None, "notes")
            .await
            .unwrap()
            .as_deref(),
        Some("third")
    );
    d.update_binary(NS, id, Some("images/raw"), "pic", vec![7u8])
        .await
        .unwrap();
    assert_eq!(
        d.retrieve_binary(NS, id, Some("images/raw"), "pic")
            .await
            .unwrap()
            .as_deref(),
        Some(&[7u8][..])
    );

    let all = d.list(NS, id, None, true).await.unwrap();
    assert_eq!(all.file_count, 6, "{all:?}");
    assert_eq!(all.files.len(), 6);
    let top = d.list(NS, id, None, false).await.unwrap();
    assert_eq!(top.file_count, 3, "{top:?}");
    let images = d.list(NS, id, Some("images"), true).await.unwrap();
    assert_eq!(images.files.len(), 1);
    assert_eq!(images.files[0].data_file_id, "pic");
    assert_eq!(images.files[0].data_key, "images/raw");

    assert!(
        d.delete(NS, id, DataType::String, None, "notes")
            .await
            .unwrap()
    );
    assert!(
        !d.delete(NS, id, DataType::String, None, "notes")
            .await
            .unwrap()
    );
    assert!(
        d.retrieve_string(NS, id, None, "notes")
            .await
            .unwrap()
            .is_none()
    );
    let images_gone = d.delete_all(NS, id, Some("images")).await.unwrap();
    assert_eq!(images_gone.deleted_count, 1);
    assert_eq!(images_gone.data_key.as_deref(), Some("images"));
    let rest = d.delete_all(NS, id, None).await.unwrap();
    assert_eq!(rest.deleted_count, 4, "{rest:?}");
    let nothing = d.delete_all(NS, id, None).await.unwrap();
    assert_eq!(
        (nothing.status.as_str(), nothing.deleted_count),
        ("success", 0)
    );
    assert_eq!(nothing.message, "No data files to delete");
}

async fn child_data_misses_and_not_found(c: CacheClient) {
    let entry = store_alice(&c).await;
    let id = entry.cache_id.as_str();
    let d = c.data();
    // Misses: string/binary 404s have an empty body, JSON 404s a detail; all are `None`.
    assert!(
        d.retrieve_json(NS, id, None, "missing")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        d.retrieve_string(NS, id, Some("k"), "missing")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        d.retrieve_binary(NS, id, None, "missing")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        !d.exists(NS, id, DataType::Json, None, "missing")
            .await
            .unwrap()
    );
    assert!(
        !d.delete(NS, id, DataType::Binary, Some("k"), "missing")
            .await
            .unwrap()
    );

    // Updating a file that does not exist, or listing an unknown entry: NotFound errors.
    let err = d
        .update_string(NS, id, None, "missing", "x")
        .await
        .unwrap_err();
    match &err {
        CacheClientError::NotFound { body, call } => {
            assert_eq!(body["detail"]["error_type"], json!("NOT_FOUND"));
            assert_eq!(call.op, "data().update_string");
        }
        other => panic!("expected NotFound, got {other}"),
    }
    let unknown = "00000000-0000-4000-8000-000000000000";
    let err = d.list(NS, unknown, None, true).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    let err = d
        .store_json(NS, unknown, None, Some("x"), &json!({}))
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    // Retrieving from an unknown entry is still just a miss.
    assert!(
        d.retrieve_json(NS, unknown, None, "x")
            .await
            .unwrap()
            .is_none()
    );
}

async fn awkward_keys_are_encoded_and_sanitised(c: CacheClient) {
    // Spaces and `/` survive, `%` and non-ASCII become `_` (one for one), the echo shows it.
    let stored = c
        .store()
        .json_with_key(
            NS,
            Strategy::KeyBased,
            "my key/100%/ünï",
            Some("x.y"),
            None,
            &alice(),
        )
        .await
        .unwrap();
    let content = "demo/data/key-based/my key/100_/_n_/x_y.json";
    assert_eq!(stored.paths.data[0], content);
    assert!(c.admin_storage().file_exists(content).await.unwrap());
    let config = c
        .retrieve()
        .by_id_config(NS, &stored.cache_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(config.file_key, "my key/100_/_n_");

    // Query values are encoded: `+`, `&` and `=` arrive inside the one parameter.
    let stored = c
        .store()
        .string_with_key(NS, Strategy::KeyBased, "q", Some("a+b&c=d"), "text")
        .await
        .unwrap();
    assert_eq!(stored.paths.data[0], "demo/data/key-based/q/a_b_c_d.json");

    // Namespaces are sanitised too (`my.ns` → `my_ns`), and `?`/`#` do not cut the path.
    let odd = c
        .store()
        .string("my.ns", Strategy::Direct, "hello")
        .await
        .unwrap();
    assert_eq!(odd.namespace, "my_ns");
    let odd = c
        .store()
        .string("what?#", Strategy::Direct, "hello")
        .await
        .unwrap();
    assert_eq!(odd.namespace, "what__");

    // Child data keys and ids: sanitised the same way on store and on read.
    let entry = store_alice(&c).await;
    let stored = c
        .data()
        .store_string(NS, &entry.cache_id, Some("a b/c%d"), Some("f+g é"), "v")
        .await
        .unwrap();
    assert_eq!(
        (stored.data_key.as_str(), stored.file_id.as_str()),
        ("a b/c_d", "f_g__")
    );
    assert_eq!(
        c.data()
            .retrieve_string(NS, &entry.cache_id, Some("a b/c%d"), "f+g é")
            .await
            .unwrap()
            .as_deref(),
        Some("v")
    );
}

async fn namespaces_and_admin_storage(c: CacheClient) {
    let stored = store_alice(&c).await;
    let other = c
        .store()
        .string("second", Strategy::Direct, "hello")
        .await
        .unwrap();
    let n = c.namespace();
    assert_eq!(
        n.file_hashes(NS).await.unwrap(),
        vec![stored.cache_hash.clone()]
    );
    assert_eq!(n.file_ids(NS).await.unwrap(), vec![stored.cache_id.clone()]);
    assert!(n.file_ids("nobody").await.unwrap().is_empty());
    let stats = n.stats(NS).await.unwrap();
    assert_eq!((stats.namespace.as_str(), stats.ttl_hours), (NS, 24));
    assert!(stats.total_files > 0);
    let mut namespaces = c.namespaces().list().await.unwrap();
    namespaces.sort();
    assert_eq!(namespaces, vec!["demo".to_owned(), "second".to_owned()]);

    let a = c.admin_storage();
    assert_eq!(a.bucket_name().await.unwrap(), "NA");
    let content = "demo/data/key-based/users/alice/profile.json";
    let all = a.files_all(NS).await.unwrap();
    assert!(all.files.iter().any(|f| f == content), "{all:?}");
    assert_eq!(all.file_count as usize, all.files.len());
    assert!(a.file_exists(content).await.unwrap());
    assert!(!a.file_exists("demo/nothing.json").await.unwrap());
    let bytes = a.file_bytes(content).await.unwrap();
    assert_eq!(serde_json::from_slice::<Value>(&bytes).unwrap(), alice());
    assert!(a.file_bytes("demo/nothing.json").await.unwrap().is_empty());
    assert_eq!(a.file_json(content).await.unwrap(), Some(alice()));
    assert!(a.file_json("demo/nothing.json").await.unwrap().is_none());
    let file = a.file_content(content).await.unwrap().unwrap();
    assert_eq!(file.content_type.as_deref(), Some("application/json"));
    assert_eq!(file.bytes, bytes);
    assert!(a.file_content("demo/nothing.json").await.unwrap().is_none());
    assert!(a.file_html("demo/nothing.json").await.unwrap().is_none());
    assert_eq!(
        a.folders(NS, false, false).await.unwrap(),
        vec!["data".to_owned(), "refs".to_owned()]
    );
    let full = a.folders(NS, false, true).await.unwrap();
    assert!(full.iter().all(|f| f.starts_with("demo/")), "{full:?}");
    let names = a
        .files_in("demo/data/key-based/users/alice", false, false)
        .await
        .unwrap();
    assert!(names.contains(&"profile.json".to_owned()), "{names:?}");
    let paths = a
        .files_in("demo/data/key-based", true, false)
        .await
        .unwrap();
    assert!(paths.contains(&content.to_owned()), "{paths:?}");

    let by_hash_ref = format!(
        "second/refs/by-hash/{}/{}/{}.json",
        &other.cache_hash[0..2],
        &other.cache_hash[2..4],
        other.cache_hash
    );
    assert!(a.file_delete(&by_hash_ref).await.unwrap());
    assert!(!a.file_delete(&by_hash_ref).await.unwrap());
    assert!(
        c.retrieve()
            .by_hash(NS, &other.cache_hash)
            .await
            .unwrap()
            .is_none()
    );
}

async fn info_and_server(c: CacheClient) {
    assert!(c.health().await);
    assert!(c.info().health().await.unwrap());
    let status = c.info().status().await.unwrap();
    assert_eq!(
        (status.name.as_str(), status.status.as_str()),
        ("mgraph_ai_service_cache", "operational")
    );
    let versions = c.info().versions().await.unwrap();
    assert_eq!(
        versions.get("mgraph_ai_service_cache"),
        Some(&status.version)
    );
    let server = c.info().server().await.unwrap();
    assert!(uuid::Uuid::parse_str(&server.server_instance_id).is_ok());
    assert_eq!(c.info().server().await.unwrap(), server);
    let storage = c.server().storage_info().await.unwrap();
    assert_eq!(
        (storage.storage_mode.as_str(), storage.ttl_hours),
        ("memory", 24)
    );
}

async fn concurrent_requests_share_one_client(c: CacheClient) {
    // 64 stores in flight at once on spawned tasks (one client, cloned), then 64 reads.
    let stores: Vec<_> = (0..64)
        .map(|i| {
            let c = c.clone();
            tokio::spawn(async move {
                let body = json!({"i": i, "pad": "x".repeat(100)});
                let stored = c
                    .store()
                    .json_with_key(
                        NS,
                        Strategy::KeyBased,
                        &format!("many/{i}"),
                        Some("e"),
                        None,
                        &body,
                    )
                    .await
                    .unwrap();
                (stored, body)
            })
        })
        .collect();
    let stored: Vec<_> = futures::future::join_all(stores)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let reads = stored
        .iter()
        .map(|(s, _)| c.retrieve().by_hash_json(NS, &s.cache_hash));
    let bodies = futures::future::join_all(reads).await;
    for ((_, expected), got) in stored.iter().zip(bodies) {
        assert_eq!(got.unwrap().as_ref(), Some(expected));
    }
    let mut ids = c.namespace().file_ids(NS).await.unwrap();
    ids.dedup();
    assert_eq!(ids.len(), 64);
}

/// A server without the routes (e.g. an older version) answers the router's
/// `{"detail":"Not Found"}`: that is an error, never a quiet `None`.
#[tokio::test]
async fn missing_routes_are_not_found_errors() {
    let router = axum::Router::new().fallback(|| async {
        (
            axum::http::StatusCode::NOT_FOUND,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            r#"{"detail":"Not Found"}"#,
        )
    });
    let c = CacheClient::in_process(router);
    let err = c
        .retrieve()
        .hash_cache_id(NS, "0123456789abcdef")
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    let err = c
        .data()
        .retrieve_string(NS, "00000000-0000-4000-8000-000000000000", None, "f")
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(!c.health().await);
}

/// Batch store and retrieve: one request each, the same files and values as the single calls.
async fn child_data_batches(c: CacheClient) {
    use cache_client::types::{BatchFileRef, BatchFileStatus, BatchStoreFile, ChildContent};
    let entry = store_alice(&c).await;
    let id = entry.cache_id.as_str();
    let d = c.data();
    let files = vec![
        BatchStoreFile::new("runs/a", "m.json", ChildContent::json(&json!({"p50": 1.5}))),
        BatchStoreFile::new("", "notes", ChildContent::Text("fine".to_owned())),
        BatchStoreFile::new(
            "bin",
            "raw",
            ChildContent::Binary(Bytes::from_static(b"\0\x01")),
        ),
    ];
    let stored = d
        .store_batch(NS, id, &files)
        .await
        .unwrap()
        .expect("extension");
    let ids: Vec<&str> = stored.files.iter().map(|f| f.file_id.as_str()).collect();
    assert_eq!(ids, ["m_json", "notes", "raw"]);
    // The single routes see them.
    let single = d
        .retrieve_json(NS, id, Some("runs/a"), "m_json")
        .await
        .unwrap();
    assert_eq!(single, Some(json!({"p50": 1.5})));

    let refs = vec![
        BatchFileRef::new(DataType::Json, "runs/a", "m_json"),
        BatchFileRef::new(DataType::String, "", "notes"),
        BatchFileRef::new(DataType::Binary, "bin", "raw"),
        BatchFileRef::new(DataType::Binary, "bin", "absent"),
    ];
    let read = d
        .retrieve_batch(NS, id, &refs)
        .await
        .unwrap()
        .expect("extension");
    let contents: Vec<Option<ChildContent>> =
        read.files.iter().map(|f| f.content().unwrap()).collect();
    // A JSON file comes back as the text the server stored (indent 4), not re-rendered.
    let stored_text = "{\n    \"p50\": 1.5\n}".to_owned();
    assert_eq!(
        contents,
        vec![
            Some(ChildContent::json_text(stored_text).unwrap()),
            Some(ChildContent::Text("fine".to_owned())),
            Some(ChildContent::Binary(Bytes::from_static(b"\0\x01"))),
            None,
        ]
    );
    assert_eq!(read.files[3].status, BatchFileStatus::Missing);

    let unknown = "00000000-0000-4000-8000-000000000000";
    let err = d.store_batch(NS, unknown, &files).await.unwrap_err();
    assert!(err.is_not_found() && !err.is_unknown_route(), "{err}");
    let err = d
        .store_batch(
            NS,
            id,
            &[BatchStoreFile::new("", "", ChildContent::json(&json!({})))],
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
}

/// A server without the batch extension (the reference) gives `Ok(None)`, so callers fall
/// back to single calls; a missing entry on a server with it is an error, not `None`.
#[tokio::test]
async fn batch_calls_to_a_server_without_them_are_none() {
    let router = axum::Router::new().fallback(|| async {
        (
            axum::http::StatusCode::NOT_FOUND,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            r#"{"detail":"Not Found"}"#,
        )
    });
    let c = CacheClient::in_process(router);
    let id = "00000000-0000-4000-8000-000000000000";
    assert_eq!(c.data().store_batch(NS, id, &[]).await.unwrap(), None);
    assert!(
        c.data()
            .retrieve_batch(NS, id, &[])
            .await
            .unwrap()
            .is_none()
    );
}

/// The in-memory client is ready at once and independent of every other one.
#[tokio::test]
async fn in_memory_clients_are_isolated() {
    let a = CacheClient::in_memory();
    let b = CacheClient::in_memory();
    store_alice(&a).await;
    assert_eq!(a.namespace().file_ids(NS).await.unwrap().len(), 1);
    assert!(b.namespace().file_ids(NS).await.unwrap().is_empty());
    // Clones share the server.
    assert_eq!(a.clone().namespace().file_ids(NS).await.unwrap().len(), 1);
    // Each is its own server instance, with the default settings.
    let (ia, ib) = (
        a.info().server().await.unwrap(),
        b.info().server().await.unwrap(),
    );
    assert_ne!(ia.server_instance_id, ib.server_instance_id);
    assert_eq!(b.server().storage_info().await.unwrap().ttl_hours, 24);
    let server = LocalServer::in_memory().await.unwrap();
    assert!(
        server
            .client()
            .namespace()
            .file_ids(NS)
            .await
            .unwrap()
            .is_empty()
    );
    server.stop().await.unwrap();
}

/// Bodies over the server's limit are refused with 413, surfaced as `InvalidInput`.
#[tokio::test]
async fn oversized_bodies_are_invalid_input() {
    let state = cache_service::AppState::in_memory().with_max_body_bytes(1024);
    let in_process = CacheClient::in_process(cache_service::router(state.clone()));
    let server = LocalServer::start(state).await.unwrap();
    for c in [in_process, server.client()] {
        let err = c
            .store()
            .binary(NS, Strategy::Direct, vec![7u8; 4096])
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                CacheClientError::InvalidInput {
                    status: Some(413),
                    ..
                }
            ),
            "{err}"
        );
        assert!(
            c.store()
                .binary(NS, Strategy::Direct, vec![7u8; 512])
                .await
                .is_ok()
        );
    }
    assert_eq!(server.client().transport_kind(), TransportKind::Remote);
    server.stop().await.unwrap();
}
