//! Canonicalization takes any bytes: it must give a canonical text or `ERR_JSON_PARSE`-kind parse
//! error, never a panic, and canonicalizing its own output must change nothing.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use offloop::json::canonical::canonicalize;
use offloop::json::read::MAX_DEPTH;

fuzz_target!(|data: &[u8]| {
  if let Ok(text) = canonicalize(&Bytes::copy_from_slice(data), MAX_DEPTH) {
    let again = canonicalize(&Bytes::from(text.clone().into_bytes()), MAX_DEPTH).expect("canonical text parses");
    assert_eq!(again, text);
  }
});
