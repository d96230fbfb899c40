//! zstd through the reference C library (as node:zlib has it from Node 22.15).
//!
//! Frames follow one another: the decoder reads every frame and skippable frame in its input, and
//! stops at the first bytes that begin neither, ignoring them, as node:zlib does.

use zstd_safe::zstd_sys::ZSTD_EndDirective;
use zstd_safe::{CCtx, CParameter, DCtx, DParameter, InBuffer, OutBuffer, Strategy};

use super::codec::{data_error, Codec, Flush, Output, Step};
use super::members::{Member, Members, Next};
use super::settings::{ZstdParam, ZstdSettings};
use crate::runtime::{ErrorKind, OffloopError, Result};

pub struct Encoder {
  context: CCtx<'static>,
}

impl Encoder {
  /// `size`: the whole input's length when known (one-shot calls), which zstd records in the frame
  /// header, as node:zlib does, and uses to size its window.
  pub fn new(settings: &ZstdSettings, size: Option<u64>) -> Result<Self> {
    let mut context = CCtx::try_create().ok_or_else(out_of_memory)?;
    let level = CParameter::CompressionLevel(ZstdSettings::DEFAULT_LEVEL);
    context
      .set_parameter(level)
      .map_err(|code| parameter_error(code, None))?;
    for &(param, value) in &settings.params {
      let parameter = match param {
        ZstdParam::CompressionLevel => CParameter::CompressionLevel(value),
        ZstdParam::WindowLog => CParameter::WindowLog(value as u32),
        ZstdParam::HashLog => CParameter::HashLog(value as u32),
        ZstdParam::ChainLog => CParameter::ChainLog(value as u32),
        ZstdParam::SearchLog => CParameter::SearchLog(value as u32),
        ZstdParam::MinMatch => CParameter::MinMatch(value as u32),
        ZstdParam::TargetLength => CParameter::TargetLength(value as u32),
        ZstdParam::Strategy => CParameter::Strategy(strategy(value)),
        ZstdParam::EnableLongDistanceMatching => CParameter::EnableLongDistanceMatching(value == 1),
        ZstdParam::ContentSizeFlag => CParameter::ContentSizeFlag(value == 1),
        ZstdParam::ChecksumFlag => CParameter::ChecksumFlag(value == 1),
        ZstdParam::DictIdFlag => CParameter::DictIdFlag(value == 1),
        ZstdParam::WindowLogMax => continue,
      };
      context
        .set_parameter(parameter)
        .map_err(|code| parameter_error(code, Some(param)))?;
    }
    if let Some(size) = size {
      context
        .set_pledged_src_size(Some(size))
        .map_err(|code| parameter_error(code, None))?;
    }
    Ok(Encoder { context })
  }
}

/// zstd's strategies by number; 0 is "the level's own", which zstd spells as leaving it unset.
fn strategy(value: i32) -> Strategy {
  match value {
    1 => Strategy::ZSTD_fast,
    2 => Strategy::ZSTD_dfast,
    3 => Strategy::ZSTD_greedy,
    4 => Strategy::ZSTD_lazy,
    5 => Strategy::ZSTD_lazy2,
    6 => Strategy::ZSTD_btlazy2,
    7 => Strategy::ZSTD_btopt,
    8 => Strategy::ZSTD_btultra,
    _ => Strategy::ZSTD_btultra2,
  }
}

impl Codec for Encoder {
  fn step(&mut self, input: &[u8], output: &mut Output, flush: Flush) -> Result<Step> {
    let directive = match flush {
      Flush::None => ZSTD_EndDirective::ZSTD_e_continue,
      flush if flush.outputs_all() => ZSTD_EndDirective::ZSTD_e_flush,
      _ => ZSTD_EndDirective::ZSTD_e_end,
    };
    let mut source = InBuffer::around(input);
    let bytes = output.vec();
    let start = bytes.len();
    let mut sink = OutBuffer::around_pos(bytes, start);
    let left_to_flush = self
      .context
      .compress_stream2(&mut sink, &mut source, directive)
      .map_err(|code| OffloopError::error("ERR_OFFLOOP_INTERNAL", zstd_safe::get_error_name(code)))?;
    let consumed = source.pos();
    let done = consumed == input.len() && (flush == Flush::None || left_to_flush == 0);
    Ok(Step { consumed, done })
  }

