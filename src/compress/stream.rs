//! The state of one compression or decompression stream, driven on the pool one call at a time
//! (the calls are queued in order through `runtime::serial`).
//!
//! Each call (a written chunk, a flush, the end) produces at most `chunk_size` bytes of output. If
//! it has more to give, its input stays here and `more` says so; the stream asks for the rest with
//! `resume()` once its reader wants data. So one small, highly compressed chunk (a decompression
//! bomb) comes out a piece at a time, as fast as the reader takes it, never all at once.

use super::codec::{drive, Codec, Direction, EncodeSettings, Flush, Format, Output};
use super::settings::DecodeSettings;
use crate::runtime::bytes::ByteView;
use crate::runtime::{Cancel, OffloopError, Result};

/// What a stream's codec is made from. It is made on the pool at the first call: a zlib
/// compressor's tables (some 300 KB to allocate and clear) are not the JS thread's work.
pub enum Recipe {
  Compress(Format, EncodeSettings),
  Decompress(Format, DecodeSettings),
}

impl Recipe {
  fn build(&self) -> Result<Box<dyn Codec>> {
    match self {
      Recipe::Compress(format, settings) => format.encoder(settings, None),
      Recipe::Decompress(format, settings) => format.decoder(settings),
    }
  }

  fn direction(&self) -> Direction {
    match self {
      Recipe::Compress(..) => Direction::Compress,
      Recipe::Decompress(..) => Direction::Decompress,
    }
  }
}

pub struct StreamState {
  recipe: Recipe,
  codec: Option<Box<dyn Codec>>,
  /// The operation in progress: its input, how much of it was consumed, and its flush.
  pending: Option<(ByteView, usize, Flush)>,
  /// Output still allowed (`maxOutputLength` over the whole stream).
  allowance: usize,
  chunk_size: usize,
  /// The end was reached, or a call failed: later calls are refused.
  closed: bool,
  /// The end was reached (by `end()` or a finishing flush), not a failure or `close()`.
  finished: bool,
}

/// What one call produced.
#[derive(Default)]
pub struct Chunk {
  pub bytes: Vec<u8>,
  /// The call stopped at `chunk_size` bytes with more to come: call `resume()`.
  pub more: bool,
  /// The native memory the stream's codec holds after the call (`Codec::held`).
  pub held: usize,
}

impl StreamState {
  pub fn new(recipe: Recipe, limit: usize, chunk_size: usize) -> Self {
    StreamState {
      recipe,
      codec: None,
      pending: None,
      allowance: limit,
      chunk_size,
      closed: false,
      finished: false,
    }
  }

  /// Starts an operation: `input` (possibly empty), then `flush`.
  pub fn begin(&mut self, input: ByteView, flush: Flush, cancel: &Cancel) -> Result<Chunk> {
    if self.closed {
      // node:zlib's `flush(Z_FINISH)` ends a stream early; its `end()` then adds nothing.
      if self.finished && flush == Flush::Finish && input.len() == 0 {
        return Ok(Chunk::default());
      }
      return Err(invalid_state("the stream has ended"));
    }
    if self.pending.is_some() {
      return Err(invalid_state("the previous call has more output: resume() first"));
    }
    self.pending = Some((input, 0, flush));
    self.resume(cancel)
  }

  /// Goes on with the operation in progress (nothing, if there is none).
  pub fn resume(&mut self, cancel: &Cancel) -> Result<Chunk> {
    if self.closed && self.pending.is_none() {
      return Err(invalid_state("the stream has ended"));
    }
    let result = self.advance(cancel);
    if result.is_err() {
      self.closed = true;
      self.pending = None;
    }
    // An ended or failed stream frees its codec now, not at its garbage collection, which V8
    // schedules by the memory it was told of (`held`, reported when the call settles).
    if self.closed {
      self.codec = None;
    }
    let held = self.codec.as_ref().map_or(0, |codec| codec.held());
    result.map(|chunk| Chunk { held, ..chunk })
  }

