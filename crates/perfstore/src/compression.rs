//! Transparent compression of large artifacts, the same on every backend.
//!
//! An artifact at or above [`CompressionOptions::threshold`] that zstd shrinks by at least a
//! tenth is stored as a **container**; everything else is stored as its plain bytes, so small
//! artifacts keep the original module's layout byte for byte. Every read path of every backend
//! recognises a container and returns the original bytes, so a store written with compression
//! is read the same with it switched off, and [`crate::Storage::head`] reports the original
//! size and hash.
//!
//! **Container layout** (a valid `.zst` file: `zstd -d` skips the two skippable frames):
//!
//! | part | bytes |
//! |---|---|
//! | header: skippable frame `0x184D2A5E` | magic (4) · length 8 (4) · `PSZ` · version 1 · codec · kind · 0 · 0 |
//! | body | one zstd frame (codec 1), or the bytes as they are (codec 0) |
//! | trailer: skippable frame `0x184D2A5F` | magic (4) · length 28 (4) · `PSZT` · original size (u64 LE) · [`ContentHash`] (16 ASCII) |
//!
//! **No ambiguity:** plain bytes that begin with the header magic are themselves stored in a
//! container (codec 0), so no plain artifact is ever mistaken for one.
//!
//! Streams ([`StreamEncoder`], [`StreamDecoder`]) work in bounded memory: the encoder holds at
//! most `threshold` bytes while it decides, the decoder withholds only the trailer. Decoding a
//! container checks the original size and hash, so damage is an error, never wrong bytes.

use std::io::{self, Write};

use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::artifact::{Artifact, ArtifactKind, ArtifactMeta, ContentHash};

/// Artifacts at least this large are compressed by default (1 MiB).
pub const DEFAULT_THRESHOLD: u64 = 1 << 20;
/// zstd's default level: fast to write, about as small as gzip -9.
pub const DEFAULT_LEVEL: i32 = 3;

/// When and how hard to compress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompressionOptions {
    /// Artifacts of at least this many bytes are compressed; `None` stores every artifact plain.
    pub threshold: Option<u64>,
    /// zstd level, 1 (fastest) to 19.
    pub level: i32,
}

impl Default for CompressionOptions {
    fn default() -> Self {
        Self {
            threshold: Some(DEFAULT_THRESHOLD),
            level: DEFAULT_LEVEL,
        }
    }
}

impl CompressionOptions {
    /// Never compress (containers are still read).
    pub fn off() -> Self {
        Self {
            threshold: None,
            level: DEFAULT_LEVEL,
        }
    }

    /// Compress artifacts of at least `threshold` bytes.
    pub fn above(threshold: u64) -> Self {
        Self {
            threshold: Some(threshold),
            ..Self::default()
        }
    }

    fn applies_to(&self, len: u64) -> bool {
        self.threshold.is_some_and(|t| len >= t)
    }
}

const HEADER_MAGIC: [u8; 4] = 0x184D_2A5E_u32.to_le_bytes();
const TRAILER_MAGIC: [u8; 4] = 0x184D_2A5F_u32.to_le_bytes();
const VERSION: u8 = 1;
/// Bytes of the header frame.
pub const HEADER_LEN: usize = 16;
/// Bytes of the trailer frame.
pub const TRAILER_LEN: usize = 36;
/// A compressed body must be at most this fraction of the original to be worth a container.
const WORTH_IT: f64 = 0.9;

/// How a container's body is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Codec {
    /// As it is (an escaped plain artifact).
    Stored = 0,
    /// One zstd frame.
    Zstd = 1,
}

fn kind_byte(kind: Option<ArtifactKind>) -> u8 {
    match kind {
        None => 0,
        Some(ArtifactKind::Json) => 1,
        Some(ArtifactKind::Text) => 2,
        Some(ArtifactKind::Binary) => 3,
    }
}

