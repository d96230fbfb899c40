//! JSON text to jaq values.
//!
//! Parsing goes through sonic-rs's serde deserializer into jaq's own `Val` with a hand-written
//! visitor. Measured on 300k NDJSON log records (85 MB, one core): jaq-json's own reader
//! (hifijson) 110–118 MB/s, serde_json 134–145 MB/s, simd-json 115 MB/s, sonic-rs 160–166 MB/s,
//! sonic-rs with this visitor 166–185 MB/s. The visitor wins by building strings as slices of the
//! input buffer (no copy, no allocation for the text itself) and objects at their final size. With
//! a `Shape` from the filter it also skips what the filter never reads (about 1.6x less time).
//!
//! The nesting depth is capped (sonic-rs itself stops at 255 levels). Values the shape skips are
//! still fully validated, through a visitor that builds nothing, so pruning never lets malformed
//! input through and the depth cap holds there too.

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;
use jaq_json::{Map, Num, Val};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::shape::Shape;

/// The deepest nesting sonic-rs parses: it refuses the 255th level.
pub const MAX_DEPTH: usize = 254;

/// Stack a parse needs at most: sonic-rs and the visitors recurse once per nesting level, about
/// 100 bytes a level in release builds (measured: 255 levels fit in 32 KiB), several KiB in
/// debug builds. With less left, the parse runs on a new stack segment.
const PARSE_STACK: usize = if cfg!(debug_assertions) { 4 << 20 } else { 256 << 10 };

/// How a text is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadOptions {
  /// Arrays and objects nested deeper than this are refused.
  pub max_depth: usize,
  /// Refuse objects that repeat a key (I-JSON, required by RFC 8785) instead of keeping the last.
  pub unique_keys: bool,
  /// Read every number as an IEEE double (RFC 8785), never as an integer.
  pub doubles: bool,
}

impl Default for ReadOptions {
  fn default() -> Self {
    ReadOptions {
      max_depth: MAX_DEPTH,
      unique_keys: false,
      doubles: false,
    }
  }
}

/// Malformed input: what is wrong and where (a byte offset into the text given to the reader).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
  pub message: String,
  pub offset: usize,
}

impl ParseError {
  fn from_sonic(error: sonic_rs::Error, base: usize) -> Self {
    // sonic-rs's Display appends "at line L column C" and a snippet of the input: the position is
    // reported separately and input data stays out of messages.
    let text = error.to_string();
    let mut message = text.split(" at line ").next().unwrap_or(&text).trim().to_owned();
    if message.starts_with("Encountered nesting") {
      // sonic-rs's own depth limit, worded after serde_json's (whose limit is 128).
      message = format!("nesting deeper than {MAX_DEPTH} levels");
    }
    ParseError {
      message,
      offset: base + error.offset(),
    }
  }
}

/// 1-based line and column (in characters) of a byte offset of `text`.
pub fn line_column(text: &[u8], offset: usize) -> (usize, usize) {
  let before = &text[..offset.min(text.len())];
  let line_start = memchr::memrchr(b'\n', before).map_or(0, |i| i + 1);
  let line = memchr::memchr_iter(b'\n', before).count() + 1;
  let column = String::from_utf8_lossy(&before[line_start..]).chars().count() + 1;
  (line, column)
}

/// What the reader builds from the parser's events: jaq values (`Vals`), or the fast evaluator's
/// borrowed values (`fast::Values`). `'t` is the lifetime of the text being parsed.
pub trait Build<'t>: Copy {
  type Value;
  type Key;
  fn null(self) -> Self::Value;
  fn bool(self, b: bool) -> Self::Value;
  fn int(self, n: i64) -> Self::Value;
  /// Integers above `i64::MAX`.
  fn uint(self, n: u64) -> Self::Value;
  fn float(self, n: f64) -> Self::Value;
  /// A string, borrowed from the text when it has no escapes.
  fn string(self, s: Cow<'t, str>) -> Self::Value;
  fn key(self, s: Cow<'t, str>) -> Self::Key;
  fn array(self, items: Vec<Self::Value>) -> Self::Value;
  /// An object from its entries in input order; `Err` if a key repeats and `unique_keys` is set.
  fn object(self, entries: Vec<(Self::Key, Self::Value)>, unique_keys: bool) -> Result<Self::Value, RepeatedKey>;
}

/// An object repeats a key where keys must be unique.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RepeatedKey;

/// Builds jaq values; strings are slices of `text` (the buffer being parsed), not copies.
#[derive(Clone, Copy)]
pub struct Vals<'a>(pub &'a Bytes);

