//! Any bytes, with any settings, compressed whole or as a stream flushed at any points, must come
//! back unchanged, through offloop's decoders and, for deflate, through miniz_oxide's (an
//! independent decoder). The input is the fuzzer's bytes stretched to up to 256 KiB (repeated with
//! changes), so encoders see inputs far larger than libFuzzer's default 4 KiB.
#![no_main]

use libfuzzer_sys::fuzz_target;
use offloop::compress::codec::{compress, decompress, EncodeSettings, Flush, Format};
use offloop::compress::settings::{BrotliParam, BrotliSettings, DecodeSettings, DeflateSettings, ZstdParam, ZstdSettings};
use offloop::compress::stream::{Recipe, StreamState};
use offloop::runtime::bytes::ByteView;
use offloop::runtime::Cancel;

const FORMATS: [Format; 5] = [Format::Gzip, Format::Deflate, Format::DeflateRaw, Format::Brotli, Format::Zstd];

/// Settings from eight bytes: every range the API accepts.
fn settings(format: Format, b: &[u8; 8]) -> EncodeSettings {
  match format {
    Format::Brotli => EncodeSettings::Brotli(BrotliSettings {
      // Qualities above 9 are slow enough to stall the fuzzer: 0-9 cover every code path but two.
      params: vec![
        (BrotliParam::Quality, u32::from(b[0] % 10)),
        (BrotliParam::WindowBits, 10 + u32::from(b[1] % 15)),
        (BrotliParam::Mode, u32::from(b[2] % 3)),
      ],
    }),
    Format::Zstd => EncodeSettings::Zstd(ZstdSettings {
      params: vec![
        (ZstdParam::CompressionLevel, i32::from(b[0] % 25) - 5),
        (ZstdParam::ChecksumFlag, i32::from(b[1] & 1)),
        (ZstdParam::WindowLog, if b[2] & 1 == 0 { 0 } else { 10 + i32::from(b[2] % 14) }),
      ],
    }),
    _ => EncodeSettings::Deflate(DeflateSettings {
      level: b[0] % 10,
      window_bits: if format == Format::Gzip { 9 } else { 8 } + b[1] % 7,
      mem_level: 1 + b[2] % 9,
      strategy: b[3] % 5,
    }),
  }
}

fn stretched(seed: &[u8], length: usize) -> Vec<u8> {
  let mut out = Vec::with_capacity(length);
  let mut x = 0x9e37_79b9u32;
  while out.len() < length && !seed.is_empty() {
    for &byte in seed {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      // Mostly the seed as is, sometimes a changed byte: long matches and literals both.
      out.push(if x % 16 == 0 { byte ^ (x >> 8) as u8 } else { byte });
    }
  }
  out.truncate(length);
  out
}

fn streamed(format: Format, settings: EncodeSettings, input: &[u8], cuts: &[u8]) -> Vec<u8> {
  let mut stream = StreamState::new(Recipe::Compress(format, settings), usize::MAX, 1 << 16);
  let cancel = Cancel::default();
  let mut out = Vec::new();
  let mut rest = input;
  let mut run = |stream: &mut StreamState, piece: &[u8], flush| {
    let mut result = stream.begin(ByteView::Copied(piece.to_vec()), flush, &cancel).unwrap();
    out.extend_from_slice(&result.bytes);
    while result.more {
      result = stream.resume(&cancel).unwrap();
      out.extend_from_slice(&result.bytes);
    }
  };
  for &cut in cuts.iter().cycle().take(64) {
    if rest.is_empty() {
      break;
    }
    let (piece, tail) = rest.split_at((usize::from(cut) * 61).min(rest.len()));
    let flush = [Flush::None, Flush::None, Flush::Sync, Flush::Full][usize::from(cut) % 4];
    run(&mut stream, piece, flush);
    rest = tail;
  }
  run(&mut stream, rest, Flush::Finish);
  out
}

fuzz_target!(|data: &[u8]| {
  if data.len() < 10 {
    return;
  }
  let (head, seed) = data.split_at(10);
  let format = FORMATS[usize::from(head[0]) % FORMATS.len()];
  let length = usize::from(head[1]) << 10;
  let input = stretched(seed, length);
  let settings = settings(format, head[2..10].try_into().unwrap());
  let cancel = Cancel::default();
  let whole = compress(format, &settings, &input[..], usize::MAX, &cancel).unwrap();
  let streamed = streamed(format, settings, &input, seed);
  for packed in [whole, streamed] {
    let back = decompress(format, &DecodeSettings::default(), &packed[..], usize::MAX, &cancel).unwrap();
    assert!(back == input, "{format:?}: the round trip changed the data");
    if format == Format::DeflateRaw {
      assert!(miniz_oxide::inflate::decompress_to_vec(&packed).unwrap() == input);
    }
  }
});