fn header(codec: Codec, kind: Option<ArtifactKind>) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..4].copy_from_slice(&HEADER_MAGIC);
    h[4..8].copy_from_slice(&8u32.to_le_bytes());
    h[8..11].copy_from_slice(b"PSZ");
    h[11] = VERSION;
    h[12] = codec as u8;
    h[13] = kind_byte(kind);
    h
}

fn trailer(size: u64, hash: &ContentHash) -> [u8; TRAILER_LEN] {
    let mut t = [0u8; TRAILER_LEN];
    t[..4].copy_from_slice(&TRAILER_MAGIC);
    t[4..8].copy_from_slice(&28u32.to_le_bytes());
    t[8..12].copy_from_slice(b"PSZT");
    t[12..20].copy_from_slice(&size.to_le_bytes());
    t[20..36].copy_from_slice(hash.as_str().as_bytes());
    t
}

/// A parsed header: how the body is held and the artifact's kind, if recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Header {
    codec: Codec,
    kind: Option<ArtifactKind>,
}

/// Whether stored bytes starting with `prefix` (at least [`HEADER_LEN`] bytes, or the whole
/// artifact) are a container.
pub fn is_container(prefix: &[u8]) -> bool {
    prefix.len() >= HEADER_LEN && prefix[..11] == header(Codec::Stored, None)[..11]
}

/// `None`: not a container; `Some(Err)`: a container this version cannot read.
fn parse_header(prefix: &[u8]) -> Option<Result<Header, String>> {
    if !is_container(prefix) {
        return None;
    }
    if prefix[11] != VERSION {
        return Some(Err(format!(
            "container version {} is not supported (this perfstore reads version {VERSION})",
            prefix[11]
        )));
    }
    let codec = match prefix[12] {
        0 => Codec::Stored,
        1 => Codec::Zstd,
        other => return Some(Err(format!("unknown container codec {other}"))),
    };
    let kind = match prefix[13] {
        0 => None,
        1 => Some(ArtifactKind::Json),
        2 => Some(ArtifactKind::Text),
        3 => Some(ArtifactKind::Binary),
        other => return Some(Err(format!("unknown artifact kind {other} in container"))),
    };
    Some(Ok(Header { codec, kind }))
}

fn parse_trailer(bytes: &[u8]) -> Result<(u64, ContentHash), String> {
    let malformed = || "the container's trailer is missing or damaged".to_owned();
    if bytes.len() != TRAILER_LEN || bytes[..4] != TRAILER_MAGIC || &bytes[8..12] != b"PSZT" {
        return Err(malformed());
    }
    let mut size = [0u8; 8];
    size.copy_from_slice(&bytes[12..20]);
    let hash = std::str::from_utf8(&bytes[20..36])
        .ok()
        .and_then(ContentHash::parse)
        .ok_or_else(malformed)?;
    Ok((u64::from_le_bytes(size), hash))
}

/// The size, kind and hash a container reports from its first and last bytes alone (`head`
/// without reading the body); `None` if `head_bytes` is not a container.
pub fn container_meta(
    head_bytes: &[u8],
    tail_bytes: &[u8],
) -> Option<Result<ContainerMeta, String>> {
    let header = match parse_header(head_bytes)? {
        Ok(h) => h,
        Err(e) => return Some(Err(e)),
    };
    Some(parse_trailer(tail_bytes).map(|(size, hash)| ContainerMeta {
        size,
        kind: header.kind,
        hash,
    }))
}

/// What a container records about the original.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerMeta {
    /// Original size.
    pub size: u64,
    /// Kind, where recorded.
    pub kind: Option<ArtifactKind>,
    /// Hash of the original bytes.
    pub hash: ContentHash,
}