impl<'t> Build<'t> for Vals<'_> {
  type Value = Val;
  type Key = Val;

  fn null(self) -> Val {
    Val::Null
  }

  fn bool(self, b: bool) -> Val {
    Val::Bool(b)
  }

  fn int(self, n: i64) -> Val {
    Val::Num(Num::from_integral(n))
  }

  fn uint(self, n: u64) -> Val {
    Val::Num(Num::from_integral(n))
  }

  fn float(self, n: f64) -> Val {
    Val::Num(Num::Float(n))
  }

  fn string(self, s: Cow<'t, str>) -> Val {
    match s {
      Cow::Borrowed(s) => {
        let start = self.0.as_ptr() as usize;
        let at = s.as_ptr() as usize;
        if at >= start && at + s.len() <= start + self.0.len() {
          Val::utf8_str(self.0.slice_ref(s.as_bytes()))
        } else {
          Val::utf8_str(Bytes::copy_from_slice(s.as_bytes()))
        }
      }
      Cow::Owned(s) => Val::utf8_str(s.into_bytes()),
    }
  }

  fn key(self, s: Cow<'t, str>) -> Val {
    self.string(s)
  }

  fn array(self, items: Vec<Val>) -> Val {
    Val::Arr(items.into())
  }

  fn object(self, entries: Vec<(Val, Val)>, unique_keys: bool) -> Result<Val, RepeatedKey> {
    let mut object = Map::with_capacity_and_hasher(entries.len(), Default::default());
    for (key, value) in entries {
      if object.insert(key, value).is_some() && unique_keys {
        return Err(RepeatedKey);
      }
    }
    Ok(Val::obj(object))
  }
}

/// Parses exactly one JSON value (surrounding whitespace allowed) from `text[range]`.
pub fn parse_one<'t, B: Build<'t>>(
  build: B,
  text: &'t [u8],
  range: std::ops::Range<usize>,
  shape: &Shape,
  options: &ReadOptions,
) -> Result<B::Value, ParseError> {
  stacker::maybe_grow(PARSE_STACK, 2 * PARSE_STACK, || {
    let mut de = sonic_rs::Deserializer::from_slice(&text[range.clone()]);
    let value = Seed::new(build, shape, options)
      .deserialize(&mut de)
      .map_err(|e| ParseError::from_sonic(e, range.start))?;
    de.end().map_err(|e| ParseError::from_sonic(e, range.start))?;
    Ok(value)
  })
}

/// Parses a sequence of JSON values separated by whitespace (what `jq` reads), in order.
/// An empty or all-whitespace text has no values.
///
/// The usual input is one document: it is parsed in one go, and a check that only whitespace
/// follows. When more follows, value boundaries come from `value_end` (sonic-rs does not say where
/// a value ended, and the offset of its trailing-characters error is not reliable for that).
pub fn parse_many<'t, 'a, B: Build<'t> + 'a>(
  build: B,
  text: &'t [u8],
  shape: &'a Shape,
  options: &'a ReadOptions,
) -> impl Iterator<Item = Result<B::Value, ParseError>> + 'a
where
  't: 'a,
{
  let mut start = 0;
  let mut first = true;
  let mut done = false;
  std::iter::from_fn(move || {
    if done {
      return None;
    }
    start += text[start..].iter().take_while(|b| is_space(**b)).count();
    if start == text.len() {
      return None;
    }
    let range = if first {
      first = false;
      let mut de = sonic_rs::Deserializer::from_slice(&text[start..]);
      let seed = Seed::new(build, shape, options);
      let value = match stacker::maybe_grow(PARSE_STACK, 2 * PARSE_STACK, || seed.deserialize(&mut de)) {
        Ok(value) => value,
        Err(e) => {
          done = true;
          return Some(Err(ParseError::from_sonic(e, start)));
        }
      };
      start = match de.end() {
        Ok(()) => text.len(),
        // The value parsed, so scanning finds its true end.
        Err(_) => value_end(text, start),
      };
      return Some(Ok(value));
    } else {
      start..value_end(text, start)
    };
    start = range.end;
    let value = parse_one(build, text, range, shape, options);
    done = value.is_err();
    Some(value)
  })
}

