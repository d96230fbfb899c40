//! Values as jq 1.8 prints them (`jq -c`, `tojson`, `tostring`), and the short dumps of values
//! that jq's error messages quote.
//!
//! Numbers print as `Num::write` does (literals as written, doubles as jq's dtoa); strings escape
//! `"`, `\`, control characters and DEL (`\u007f`), as jq's `jvp_dump_string` does, and are
//! otherwise written as their UTF-8. A write polls for aborts as it goes and can stop at a size
//! limit, so that printing a value with 2^60 leaves ends when the call's limits say so.

use std::fmt;

use super::interrupt::{self, on_stack, Steps};
use super::Val;

/// The output went past the size it was allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLong;

/// Appends `value` as compact JSON; `Err` as soon as `out` holds more than `limit` bytes.
pub fn write_limited(out: &mut Vec<u8>, value: &Val, limit: usize) -> Result<(), TooLong> {
  on_stack(value.depth(), || {
    Writer {
      out,
      limit,
      steps: Steps::new(),
    }
    .value(value)
  })
}

/// Appends `value` as compact JSON.
pub fn write(out: &mut Vec<u8>, value: &Val) {
  let _ = write_limited(out, value, usize::MAX);
}

/// Appends `value` as `jq -r` prints it: a string as its text, anything else as JSON.
pub fn write_raw_limited(out: &mut Vec<u8>, value: &Val, limit: usize) -> Result<(), TooLong> {
  match value {
    Val::Str(s) => {
      out.extend_from_slice(s.as_bytes());
      if out.len() > limit {
        Err(TooLong)
      } else {
        Ok(())
      }
    }
    other => write_limited(out, other, limit),
  }
}

/// The JSON text of a value (`tojson`).
pub fn to_json(value: &Val) -> String {
  let mut out = Vec::new();
  write(&mut out, value);
  into_string(out)
}

/// The text of a value as `tostring` and string interpolation make it: a string itself, anything
/// else its JSON.
pub fn to_text(value: &Val) -> String {
  match value {
    Val::Str(s) => s.as_str().to_owned(),
    other => to_json(other),
  }
}

fn into_string(bytes: Vec<u8>) -> String {
  // The writer writes ASCII and the UTF-8 of strings, which are UTF-8.
  String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

struct Writer<'o> {
  out: &'o mut Vec<u8>,
  limit: usize,
  steps: Steps,
}

impl Writer<'_> {
  fn value(&mut self, value: &Val) -> Result<(), TooLong> {
    self.steps.step();
    match value {
      Val::Null => self.out.extend_from_slice(b"null"),
      Val::Bool(true) => self.out.extend_from_slice(b"true"),
      Val::Bool(false) => self.out.extend_from_slice(b"false"),
      Val::Num(n) => n.write(self.out),
      Val::Str(s) => string(self.out, s.as_str()),
      Val::Arr(a) => {
        self.out.push(b'[');
        for (i, item) in a.items().iter().enumerate() {
          if i > 0 {
            self.out.push(b',');
          }
          self.value(item)?;
        }
        self.out.push(b']');
      }
      Val::Obj(o) => {
        self.out.push(b'{');
        for (i, (key, item)) in o.map().iter().enumerate() {
          if i > 0 {
            self.out.push(b',');
          }
          string(self.out, key.as_str());
          self.out.push(b':');
          self.value(item)?;
        }
        self.out.push(b'}');
      }
    }
    if self.out.len() > self.limit {
      return Err(TooLong);
    }
    Ok(())
  }
}

/// A JSON string literal as jq writes it: `"`, `\` and control characters escaped (`\b \t \n \f
/// \r` by name, the rest as `\u00xx`), DEL as `\u007f`.
pub fn string(out: &mut Vec<u8>, s: &str) {
  escaped(out, s.as_bytes(), true)
}

/// A JSON string literal as `JSON.stringify` writes it (RFC 8785): as `string`, but DEL is
/// written as it is.
pub fn js_string(out: &mut Vec<u8>, s: &str) {
  escaped(out, s.as_bytes(), false)
}

/// Bytes of a long string worked on between two polls for an abort or the memory budget
/// (`interrupt::poll`): tens of microseconds of work.
const PIECE: usize = 64 << 10;

/// `s` in pieces of at most [`PIECE`] bytes, cut at character boundaries, for work over a long
/// string that polls between pieces: without, one string of hundreds of MB kept an aborted
/// call's thread busy for up to a second.
pub fn pieces(s: &str) -> impl Iterator<Item = &str> {
  let mut rest = s;
  std::iter::from_fn(move || {
    if rest.is_empty() {
      return None;
    }
    let mut end = rest.len().min(PIECE);
    while !rest.is_char_boundary(end) {
      end -= 1;
    }
    let (piece, tail) = rest.split_at(end);
    rest = tail;
    Some(piece)
  })
}

