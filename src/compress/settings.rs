//! Validated options of each format, with node:zlib's names, ranges and defaults.
//!
//! The ranges are node:zlib's (lib/zlib.js) where it checks them; brotli and zstd parameters, which
//! node passes to the library unchecked (brotli then clamps them in silence), are held to the
//! ranges their headers document, so a typo is an `ERR_OUT_OF_RANGE` rather than other output.

use std::ops::RangeInclusive;

/// `maxOutputLength` when the caller sets none: 256 MiB, offloop's limit for any one result (as for
/// jq's output). node:zlib's default is `buffer.constants.MAX_LENGTH` (4 GiB), which lets a
/// 4 MB request body inflate to 4 GB.
pub const DEFAULT_MAX_OUTPUT: usize = 256 << 20;

/// The largest `maxOutputLength`: node:zlib's bound on Node 20 (`buffer.constants.MAX_LENGTH`).
pub const MAX_OUTPUT_LIMIT: u64 = 1 << 32;

/// zlib's levels: -1 (the default, 6) to 9.
pub const DEFLATE_LEVELS: RangeInclusive<i64> = -1..=9;
pub const DEFAULT_DEFLATE_LEVEL: u8 = 6;
pub const MEM_LEVELS: RangeInclusive<u64> = 1..=9;
pub const DEFAULT_MEM_LEVEL: u8 = 8;
/// `Z_DEFAULT_STRATEGY` (0) to `Z_FIXED` (4).
pub const STRATEGIES: RangeInclusive<u64> = 0..=4;
pub const DEFAULT_WINDOW_BITS: u8 = 15;
/// `chunkSize`: node's minimum, and offloop's default (node:zlib's is 16 KiB; a larger piece is
/// fewer pool calls). Streams push output in pieces of this size at most.
pub const MIN_CHUNK_SIZE: u64 = 64;
pub const DEFAULT_CHUNK_SIZE: usize = 64 << 10;

/// Options of a gzip/deflate/deflate-raw compressor. `level` is node:zlib's level (0-9); which
/// level of which library gives output no larger than node:zlib's is `deflate`'s business.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeflateSettings {
  pub level: u8,
  pub window_bits: u8,
  pub mem_level: u8,
  pub strategy: u8,
}

impl Default for DeflateSettings {
  fn default() -> Self {
    DeflateSettings {
      level: DEFAULT_DEFLATE_LEVEL,
      window_bits: DEFAULT_WINDOW_BITS,
      mem_level: DEFAULT_MEM_LEVEL,
      strategy: 0,
    }
  }
}

impl DeflateSettings {
  /// node:zlib's `level`, where -1 means the default.
  pub fn with_level(mut self, level: i64) -> Self {
    self.level = if level < 0 { DEFAULT_DEFLATE_LEVEL } else { level as u8 };
    self
  }

  /// The window, hash size and strategy are zlib's defaults: libdeflate, which has no such knobs,
  /// may compress one-shot inputs.
  pub fn is_default_shape(&self) -> bool {
    self.window_bits == DEFAULT_WINDOW_BITS && self.mem_level == DEFAULT_MEM_LEVEL && self.strategy == 0
  }
}

/// The smallest `windowBits` a compressor takes: zlib raises 8 to 9 for zlib and raw streams,
/// which node allows; gzip refuses 8 (node checks `>= 9`).
pub fn compress_window_bits(gzip: bool) -> RangeInclusive<u64> {
  if gzip {
    9..=15
  } else {
    8..=15
  }
}

/// A brotli encoder or decoder parameter, by node's `zlib.constants.BROTLI_PARAM_*` /
/// `BROTLI_DECODER_PARAM_*` number, with the values brotli's header documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrotliParam {
  Mode,
  Quality,
  WindowBits,
  BlockBits,
  DisableLiteralContextModeling,
  SizeHint,
  Postfix,
  Direct,
  DisableRingBufferReallocation,
}

impl BrotliParam {
  /// Encoder parameters by `BROTLI_PARAM_*` number. 6 (`LARGE_WINDOW`) is left out on purpose:
  /// large-window streams are not brotli as browsers and RFC 7932 know it.
  pub fn encoder(id: u32) -> Option<Self> {
    Some(match id {
      0 => BrotliParam::Mode,
      1 => BrotliParam::Quality,
      2 => BrotliParam::WindowBits,
      3 => BrotliParam::BlockBits,
      4 => BrotliParam::DisableLiteralContextModeling,
      5 => BrotliParam::SizeHint,
      7 => BrotliParam::Postfix,
      8 => BrotliParam::Direct,
      _ => return None,
    })
  }

  /// Decoder parameters by `BROTLI_DECODER_PARAM_*` number (1, `LARGE_WINDOW`, left out as above).
  pub fn decoder(id: u32) -> Option<Self> {
    (id == 0).then_some(BrotliParam::DisableRingBufferReallocation)
  }

  pub fn range(self) -> RangeInclusive<i64> {
    match self {
      BrotliParam::Mode => 0..=2,
      BrotliParam::Quality => 0..=11,
      BrotliParam::WindowBits => 10..=24,
      // 0 lets the encoder pick; otherwise 16-24.
      BrotliParam::BlockBits => 0..=24,
      BrotliParam::DisableLiteralContextModeling | BrotliParam::DisableRingBufferReallocation => 0..=1,
      BrotliParam::SizeHint => 0..=u32::MAX as i64,
      BrotliParam::Postfix => 0..=3,
      BrotliParam::Direct => 0..=120,
    }
  }

