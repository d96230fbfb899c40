//! What every format implements in both directions, the output buffer that enforces
//! `maxOutputLength` while it grows, and the one-shot drivers.
//!
//! A codec is fed in steps: some input (possibly none), a flush mode, and room in the output. It
//! consumes what it can, writes what fits, and says whether the requested operation is complete.
//! One-shot calls and streams run the same steps; only who supplies input and takes output differs.

use std::mem::MaybeUninit;
use std::ops::Range;

use super::settings::{BrotliSettings, DecodeSettings, DeflateSettings, ZstdSettings};
use super::{brotli, deflate, zstd};
use crate::runtime::bytes::ByteView;
use crate::runtime::{worth_shrinking, Cancel, ErrorKind, OffloopError, Result};

/// The formats, by the names the API takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
  Gzip,
  /// zlib's format (RFC 1950): node:zlib's `deflate()`.
  Deflate,
  /// Bare deflate (RFC 1951): node:zlib's `deflateRaw()`.
  DeflateRaw,
  Brotli,
  Zstd,
}

impl Format {
  /// In the order error messages list them.
  pub const NAMES: &'static [&'static str] = &["gzip", "deflate", "deflate-raw", "brotli", "zstd"];

  pub fn from_name(name: &str) -> Option<Self> {
    Some(match name {
      "gzip" => Format::Gzip,
      "deflate" => Format::Deflate,
      "deflate-raw" => Format::DeflateRaw,
      "brotli" => Format::Brotli,
      "zstd" => Format::Zstd,
      _ => return None,
    })
  }

  pub fn is_deflate(self) -> bool {
    matches!(self, Format::Gzip | Format::Deflate | Format::DeflateRaw)
  }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
  Compress,
  Decompress,
}

/// Options of a compressor, by format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncodeSettings {
  Deflate(DeflateSettings),
  Brotli(BrotliSettings),
  Zstd(ZstdSettings),
}

/// What a step is asked to complete besides consuming its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flush {
  /// Nothing: output may stay buffered inside the codec.
  None,
  /// Everything consumed so far can be decoded from the output written so far, which ends on a
  /// byte boundary (zlib's `Z_SYNC_FLUSH`, brotli's and zstd's flush).
  Sync,
  /// As `Sync`, and a decoder needs nothing before this point (zlib's `Z_FULL_FLUSH`; the same as
  /// `Sync` for brotli and zstd).
  Full,
  /// As `Sync`, ending on an empty fixed block instead of a byte boundary (zlib's
  /// `Z_PARTIAL_FLUSH`; `Sync` for brotli and zstd).
  Partial,
  /// The current deflate block is completed, and up to seven bits of it held back (zlib's
  /// `Z_BLOCK`; `Sync` for brotli and zstd).
  Block,
  /// The end: a compressor writes its trailer; a decompressor is told no more input will come.
  Finish,
}

impl Flush {
  /// The largest `kind` node:zlib's `flush(kind)` takes on a stream of `format`, in that format's
  /// constants: zlib's `Z_NO_FLUSH` (0) to `Z_BLOCK` (5), brotli's `BROTLI_OPERATION_*` (0-3),
  /// zstd's `ZSTD_e_*` (0-2).
  pub fn node_kinds(format: Format) -> u32 {
    match format {
      Format::Brotli => 3,
      Format::Zstd => 2,
      _ => 5,
    }
  }

  /// What node:zlib's `flush(kind)` asks of a stream of `format` (`kind` checked against
  /// `node_kinds`); `None` is its default: `Z_FULL_FLUSH`, brotli's and zstd's flush.
  pub fn from_node(format: Format, kind: Option<u32>) -> Flush {
    match (format, kind) {
      (_, Some(0)) => Flush::None,
      (Format::Brotli | Format::Zstd, Some(2)) => Flush::Finish,
      // brotli's EMIT_METADATA (3), with no metadata to emit, is a flush.
      (Format::Brotli | Format::Zstd, _) => Flush::Sync,
      (_, Some(1)) => Flush::Partial,
      (_, Some(2)) => Flush::Sync,
      (_, Some(4)) => Flush::Finish,
      (_, Some(5)) => Flush::Block,
      _ => Flush::Full,
    }
  }