fn escaped(out: &mut Vec<u8>, s: &[u8], escape_del: bool) {
  out.reserve(s.len() + 2);
  out.push(b'"');
  // A long string is escaped a piece at a time, with the abort and the memory budget checked
  // between pieces: escapes can make its text six times longer than itself, and one string can
  // take a second (`reduce range(30) as $i (.; tojson)` doubles its length each time; the last
  // steps escape hundreds of MB). A short string, most of an output's, only checks the budget
  // (a load, where a poll reads a thread-local). Escapes are single bytes, so a piece may end
  // inside a multi-byte character.
  for (i, piece) in s.chunks(PIECE).enumerate() {
    if i > 0 {
      interrupt::poll();
    }
    escape_piece(out, piece, escape_del);
  }
  interrupt::check_memory();
  out.push(b'"');
}

fn escape_piece(out: &mut Vec<u8>, s: &[u8], escape_del: bool) {
  const HEX: &[u8; 16] = b"0123456789abcdef";
  let mut start = 0;
  while let Some(i) = next_special(s, start, escape_del) {
    let b = s[i];
    let short = match b {
      b'"' => b'"',
      b'\\' => b'\\',
      b'\n' => b'n',
      b'\r' => b'r',
      b'\t' => b't',
      0x08 => b'b',
      0x0c => b'f',
      // Other control characters, and DEL.
      _ => 0,
    };
    out.extend_from_slice(&s[start..i]);
    start = i + 1;
    if short == 0 {
      out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[(b >> 4) as usize], HEX[(b & 15) as usize]]);
    } else {
      out.extend_from_slice(&[b'\\', short]);
    }
  }
  out.extend_from_slice(&s[start..]);
}

/// The high bit of each byte of `word` (eight bytes of a string, little-endian) that a JSON
/// string cannot hold as it is: `"`, `\`, a byte below 0x20, and DEL if `del`. The lowest bit set
/// is exactly the first such byte; bytes above it may be marked wrongly (borrows spill upwards
/// only). Eight bytes at a time: the reader's scan of strings and the writer's search for escapes
/// looked at one byte at a time for most of their cost.
#[inline(always)]
pub fn special_bytes(word: u64, del: bool) -> u64 {
  const ONES: u64 = 0x0101_0101_0101_0101;
  let zero = |v: u64| v.wrapping_sub(ONES) & !v;
  let mut stops = zero(word ^ (ONES * u64::from(b'"')))
    | zero(word ^ (ONES * u64::from(b'\\')))
    | word.wrapping_sub(ONES * 0x20) & !word;
  if del {
    stops |= zero(word ^ (ONES * 0x7f));
  }
  stops & HIGH_BITS
}

/// The high bit of every byte of a word.
pub const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// The first byte of `s` at or after `at` that `escape_piece` escapes.
fn next_special(s: &[u8], mut at: usize, del: bool) -> Option<usize> {
  while let Some(chunk) = s.get(at..at + 8) {
    let stops = special_bytes(u64::from_le_bytes(chunk.try_into().unwrap_or_default()), del);
    if stops != 0 {
      return Some(at + (stops.trailing_zeros() / 8) as usize);
    }
    at += 8;
  }
  s[at..].iter().position(|&b| special_byte(b, del)).map(|i| at + i)
}

/// One byte of what [`special_bytes`] marks in a word: for the bytes after the last whole word.
#[inline(always)]
pub fn special_byte(b: u8, del: bool) -> bool {
  b == b'"' || b == b'\\' || b < 0x20 || (del && b == 0x7f)
}

/// jq's buffer for the dumps in its messages (`char errbuf[30]`).
const DUMP: usize = 30;

/// A value as jq's messages quote it (`jv_dump_string_trunc` into 30 bytes): strings longer than
/// 30 bytes cut to 30 characters first; a dump longer than 29 bytes cut to 25 or 26 bytes (at a
/// character boundary) and ended with `...` and the closing delimiter. Only the start of the
/// value is ever written.
pub fn dump(value: &Val) -> String {
  let mut out = Vec::with_capacity(2 * DUMP);
  let cut;
  let value = match value {
    Val::Str(s) if s.len() > DUMP => {
      let end = s.as_str().char_indices().nth(DUMP).map_or(s.len(), |(i, _)| i);
      cut = Val::Str(s.slice(0..end));
      &cut
    }
    other => other,
  };
  // Enough to know whether the dump is longer than 29 bytes.
  let _ = write_limited(&mut out, value, 2 * DUMP);
  if out.len() < DUMP {
    return into_string(out);
  }
  let delimiter = match out[0] {
    b'"' => Some(b'"'),
    b'[' => Some(b']'),
    b'{' => Some(b'}'),
    _ => None,
  };
  let mut len = DUMP - if delimiter.is_some() { 5 } else { 4 };
  // Back to the start of the character that byte `len` belongs to.
  while len > 0 && out[len] & 0xc0 == 0x80 {
    len -= 1;
  }
  out.truncate(len);
  out.extend_from_slice(b"...");
  out.extend(delimiter);
  into_string(out)
}