  fn held(&self) -> usize {
    self.context.sizeof()
  }
}

/// The first bytes of a zstd frame and of a skippable frame (whose last nibble varies).
const FRAME_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
const SKIPPABLE_MAGIC: [u8; 3] = [0x2a, 0x4d, 0x18];

fn starts_a_frame(bytes: &[u8; 4]) -> bool {
  *bytes == FRAME_MAGIC || (bytes[0] & 0xf0 == 0x50 && bytes[1..] == SKIPPABLE_MAGIC)
}

/// A zstd decompressor, frame by frame.
pub type Decoder = Members<FrameDecoder>;

pub struct FrameDecoder {
  context: DCtx<'static>,
  /// The first bytes after a frame, held until four are known (input may arrive a byte at a time).
  lookahead: Vec<u8>,
}

impl Decoder {
  pub fn new(settings: &ZstdSettings) -> Result<Self> {
    let mut context = DCtx::try_create().ok_or_else(out_of_memory)?;
    for &(param, value) in &settings.params {
      if param == ZstdParam::WindowLogMax {
        context
          .set_parameter(DParameter::WindowLogMax(value as u32))
          .map_err(|code| parameter_error(code, Some(param)))?;
      }
    }
    Ok(Members::of(FrameDecoder {
      context,
      lookahead: Vec::with_capacity(4),
    }))
  }
}

impl FrameDecoder {
  /// One call of zstd's decoder: returns what it consumed and whether a frame ended.
  fn decode_once(&mut self, input: &[u8], output: &mut Output) -> Result<(usize, bool)> {
    let mut source = InBuffer::around(input);
    let bytes = output.vec();
    let start = bytes.len();
    let mut sink = OutBuffer::around_pos(bytes, start);
    let hint = self
      .context
      .decompress_stream(&mut sink, &mut source)
      .map_err(decode_error)?;
    Ok((source.pos(), hint == 0))
  }
}

impl Member for FrameDecoder {
  fn decode(&mut self, input: &[u8], output: &mut Output) -> Result<(usize, bool)> {
    let mut consumed = 0;
    loop {
      if output.spare().is_empty() {
        return Ok((consumed, false));
      }
      let before = output.len();
      let (taken, frame_ended) = self.decode_once(&input[consumed..], output)?;
      consumed += taken;
      if frame_ended {
        return Ok((consumed, true));
      }
      if taken == 0 && output.len() == before || consumed == input.len() {
        return Ok((consumed, false));
      }
    }
  }

  /// The next four bytes decide: a frame's or a skippable frame's magic number begins another
  /// frame; anything else (or fewer than four bytes at the end) ends the data, as node:zlib has it.
  fn next(&mut self, input: &[u8], output: &mut Output, flush: Flush) -> Result<(usize, Next)> {
    let take = (4 - self.lookahead.len()).min(input.len());
    self.lookahead.extend_from_slice(&input[..take]);
    let Ok(head) = <[u8; 4]>::try_from(&self.lookahead[..]) else {
      let next = if flush == Flush::Finish { Next::End } else { Next::Wait };
      return Ok((take, next));
    };
    if !starts_a_frame(&head) {
      return Ok((take, Next::End));
    }
    // The held bytes are a frame's magic number: the decoder takes them first.
    let (taken, _) = self.decode_once(&head, output)?;
    debug_assert_eq!(taken, 4);
    self.lookahead.clear();
    Ok((take, Next::Member))
  }

  fn held(&self) -> usize {
    self.context.sizeof() + self.lookahead.capacity()
  }
}

fn decode_error(code: usize) -> OffloopError {
  match zstd_safe::get_error_name(code) {
    "Allocation error : not enough memory" => out_of_memory(),
    name => data_error(name),
  }
}