  /// A flush that makes output of everything so far: complete when the codec returns with output
  /// room to spare (zlib's rule, which every codec here follows).
  pub fn outputs_all(self) -> bool {
    matches!(self, Flush::Sync | Flush::Full | Flush::Partial | Flush::Block)
  }
}

/// How far a step got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
  pub consumed: usize,
  /// A compressor finished the step's flush (with all input consumed); a decompressor reached the
  /// end of the compressed data (anything after it is ignored, as node:zlib does).
  pub done: bool,
}

/// A compressor or decompressor in progress.
pub trait Codec: Send {
  /// Consumes from `input` and writes into `output`'s spare room; never blocks for more of either.
  fn step(&mut self, input: &[u8], output: &mut Output, flush: Flush) -> Result<Step>;

  /// About how many bytes of native memory the codec holds now: a hint to V8's garbage collector
  /// for streams (a zstd compressor holds some 800 KB behind a small JS object).
  fn held(&self) -> usize;
}

impl Format {
  /// `size`: the whole input's length, when known (one-shot calls).
  pub fn encoder(self, settings: &EncodeSettings, size: Option<u64>) -> Result<Box<dyn Codec>> {
    Ok(match (self, settings) {
      (Format::Brotli, EncodeSettings::Brotli(settings)) => Box::new(brotli::Encoder::new(settings)?),
      (Format::Zstd, EncodeSettings::Zstd(settings)) => Box::new(zstd::Encoder::new(settings, size)?),
      (format, EncodeSettings::Deflate(settings)) if format.is_deflate() => deflate::encoder(format, settings)?,
      _ => return Err(internal("settings of another format")),
    })
  }

  pub fn decoder(self, settings: &DecodeSettings) -> Result<Box<dyn Codec>> {
    Ok(match self {
      Format::Brotli => Box::new(brotli::Decoder::new(&settings.brotli)?),
      Format::Zstd => Box::new(zstd::Decoder::new(&settings.zstd)?),
      format => Box::new(deflate::Decoder::new(format, settings.window_bits)?),
    })
  }
}

/// Output that grows in steps and refuses to grow past `limit` bytes: node:zlib's
/// `maxOutputLength`, checked as the data is produced, never after.
pub struct Output {
  bytes: Vec<u8>,
  limit: usize,
}

impl Output {
  pub fn new(limit: usize) -> Self {
    Output {
      bytes: Vec::new(),
      limit,
    }
  }

  pub fn len(&self) -> usize {
    self.bytes.len()
  }

  pub fn is_empty(&self) -> bool {
    self.bytes.is_empty()
  }

  /// Makes room for at least `want` more bytes (fewer near the limit), growing geometrically so a
  /// large output costs O(log n) reallocations. Capacity stays within `limit + 1`: one byte past
  /// the limit is how a codec's overflow is seen.
  pub fn reserve(&mut self, want: usize) -> Result<()> {
    let ceiling = self.limit.saturating_add(1);
    let len = self.bytes.len();
    let wanted = len.saturating_add(want.max(1)).min(ceiling);
    if self.bytes.capacity() >= wanted {
      return Ok(());
    }
    let target = wanted.max(self.bytes.capacity().saturating_mul(2)).min(ceiling);
    self
      .bytes
      .try_reserve_exact(target - len)
      .map_err(|_| out_of_memory(target))
  }

  /// The spare room, uninitialized, never more than one byte past the limit.
  pub fn spare(&mut self) -> &mut [MaybeUninit<u8>] {
    let room = self.limit.saturating_add(1).saturating_sub(self.bytes.len());
    let spare = self.bytes.spare_capacity_mut();
    let room = room.min(spare.len());
    &mut spare[..room]
  }

  /// Counts `written` bytes of the spare room as output.
  ///
  /// # Safety
  /// The first `written` bytes of [`spare`](Self::spare) were initialized since it was taken.
  pub unsafe fn advance(&mut self, written: usize) {
    // SAFETY: `written` bytes past `len` lie within the capacity and are initialized (this
    // function's contract).
    unsafe { self.bytes.set_len(self.bytes.len() + written) };
  }

  /// For codecs that write into a `Vec`'s spare capacity themselves (zstd).
  pub fn vec(&mut self) -> &mut Vec<u8> {
    &mut self.bytes
  }