/// The bytes to store for `artifact` (a container if it is worth compressing, or must be
/// escaped; else the artifact's own bytes) and the original's metadata, hashed once for both.
pub fn encode(artifact: &Artifact, options: &CompressionOptions) -> (Bytes, ArtifactMeta) {
    let meta = artifact.meta();
    let bytes = artifact.bytes();
    if options.applies_to(bytes.len() as u64)
        && let Ok(body) = zstd::bulk::compress(bytes, options.level)
        && (body.len() as f64) <= bytes.len() as f64 * WORTH_IT
    {
        return (container(Codec::Zstd, artifact, &meta, &body), meta);
    }
    if bytes.starts_with(&HEADER_MAGIC) {
        return (container(Codec::Stored, artifact, &meta, bytes), meta);
    }
    (bytes.clone(), meta)
}

fn container(codec: Codec, artifact: &Artifact, meta: &ArtifactMeta, body: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(HEADER_LEN + body.len() + TRAILER_LEN);
    out.extend_from_slice(&header(codec, artifact.recorded_kind()));
    out.extend_from_slice(body);
    out.extend_from_slice(&trailer(meta.size, &meta.hash));
    Bytes::from(out)
}

/// The artifact held by stored bytes: the decoded original if they are a container (its
/// recorded kind winning over `kind`), else the bytes themselves with `kind`. `Err` names what
/// is damaged.
pub fn decode(stored: Bytes, kind: Option<ArtifactKind>) -> Result<Artifact, String> {
    let header = match parse_header(&stored) {
        None => return Ok(Artifact::from_stored(stored, kind)),
        Some(header) => header?,
    };
    if stored.len() < HEADER_LEN + TRAILER_LEN {
        return Err("the container is truncated".to_owned());
    }
    let (size, hash) = parse_trailer(&stored[stored.len() - TRAILER_LEN..])?;
    let body = stored.slice(HEADER_LEN..stored.len() - TRAILER_LEN);
    let original = match header.codec {
        Codec::Stored => body,
        Codec::Zstd => {
            // Never expand past the recorded size (plus one byte, to see a longer body): a
            // small crafted container cannot make a load allocate without bound.
            use std::io::Read;
            let decoder = zstd::stream::read::Decoder::new(&body[..])
                .map_err(|e| format!("the compressed body does not decode: {e}"))?;
            let mut out = Vec::with_capacity(usize::try_from(size.min(64 << 20)).unwrap_or(0));
            decoder
                .take(size.saturating_add(1))
                .read_to_end(&mut out)
                .map_err(|e| format!("the compressed body does not decode: {e}"))?;
            Bytes::from(out)
        }
    };
    check(
        original.len() as u64,
        &ContentHash::of(&original),
        size,
        &hash,
    )?;
    Ok(Artifact::from_stored(original, header.kind.or(kind)))
}

fn check(
    size: u64,
    hash: &ContentHash,
    want_size: u64,
    want_hash: &ContentHash,
) -> Result<(), String> {
    if size != want_size || hash != want_hash {
        return Err(format!(
            "decoded {size} bytes with hash {hash}, but the container records {want_size} bytes with hash {want_hash}"
        ));
    }
    Ok(())
}

/// What a stream turned out to be once it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamSummary {
    /// Original size and hash (and the kind given to the encoder, else binary).
    pub meta: ArtifactMeta,
    /// Bytes written to the backend.
    pub stored_size: u64,
    /// Whether the stored bytes are compressed.
    pub compressed: bool,
}

enum EncoderState {
    /// Buffering until there is enough to decide (the threshold, or the magic's length).
    Undecided(Vec<u8>),
    Plain,
    Stored,
    Zstd(zstd::stream::write::Encoder<'static, Vec<u8>>),
}

/// Turns a stream of original bytes into the stored bytes, chunk by chunk, in bounded memory.
///
/// Compression is decided once `threshold` bytes have arrived, by compressing them: if zstd does
/// not shrink them by a tenth (already-compressed data), the rest goes through plain.
pub struct StreamEncoder {
    options: CompressionOptions,
    kind: Option<ArtifactKind>,
    state: EncoderState,
    hasher: Sha256,
    size: u64,
    stored: u64,
}

impl StreamEncoder {
    /// An encoder recording `kind` in a container (`None`: inferred on load).
    pub fn new(options: CompressionOptions, kind: Option<ArtifactKind>) -> Self {
        Self {
            options,
            kind,
            state: EncoderState::Undecided(Vec::new()),
            hasher: Sha256::new(),
            size: 0,
            stored: 0,
        }
    }