fn is_space(b: u8) -> bool {
  matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Where the JSON value starting at `text[start]` (not whitespace) ends: exactly, for a valid
/// value (by its brackets and strings, iteratively, so any nesting is fine; numbers and literals
/// by JSON's grammar, so `02` is `0` then `2`, as the parser sees it). For malformed input it
/// returns some end at least one byte on; parsing that range then reports the error.
fn value_end(text: &[u8], start: usize) -> usize {
  let string_end = |from: usize| -> usize {
    let mut i = from + 1;
    while let Some(found) = memchr::memchr2(b'"', b'\\', &text[i..]) {
      i += found;
      if text[i] == b'"' {
        return i + 1;
      }
      i += 2;
      if i >= text.len() {
        break;
      }
    }
    text.len()
  };
  match text[start] {
    b'"' => string_end(start),
    b'[' | b'{' => {
      let mut depth = 0usize;
      let mut i = start;
      while i < text.len() {
        match text[i] {
          b'"' => {
            i = string_end(i);
            continue;
          }
          b'[' | b'{' => depth += 1,
          b']' | b'}' => {
            depth -= 1;
            if depth == 0 {
              return i + 1;
            }
          }
          _ => {}
        }
        i += 1;
      }
      text.len()
    }
    b't' | b'n' => (start + 4).min(text.len()),
    b'f' => (start + 5).min(text.len()),
    b'-' | b'0'..=b'9' => number_end(text, start),
    _ => start + 1,
  }
}

/// The end of the number at `text[start]`: `-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?`.
fn number_end(text: &[u8], start: usize) -> usize {
  let digits = |i: usize| {
    i + text[i.min(text.len())..]
      .iter()
      .take_while(|b| b.is_ascii_digit())
      .count()
  };
  let mut i = start + usize::from(text[start] == b'-');
  i = match text.get(i) {
    Some(b'0') => i + 1,
    Some(b'1'..=b'9') => digits(i),
    _ => return i.max(start + 1),
  };
  if text.get(i) == Some(&b'.') && text.get(i + 1).is_some_and(u8::is_ascii_digit) {
    i = digits(i + 1);
  }
  if matches!(text.get(i), Some(b'e' | b'E')) {
    let sign = usize::from(matches!(text.get(i + 1), Some(b'+' | b'-')));
    if text.get(i + 1 + sign).is_some_and(u8::is_ascii_digit) {
      i = digits(i + 1 + sign);
    }
  }
  i
}

/// Turns the parser's events into values with `B`, keeping only what `shape` asks for.
struct Seed<'s, B> {
  build: B,
  shape: &'s Shape,
  depth: usize,
  options: &'s ReadOptions,
}

// Not derived: `derive` would require `B: Clone` through a bound on the struct's fields only.
impl<B: Copy> Clone for Seed<'_, B> {
  fn clone(&self) -> Self {
    *self
  }
}

impl<B: Copy> Copy for Seed<'_, B> {}

impl<'s, B: Copy> Seed<'s, B> {
  fn new(build: B, shape: &'s Shape, options: &'s ReadOptions) -> Self {
    Seed {
      build,
      shape,
      depth: 0,
      options,
    }
  }

  fn nested<E: de::Error>(self, shape: &'s Shape) -> Result<Self, E> {
    let depth = self.depth + 1;
    if depth > self.options.max_depth {
      return Err(E::custom(format_args!(
        "nesting deeper than {} levels",
        self.options.max_depth
      )));
    }
    Ok(Seed { shape, depth, ..self })
  }
}

