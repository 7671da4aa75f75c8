//! The conformance suite against the local-disk backend, each test in its own temp folder.

perfstore::conformance_tests!(|| async {
    let dir = tempfile::tempdir().expect("temp dir");
    (perfstore::Store::local(dir.path()), dir)
});