    fn decide_at(&self) -> usize {
        match self.options.threshold {
            Some(t) => usize::try_from(t)
                .unwrap_or(usize::MAX)
                .max(HEADER_MAGIC.len()),
            None => HEADER_MAGIC.len(),
        }
    }

    /// Feeds original bytes; returns the stored bytes ready to write.
    pub fn push(&mut self, chunk: &[u8]) -> io::Result<Vec<u8>> {
        self.hasher.update(chunk);
        self.size += chunk.len() as u64;
        let decide_at = self.decide_at();
        let out = match &mut self.state {
            EncoderState::Undecided(buffer) => {
                buffer.extend_from_slice(chunk);
                if buffer.len() < decide_at {
                    Vec::new()
                } else {
                    let buffered = std::mem::take(buffer);
                    let (out, state) = self.decide(buffered)?;
                    self.state = state;
                    out
                }
            }
            EncoderState::Plain | EncoderState::Stored => chunk.to_vec(),
            EncoderState::Zstd(encoder) => {
                encoder.write_all(chunk)?;
                std::mem::take(encoder.get_mut())
            }
        };
        self.stored += out.len() as u64;
        Ok(out)
    }

    /// The state for a stream whose first bytes are `buffered`, and what to write now.
    fn decide(&self, buffered: Vec<u8>) -> io::Result<(Vec<u8>, EncoderState)> {
        let compress = self.options.applies_to(buffered.len() as u64)
            && zstd::bulk::compress(&buffered, self.options.level)
                .is_ok_and(|c| (c.len() as f64) <= buffered.len() as f64 * WORTH_IT);
        if compress {
            let mut encoder = zstd::stream::write::Encoder::new(Vec::new(), self.options.level)?;
            encoder.write_all(&buffered)?;
            let mut out = header(Codec::Zstd, self.kind).to_vec();
            out.append(encoder.get_mut());
            return Ok((out, EncoderState::Zstd(encoder)));
        }
        if buffered.starts_with(&HEADER_MAGIC) {
            let mut out = header(Codec::Stored, self.kind).to_vec();
            out.extend_from_slice(&buffered);
            return Ok((out, EncoderState::Stored));
        }
        Ok((buffered, EncoderState::Plain))
    }

    /// Ends the stream: the last stored bytes and the summary.
    pub fn finish(mut self) -> io::Result<(Vec<u8>, StreamSummary)> {
        let (mut out, state) = match std::mem::replace(&mut self.state, EncoderState::Plain) {
            EncoderState::Undecided(buffer) => self.decide(buffer)?,
            state => (Vec::new(), state),
        };
        let compressed = match state {
            EncoderState::Plain | EncoderState::Undecided(_) => {
                self.stored += out.len() as u64;
                return Ok((out, self.summary(false)));
            }
            EncoderState::Stored => false,
            EncoderState::Zstd(encoder) => {
                out.extend(encoder.finish()?);
                true
            }
        };
        let hash = ContentHash::from_digest(&self.hasher.clone().finalize());
        out.extend_from_slice(&trailer(self.size, &hash));
        self.stored += out.len() as u64;
        Ok((out, self.summary(compressed)))
    }

