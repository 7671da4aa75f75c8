//! The compression container (`perfstore::compression`):
//! - `decode` of arbitrary stored bytes never panics; bytes that are not a container come back
//!   as they are; the streaming decoder agrees with `decode` whenever both succeed;
//! - any original bytes, with any kind and a low threshold (so small inputs are compressed
//!   too), round-trip exactly through `encode` + `decode`, through `StreamEncoder` +
//!   `decode`, and through either encoder + `StreamDecoder`, fed in arbitrary chunk sizes.
//!
//! Input: byte 0 picks the kind, byte 1 the threshold (0–63 bytes, or `off` for 255), byte 2
//! the zstd level (1–3), byte 3 the chunk size of the streams; the rest is the payload.

#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use perfstore::compression::{
    self, CompressionOptions, HEADER_LEN, StreamDecoder, StreamEncoder, is_container,
};
use perfstore::{Artifact, ArtifactKind, ContentHash};

fn kind_of(b: u8) -> Option<ArtifactKind> {
    match b % 4 {
        0 => None,
        1 => Some(ArtifactKind::Json),
        2 => Some(ArtifactKind::Text),
        _ => Some(ArtifactKind::Binary),
    }
}

fn stream_decode(stored: &[u8], chunk: usize) -> std::io::Result<Vec<u8>> {
    let mut decoder = StreamDecoder::new();
    let mut out = Vec::new();
    for piece in stored.chunks(chunk) {
        out.extend(decoder.push(piece)?);
    }
    out.extend(decoder.finish()?);
    Ok(out)
}

fn stream_encode(
    original: &[u8],
    options: CompressionOptions,
    kind: Option<ArtifactKind>,
    chunk: usize,
) -> Vec<u8> {
    let mut encoder = StreamEncoder::new(options, kind);
    let mut stored = Vec::new();
    for piece in original.chunks(chunk) {
        stored.extend(encoder.push(piece).expect("encoding into memory"));
    }
    let (tail, summary) = encoder.finish().expect("encoding into memory");
    stored.extend(tail);
    assert_eq!(summary.meta.size, original.len() as u64);
    assert_eq!(summary.meta.hash, ContentHash::of(original));
    assert_eq!(summary.stored_size, stored.len() as u64);
    if summary.compressed {
        assert!(is_container(&stored));
    }
    stored
}

fuzz_target!(|data: &[u8]| {
    let (params, payload) = data.split_at(data.len().min(4));
    let byte = |i: usize| params.get(i).copied().unwrap_or(0);
    let kind = kind_of(byte(0));
    let options = CompressionOptions {
        threshold: (byte(1) != 255).then_some(u64::from(byte(1) % 64)),
        level: i32::from(byte(2) % 3) + 1,
    };
    let chunk = usize::from(byte(3)).max(1);

    // 1. The payload as stored bytes: never a panic; plain bytes are returned as they are.
    let decoded = compression::decode(Bytes::copy_from_slice(payload), kind);
    if !is_container(payload) {
        let artifact = decoded.as_ref().expect("plain bytes always decode");
        assert_eq!(artifact.bytes().as_ref(), payload);
        assert_eq!(artifact.recorded_kind(), kind);
    }
    let streamed = stream_decode(payload, chunk);
    if let (Ok(a), Ok(s)) = (&decoded, &streamed) {
        assert_eq!(
            a.bytes().as_ref(),
            s.as_slice(),
            "decode and StreamDecoder disagree"
        );
    }
    if payload.len() >= HEADER_LEN {
        let _ = compression::container_meta(payload, &payload[payload.len().saturating_sub(36)..]);
    }

    // 2. The payload as an original: encode, then decode, gives it back exactly.
    let original = Artifact::from_stored(Bytes::copy_from_slice(payload), kind);
    let (stored, meta) = compression::encode(&original, &options);
    assert_eq!(meta, original.meta());
    let back = compression::decode(stored.clone(), None).expect("encode's output decodes");
    assert_eq!(back.bytes().as_ref(), payload);
    if is_container(&stored) {
        assert_eq!(back.recorded_kind(), kind);
        let meta_of = compression::container_meta(&stored, &stored[stored.len() - 36..])
            .expect("a container")
            .expect("a readable container");
        assert_eq!(meta_of.size, payload.len() as u64);
        assert_eq!(meta_of.hash, meta.hash);
    } else {
        assert_eq!(stored.as_ref(), payload, "stored plain but changed");
    }
    assert_eq!(
        stream_decode(&stored, chunk).expect("encode's output streams"),
        payload
    );

    // 3. The same through the streaming encoder.
    let stored = stream_encode(payload, options, kind, chunk);
    let back = compression::decode(Bytes::from(stored.clone()), None)
        .expect("StreamEncoder's output decodes");
    assert_eq!(back.bytes().as_ref(), payload);
    assert_eq!(
        stream_decode(&stored, chunk).expect("StreamEncoder's output streams"),
        payload
    );
});
