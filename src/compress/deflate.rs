//! gzip, zlib and raw deflate: compression through the host's zlib (`host_zlib`, node:zlib's own
//! output) where Node exports it, otherwise zlib-rs for streams and libdeflate for one-shot calls;
//! zlib-rs for every decompression.
//!
//! Without the host's zlib: node:zlib runs Chromium's zlib, whose output at a given level is
//! smaller than stock zlib's, zlib-ng's or zlib-rs's (zlib-rs at level 1 uses zlib-ng's "quick"
//! strategy: +22-39%). A caller who picks level L expects node:zlib's size at L or better, so each
//! library runs at the lowest of its own levels whose output was no larger than node:zlib's at L on
//! every corpus measured (JSON API responses, JavaScript source, English text, an x86 binary;
//! benchmark/NOTES.md); still up to 2% larger on some short inputs. libdeflate meets that at a
//! level that is still faster than node:zlib; zlib-rs is needed only where libdeflate cannot go:
//! streams (it has no streaming) and a non-default window, hash size or strategy.

use std::alloc::{alloc_zeroed, Layout};

use libdeflater::{CompressionLvl, Compressor};
use zlib_rs::{DeflateConfig, DeflateFlush, InflateError, InflateFlush, Method, Status, Strategy};

use super::codec::{data_error, internal, Codec, Flush, Format, Output, Step};
use super::host_zlib;
use super::members::{Member, Members, Next};
use super::settings::DeflateSettings;
use crate::runtime::{OffloopError, Result};

/// libdeflate's level for node:zlib's level 0-9 (its own run 0-12): the one that needed the fewest
/// instructions (callgrind, 1 MiB of JSON) among those no larger than node:zlib's at that level on
/// every corpus. Tightest fits: 7 for 6 and 7 (99.7% and 99.99% of node:zlib's size on JavaScript
/// source), 2 for 1 (its own 1 came out 0.9% larger on JSON mixed with incompressible bytes). Its 9
/// needed 32% more instructions than its 8 for 1% less output, and 8 is already smaller than
/// node:zlib's 9, which is its own 8 (benchmark/NOTES.md).
const ONE_SHOT_LEVEL: [i32; 10] = [0, 2, 3, 4, 4, 6, 7, 7, 8, 8];

/// zlib-rs's level for node:zlib's level 0-9. zlib-rs's own 9 came out 4-7% larger than its 8 on
/// JSON, so 8 serves 9 too; at 8 and 9 its output is within 0.001% of node:zlib's, not always at or
/// below it (4 bytes more on 2.4 MB of JSON).
const STREAM_LEVEL: [i32; 10] = [0, 2, 3, 4, 4, 6, 7, 8, 8, 8];

/// zlib's `windowBits` argument for `format`: +16 selects the gzip wrapper, a negative value raw
/// deflate. zlib refuses 8 for raw deflate, which node:zlib turns into 9; so does this.
fn zlib_window_bits(format: Format, window_bits: u8) -> i32 {
  let bits = i32::from(window_bits);
  match format {
    Format::Gzip => bits + 16,
    Format::DeflateRaw => -bits.max(9),
    _ => bits,
  }
}

/// What a zlib compressor allocates, by zlib's own account (zconf.h): the window twice over, the
/// hash chains, and a few kilobytes more.
pub fn compressor_memory(window_bits: u8, mem_level: u8) -> usize {
  // zlib runs a window of 8 as 9.
  (1 << (window_bits.max(9) + 2)) + (1 << (mem_level + 9)) + (6 << 10)
}

/// Inputs shorter than this go to zlib-rs: on them libdeflate's output was up to 3 bytes larger
/// than node:zlib's at a third of the sizes measured (it stores a short input where zlib writes a
/// static Huffman block), zlib-rs's at under 1%; either takes microseconds here.
const SHORT_INPUT: usize = 4096;