    fn summary(&self, compressed: bool) -> StreamSummary {
        StreamSummary {
            meta: ArtifactMeta {
                size: self.size,
                kind: self.kind.unwrap_or(ArtifactKind::Binary),
                hash: ContentHash::from_digest(&self.hasher.clone().finalize()),
            },
            stored_size: self.stored,
            compressed,
        }
    }
}

enum DecoderState {
    /// Fewer than [`HEADER_LEN`] bytes seen.
    Sniffing(Vec<u8>),
    Plain,
    Container(Box<ContainerDecoding>),
}

/// Decoding a container's body (boxed: far larger than the other states).
struct ContainerDecoding {
    zstd: Option<zstd::stream::write::Decoder<'static, Vec<u8>>>,
    /// The last bytes seen, withheld because they may be the trailer.
    pending: Vec<u8>,
    hasher: Sha256,
    size: u64,
}

/// Turns stored bytes back into the original, chunk by chunk, in bounded memory; a container's
/// size and hash are checked at [`finish`](StreamDecoder::finish).
pub struct StreamDecoder {
    state: DecoderState,
}

impl Default for StreamDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl StreamDecoder {
    /// A decoder for one stored artifact.
    pub fn new() -> Self {
        Self {
            state: DecoderState::Sniffing(Vec::new()),
        }
    }

    /// Feeds stored bytes; returns original bytes ready to hand out.
    pub fn push(&mut self, chunk: &[u8]) -> io::Result<Vec<u8>> {
        match &mut self.state {
            DecoderState::Sniffing(seen) => {
                seen.extend_from_slice(chunk);
                if seen.len() < HEADER_LEN {
                    return Ok(Vec::new());
                }
                let seen = std::mem::take(seen);
                self.start(seen)
            }
            DecoderState::Plain => Ok(chunk.to_vec()),
            DecoderState::Container(c) => {
                let ContainerDecoding {
                    zstd,
                    pending,
                    hasher,
                    size,
                } = c.as_mut();
                pending.extend_from_slice(chunk);
                if pending.len() <= TRAILER_LEN {
                    return Ok(Vec::new());
                }
                let body: Vec<u8> = pending.drain(..pending.len() - TRAILER_LEN).collect();
                let out = match zstd {
                    Some(decoder) => {
                        decoder.write_all(&body).map_err(damaged)?;
                        std::mem::take(decoder.get_mut())
                    }
                    None => body,
                };
                hasher.update(&out);
                *size += out.len() as u64;
                Ok(out)
            }
        }
    }

    fn start(&mut self, seen: Vec<u8>) -> io::Result<Vec<u8>> {
        match parse_header(&seen) {
            None => {
                self.state = DecoderState::Plain;
                Ok(seen)
            }
            Some(Err(e)) => Err(damaged(e)),
            Some(Ok(header)) => {
                let zstd = match header.codec {
                    Codec::Stored => None,
                    Codec::Zstd => Some(zstd::stream::write::Decoder::new(Vec::new())?),
                };
                self.state = DecoderState::Container(Box::new(ContainerDecoding {
                    zstd,
                    pending: Vec::new(),
                    hasher: Sha256::new(),
                    size: 0,
                }));
                self.push(&seen[HEADER_LEN..])
            }
        }
    }

    /// Ends the stream: the last original bytes; an error if a container was damaged.
    pub fn finish(self) -> io::Result<Vec<u8>> {
        match self.state {
            // Too short to be a container: plain bytes.
            DecoderState::Sniffing(seen) => Ok(seen),
            DecoderState::Plain => Ok(Vec::new()),
            DecoderState::Container(c) => {
                let ContainerDecoding {
                    zstd,
                    pending,
                    mut hasher,
                    mut size,
                } = *c;
                let (want_size, want_hash) = parse_trailer(&pending).map_err(damaged)?;
                let out = match zstd {
                    Some(mut decoder) => {
                        decoder.flush().map_err(damaged)?;
                        std::mem::take(decoder.get_mut())
                    }
                    None => Vec::new(),
                };
                hasher.update(&out);
                size += out.len() as u64;
                let hash = ContentHash::from_digest(&hasher.finalize());
                check(size, &hash, want_size, &want_hash).map_err(damaged)?;
                Ok(out)
            }
        }
    }
}

/// How many bytes a streaming save reads from its input at a time.
pub const STREAM_CHUNK: usize = 256 * 1024;

/// How a streamed save's input ended, filled in when the encoding stream ends.
#[derive(Debug, Clone, Default)]
pub struct StreamOutcome(std::sync::Arc<std::sync::Mutex<Option<Result<StreamSummary, String>>>>);

impl StreamOutcome {
    fn set(&self, outcome: Result<StreamSummary, String>) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(outcome);
    }

