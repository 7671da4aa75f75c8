//! The tracing layer: a `perfstore.storage` span per operation with its fields, and failures
//! logged inside it at the documented level. One test per file: the capturing subscriber is
//! the thread's default, and no other test's callsites race with it.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use perfstore::{
    Artifact, ArtifactMeta, ArtifactPath, Key, KeyPrefix, SessionName, Storage, StorageExt, Store,
    TargetName, TargetPath,
};
use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context as LayerContext, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

type Fields = BTreeMap<String, String>;

#[derive(Default)]
struct FieldVisitor(Fields);

impl Visit for FieldVisitor {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(
            field.name().to_owned(),
            format!("{value:?}").replace('"', ""),
        );
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

#[derive(Debug, Clone)]
struct SpanSeen {
    name: &'static str,
    level: Level,
    fields: Fields,
}

#[derive(Debug, Clone)]
struct EventSeen {
    level: Level,
    fields: Fields,
    /// The fields of the span the event happened in.
    span: Option<Fields>,
}

/// Records every span (with its fields) and every event (with its span's fields).
#[derive(Clone, Default)]
struct Capture {
    spans: Arc<Mutex<Vec<SpanSeen>>>,
    events: Arc<Mutex<Vec<EventSeen>>>,
}

impl<S> Layer<S> for Capture
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: LayerContext<'_, S>) {
        let mut visitor = FieldVisitor::default();
        attrs.record(&mut visitor);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(visitor.0.clone());
        }
        self.spans.lock().unwrap().push(SpanSeen {
            name: attrs.metadata().name(),
            level: *attrs.metadata().level(),
            fields: visitor.0,
        });
    }

    fn on_event(&self, event: &Event<'_>, ctx: LayerContext<'_, S>) {
        let mut visitor = FieldVisitor::default();
        event.record(&mut visitor);
        let span = ctx
            .event_span(event)
            .and_then(|span| span.extensions().get::<Fields>().cloned());
        self.events.lock().unwrap().push(EventSeen {
            level: *event.metadata().level(),
            fields: visitor.0,
            span,
        });
    }
}

/// Yields `good` bytes, then fails.
struct FailingReader {
    good: usize,
}

impl AsyncRead for FailingReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.good == 0 {
            return Poll::Ready(Err(io::Error::other("the input broke")));
        }
        let n = self.good.min(buf.remaining());
        buf.put_slice(&vec![1u8; n]);
        self.good -= n;
        Poll::Ready(Ok(()))
    }
}

/// A backend whose every call fails as a service would.
#[derive(Debug)]
struct Down;

fn unavailable<T>() -> perfstore::Result<T> {
    Err(perfstore::Error::Backend {
        backend: "down",
        message: "service unavailable".into(),
        source: None,
    })
}

#[async_trait::async_trait]
impl Storage for Down {
    fn name(&self) -> &'static str {
        "down"
    }
    fn capabilities(&self) -> perfstore::Capabilities {
        Store::memory().capabilities()
    }
    async fn put(&self, _: &ArtifactPath, _: Artifact) -> perfstore::Result<ArtifactMeta> {
        unavailable()
    }
    async fn get(&self, _: &ArtifactPath) -> perfstore::Result<Option<Artifact>> {
        unavailable()
    }
    async fn delete(&self, _: &ArtifactPath) -> perfstore::Result<bool> {
        unavailable()
    }
    async fn list_keys(&self, _: &TargetPath, _: &KeyPrefix) -> perfstore::Result<Vec<Key>> {
        unavailable()
    }
    async fn list_sessions(&self) -> perfstore::Result<Vec<SessionName>> {
        unavailable()
    }
    async fn list_targets(&self, _: &SessionName) -> perfstore::Result<Vec<TargetName>> {
        unavailable()
    }
    async fn delete_target(&self, _: &TargetPath) -> perfstore::Result<usize> {
        unavailable()
    }
}