/// A compressor: the host's zlib where there is one, zlib-rs otherwise.
pub fn encoder(format: Format, settings: &DeflateSettings) -> Result<Box<dyn Codec>> {
  let window_bits = zlib_window_bits(format, settings.window_bits);
  match host_zlib::Deflater::new(settings, window_bits) {
    Some(host) => Ok(Box::new(host?)),
    None => Ok(Box::new(Encoder::new(format, settings)?)),
  }
}

/// Compresses `input` in one call with libdeflate, or returns `None` when a stepping compressor
/// should: the host's zlib, or zlib-rs for a window, hash size or strategy other than zlib's
/// defaults, or a short input.
pub fn compress_whole(format: Format, settings: &DeflateSettings, input: &[u8]) -> Option<Result<Vec<u8>>> {
  if host_zlib::available() || !settings.is_default_shape() || input.len() < SHORT_INPUT {
    return None;
  }
  Some(compress_with_libdeflate(format, settings.level, input))
}

fn compress_with_libdeflate(format: Format, level: u8, input: &[u8]) -> Result<Vec<u8>> {
  let level = CompressionLvl::new(ONE_SHOT_LEVEL[usize::from(level)]).map_err(|_| internal("libdeflate level"))?;
  let mut compressor = Compressor::new(level);
  let bound = match format {
    Format::Gzip => compressor.gzip_compress_bound(input.len()),
    Format::Deflate => compressor.zlib_compress_bound(input.len()),
    _ => compressor.deflate_compress_bound(input.len()),
  };
  let mut output = zeroed(bound)?;
  let written = match format {
    Format::Gzip => compressor.gzip_compress(input, &mut output),
    Format::Deflate => compressor.zlib_compress(input, &mut output),
    _ => compressor.deflate_compress(input, &mut output),
  }
  .map_err(|_| internal("libdeflate's output exceeded its own bound"))?;
  output.truncate(written);
  output.shrink_to_fit();
  Ok(output)
}

/// A zeroed buffer whose pages the OS maps only when written: libdeflate wants an initialized
/// slice as large as its worst case, of which it usually writes a fraction. A failed allocation is
/// an error, not Rust's abort.
fn zeroed(len: usize) -> Result<Vec<u8>> {
  if len == 0 {
    return Ok(Vec::new());
  }
  let layout = Layout::array::<u8>(len).map_err(|_| internal("output size"))?;
  // SAFETY: `layout` has a non-zero size (len > 0).
  let pointer = unsafe { alloc_zeroed(layout) };
  if pointer.is_null() {
    return Err(OffloopError::error(
      "ERR_MEMORY_ALLOCATION_FAILED",
      format!("Failed to allocate memory: {len} bytes for the output"),
    ));
  }
  // SAFETY: allocated by the global allocator with the layout of `[u8; len]`, all bytes zeroed.
  Ok(unsafe { Vec::from_raw_parts(pointer, len, len) })
}

/// A zlib-rs compressor, where the host has no zlib: streams, and one-shot calls with non-default
/// settings.
pub struct Encoder {
  deflate: zlib_rs::Deflate,
  memory: usize,
}

impl Encoder {
  pub fn new(format: Format, settings: &DeflateSettings) -> Result<Self> {
    let strategy = Strategy::try_from(i32::from(settings.strategy)).map_err(|_| internal("strategy"))?;
    let config = DeflateConfig {
      level: STREAM_LEVEL[usize::from(settings.level)],
      method: Method::Deflated,
      window_bits: zlib_window_bits(format, settings.window_bits),
      mem_level: i32::from(settings.mem_level),
      strategy,
    };
    // The settings were range-checked when decoded, so zlib-rs's assertion that init succeeded
    // cannot fire on caller input; a panic would still only reject the call.
    Ok(Encoder {
      deflate: zlib_rs::Deflate::new_with_config(config),
      memory: compressor_memory(settings.window_bits, settings.mem_level),
    })
  }
}