/// `kind (dump)`, as jq's type errors name a value: `number (1)`, `string ("a")`.
pub fn brief(value: &Val) -> String {
  format!("{} ({})", value.kind().name(), dump(value))
}

/// A value's short dump (`dump`): what jaq's own messages show of a value.
impl fmt::Display for Val {
  fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
    f.write_str(&dump(self))
  }
}

#[cfg(test)]
mod tests {
  use super::super::{Map, Num, Str};
  use super::*;

  #[test]
  fn pieces_cut_at_character_boundaries() {
    // A 4-byte character across every position of the first cut, and strings shorter than a piece.
    for shift in 0..4 {
      let s = format!("{}\u{1F600}{}", "a".repeat(PIECE - 2 - shift), "é".repeat(PIECE));
      let cut: Vec<&str> = pieces(&s).collect();
      assert_eq!(cut.concat(), s);
      assert!(cut.iter().all(|p| !p.is_empty() && p.len() <= PIECE));
      assert!(cut[0].len() >= PIECE - 3);
    }
    assert_eq!(pieces("").count(), 0);
    assert_eq!(pieces("x").collect::<Vec<_>>(), ["x"]);
  }

  fn json(v: &Val) -> String {
    to_json(v)
  }

  #[test]
  fn strings_escape_as_jq() {
    let s = Val::str("a\"b\\c\n\u{1}\u{7f}é😀\u{2028}");
    assert_eq!(json(&s), "\"a\\\"b\\\\c\\n\\u0001\\u007fé😀\u{2028}\"");
    let mut out = Vec::new();
    js_string(&mut out, "\u{7f}");
    assert_eq!(out, "\"\u{7f}\"".as_bytes());
  }

  /// Every ASCII byte and a multi-byte character at every place of strings around the word size,
  /// against serde_json's escaping (RFC 8259's, which `js_string` is; jq's also escapes DEL).
  #[test]
  fn escapes_every_byte_everywhere() {
    for len in 1..20 {
      for at in 0..len {
        for c in (0u8..0x80).map(char::from).chain(['é', '😀']) {
          let mut s: Vec<char> = "abcdefghijklmnopqrstuvwxyz".chars().take(len).collect();
          s[at] = c;
          let s: String = s.into_iter().collect();
          let want = serde_json::to_string(&s).unwrap();
          let mut out = Vec::new();
          js_string(&mut out, &s);
          assert_eq!(String::from_utf8(out).unwrap(), want, "{s:?}");
          let mut out = Vec::new();
          string(&mut out, &s);
          assert_eq!(
            String::from_utf8(out).unwrap(),
            want.replace('\u{7f}', "\\u007f"),
            "{s:?}"
          );
        }
      }
    }
  }

  #[test]
  fn containers_keep_insertion_order() {
    let mut map = Map::default();
    map.insert(Str::from("b"), Val::array(vec![Val::Null, Val::Bool(true)]));
    map.insert(Str::from("a"), Val::object(Map::default()));
    assert_eq!(json(&Val::object(map)), r#"{"b":[null,true],"a":{}}"#);
    assert_eq!(json(&Val::Num(Num::literal("1.000").unwrap())), "1.000");
  }

  /// The dumps in jq 1.8.2's messages: `Cannot iterate over string ("abcdefghijklmnopqrstuvwx...")`
  /// for a 36-character string, and its test suite's `"xxxxxxxx☆☆☆☆☆..."`.
  #[test]
  fn dumps_as_jq_messages_do() {
    assert_eq!(
      dump(&Val::str("abcdefghijklmnopqrstuvwxyz0123456789")),
      "\"abcdefghijklmnopqrstuvwx...\""
    );
    assert_eq!(
      dump(&Val::str(&format!("xxxxxxxx{}", "☆".repeat(30)))),
      "\"xxxxxxxx☆☆☆☆☆...\""
    );
    assert_eq!(dump(&Val::str("a")), "\"a\"");
    let numbers: Val = (0..100).map(|i| Val::float(f64::from(i))).collect();
    assert_eq!(dump(&numbers), "[0,1,2,3,4,5,6,7,8,9,10,1...]");
    assert_eq!(brief(&Val::float(1.0)), "number (1)");
    assert_eq!(
      dump(&Val::Num(Num::literal("123456789012345678901234567890").unwrap())),
      "12345678901234567890123456..."
    );
  }
}