fn fields(pairs: &[(&str, &str)]) -> Fields {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[tokio::test]
async fn every_operation_runs_in_a_span_with_its_fields_and_failures_are_logged_in_it() {
    let capture = Capture::default();
    let _default =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(capture.clone()));

    let dir = tempfile::tempdir().unwrap();
    let store = Store::local(dir.path()).with_tracing();
    let path = ArtifactPath::parse("nightly", "parser", "results/m.json").unwrap();
    store.put(&path, Artifact::text("{}")).await.unwrap();
    store.get(&path).await.unwrap();
    let target = TargetPath::parse("nightly", "parser").unwrap();
    store
        .list_keys(&target, &KeyPrefix::new("results/").unwrap())
        .await
        .unwrap();
    store
        .list_targets(&SessionName::new("nightly").unwrap())
        .await
        .unwrap();
    let other = ArtifactPath::parse("nightly", "parser", "b").unwrap();
    store
        .put_many(vec![
            (path.clone(), Artifact::text("1")),
            (other.clone(), Artifact::text("2")),
            (
                ArtifactPath::parse("nightly", "parser", "results/m.json/below").unwrap(),
                Artifact::text("3"),
            ),
        ])
        .await;
    // A failing input stream: the caller's fault, logged at DEBUG.
    let broken = ArtifactPath::parse("nightly", "parser", "broken.bin").unwrap();
    store
        .save_stream(&broken, FailingReader { good: 10 })
        .await
        .unwrap_err();
    let mut bytes = Vec::new();
    store
        .get_stream(&other)
        .await
        .unwrap()
        .unwrap()
        .read_to_end(&mut bytes)
        .await
        .unwrap();
    assert_eq!(bytes, b"2");
    store.delete_target(&target).await.unwrap();

    // A backend that is down: not the caller's doing, logged at WARN.
    let down = Store::new(Down).with_tracing();
    down.put(&path, Artifact::text("x")).await.unwrap_err();

    let spans = capture.spans.lock().unwrap().clone();
    assert!(
        spans
            .iter()
            .all(|s| s.name == perfstore::traced::SPAN_NAME && s.level == Level::DEBUG),
        "{spans:#?}"
    );
    let ops: Vec<(&str, Fields)> = spans
        .iter()
        .map(|s| (s.fields["op"].as_str(), s.fields.clone()))
        .collect();
    let artifact = |op: &str, key: &str| {
        fields(&[
            ("op", op),
            ("backend", "local"),
            ("session", "nightly"),
            ("target", "parser"),
            ("key", key),
        ])
    };
    let expected: Vec<(&str, Fields)> = vec![
        ("put", artifact("put", "results/m.json")),
        ("get", artifact("get", "results/m.json")),
        (
            "list_keys",
            fields(&[
                ("op", "list_keys"),
                ("backend", "local"),
                ("session", "nightly"),
                ("target", "parser"),
                ("prefix", "results/"),
            ]),
        ),
        (
            "list_targets",
            fields(&[
                ("op", "list_targets"),
                ("backend", "local"),
                ("session", "nightly"),
            ]),
        ),
        (
            "put_many",
            fields(&[("op", "put_many"), ("backend", "local"), ("items", "3")]),
        ),
        ("put_stream", artifact("put_stream", "broken.bin")),
        ("get_stream", artifact("get_stream", "b")),
        (
            "delete_target",
            fields(&[
                ("op", "delete_target"),
                ("backend", "local"),
                ("session", "nightly"),
                ("target", "parser"),
            ]),
        ),
        (
            "put",
            fields(&[
                ("op", "put"),
                ("backend", "down"),
                ("session", "nightly"),
                ("target", "parser"),
                ("key", "results/m.json"),
            ]),
        ),
    ];
    assert_eq!(ops, expected);

    let events = capture.events.lock().unwrap().clone();
    let failures: Vec<(Level, &str, String)> = events
        .iter()
        .filter_map(|e| {
            let span = e.span.as_ref()?;
            Some((e.level, span["op"].as_str(), e.fields["message"].clone()))
        })
        .collect();
    assert_eq!(
        failures,
        [
            (Level::DEBUG, "put_many", "bulk items failed".to_owned()),
            (
                Level::DEBUG,
                "put_stream",
                "storage operation failed".to_owned()
            ),
            (Level::WARN, "put", "storage operation failed".to_owned()),
        ],
        "{events:#?}"
    );
    let stream_failure = events
        .iter()
        .find(|e| {
            e.fields
                .get("message")
                .is_some_and(|m| m == "storage operation failed")
        })
        .unwrap();
    assert!(
        stream_failure.fields["error"].contains("broken.bin"),
        "{stream_failure:?}"
    );
    let bulk = events
        .iter()
        .find(|e| e.fields["message"] == "bulk items failed")
        .unwrap();
    assert_eq!(bulk.fields["failed"], "1");
    assert!(
        events.iter().all(|e| e.span.is_some()),
        "every event is inside an operation's span"
    );
}