impl Codec for Encoder {
  fn step(&mut self, input: &[u8], output: &mut Output, flush: Flush) -> Result<Step> {
    let mode = match flush {
      Flush::None => DeflateFlush::NoFlush,
      Flush::Sync => DeflateFlush::SyncFlush,
      Flush::Full => DeflateFlush::FullFlush,
      Flush::Partial => DeflateFlush::PartialFlush,
      Flush::Block => DeflateFlush::Block,
      Flush::Finish => DeflateFlush::Finish,
    };
    let (in_before, out_before) = (self.deflate.total_in(), self.deflate.total_out());
    let spare = output.spare();
    let room = spare.len();
    let status = self
      .deflate
      .compress_uninit(input, spare, mode)
      .map_err(|e| internal(e.as_str()))?;
    let consumed = (self.deflate.total_in() - in_before) as usize;
    let written = (self.deflate.total_out() - out_before) as usize;
    // SAFETY: zlib-rs wrote `written` bytes at the start of the spare room it was given.
    unsafe { output.advance(written) };
    let done = match flush {
      Flush::Finish => status == Status::StreamEnd,
      Flush::None => consumed == input.len(),
      // zlib's rule: a flush is complete when it returns with output room to spare.
      _ => consumed == input.len() && written < room,
    };
    Ok(Step { consumed, done })
  }

  fn held(&self) -> usize {
    self.memory
  }
}

/// A zlib-rs decompressor, member by member: a gzip stream may hold several, and what follows one
/// decides (`next`); zlib and raw streams hold one.
pub type Decoder = Members<Inflater>;

pub struct Inflater {
  inflate: zlib_rs::Inflate,
  format: Format,
  window_bits: u8,
}

impl Decoder {
  /// `window_bits`: `None` is node:zlib's default (the header's window for gzip and zlib streams,
  /// 15 for raw ones); 0 means the header's.
  pub fn new(format: Format, window_bits: Option<u8>) -> Result<Self> {
    let window_bits = window_bits.unwrap_or(if format == Format::DeflateRaw { 15 } else { 0 });
    Ok(Members::of(Inflater {
      inflate: inflater(format, window_bits),
      format,
      window_bits,
    }))
  }
}

fn inflater(format: Format, window_bits: u8) -> zlib_rs::Inflate {
  match format {
    Format::DeflateRaw => zlib_rs::Inflate::new(false, window_bits.max(9)),
    Format::Gzip => zlib_rs::Inflate::new(true, window_bits + 16),
    _ => zlib_rs::Inflate::new(true, window_bits),
  }
}

impl Member for Inflater {
  fn decode(&mut self, input: &[u8], output: &mut Output) -> Result<(usize, bool)> {
    // Told to take the window a zlib header names (windowBits 0), zlib-rs 0.6.9 sizes its window
    // from the header before checking it, and panics on one above 32 KiB (CINFO 8-15). Given a
    // window of 15 bits it refuses such a header as zlib does ("invalid window size"), after the
    // same header and method checks: so a stream whose first byte claims more is read with 15.
    let claims_too_much = input.first().is_some_and(|cmf| cmf >> 4 > 7);
    if self.format == Format::Deflate && self.window_bits == 0 && self.inflate.total_in() == 0 && claims_too_much {
      self.inflate = inflater(self.format, 15);
    }
    let (in_before, out_before) = (self.inflate.total_in(), self.inflate.total_out());
    let status = self
      .inflate
      .decompress_uninit(input, output.spare(), InflateFlush::NoFlush);
    let written = (self.inflate.total_out() - out_before) as usize;
    // SAFETY: zlib-rs wrote `written` bytes at the start of the spare room it was given (also when
    // it then failed: the count covers what it wrote).
    unsafe { output.advance(written) };
    let consumed = (self.inflate.total_in() - in_before) as usize;
    match status.map_err(|e| self.error(e))? {
      Status::StreamEnd => Ok((consumed, true)),
      Status::Ok | Status::BufError => Ok((consumed, false)),
    }
  }

  /// zlib's account of an inflater (zconf.h): the window and some 7 KB.
  fn held(&self) -> usize {
    (1 << self.window_bits.max(15)) + (7 << 10)
  }

