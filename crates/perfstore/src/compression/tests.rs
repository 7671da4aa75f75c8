use proptest::prelude::*;

use super::*;

fn stored(artifact: &Artifact, options: &CompressionOptions) -> Bytes {
    encode(artifact, options).0
}

fn report(len: usize) -> Vec<u8> {
    // An HTML-like report: compresses well, like the real thing.
    let row = b"<tr><td class=\"metric\">p99_latency_ms</td><td>12.5</td></tr>\n";
    row.iter().copied().cycle().take(len).collect()
}

fn noise(len: usize, seed: u64) -> Vec<u8> {
    // xorshift: incompressible without a dependency.
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn stream_encode(
    data: &[u8],
    chunk: usize,
    options: CompressionOptions,
) -> (Vec<u8>, StreamSummary) {
    let mut encoder = StreamEncoder::new(options, Some(ArtifactKind::Text));
    let mut out = Vec::new();
    for piece in data.chunks(chunk.max(1)) {
        out.extend(encoder.push(piece).unwrap());
    }
    let (last, summary) = encoder.finish().unwrap();
    out.extend(last);
    (out, summary)
}

fn stream_decode(stored: &[u8], chunk: usize) -> io::Result<Vec<u8>> {
    let mut decoder = StreamDecoder::new();
    let mut out = Vec::new();
    for piece in stored.chunks(chunk.max(1)) {
        out.extend(decoder.push(piece)?);
    }
    out.extend(decoder.finish()?);
    Ok(out)
}

#[test]
fn small_artifacts_are_stored_as_they_are() {
    let a = Artifact::text("# small report");
    assert_eq!(stored(&a, &CompressionOptions::default()), *a.bytes());
}

#[test]
fn large_compressible_artifacts_become_smaller_containers_that_decode_to_the_original() {
    let a = Artifact::text(String::from_utf8(report(2 << 20)).unwrap());
    let stored = stored(&a, &CompressionOptions::default());
    assert!(is_container(&stored));
    assert!(
        stored.len() < a.bytes().len() / 10,
        "{} bytes",
        stored.len()
    );
    let back = decode(stored.clone(), Some(ArtifactKind::Binary)).unwrap();
    assert_eq!(back.bytes(), a.bytes());
    assert_eq!(
        back.recorded_kind(),
        Some(ArtifactKind::Text),
        "the container's kind wins"
    );
    let meta = container_meta(&stored[..HEADER_LEN], &stored[stored.len() - TRAILER_LEN..])
        .unwrap()
        .unwrap();
    assert_eq!(
        (meta.size, meta.kind, meta.hash),
        (a.meta().size, Some(ArtifactKind::Text), a.meta().hash)
    );
}

#[test]
fn a_container_is_a_valid_zstd_file() {
    let original = report(3 << 20);
    let stored = stored(
        &Artifact::binary(original.clone()),
        &CompressionOptions::default(),
    );
    assert_eq!(zstd::stream::decode_all(&stored[..]).unwrap(), original);
}

#[test]
fn incompressible_and_below_threshold_artifacts_stay_plain() {
    let random = Artifact::binary(noise(2 << 20, 7));
    assert_eq!(
        stored(&random, &CompressionOptions::default()),
        *random.bytes()
    );
    let off = Artifact::binary(report(2 << 20));
    assert_eq!(stored(&off, &CompressionOptions::off()), *off.bytes());
    assert_eq!(
        stored(&off, &CompressionOptions::above(4 << 20)),
        *off.bytes()
    );
}

#[test]
fn plain_bytes_that_look_like_a_container_are_escaped() {
    let mut tricky = header(Codec::Zstd, Some(ArtifactKind::Json)).to_vec();
    tricky.extend_from_slice(b"not really compressed");
    let a = Artifact::binary(tricky.clone());
    for options in [CompressionOptions::off(), CompressionOptions::default()] {
        let stored = stored(&a, &options);
        assert_ne!(stored, tricky);
        assert_eq!(
            decode(stored.clone(), None).unwrap().bytes().as_ref(),
            &tricky[..]
        );
        let (streamed, _) = stream_encode(&tricky, 3, options);
        assert_eq!(stream_decode(&streamed, 5).unwrap(), tricky);
    }
    // Only the magic matches: still escaped, still read back exactly.
    let magic_only = Artifact::binary([&HEADER_MAGIC[..], b"xyz"].concat());
    let stored = stored(&magic_only, &CompressionOptions::off());
    assert_eq!(decode(stored, None).unwrap().bytes(), magic_only.bytes());
}

#[test]
fn damage_is_an_error_not_wrong_bytes() {
    let original = report(2 << 20);
    let stored = stored(&Artifact::binary(original), &CompressionOptions::default()).to_vec();
    let mut flipped = stored.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x55;
    assert!(decode(Bytes::from(flipped.clone()), None).is_err());
    assert!(stream_decode(&flipped, 4096).is_err());
    let truncated = &stored[..stored.len() - 10];
    assert!(decode(Bytes::copy_from_slice(truncated), None).is_err());
    assert!(stream_decode(truncated, 4096).is_err());
    let mut bad_hash = stored.clone();
    let at = bad_hash.len() - 1;
    bad_hash[at] = b'0' + (bad_hash[at] - b'0' + 1) % 10;
    let err = decode(Bytes::from(bad_hash), None).unwrap_err();
    assert!(err.contains("records"), "{err}");
}

/// A decompression bomb: a small body that expands far past the size its trailer records is
/// refused after at most that size plus one byte has been decoded.
#[test]
fn a_body_expanding_past_its_recorded_size_is_refused() {
    let bomb = zstd::bulk::compress(&vec![0u8; 256 << 20], 19).unwrap();
    assert!(bomb.len() < 64 << 10, "{} bytes", bomb.len());
    let claimed = b"tiny";
    let mut container = header(Codec::Zstd, None).to_vec();
    container.extend_from_slice(&bomb);
    container.extend_from_slice(&trailer(claimed.len() as u64, &ContentHash::of(claimed)));
    let err = decode(Bytes::from(container), None).unwrap_err();
    assert!(
        err.contains("decoded 5 bytes"),
        "stopped one byte past the record: {err}"
    );
}

#[test]
fn a_stream_decides_at_the_threshold() {
    let options = CompressionOptions::above(64 * 1024);
    let (stored, summary) = stream_encode(&report(1 << 20), 10_000, options);
    assert!(summary.compressed && is_container(&stored));
    assert_eq!(summary.stored_size, stored.len() as u64);
    assert_eq!(summary.meta.size, 1 << 20);
    assert_eq!(summary.meta.hash, ContentHash::of(&report(1 << 20)));
    let (plain, summary) = stream_encode(&report(1000), 100, options);
    assert!(!summary.compressed);
    assert_eq!(plain, report(1000));
    let (random, summary) = stream_encode(&noise(1 << 20, 3), 10_000, options);
    assert!(
        !summary.compressed,
        "incompressible input goes through plain"
    );
    assert_eq!(random, noise(1 << 20, 3));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any data, any chunking, any threshold: the stream and whole-buffer codecs agree and
    /// give back the original.
    #[test]
    fn every_path_round_trips(
        compressible in any::<bool>(),
        len in 0usize..200_000,
        seed in any::<u64>(),
        chunk_in in 1usize..70_000,
        chunk_out in 1usize..70_000,
        threshold in prop::option::of(0u64..100_000),
        magic_first in any::<bool>(),
    ) {
        let mut data = if compressible { report(len) } else { noise(len, seed) };
        if magic_first {
            data.splice(0..0, HEADER_MAGIC);
        }
        let options = CompressionOptions { threshold, level: 1 };
        let (streamed, summary) = stream_encode(&data, chunk_in, options);
        prop_assert_eq!(summary.meta.size, data.len() as u64);
        prop_assert_eq!(&summary.meta.hash, &ContentHash::of(&data));
        prop_assert_eq!(stream_decode(&streamed, chunk_out).unwrap(), data.clone());
        prop_assert_eq!(decode(Bytes::from(streamed), None).unwrap().bytes().to_vec(), data.clone());
        let whole = stored(&Artifact::binary(data.clone()), &options);
        prop_assert_eq!(stream_decode(&whole, chunk_out).unwrap(), data.clone());
        prop_assert_eq!(decode(whole, None).unwrap().bytes().to_vec(), data);
    }
}

#[tokio::test]
async fn async_adapters_round_trip_and_report_input_errors() {
    use futures::StreamExt;
    use tokio::io::AsyncReadExt;
    let data = report(3 << 20);
    let reader: crate::storage::ByteReader = Box::pin(std::io::Cursor::new(data.clone()));
    let (stream, outcome) = encoding_stream(reader, CompressionOptions::default(), None);
    assert!(outcome.get().is_none());
    let chunks: Vec<io::Result<Bytes>> = stream.collect().await;
    let summary = outcome.get().unwrap().unwrap();
    assert!(summary.compressed);
    let mut back = Vec::new();
    decoding_reader(futures::stream::iter(chunks))
        .read_to_end(&mut back)
        .await
        .unwrap();
    assert_eq!(back, data);

    // An input that fails midway ends the stream with its error and records it.
    let failing =
        tokio::io::AsyncReadExt::chain(std::io::Cursor::new(vec![1u8; 100_000]), FailingReader);
    let (stream, outcome) = encoding_stream(Box::pin(failing), CompressionOptions::off(), None);
    let chunks: Vec<io::Result<Bytes>> = stream.collect().await;
    assert!(chunks.last().unwrap().is_err());
    assert!(outcome.get().unwrap().unwrap_err().contains("disk on fire"));
}

struct FailingReader;

impl tokio::io::AsyncRead for FailingReader {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        _: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::task::Poll::Ready(Err(io::Error::other("disk on fire")))
    }
}
