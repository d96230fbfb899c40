//! brotli through Google's C library, the one node:zlib runs: the same bytes as node:zlib at
//! every quality. Both directions move data through a scratch buffer of their own, so the output
//! buffer never holds uninitialized bytes and every append is checked against the limit.

use brotlic::decode::{DecodeError, DecoderInfo};
use brotlic::encode::BrotliOperation;
use brotlic::{
  BlockSize, BrotliDecoder, BrotliDecoderOptions, BrotliEncoder, BrotliEncoderOptions, CompressionMode, Quality,
  WindowSize,
};

use super::codec::{data_error, internal, Codec, Flush, Output, Step};
use super::settings::{BrotliParam, BrotliSettings};
use crate::runtime::{OffloopError, Result};

/// Bytes moved per library call.
const SCRATCH: usize = 64 << 10;

pub struct Encoder {
  encoder: BrotliEncoder,
  scratch: Box<[u8]>,
  quality: Quality,
  window: WindowSize,
  /// Input consumed so far: brotli's buffers grow with it up to the window.
  consumed: usize,
}

impl Encoder {
  pub fn new(settings: &BrotliSettings) -> Result<Self> {
    let mut options = BrotliEncoderOptions::new();
    let (mut postfix, mut direct) = (0, 0);
    for &(param, value) in &settings.params {
      let invalid = || internal("brotli parameter");
      match param {
        BrotliParam::Mode => {
          options.mode(match value {
            0 => CompressionMode::Generic,
            1 => CompressionMode::Text,
            _ => CompressionMode::Font,
          });
        }
        BrotliParam::Quality => {
          options.quality(Quality::new(value as u8).map_err(|_| invalid())?);
        }
        BrotliParam::WindowBits => {
          options.window_size(WindowSize::new(value as u8).map_err(|_| invalid())?);
        }
        BrotliParam::BlockBits if value != 0 => {
          options.block_size(BlockSize::new(value as u8).map_err(|_| invalid())?);
        }
        BrotliParam::DisableLiteralContextModeling => {
          options.disable_context_modeling(value == 1);
        }
        BrotliParam::SizeHint => {
          options.size_hint(value);
        }
        BrotliParam::Postfix => postfix = value,
        BrotliParam::Direct => direct = value,
        BrotliParam::BlockBits | BrotliParam::DisableRingBufferReallocation => {}
      }
    }
    // brotli takes a pair of NPOSTFIX and NDIRECT it cannot use as 0 and 0 (its
    // `ChooseDistanceParams`), and node:zlib passes any pair to it; brotlic's `build()` refuses
    // such a pair, so it is left out here.
    if direct <= 15 << postfix && direct & ((1 << postfix) - 1) == 0 {
      options.postfix_bits(postfix).direct_distance_codes(direct);
    }
    let encoder = options
      .build()
      .map_err(|_| OffloopError::out_of_range("options.params", "a valid brotli parameter set", "another"))?;
    let quality = settings
      .get(BrotliParam::Quality)
      .unwrap_or(BrotliSettings::DEFAULT_QUALITY);
    let window = settings
      .get(BrotliParam::WindowBits)
      .unwrap_or(BrotliSettings::DEFAULT_WINDOW_BITS);
    Ok(Encoder {
      encoder,
      scratch: vec![0; SCRATCH].into_boxed_slice(),
      quality: Quality::new(quality as u8).map_err(|_| internal("brotli quality"))?,
      window: WindowSize::new(window as u8).map_err(|_| internal("brotli window"))?,
      consumed: 0,
    })
  }
}

impl Codec for Encoder {
  fn step(&mut self, input: &[u8], output: &mut Output, flush: Flush) -> Result<Step> {
    let operation = match flush {
      Flush::None => BrotliOperation::Process,
      flush if flush.outputs_all() => BrotliOperation::Flush,
      _ => BrotliOperation::Finish,
    };
    let mut consumed = 0;
    // At least one call per step: a flush or finish with no input left must still reach brotli.
    loop {
      let room = output.spare().len().min(SCRATCH);
      if room == 0 {
        return Ok(Step { consumed, done: false });
      }
      let result = self
        .encoder
        .compress(&input[consumed..], &mut self.scratch[..room], operation)
        .map_err(|_| internal("the brotli encoder failed"))?;
      consumed += result.bytes_read;
      self.consumed = self.consumed.saturating_add(result.bytes_read);
      output.extend(&self.scratch[..result.bytes_written])?;
      // brotli's rule: a flush or finish is complete once the encoder holds no more output.
      let complete = consumed == input.len()
        && match operation {
          BrotliOperation::Process => true,
          BrotliOperation::Flush => !self.encoder.has_output(),
          BrotliOperation::Finish => self.encoder.is_finished(),
        };
      if complete || (result.bytes_read == 0 && result.bytes_written == 0) {
        return Ok(Step {
          consumed,
          done: complete,
        });
      }
    }
  }