  /// Checks a value against the range and the rules brotli would otherwise enforce by clamping.
  pub fn check(self, value: i64) -> Result<u32, String> {
    let range = self.range();
    let valid = range.contains(&value) && !(self == BrotliParam::BlockBits && (1..16).contains(&value));
    match valid {
      true => Ok(value as u32),
      false if self == BrotliParam::BlockBits => Err("0 or >= 16 && <= 24".into()),
      false => Err(format!(">= {} && <= {}", range.start(), range.end())),
    }
  }
}

/// Options of a brotli encoder or decoder: parameters in the order given, quality 11 and window 22
/// by default as in node:zlib.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BrotliSettings {
  pub params: Vec<(BrotliParam, u32)>,
}

impl BrotliSettings {
  pub const DEFAULT_QUALITY: u32 = 11;
  pub const DEFAULT_WINDOW_BITS: u32 = 22;

  pub fn get(&self, param: BrotliParam) -> Option<u32> {
    self.params.iter().rev().find(|(p, _)| *p == param).map(|(_, v)| *v)
  }
}

/// A zstd compression or decompression parameter, by node's `zlib.constants.ZSTD_c_*` /
/// `ZSTD_d_*` number. Multithreading (`nbWorkers`) is left out: zstd would start threads of its
/// own beside offloop's pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZstdParam {
  CompressionLevel,
  WindowLog,
  HashLog,
  ChainLog,
  SearchLog,
  MinMatch,
  TargetLength,
  Strategy,
  EnableLongDistanceMatching,
  ContentSizeFlag,
  ChecksumFlag,
  DictIdFlag,
  WindowLogMax,
}

impl ZstdParam {
  pub fn compressor(id: u32) -> Option<Self> {
    Some(match id {
      100 => ZstdParam::CompressionLevel,
      101 => ZstdParam::WindowLog,
      102 => ZstdParam::HashLog,
      103 => ZstdParam::ChainLog,
      104 => ZstdParam::SearchLog,
      105 => ZstdParam::MinMatch,
      106 => ZstdParam::TargetLength,
      107 => ZstdParam::Strategy,
      160 => ZstdParam::EnableLongDistanceMatching,
      200 => ZstdParam::ContentSizeFlag,
      201 => ZstdParam::ChecksumFlag,
      202 => ZstdParam::DictIdFlag,
      _ => return None,
    })
  }

  pub fn decompressor(id: u32) -> Option<Self> {
    (id == 100).then_some(ZstdParam::WindowLogMax)
  }

  /// zstd 1.5's bounds on 64-bit targets (zstd.h); 0 means "zstd's default" for the tuning
  /// parameters, as in zstd itself.
  pub fn range(self) -> RangeInclusive<i64> {
    match self {
      ZstdParam::CompressionLevel => zstd_safe::min_c_level() as i64..=zstd_safe::max_c_level() as i64,
      ZstdParam::WindowLog => 0..=31,
      ZstdParam::HashLog | ZstdParam::ChainLog | ZstdParam::SearchLog => 0..=30,
      ZstdParam::MinMatch => 0..=7,
      ZstdParam::TargetLength => 0..=131_072,
      ZstdParam::Strategy => 0..=9,
      ZstdParam::EnableLongDistanceMatching
      | ZstdParam::ContentSizeFlag
      | ZstdParam::ChecksumFlag
      | ZstdParam::DictIdFlag => 0..=1,
      ZstdParam::WindowLogMax => 10..=31,
    }
  }
}

/// Options of a zstd compressor or decompressor, in the order given; level 3 by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ZstdSettings {
  pub params: Vec<(ZstdParam, i32)>,
}

impl ZstdSettings {
  pub const DEFAULT_LEVEL: i32 = 3;
}

/// What a decompressor needs beyond its format: node:zlib's `windowBits` (0: from the header) and
/// the decoder parameters of brotli and zstd.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecodeSettings {
  pub window_bits: Option<u8>,
  pub brotli: BrotliSettings,
  pub zstd: ZstdSettings,
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn brotli_block_bits_take_zero_or_16_to_24() {
    assert_eq!(BrotliParam::BlockBits.check(0), Ok(0));
    assert_eq!(BrotliParam::BlockBits.check(16), Ok(16));
    assert!(BrotliParam::BlockBits.check(15).is_err());
    assert!(BrotliParam::BlockBits.check(25).is_err());
    assert!(BrotliParam::Quality.check(12).unwrap_err().contains("<= 11"));
  }

  #[test]
  fn the_last_value_of_a_repeated_parameter_wins() {
    let settings = BrotliSettings {
      params: vec![(BrotliParam::Quality, 4), (BrotliParam::Quality, 5)],
    };
    assert_eq!(settings.get(BrotliParam::Quality), Some(5));
    assert_eq!(settings.get(BrotliParam::Mode), None);
  }

  #[test]
  fn minus_one_is_the_default_level() {
    assert_eq!(DeflateSettings::default().with_level(-1).level, 6);
    assert_eq!(DeflateSettings::default().with_level(0).level, 0);
    assert!(DeflateSettings::default().is_default_shape());
  }
}