  /// Frees the codec (a zlib compressor holds some 300 KB) now rather than at garbage collection;
  /// later calls are refused.
  pub fn close(&mut self) {
    self.codec = None;
    self.pending = None;
    self.closed = true;
  }

  fn advance(&mut self, cancel: &Cancel) -> Result<Chunk> {
    let Some((input, position, flush)) = self.pending.as_mut() else {
      return Ok(Chunk {
        bytes: Vec::new(),
        more: false,
        held: 0,
      });
    };
    let flush = *flush;
    let codec = match &mut self.codec {
      Some(codec) => codec,
      None => self.codec.insert(self.recipe.build()?),
    };
    let mut output = Output::new(self.allowance);
    let complete = drive(
      codec.as_mut(),
      self.recipe.direction(),
      input,
      position,
      flush,
      &mut output,
      self.chunk_size,
      cancel,
    )?;
    self.allowance -= output.len();
    if complete {
      self.pending = None;
      self.closed = flush == Flush::Finish;
      self.finished = self.closed;
    }
    Ok(Chunk {
      bytes: output.into_bytes(),
      more: !complete,
      held: 0,
    })
  }
}

fn invalid_state(what: &str) -> OffloopError {
  OffloopError::error("ERR_INVALID_STATE", format!("Invalid state: {what}"))
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::compress::codec::decompress;
  use crate::compress::settings::DeflateSettings;

  fn drain(stream: &mut StreamState, input: &[u8], flush: Flush) -> Vec<u8> {
    let cancel = Cancel::default();
    let mut chunk = stream.begin(ByteView::Copied(input.to_vec()), flush, &cancel).unwrap();
    let mut out = Vec::new();
    loop {
      assert!(chunk.bytes.len() <= 1000);
      out.extend_from_slice(&chunk.bytes);
      if !chunk.more {
        return out;
      }
      chunk = stream.resume(&cancel).unwrap();
    }
  }

  fn gzip_stream() -> StreamState {
    let settings = EncodeSettings::Deflate(DeflateSettings::default());
    StreamState::new(Recipe::Compress(Format::Gzip, settings), usize::MAX, 1000)
  }

  fn gunzip_stream(limit: usize) -> StreamState {
    StreamState::new(Recipe::Decompress(Format::Gzip, DecodeSettings::default()), limit, 1000)
  }

  #[test]
  fn the_codec_is_freed_when_the_stream_ends_or_fails() {
    let mut stream = gzip_stream();
    drain(&mut stream, b"some data", Flush::None);
    assert!(stream.codec.is_some());
    drain(&mut stream, &[], Flush::Finish);
    assert!(stream.codec.is_none(), "kept after the end");

    let mut stream = gunzip_stream(usize::MAX);
    let cancel = Cancel::default();
    let error = stream.begin(ByteView::Copied(b"not gzip at all".to_vec()), Flush::None, &cancel);
    assert!(error.is_err());
    assert!(stream.codec.is_none(), "kept after a failure");
  }

  #[test]
  fn each_call_says_what_its_codec_holds_and_an_ended_stream_holds_nothing() {
    use crate::compress::settings::{BrotliSettings, ZstdSettings};
    let cancel = Cancel::default();
    // zlib's own account (zconf.h) for its defaults: 128 KiB of window and 128 KiB of hash chains.
    let mut gzip = gzip_stream();
    let chunk = gzip
      .begin(ByteView::Copied(b"abc".to_vec()), Flush::None, &cancel)
      .unwrap();
    assert_eq!(chunk.held, (256 + 6) << 10);
    assert_eq!(
      gzip
        .begin(ByteView::Copied(Vec::new()), Flush::Finish, &cancel)
        .unwrap()
        .held,
      0
    );
    for (format, settings) in [
      (Format::Brotli, EncodeSettings::Brotli(BrotliSettings::default())),
      (Format::Zstd, EncodeSettings::Zstd(ZstdSettings::default())),
    ] {
      let mut stream = StreamState::new(Recipe::Compress(format, settings), usize::MAX, 1000);
      let held = stream
        .begin(ByteView::Copied(vec![7; 100_000]), Flush::None, &cancel)
        .unwrap()
        .held;
      assert!(held > 64 << 10, "{format:?}: {held}");
      let mut chunk = stream
        .begin(ByteView::Copied(Vec::new()), Flush::Finish, &cancel)
        .unwrap();
      while chunk.more {
        chunk = stream.resume(&cancel).unwrap();
      }
      assert_eq!(chunk.held, 0, "{format:?}");
    }
  }

  #[test]
  fn a_sync_flush_makes_everything_so_far_decodable_in_every_format() {
    use crate::compress::settings::{BrotliSettings, ZstdSettings};
    for (format, settings) in [
      (Format::Gzip, EncodeSettings::Deflate(DeflateSettings::default())),
      (Format::Brotli, EncodeSettings::Brotli(BrotliSettings::default())),
      (Format::Zstd, EncodeSettings::Zstd(ZstdSettings::default())),
    ] {
      let mut stream = StreamState::new(Recipe::Compress(format, settings), usize::MAX, 1000);
      let mut sent = drain(&mut stream, b"event: one\n\n", Flush::None);
      sent.extend(drain(&mut stream, &[], Flush::Sync));
      if format == Format::Gzip {
        // zlib's sync marker: an empty stored block.
        assert!(sent.ends_with(&[0, 0, 0xff, 0xff]));
      }
      let mut decoder = format.decoder(&DecodeSettings::default()).unwrap();
      let mut output = Output::new(usize::MAX - 1);
      output.reserve(1 << 10).unwrap();
      decoder.step(&sent, &mut output, Flush::None).unwrap();
      assert_eq!(output.into_bytes(), b"event: one\n\n", "{format:?}");
    }
  }

  #[test]
  fn output_comes_in_pieces_of_the_chunk_size_and_adds_up() {
    let data: Vec<u8> = (0..200_000u32)
      .flat_map(|i| (i * 7919 % 1000).to_string().into_bytes())
      .collect();
    let mut stream = gzip_stream();
    let mut packed = Vec::new();
    for part in data.chunks(33_333) {
      packed.extend(drain(&mut stream, part, Flush::None));
    }
    packed.extend(drain(&mut stream, &[], Flush::Finish));
    let cancel = Cancel::default();
    assert_eq!(
      decompress(
        Format::Gzip,
        &DecodeSettings::default(),
        &packed[..],
        usize::MAX,
        &cancel
      )
      .unwrap(),
      data
    );
    // Decompressing a bomb chunk by chunk: each piece within the chunk size.
    let zeros = vec![0u8; 10 << 20];
    let settings = EncodeSettings::Deflate(DeflateSettings::default());
    let bomb = crate::compress::codec::compress(Format::Gzip, &settings, &zeros[..], usize::MAX, &cancel).unwrap();
    let mut inflating = gunzip_stream(usize::MAX);
    let mut total = drain(&mut inflating, &bomb, Flush::None).len();
    total += drain(&mut inflating, &[], Flush::Finish).len();
    assert_eq!(total, zeros.len());
    assert!(inflating.begin(ByteView::Copied(vec![]), Flush::None, &cancel).is_err());
  }

  #[test]
  fn the_stream_limit_covers_the_whole_stream() {
    let cancel = Cancel::default();
    let settings = EncodeSettings::Deflate(DeflateSettings::default());
    let packed =
      crate::compress::codec::compress(Format::Gzip, &settings, &[7u8; 5000][..], usize::MAX, &cancel).unwrap();
    let mut stream = gunzip_stream(4000);
    let mut error = None;
    let mut chunk = stream.begin(ByteView::Copied(packed), Flush::Finish, &cancel);
    while let Ok(Chunk { more: true, .. }) = chunk {
      chunk = stream.resume(&cancel);
    }
    if let Err(e) = chunk {
      error = Some(e);
    }
    assert_eq!(error.unwrap().code, "ERR_BUFFER_TOO_LARGE");
    // A failed stream refuses further calls.
    assert_eq!(
      stream
        .begin(ByteView::Copied(vec![]), Flush::None, &cancel)
        .err()
        .unwrap()
        .code,
      "ERR_INVALID_STATE"
    );
  }
}