  /// After a gzip member, nothing, or a zero byte (padding), ends the data; anything else is the
  /// next member (or garbage, which its header check rejects): node:zlib's rule for concatenated
  /// members. After a zlib or raw stream the data has ended, as node:zlib has it.
  fn next(&mut self, input: &[u8], _: &mut Output, flush: Flush) -> Result<(usize, Next)> {
    if self.format != Format::Gzip {
      return Ok((0, Next::End));
    }
    Ok(match input.first() {
      None if flush == Flush::Finish => (0, Next::End),
      None => (0, Next::Wait),
      Some(0) => (0, Next::End),
      Some(_) => {
        self.inflate = inflater(self.format, self.window_bits);
        (0, Next::Member)
      }
    })
  }
}

impl Inflater {
  fn error(&self, error: InflateError) -> OffloopError {
    match error {
      InflateError::MemError => OffloopError::error("ERR_MEMORY_ALLOCATION_FAILED", "Failed to allocate memory"),
      // A stream made with a preset dictionary: offloop takes none, so it cannot be read. node:zlib
      // without its `dictionary` option says the same.
      InflateError::NeedDict { .. } => {
        OffloopError::error("Z_NEED_DICT", "Missing dictionary").with_integer_property("errno", 2)
      }
      _ => data_error(self.inflate.error_message().unwrap_or(error.as_str())),
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::compress::codec::{compress, decompress, EncodeSettings};
  use crate::compress::settings::DecodeSettings;
  use crate::runtime::Cancel;

  fn sample(len: usize) -> Vec<u8> {
    let text = b"{\"id\":12345,\"name\":\"offloop\",\"tags\":[\"compression\",\"zlib\"],\"ok\":true}\n";
    let mut out = Vec::with_capacity(len);
    let mut seed = 7u32;
    while out.len() < len {
      out.extend_from_slice(text);
      seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
      out.extend_from_slice(&seed.to_le_bytes()[..2]);
    }
    out.truncate(len);
    out
  }

  fn settings(level: u8) -> DeflateSettings {
    DeflateSettings {
      level,
      ..DeflateSettings::default()
    }
  }

  fn stepped(format: Format, settings: &DeflateSettings, data: &[u8]) -> Vec<u8> {
    let mut encoder = Encoder::new(format, settings).unwrap();
    let mut output = Output::new(usize::MAX - 1);
    for chunk in data.chunks(1000) {
      output.reserve(64).unwrap();
      let mut rest = chunk;
      loop {
        output.reserve(64).unwrap();
        let step = encoder.step(rest, &mut output, Flush::None).unwrap();
        rest = &rest[step.consumed..];
        if step.done {
          break;
        }
      }
    }
    loop {
      output.reserve(64).unwrap();
      if encoder.step(&[], &mut output, Flush::Finish).unwrap().done {
        break;
      }
    }
    output.into_bytes()
  }

  fn inflate(format: Format, data: &[u8]) -> crate::runtime::Result<Vec<u8>> {
    decompress(format, &DecodeSettings::default(), data, 1 << 30, &Cancel::default())
  }

  #[test]
  fn both_compressors_round_trip_at_every_level_and_format() {
    let data = sample(300_000);
    for format in [Format::Gzip, Format::Deflate, Format::DeflateRaw] {
      for level in 0..=9 {
        let whole = compress_whole(format, &settings(level), &data).unwrap().unwrap();
        assert_eq!(inflate(format, &whole).unwrap(), data, "{format:?} {level} libdeflate");
        let streamed = stepped(format, &settings(level), &data);
        assert_eq!(inflate(format, &streamed).unwrap(), data, "{format:?} {level} zlib-rs");
      }
    }
  }

  /// One-shot output at zlib's default shape (libdeflate, or zlib-rs for short inputs).
  fn packed(format: Format, level: u8, data: &[u8]) -> Vec<u8> {
    let settings = EncodeSettings::Deflate(settings(level));
    compress(format, &settings, data, usize::MAX, &Cancel::default()).unwrap()
  }

  #[test]
  fn a_non_default_shape_goes_through_zlib() {
    let shaped = DeflateSettings {
      window_bits: 9,
      mem_level: 1,
      strategy: 1,
      ..settings(6)
    };
    assert!(compress_whole(Format::Gzip, &shaped, &sample(SHORT_INPUT)).is_none());
    assert!(compress_whole(Format::Gzip, &settings(6), &sample(SHORT_INPUT - 1)).is_none());
    let data = sample(50_000);
    for format in [Format::Gzip, Format::Deflate, Format::DeflateRaw] {
      let out = compress(
        format,
        &EncodeSettings::Deflate(shaped),
        &data[..],
        usize::MAX,
        &Cancel::default(),
      )
      .unwrap();
      assert_eq!(inflate(format, &out).unwrap(), data, "{format:?}");
    }
  }

  #[test]
  fn gzip_members_concatenate_and_zero_padding_ends_them() {
    let a = packed(Format::Gzip, 6, b"abc");
    let b = packed(Format::Gzip, 1, b"def");
    let joined = [a.clone(), b.clone()].concat();
    assert_eq!(inflate(Format::Gzip, &joined).unwrap(), b"abcdef");
    let padded = [joined.clone(), vec![0; 10], b"ignored".to_vec()].concat();
    assert_eq!(inflate(Format::Gzip, &padded).unwrap(), b"abcdef");
    let garbage = [a.clone(), b"xyz".to_vec()].concat();
    assert_eq!(inflate(Format::Gzip, &garbage).unwrap_err().code, "Z_DATA_ERROR");
    let half_member = [a.clone(), vec![0x1f]].concat();
    assert_eq!(inflate(Format::Gzip, &half_member).unwrap_err().code, "Z_BUF_ERROR");
  }

  #[test]
  fn truncated_and_corrupt_input_have_their_codes() {
    let data = sample(100_000);
    for format in [Format::Gzip, Format::Deflate, Format::DeflateRaw] {
      let whole = compress_whole(format, &settings(6), &data).unwrap().unwrap();
      for cut in [0, 1, whole.len() / 2, whole.len() - 1] {
        let error = inflate(format, &whole[..cut]).unwrap_err();
        assert_eq!(error.code, "Z_BUF_ERROR", "{format:?} cut at {cut}");
      }
    }
    let error = inflate(Format::Gzip, b"hello world").unwrap_err();
    assert_eq!(
      (error.code.as_ref(), error.message.as_str()),
      ("Z_DATA_ERROR", "incorrect header check")
    );
    let mut bad_crc = packed(Format::Gzip, 6, b"abc");
    let at = bad_crc.len() - 6;
    bad_crc[at] ^= 1;
    assert_eq!(
      inflate(Format::Gzip, &bad_crc).unwrap_err().message,
      "incorrect data check"
    );
  }

  #[test]
  fn trailing_bytes_after_zlib_and_raw_streams_are_ignored() {
    for format in [Format::Deflate, Format::DeflateRaw] {
      let whole = packed(format, 6, b"abc");
      let trailing = [whole, b"xyz".to_vec()].concat();
      assert_eq!(inflate(format, &trailing).unwrap(), b"abc", "{format:?}");
    }
  }

  #[test]
  fn the_output_limit_stops_a_bomb_early() {
    // 64 MiB of zeros compress to about 64 KB.
    let zeros = vec![0u8; 64 << 20];
    let bomb = compress_whole(Format::Gzip, &settings(9), &zeros).unwrap().unwrap();
    let limit = 1 << 20;
    let error = decompress(
      Format::Gzip,
      &DecodeSettings::default(),
      &bomb[..],
      limit,
      &Cancel::default(),
    )
    .unwrap_err();
    assert_eq!(error.code, "ERR_BUFFER_TOO_LARGE");
    // Exactly at the limit is allowed.
    let exact = decompress(
      Format::Gzip,
      &DecodeSettings::default(),
      &bomb[..],
      64 << 20,
      &Cancel::default(),
    )
    .unwrap();
    assert_eq!(exact.len(), 64 << 20);
  }
}