fn parameter_error(code: usize, param: Option<ZstdParam>) -> OffloopError {
  OffloopError::new(
    ErrorKind::RangeError,
    "ERR_OUT_OF_RANGE",
    format!(
      "The value of \"options.params\"{} was refused by zstd: {}",
      param.map(|p| format!(" ({p:?})")).unwrap_or_default(),
      zstd_safe::get_error_name(code)
    ),
  )
}

fn out_of_memory() -> OffloopError {
  OffloopError::error("ERR_MEMORY_ALLOCATION_FAILED", "Failed to allocate memory")
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::compress::codec::{compress, decompress, EncodeSettings, Format};
  use crate::compress::settings::DecodeSettings;
  use crate::runtime::Cancel;

  fn packed(data: &[u8]) -> Vec<u8> {
    let settings = EncodeSettings::Zstd(ZstdSettings::default());
    compress(Format::Zstd, &settings, data, usize::MAX, &Cancel::default()).unwrap()
  }

  fn unpacked(data: &[u8]) -> Result<Vec<u8>> {
    decompress(
      Format::Zstd,
      &DecodeSettings::default(),
      data,
      1 << 30,
      &Cancel::default(),
    )
  }

  #[test]
  fn frames_concatenate_and_what_follows_them_is_ignored() {
    let (a, b) = (packed(b"abc"), packed(b"def"));
    // The same header as node:zlib's (Node 24): single segment, content size 3.
    assert_eq!(hex::encode(&a[..6]), "28b52ffd2003");
    assert_eq!(unpacked(&[a.clone(), b.clone()].concat()).unwrap(), b"abcdef");
    let skippable = [0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 1, 2, 3, 4];
    assert_eq!(unpacked(&[&skippable[..], &a].concat()).unwrap(), b"abc");
    assert_eq!(
      unpacked(&[a.clone(), b"hello world garbage".to_vec()].concat()).unwrap(),
      b"abc"
    );
    assert_eq!(unpacked(&[a.clone(), vec![0; 3]].concat()).unwrap(), b"abc");
    let long = packed(&b"defghi".repeat(50));
    let partial = [a.clone(), long[..8].to_vec()].concat();
    assert_eq!(unpacked(&partial).unwrap_err().code, "Z_BUF_ERROR");
    assert_eq!(unpacked(b"").unwrap_err().code, "Z_BUF_ERROR");
    assert_eq!(unpacked(b"hello world, not zstd").unwrap_err().code, "Z_DATA_ERROR");
  }

  #[test]
  fn a_stream_fed_a_byte_at_a_time_decodes() {
    let data: Vec<u8> = (0..100_000u32).flat_map(|i| (i % 777).to_le_bytes()).collect();
    let frames = [packed(&data), packed(b"tail")].concat();
    let mut decoder = Decoder::new(&ZstdSettings::default()).unwrap();
    let mut output = Output::new(usize::MAX - 1);
    for (i, byte) in frames.iter().enumerate() {
      let flush = if i + 1 == frames.len() {
        Flush::Finish
      } else {
        Flush::None
      };
      let mut rest = std::slice::from_ref(byte);
      loop {
        output.reserve(1 << 16).unwrap();
        let step = decoder.step(rest, &mut output, flush).unwrap();
        rest = &rest[step.consumed..];
        if rest.is_empty() {
          break;
        }
      }
    }
    output.reserve(1 << 16).unwrap();
    assert!(decoder.step(&[], &mut output, Flush::Finish).unwrap().done);
    assert_eq!(output.into_bytes(), [data, b"tail".to_vec()].concat());
  }

  #[test]
  fn parameters_reach_the_frame() {
    let settings = EncodeSettings::Zstd(ZstdSettings {
      params: vec![(ZstdParam::CompressionLevel, 19), (ZstdParam::ChecksumFlag, 1)],
    });
    let out = compress(Format::Zstd, &settings, &b"abc"[..], usize::MAX, &Cancel::default()).unwrap();
    // Frame header descriptor: single segment (0x20) with the checksum flag (0x04).
    assert_eq!(out[4], 0x24);
    assert_eq!(unpacked(&out).unwrap(), b"abc");
  }
}
