//! Compressed request bodies come from clients: any bytes, in any format, decompressed whole or fed
//! in chunks of any size, must give the same bytes both ways or fail with the same documented code,
//! never a panic, a hang or output past the limit. Raw deflate and brotli are also decoded by
//! independent decoders (miniz_oxide, the pure-Rust brotli-decompressor), which must agree on what
//! decodes and to what. Seeds are real streams of up to 64 KiB, so inputs reach well past
//! libFuzzer's default 4 KiB, and a few bytes can ask for megabytes of output.
#![no_main]

use std::io::Read;

use libfuzzer_sys::fuzz_target;
use offloop::compress::codec::{decompress, Flush, Format};
use offloop::compress::settings::DecodeSettings;
use offloop::compress::stream::{Recipe, StreamState};
use offloop::runtime::bytes::ByteView;
use offloop::runtime::{Cancel, OffloopError};

const LIMIT: usize = 1 << 20;
const FORMATS: [Format; 5] = [Format::Gzip, Format::Deflate, Format::DeflateRaw, Format::Brotli, Format::Zstd];

/// The same input through a stream: written in `chunk`-byte pieces, output taken in 4 KiB pieces.
fn streamed(format: Format, settings: DecodeSettings, input: &[u8], chunk: usize) -> Result<Vec<u8>, OffloopError> {
  let mut stream = StreamState::new(Recipe::Decompress(format, settings), LIMIT, 4096);
  let cancel = Cancel::default();
  let mut out = Vec::new();
  let pieces = input.chunks(chunk).map(|c| (c, Flush::None)).chain([(&[][..], Flush::Finish)]);
  for (piece, flush) in pieces {
    let mut result = stream.begin(ByteView::Copied(piece.to_vec()), flush, &cancel)?;
    loop {
      assert!(result.bytes.len() <= 4096, "a piece of {} bytes", result.bytes.len());
      out.extend_from_slice(&result.bytes);
      if !result.more {
        break;
      }
      result = stream.resume(&cancel)?;
    }
  }
  Ok(out)
}

/// What an independent decoder makes of the input: its output, or `None` if it refuses it.
fn reference(format: Format, input: &[u8]) -> Option<Option<Vec<u8>>> {
  match format {
    Format::DeflateRaw => Some(miniz_oxide::inflate::decompress_to_vec_with_limit(input, LIMIT + 1).ok()),
    Format::Brotli => {
      let mut out = Vec::new();
      let mut reader = brotli_decompressor::Decompressor::new(input, 4096).take(LIMIT as u64 + 1);
      Some(reader.read_to_end(&mut out).ok().map(|_| out))
    }
    _ => None,
  }
}

fuzz_target!(|data: &[u8]| {
  let Some((&selector, input)) = data.split_first() else { return };
  let format = FORMATS[usize::from(selector) % FORMATS.len()];
  // node:zlib's windowBits for gzip and deflate streams: its default, the header's (0), or 8-15
  // (a stream whose header claimed more than 15 bits once panicked zlib-rs with 0).
  let window_bits = match (format, selector / 5 % 10) {
    (Format::Gzip | Format::Deflate | Format::DeflateRaw, 0) | (Format::Brotli | Format::Zstd, _) => None,
    (Format::DeflateRaw, 1) => Some(15),
    (_, 1) => Some(0),
    (_, n) => Some(6 + n),
  };
  let settings = DecodeSettings {
    window_bits,
    ..DecodeSettings::default()
  };
  let whole = decompress(format, &settings, input, LIMIT, &Cancel::default());
  let chunk = 1 + usize::from(selector / 5) * 97;
  let pieces = streamed(format, settings.clone(), input, chunk);
  // With a window smaller than the stream's, what decodes depends on the output room, in zlib as
  // in zlib-rs (a distance may reach back into the output of the same call): only the codes hold.
  if matches!(window_bits, Some(8..=14)) {
    for e in [&whole, &pieces].into_iter().filter_map(|r| r.as_ref().err()) {
      assert!(
        ["Z_DATA_ERROR", "Z_BUF_ERROR", "ERR_BUFFER_TOO_LARGE"].contains(&e.code.as_ref()),
        "{e:?}"
      );
    }
    return;
  }
  match (&whole, &pieces) {
    (Ok(a), Ok(b)) => {
      assert!(a.len() <= LIMIT);
      assert!(a == b, "{format:?}: whole and streamed output differ");
    }
    (Err(a), Err(b)) => {
      assert!(
        ["Z_DATA_ERROR", "Z_BUF_ERROR", "ERR_BUFFER_TOO_LARGE"].contains(&a.code.as_ref()),
        "{a:?}"
      );
      assert_eq!(a.code, b.code, "{format:?}: {a:?} / {b:?}");
    }
    _ => panic!("{format:?}: whole {whole:?} but streamed {pieces:?}"),
  }
  // The references read with a 15-bit window.
  let reference = match window_bits {
    None | Some(15) => reference(format, input),
    _ => None,
  };
  if let Some(theirs) = reference {
    match (&whole, theirs) {
      (Ok(ours), Some(theirs)) => assert!(*ours == theirs, "{format:?}: another output than the reference's"),
      (Err(e), Some(theirs)) => assert!(
        e.code == "ERR_BUFFER_TOO_LARGE" && theirs.len() > LIMIT,
        "{format:?}: {e:?}, but the reference decodes it"
      ),
      (Ok(_), None) => panic!("{format:?}: decoded what the reference refuses"),
      (Err(_), None) => {}
    }
  }
});