  /// brotli's own estimate of its peak for the input seen so far.
  fn held(&self) -> usize {
    SCRATCH + brotlic::compress_estimate_max_mem_usage(self.consumed, self.quality, self.window)
  }
}

pub struct Decoder {
  decoder: BrotliDecoder,
  scratch: Box<[u8]>,
  ended: bool,
  /// Output so far: the decoder's ring buffer grows with it up to the window (16 MiB at most).
  produced: usize,
}

impl Decoder {
  pub fn new(settings: &BrotliSettings) -> Result<Self> {
    let mut options = BrotliDecoderOptions::new();
    if let Some(value) = settings.get(BrotliParam::DisableRingBufferReallocation) {
      options.disable_ring_buffer_reallocation(value == 1);
    }
    let decoder = options.build().map_err(|_| internal("brotli decoder parameters"))?;
    Ok(Decoder {
      decoder,
      scratch: vec![0; SCRATCH].into_boxed_slice(),
      ended: false,
      produced: 0,
    })
  }
}

impl Codec for Decoder {
  fn step(&mut self, input: &[u8], output: &mut Output, _flush: Flush) -> Result<Step> {
    let mut consumed = 0;
    loop {
      if self.ended {
        // Bytes after the end of the stream are ignored, as node:zlib does.
        return Ok(Step {
          consumed: input.len(),
          done: true,
        });
      }
      let room = output.spare().len().min(SCRATCH);
      if room == 0 {
        return Ok(Step { consumed, done: false });
      }
      let result = self
        .decoder
        .decompress(&input[consumed..], &mut self.scratch[..room])
        .map_err(decode_error)?;
      consumed += result.bytes_read;
      self.produced = self.produced.saturating_add(result.bytes_written);
      output.extend(&self.scratch[..result.bytes_written])?;
      match result.info {
        DecoderInfo::Finished => self.ended = true,
        DecoderInfo::NeedsMoreInput => return Ok(Step { consumed, done: false }),
        DecoderInfo::NeedsMoreOutput => {}
      }
    }
  }

  fn held(&self) -> usize {
    SCRATCH + self.produced.min(16 << 20)
  }
}

fn decode_error(error: DecodeError) -> OffloopError {
  match error {
    DecodeError::AllocContextModes
    | DecodeError::AllocTreeGroups
    | DecodeError::AllocContextMap
    | DecodeError::AllocRingBuffer1
    | DecodeError::AllocRingBuffer2
    | DecodeError::AllocBlockTypeTrees => {
      OffloopError::error("ERR_MEMORY_ALLOCATION_FAILED", "Failed to allocate memory")
    }
    other => data_error(format!("Decompression failed: invalid brotli data ({other:?})")),
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::compress::codec::{compress, decompress, EncodeSettings, Format};
  use crate::compress::settings::DecodeSettings;
  use crate::runtime::Cancel;

  fn quality(q: u32) -> EncodeSettings {
    EncodeSettings::Brotli(BrotliSettings {
      params: vec![(BrotliParam::Quality, q)],
    })
  }

  fn unbrotli(data: &[u8]) -> Result<Vec<u8>> {
    decompress(
      Format::Brotli,
      &DecodeSettings::default(),
      data,
      1 << 30,
      &Cancel::default(),
    )
  }

  #[test]
  fn round_trips_and_ignores_what_follows_the_stream() {
    let data: Vec<u8> = (0..500_000u32)
      .flat_map(|i| (i % 1000).to_string().into_bytes())
      .collect();
    for q in [0, 1, 4, 9] {
      let packed = compress(Format::Brotli, &quality(q), &data[..], usize::MAX, &Cancel::default()).unwrap();
      assert!(packed.len() < data.len() / 2, "q{q}");
      assert_eq!(unbrotli(&packed).unwrap(), data, "q{q}");
      let trailing = [packed.clone(), b"xyz".to_vec()].concat();
      assert_eq!(unbrotli(&trailing).unwrap(), data);
      assert_eq!(unbrotli(&packed[..packed.len() / 2]).unwrap_err().code, "Z_BUF_ERROR");
    }
    assert_eq!(unbrotli(b"").unwrap_err().code, "Z_BUF_ERROR");
    assert_eq!(unbrotli(b"hello world, not brotli").unwrap_err().code, "Z_DATA_ERROR");
  }

  #[test]
  fn the_output_limit_holds() {
    let zeros = vec![0u8; 8 << 20];
    let packed = compress(Format::Brotli, &quality(5), &zeros[..], usize::MAX, &Cancel::default()).unwrap();
    let error = decompress(
      Format::Brotli,
      &DecodeSettings::default(),
      &packed[..],
      1000,
      &Cancel::default(),
    )
    .unwrap_err();
    assert_eq!(error.code, "ERR_BUFFER_TOO_LARGE");
  }
}
