//! S3 and S3-compatible buckets (`--storage s3`).
//!
//! Configured like every `object_store` AWS client: `AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT_URL` (for S3-compatible servers such
//! as MinIO; an `http://` endpoint implies `AWS_ALLOW_HTTP`), … The bucket must exist: unlike the
//! reference, this server does not create it.

use super::FileStore;

/// An S3 store for `bucket`, configured from the environment; the error says what is missing.
pub fn from_env(bucket: &str) -> Result<FileStore, String> {
    with_endpoint(bucket, None)
}

/// [`from_env`], talking to `endpoint` instead of `AWS_ENDPOINT_URL` when given (e.g. one of
/// several gateways of one S3 engine).
#[cfg(feature = "s3")]
pub fn with_endpoint(bucket: &str, endpoint: Option<&str>) -> Result<FileStore, String> {
    use std::sync::Arc;

    use object_store::aws::AmazonS3Builder;

    use super::StoreKind;

    // reqwest is built without a bundled TLS provider; use ring's (a no-op if one is set).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
    // boto3 (the reference) talks plain http to an `http://` endpoint without further
    // settings; object_store wants AWS_ALLOW_HTTP as well, so an explicit http endpoint
    // implies it.
    let endpoint = match endpoint {
        Some(endpoint) => {
            builder = builder.with_endpoint(endpoint);
            endpoint.to_owned()
        }
        None => std::env::var("AWS_ENDPOINT_URL")
            .or_else(|_| std::env::var("AWS_ENDPOINT"))
            .unwrap_or_default(),
    };
    if endpoint.starts_with("http://") && std::env::var_os("AWS_ALLOW_HTTP").is_none() {
        builder = builder.with_allow_http(true);
    }
    // A client waits at most ~10 s for an unreachable engine (object_store's default retries
    // for up to 3 minutes), then gets a 500 naming the storage error.
    builder = builder.with_retry(object_store::RetryConfig {
        backoff: object_store::BackoffConfig {
            init_backoff: std::time::Duration::from_millis(100),
            max_backoff: std::time::Duration::from_secs(2),
            base: 2.0,
        },
        max_retries: 4,
        retry_timeout: std::time::Duration::from_secs(10),
    });
    let store = builder.build().map_err(|e| e.to_string())?;
    Ok(FileStore::from_object_store(
        Arc::new(store),
        StoreKind::S3 {
            bucket: bucket.to_owned(),
        },
    ))
}

/// An S3 store for `bucket`: unavailable in this build.
#[cfg(not(feature = "s3"))]
pub fn with_endpoint(bucket: &str, endpoint: Option<&str>) -> Result<FileStore, String> {
    let _ = (bucket, endpoint);
    Err("this build has no S3 support; rebuild cache-service with the `s3` feature".to_owned())
}