impl<'de, B: Build<'de>> DeserializeSeed<'de> for Seed<'_, B> {
  type Value = B::Value;

  fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<B::Value, D::Error> {
    deserializer.deserialize_any(self)
  }
}

impl<'de, B: Build<'de>> Visitor<'de> for Seed<'_, B> {
  type Value = B::Value;

  fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
    f.write_str("a JSON value")
  }

  fn visit_unit<E>(self) -> Result<B::Value, E> {
    Ok(self.build.null())
  }

  fn visit_bool<E>(self, b: bool) -> Result<B::Value, E> {
    Ok(self.build.bool(b))
  }

  fn visit_i64<E>(self, n: i64) -> Result<B::Value, E> {
    Ok(if self.options.doubles {
      self.build.float(n as f64)
    } else {
      self.build.int(n)
    })
  }

  fn visit_u64<E>(self, n: u64) -> Result<B::Value, E> {
    Ok(match i64::try_from(n) {
      Ok(n) if self.options.doubles => self.build.float(n as f64),
      Ok(n) => self.build.int(n),
      // `as` rounds to nearest, ties to even: the double a JS parser makes of the same digits.
      Err(_) if self.options.doubles => self.build.float(n as f64),
      Err(_) => self.build.uint(n),
    })
  }

  fn visit_f64<E>(self, n: f64) -> Result<B::Value, E> {
    Ok(self.build.float(n))
  }

  fn visit_borrowed_str<E>(self, s: &'de str) -> Result<B::Value, E> {
    Ok(self.build.string(Cow::Borrowed(s)))
  }

  fn visit_str<E>(self, s: &str) -> Result<B::Value, E> {
    Ok(self.build.string(Cow::Owned(s.to_owned())))
  }

  fn visit_string<E>(self, s: String) -> Result<B::Value, E> {
    Ok(self.build.string(Cow::Owned(s)))
  }

  fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<B::Value, A::Error> {
    // Elements of an array are kept whole: a shape only ever names object keys.
    let element = self.nested(&Shape::All)?;
    let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
    while let Some(item) = seq.next_element_seed(element)? {
      items.push(item);
    }
    Ok(self.build.array(items))
  }

  fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<B::Value, A::Error> {
    let inner = self.nested(self.shape)?;
    // A shape names the keys kept: room for them at once (objects read whole grow as usual).
    let mut entries = Vec::with_capacity(match self.shape {
      Shape::Fields(fields) => fields.len(),
      Shape::All => 0,
    });
    while let Some(key) = map.next_key_seed(Key)? {
      match self.shape.field(key.as_bytes()) {
        Some(shape) => {
          let value = map.next_value_seed(Seed { shape, ..inner })?;
          entries.push((self.build.key(key), value));
        }
        None => map.next_value_seed(Skip(inner.depth, inner.options.max_depth))?,
      }
    }
    self
      .build
      .object(entries, self.options.unique_keys)
      .map_err(|RepeatedKey| de::Error::custom("duplicate key in object"))
  }
}

/// An object key, borrowed from the text when it has no escapes.
#[derive(Clone, Copy)]
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
  type Value = Cow<'de, str>;

  fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Cow<'de, str>, D::Error> {
    deserializer.deserialize_str(self)
  }
}

impl<'de> Visitor<'de> for Key {
  type Value = Cow<'de, str>;

  fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
    f.write_str("an object key")
  }

  fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Cow<'de, str>, E> {
    Ok(Cow::Borrowed(s))
  }

  fn visit_str<E>(self, s: &str) -> Result<Cow<'de, str>, E> {
    Ok(Cow::Owned(s.to_owned()))
  }

  fn visit_string<E>(self, s: String) -> Result<Cow<'de, str>, E> {
    Ok(Cow::Owned(s))
  }
}