    /// `None` while the stream has not ended; `Some(Err)` with the input's error.
    pub fn get(&self) -> Option<Result<StreamSummary, String>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// The stored bytes of what `reader` yields, as a stream of chunks (for uploads); the outcome
/// is filled in when it ends. An input error ends the stream with that error.
pub fn encoding_stream(
    reader: crate::storage::ByteReader,
    options: CompressionOptions,
    kind: Option<ArtifactKind>,
) -> (
    impl futures::Stream<Item = io::Result<Bytes>> + Send + 'static,
    StreamOutcome,
) {
    use tokio::io::AsyncReadExt;
    let outcome = StreamOutcome::default();
    let slot = outcome.clone();
    let buf = vec![0u8; STREAM_CHUNK];
    let state = Some((reader, StreamEncoder::new(options, kind), slot, buf));
    let stream = futures::stream::unfold(state, |state| async move {
        let (mut reader, mut encoder, slot, mut buf) = state?;
        loop {
            let n = match reader.read(&mut buf).await {
                Ok(n) => n,
                Err(e) => {
                    slot.set(Err(e.to_string()));
                    return Some((Err(e), None));
                }
            };
            if n == 0 {
                return match encoder.finish() {
                    Ok((out, summary)) => {
                        slot.set(Ok(summary));
                        Some((Ok(Bytes::from(out)), None))
                    }
                    Err(e) => {
                        slot.set(Err(e.to_string()));
                        Some((Err(e), None))
                    }
                };
            }
            match encoder.push(&buf[..n]) {
                Ok(out) if out.is_empty() => continue,
                Ok(out) => {
                    return Some((Ok(Bytes::from(out)), Some((reader, encoder, slot, buf))));
                }
                Err(e) => {
                    slot.set(Err(e.to_string()));
                    return Some((Err(e), None));
                }
            }
        }
    });
    (stream, outcome)
}

/// The original bytes of a stored artifact arriving as `stored` chunks, as a reader; a damaged
/// container ends the reader with an [`io::ErrorKind::InvalidData`] error.
pub fn decoding_reader<S>(stored: S) -> crate::storage::ByteReader
where
    S: futures::Stream<Item = io::Result<Bytes>> + Send + 'static,
{
    use futures::StreamExt;
    let state = Some((Box::pin(stored), StreamDecoder::new()));
    let decoded = futures::stream::unfold(state, |state| async move {
        let (mut stored, mut decoder) = state?;
        loop {
            match stored.next().await {
                Some(Ok(chunk)) => match decoder.push(&chunk) {
                    Ok(out) if out.is_empty() => continue,
                    Ok(out) => return Some((Ok(Bytes::from(out)), Some((stored, decoder)))),
                    Err(e) => return Some((Err(e), None)),
                },
                Some(Err(e)) => return Some((Err(e), None)),
                None => {
                    return match decoder.finish() {
                        Ok(out) if out.is_empty() => None,
                        Ok(out) => Some((Ok(Bytes::from(out)), None)),
                        Err(e) => Some((Err(e), None)),
                    };
                }
            }
        }
    });
    Box::pin(tokio_util::io::StreamReader::new(decoded))
}

fn damaged(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("damaged container: {e}"),
    )
}

#[cfg(test)]
mod tests;