  /// Appends bytes a codec produced in a buffer of its own.
  pub fn extend(&mut self, bytes: &[u8]) -> Result<()> {
    if bytes.len() > self.limit - self.bytes.len().min(self.limit) {
      return Err(too_large(self.limit));
    }
    self
      .bytes
      .try_reserve(bytes.len())
      .map_err(|_| out_of_memory(bytes.len()))?;
    self.bytes.extend_from_slice(bytes);
    Ok(())
  }

  /// Fails once the output went past the limit.
  pub fn check(&self) -> Result<()> {
    match self.bytes.len() > self.limit {
      true => Err(too_large(self.limit)),
      false => Ok(()),
    }
  }

  /// The bytes, without their spare capacity when it is worth a shrink (`worth_shrinking`): the
  /// buffer becomes a JS Buffer that keeps all of it until garbage collection. (glibc shrinks
  /// large blocks in place.)
  pub fn into_bytes(mut self) -> Vec<u8> {
    if worth_shrinking(self.bytes.capacity(), self.bytes.len()) {
      self.bytes.shrink_to_fit();
    }
    self.bytes
  }
}

/// Input a one-shot call reads slice by slice: the caller's bytes (sync calls), or a view that may
/// be JavaScript's memory, which must be read through [`ByteView::read`].
#[allow(clippy::len_without_is_empty)]
pub trait Source {
  fn len(&self) -> usize;
  fn with<R>(&self, range: Range<usize>, f: impl FnOnce(&[u8]) -> R) -> Result<R>;
}

impl Source for [u8] {
  fn len(&self) -> usize {
    <[u8]>::len(self)
  }

  fn with<R>(&self, range: Range<usize>, f: impl FnOnce(&[u8]) -> R) -> Result<R> {
    Ok(f(&self[range]))
  }
}

impl Source for ByteView {
  fn len(&self) -> usize {
    ByteView::len(self)
  }

  fn with<R>(&self, range: Range<usize>, f: impl FnOnce(&[u8]) -> R) -> Result<R> {
    self.read(|bytes| f(&bytes[range]))
  }
}

/// Input per step: an abort is seen, and a terminating worker waits for the slice being read,
/// within milliseconds.
const SLICE: usize = 1 << 20;

/// Output room a step is given, at most: a decompressor's output may be far larger than its slice.
const STEP_ROOM: usize = 4 << 20;

/// Output room a compressing step is given, at most. Compressed output is usually far smaller than
/// the slice, and the one-shot buffer starts at a quarter of the input: asking for `STEP_ROOM`
/// grew a 4 MiB input's buffer from 1 MiB to 8 MiB at its second step, for 0.8 MiB of output. A
/// step that runs out of room goes on in the next one.
const COMPRESS_STEP_ROOM: usize = SLICE / 4;

/// Compresses `input` whole. Without the host's zlib, gzip and deflate at zlib's default shape go
/// through libdeflate (one call, no slices: it has no streaming); everything else steps through
/// its codec.
pub fn compress(
  format: Format,
  settings: &EncodeSettings,
  input: &(impl Source + ?Sized),
  limit: usize,
  cancel: &Cancel,
) -> Result<Vec<u8>> {
  cancel.check()?;
  if let EncodeSettings::Deflate(deflate) = settings {
    if let Some(bytes) = input.with(0..input.len(), |bytes| deflate::compress_whole(format, deflate, bytes))? {
      let bytes = bytes?;
      if bytes.len() > limit {
        return Err(too_large(limit));
      }
      return Ok(bytes);
    }
  }
  let codec = format.encoder(settings, Some(input.len() as u64))?;
  // Compressed output is usually far smaller than the input; start at a quarter and grow.
  whole(codec, Direction::Compress, input, input.len() / 4, limit, cancel)
}

/// Decompresses `input` whole, failing with `ERR_BUFFER_TOO_LARGE` as soon as the output passes
/// `limit`, and with `Z_BUF_ERROR` when the compressed data ends early.
pub fn decompress(
  format: Format,
  settings: &DecodeSettings,
  input: &(impl Source + ?Sized),
  limit: usize,
  cancel: &Cancel,
) -> Result<Vec<u8>> {
  cancel.check()?;
  let codec = format.decoder(settings)?;
  // A first guess of 4x the input, grown geometrically from there.
  whole(
    codec,
    Direction::Decompress,
    input,
    input.len().saturating_mul(4),
    limit,
    cancel,
  )
}