/// Validates a value the shape does not need and builds nothing (sonic-rs's own skipping
/// recurses without a depth limit: a deeply nested skipped value could exhaust the stack).
#[derive(Clone, Copy)]
struct Skip(usize, usize);

impl<'de> DeserializeSeed<'de> for Skip {
  type Value = ();

  fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
    deserializer.deserialize_any(self)
  }
}

impl Skip {
  fn nested<E: de::Error>(self) -> Result<Skip, E> {
    if self.0 + 1 > self.1 {
      return Err(E::custom(format_args!("nesting deeper than {} levels", self.1)));
    }
    Ok(Skip(self.0 + 1, self.1))
  }
}

impl<'de> Visitor<'de> for Skip {
  type Value = ();

  fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
    f.write_str("a JSON value")
  }

  fn visit_unit<E>(self) -> Result<(), E> {
    Ok(())
  }

  fn visit_bool<E>(self, _: bool) -> Result<(), E> {
    Ok(())
  }

  fn visit_i64<E>(self, _: i64) -> Result<(), E> {
    Ok(())
  }

  fn visit_u64<E>(self, _: u64) -> Result<(), E> {
    Ok(())
  }

  fn visit_f64<E>(self, _: f64) -> Result<(), E> {
    Ok(())
  }

  fn visit_str<E>(self, _: &str) -> Result<(), E> {
    Ok(())
  }

  fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
    let inner = self.nested()?;
    while seq.next_element_seed(inner)?.is_some() {}
    Ok(())
  }

  fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
    let inner = self.nested()?;
    while map.next_key_seed(inner)?.is_some() {
      map.next_value_seed(inner)?;
    }
    Ok(())
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  fn parse(text: &str) -> Result<Val, ParseError> {
    let text = Bytes::copy_from_slice(text.as_bytes());
    parse_one(Vals(&text), &text, 0..text.len(), &Shape::All, &ReadOptions::default())
  }

  #[test]
  fn reads_values() {
    assert_eq!(
      parse(r#" {"a":[1,2.5,"x",null,true]} "#).unwrap().to_string(),
      r#"{"a":[1,2.5,"x",null,true]}"#
    );
    assert_eq!(parse(r#""a\nb""#).unwrap(), Val::utf8_str("a\nb".as_bytes().to_vec()));
    assert_eq!(
      parse("18446744073709551615").unwrap().to_string(),
      "18446744073709551615"
    );
  }

  #[test]
  fn reports_position_and_no_input() {
    let e = parse("{\"secret\": 1,\n  \"b\": }").unwrap_err();
    assert!(!e.message.contains("secret"), "{}", e.message);
    let text = b"{\"secret\": 1,\n  \"b\": }";
    assert_eq!(line_column(text, e.offset), (2, 8));
  }

  #[test]
  fn caps_depth() {
    let nested = |n: usize| "[".repeat(n) + &"]".repeat(n);
    assert!(parse(&nested(MAX_DEPTH)).is_ok());
    assert_eq!(
      parse(&nested(MAX_DEPTH + 1)).unwrap_err().message,
      "nesting deeper than 254 levels"
    );
    assert!(parse(&nested(300)).unwrap_err().message.contains("nesting"));
    let options = ReadOptions {
      max_depth: 3,
      ..ReadOptions::default()
    };
    let text = Bytes::from_static(b"[[[1]]]");
    assert!(parse_one(Vals(&text), &text, 0..text.len(), &Shape::All, &options).is_ok());
    let text = Bytes::from_static(b"[[[[1]]]]");
    let e = parse_one(Vals(&text), &text, 0..text.len(), &Shape::All, &options).unwrap_err();
    assert!(e.message.contains("nesting deeper than 3 levels"), "{}", e.message);
  }

  #[test]
  fn reads_sequences() {
    let text = Bytes::from_static(b" 1 [2]\n{\"a\":3}\"x\" ");
    let values: Vec<String> = parse_many(Vals(&text), &text, &Shape::All, &ReadOptions::default())
      .map(|v| v.unwrap().to_string())
      .collect();
    assert_eq!(values, ["1", "[2]", "{\"a\":3}", "\"x\""]);
    let text = Bytes::from_static(b"  \n ");
    assert_eq!(
      parse_many(Vals(&text), &text, &Shape::All, &ReadOptions::default()).count(),
      0
    );
    let text = Bytes::from_static(b"0 ,\xf6");
    let results: Vec<_> = parse_many(Vals(&text), &text, &Shape::All, &ReadOptions::default()).collect();
    assert_eq!(results[0].as_ref().unwrap().to_string(), "0");
    assert!(results[1].is_err());
    let text = Bytes::from_static(b" 02 true1 -0.5e-3x");
    let results: Vec<String> = parse_many(Vals(&text), &text, &Shape::All, &ReadOptions::default())
      .map(|v| v.map_or_else(|e| e.message, |v| v.to_string()))
      .collect();
    assert_eq!(results[..4], ["0", "2", "true", "1"]);
    assert_eq!(results.len(), 6);
    let text = Bytes::from_static(b"[1,\"]\\\"\"] {\"a\":[{}]}\"s\\\\\"true null -1.5e3[]");
    let values: Vec<String> = parse_many(Vals(&text), &text, &Shape::All, &ReadOptions::default())
      .map(|v| v.unwrap().to_string())
      .collect();
    assert_eq!(
      values,
      [
        "[1,\"]\\\"\"]",
        "{\"a\":[{}]}",
        "\"s\\\\\"",
        "true",
        "null",
        "-1500.0",
        "[]"
      ]
    );
    let text = Bytes::from_static(b"1\n2\n{x");
    let results: Vec<_> = parse_many(Vals(&text), &text, &Shape::All, &ReadOptions::default()).collect();
    assert_eq!(results.len(), 3);
    let e = results[2].clone().unwrap_err();
    assert_eq!(line_column(&text, e.offset).0, 3);
  }

  #[test]
  fn unique_keys_and_doubles() {
    let options = ReadOptions {
      unique_keys: true,
      doubles: true,
      ..ReadOptions::default()
    };
    let text = Bytes::from_static(br#"{"a":1,"a":2}"#);
    assert!(parse_one(Vals(&text), &text, 0..text.len(), &Shape::All, &options)
      .unwrap_err()
      .message
      .contains("duplicate"));
    let text = Bytes::from_static(b"[9007199254740993, 1]");
    let v = parse_one(Vals(&text), &text, 0..text.len(), &Shape::All, &options).unwrap();
    assert_eq!(v.to_string(), "[9007199254740992.0,1.0]");
    assert_eq!(parse(r#"{"a":1,"a":2}"#).unwrap().to_string(), r#"{"a":2}"#);
  }

  #[test]
  fn shape_skips_but_validates() {
    let shape = Shape::fields([("b", Shape::All), ("c", Shape::fields([("d", Shape::All)]))]);
    let text = Bytes::from_static(br#"{"a":[1,{"x":2}],"b":"kept","c":{"d":1,"e":2},"f":3}"#);
    let v = parse_one(Vals(&text), &text, 0..text.len(), &shape, &ReadOptions::default()).unwrap();
    assert_eq!(v.to_string(), r#"{"b":"kept","c":{"d":1}}"#);
    let text = Bytes::from_static(br#"{"a":[1,{"x":tru}],"b":1}"#);
    assert!(parse_one(Vals(&text), &text, 0..text.len(), &shape, &ReadOptions::default()).is_err());
    let deep = format!("{{\"a\":{}{}}}", "[".repeat(300), "]".repeat(300));
    let text = Bytes::from(deep.into_bytes());
    assert!(parse_one(Vals(&text), &text, 0..text.len(), &shape, &ReadOptions::default()).is_err());
  }

  #[test]
  fn strings_share_the_buffer() {
    let text = Bytes::from_static(br#"{"name":"plain","esc":"a\"b"}"#);
    let v = parse_one(Vals(&text), &text, 0..text.len(), &Shape::All, &ReadOptions::default()).unwrap();
    assert_eq!(v.to_string(), r#"{"name":"plain","esc":"a\"b"}"#);
  }
}
