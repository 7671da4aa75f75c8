//! The conformance suite against the object-store backend: over memory (`memory://`), a temp
//! folder (`file://`) and an S3 bucket.
//!
//! The S3 run needs an endpoint: `scripts/seaweedfs.sh run cluster -- cargo test -p perfstore
//! --test conformance_object_store -- --ignored s3` (SeaweedFS on loopback; the bucket from
//! `SEAWEEDFS_BUCKET`, or any `s3://bucket/prefix` in `PERF_TEST_S3_URL`, credentials from
//! `AWS_*`). Those tests are ignored by default (the suite's macro cannot skip at run time);
//! run explicitly, as CI does, a missing endpoint fails them.

/// The bucket URL the S3 tests use; panics (failing the test) when none is configured.
fn s3_url() -> String {
    std::env::var("PERF_TEST_S3_URL")
        .ok()
        .or_else(|| {
            std::env::var("SEAWEEDFS_BUCKET")
                .ok()
                .map(|b| format!("s3://{b}"))
        })
        .expect(
            "no S3 endpoint: set PERF_TEST_S3_URL (and AWS_*), or run under scripts/seaweedfs.sh",
        )
}

mod memory {
    perfstore::conformance_tests!(|| async {
        (
            perfstore::Store::object_store("memory://").expect("memory:// opens"),
            (),
        )
    });
}

mod file {
    perfstore::conformance_tests!(|| async {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("file://{}", dir.path().display());
        (
            perfstore::Store::object_store(&url).expect("file:// opens"),
            dir,
        )
    });
}

mod s3 {
    // Each test in its own prefix of the shared bucket, so tests run in parallel.
    perfstore::conformance_tests!(
        || async {
            let url = format!(
                "{}/conformance/{}",
                super::s3_url().trim_end_matches('/'),
                uuid::Uuid::new_v4()
            );
            (
                perfstore::Store::object_store(&url).expect("the S3 store opens"),
                (),
            )
        },
        #[ignore = "needs an S3 endpoint: scripts/seaweedfs.sh run cluster -- cargo test … -- --ignored s3"]
    );
}