/// Runs `codec` over all of `input` to its end, into an output first given room for `guess` bytes
/// (within 1 KiB and 64 MiB).
fn whole(
  mut codec: Box<dyn Codec>,
  direction: Direction,
  input: &(impl Source + ?Sized),
  guess: usize,
  limit: usize,
  cancel: &Cancel,
) -> Result<Vec<u8>> {
  let mut output = Output::new(limit);
  output.reserve(guess.clamp(1 << 10, 64 << 20))?;
  drive(
    codec.as_mut(),
    direction,
    input,
    &mut 0,
    Flush::Finish,
    &mut output,
    usize::MAX,
    cancel,
  )?;
  Ok(output.into_bytes())
}

/// Runs `codec` over `input[*position..]` and then `flush`, a slice per step, until the operation
/// is complete (`Ok(true)`) or `output` holds `budget` bytes (`Ok(false)`: call again to go on).
/// `position` advances over what was consumed. One-shot calls run one operation to completion;
/// a stream runs one per write, flush or end, in pieces of its chunk size.
#[allow(clippy::too_many_arguments)]
pub fn drive(
  codec: &mut dyn Codec,
  direction: Direction,
  input: &(impl Source + ?Sized),
  position: &mut usize,
  flush: Flush,
  output: &mut Output,
  budget: usize,
  cancel: &Cancel,
) -> Result<bool> {
  loop {
    cancel.check()?;
    if output.len() >= budget {
      return Ok(false);
    }
    let room = match direction {
      Direction::Compress => COMPRESS_STEP_ROOM,
      Direction::Decompress => STEP_ROOM,
    };
    output.reserve((budget - output.len()).min(room))?;
    let end = input.len().min(*position + SLICE);
    let step_flush = if end == input.len() { flush } else { Flush::None };
    let written_before = output.len();
    let step = input.with(*position..end, |bytes| codec.step(bytes, output, step_flush))??;
    output.check()?;
    *position += step.consumed;
    let progressed = step.consumed > 0 || output.len() > written_before;
    if *position < input.len() {
      if !progressed {
        return Err(internal("a codec made no progress"));
      }
      continue;
    }
    if step.done {
      return Ok(true);
    }
    // Input and output room were there and nothing moved: the codec needs input that will not
    // come. At the end that is compressed data cut short; otherwise the operation is complete (a
    // decompressor has written all it can).
    if !progressed {
      return match (flush, direction) {
        (Flush::Finish, Direction::Decompress) => Err(truncated()),
        (Flush::Finish, Direction::Compress) => Err(internal("a compressor did not finish")),
        _ => Ok(true),
      };
    }
  }
}

/// Corrupt input: node:zlib's code for it, `Z_DATA_ERROR` (errno -3), for every format.
pub fn data_error(message: impl Into<String>) -> OffloopError {
  OffloopError::error("Z_DATA_ERROR", message).with_integer_property("errno", -3)
}

/// Input that ends before its format's end marker: node:zlib's `Z_BUF_ERROR` (errno -5) with its
/// message, for every format.
pub fn truncated() -> OffloopError {
  OffloopError::error("Z_BUF_ERROR", "unexpected end of file").with_integer_property("errno", -5)
}

/// Output past `maxOutputLength`: node:zlib's RangeError and wording.
pub fn too_large(limit: usize) -> OffloopError {
  OffloopError::new(
    ErrorKind::RangeError,
    "ERR_BUFFER_TOO_LARGE",
    format!("Cannot create a Buffer larger than {limit} bytes (options.maxOutputLength)"),
  )
}

fn out_of_memory(bytes: usize) -> OffloopError {
  OffloopError::error(
    "ERR_MEMORY_ALLOCATION_FAILED",
    format!("Failed to allocate memory: {bytes} bytes for the output"),
  )
}

pub fn internal(what: &str) -> OffloopError {
  OffloopError::error("ERR_OFFLOOP_INTERNAL", format!("offloop: compression: {what}"))
}
