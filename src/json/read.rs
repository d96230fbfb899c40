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

/// Parses exactly one JSON value (surrounding whitespace allowed) from `text[range]`.
/// `text` is the buffer strings are sliced from.
pub fn parse_one(
  text: &Bytes,
  range: std::ops::Range<usize>,
  shape: &Shape,
  options: &ReadOptions,
) -> Result<Val, ParseError> {
  stacker::maybe_grow(PARSE_STACK, 2 * PARSE_STACK, || {
    let slice = &text[range.clone()];
    let mut de = sonic_rs::Deserializer::from_slice(slice);
    let seed = Seed {
      text,
      shape,
      depth: 0,
      options,
    };
    let value = seed
      .deserialize(&mut de)
      .map_err(|e| ParseError::from_sonic(e, range.start))?;
    de.end().map_err(|e| ParseError::from_sonic(e, range.start))?;
    Ok(value)
  })
}

/// Parses a sequence of JSON values separated by whitespace (what `jq` reads), in order.
/// An empty or all-whitespace text has no values.
pub fn parse_many<'a>(
  text: &'a Bytes,
  shape: &'a Shape,
  options: &'a ReadOptions,
) -> impl Iterator<Item = Result<Val, ParseError>> + 'a {
  let mut start = 0;
  let mut done = false;
  std::iter::from_fn(move || {
    if done {
      return None;
    }
    let rest = &text[start..];
    if rest.iter().all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r')) {
      return None;
    }
    let mut de = sonic_rs::Deserializer::from_slice(rest);
    let seed = Seed {
      text,
      shape,
      depth: 0,
      options,
    };
    let value = match stacker::maybe_grow(PARSE_STACK, 2 * PARSE_STACK, || seed.deserialize(&mut de)) {
      Ok(value) => value,
      Err(e) => {
        done = true;
        return Some(Err(ParseError::from_sonic(e, start)));
      }
    };
    // `end` fails only on trailing characters, at the offset where the next value starts.
    match de.end() {
      Ok(()) => done = true,
      Err(e) => start += e.offset(),
    }
    Some(Ok(value))
  })
}

/// Builds a `Val`, keeping only what `shape` asks for.
#[derive(Clone, Copy)]
struct Seed<'a> {
  text: &'a Bytes,
  shape: &'a Shape,
  depth: usize,
  options: &'a ReadOptions,
}

impl<'a> Seed<'a> {
  /// A string value: a slice of the input buffer when the parser lends one out of it (no escapes),
  /// else a copy.
  fn string(&self, s: &str) -> Val {
    let start = self.text.as_ptr() as usize;
    let at = s.as_ptr() as usize;
    if at >= start && at + s.len() <= start + self.text.len() {
      Val::utf8_str(self.text.slice_ref(s.as_bytes()))
    } else {
      Val::utf8_str(Bytes::copy_from_slice(s.as_bytes()))
    }
  }

  fn number(&self, n: Num) -> Val {
    match n {
      Num::Int(i) if self.options.doubles => Val::Num(Num::Float(i as f64)),
      n => Val::Num(n),
    }
  }

  fn nested<'s, E: de::Error>(&self, shape: &'s Shape) -> Result<Seed<'s>, E>
  where
    'a: 's,
  {
    let depth = self.depth + 1;
    if depth > self.options.max_depth {
      return Err(E::custom(format_args!(
        "nesting deeper than {} levels",
        self.options.max_depth
      )));
    }
    Ok(Seed {
      text: self.text,
      shape,
      depth,
      options: self.options,
    })
  }
}

impl<'de> DeserializeSeed<'de> for Seed<'_> {
  type Value = Val;

  fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Val, D::Error> {
    deserializer.deserialize_any(self)
  }
}

impl<'de> Visitor<'de> for Seed<'_> {
  type Value = Val;

  fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
    f.write_str("a JSON value")
  }

  fn visit_unit<E>(self) -> Result<Val, E> {
    Ok(Val::Null)
  }

  fn visit_bool<E>(self, b: bool) -> Result<Val, E> {
    Ok(Val::Bool(b))
  }

  fn visit_i64<E>(self, n: i64) -> Result<Val, E> {
    Ok(self.number(Num::from_integral(n)))
  }

  fn visit_u64<E>(self, n: u64) -> Result<Val, E> {
    if self.options.doubles {
      // `as` rounds to nearest, ties to even: the double a JS parser makes of the same digits.
      return Ok(Val::Num(Num::Float(n as f64)));
    }
    Ok(Val::Num(Num::from_integral(n)))
  }

  fn visit_f64<E>(self, n: f64) -> Result<Val, E> {
    Ok(Val::Num(Num::Float(n)))
  }

  fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Val, E> {
    Ok(self.string(s))
  }

  fn visit_str<E>(self, s: &str) -> Result<Val, E> {
    Ok(self.string(s))
  }

  fn visit_string<E>(self, s: String) -> Result<Val, E> {
    Ok(Val::utf8_str(s.into_bytes()))
  }

  fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Val, A::Error> {
    // Elements of an array are kept whole: a shape only ever names object keys.
    let element = self.nested(&Shape::All)?;
    let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
    while let Some(item) = seq.next_element_seed(element)? {
      items.push(item);
    }
    Ok(Val::Arr(items.into()))
  }

  fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Val, A::Error> {
    let inner = self.nested(self.shape)?;
    let mut entries: Vec<(Val, Val)> = Vec::new();
    while let Some(key) = map.next_key_seed(Key(inner))? {
      let Val::TStr(name) = &key else {
        unreachable!("object keys are strings")
      };
      match self.shape.field(name) {
        Some(shape) => {
          let value = map.next_value_seed(Seed { shape, ..inner })?;
          entries.push((key, value));
        }
        None => map.next_value_seed(Skip(inner.depth, inner.options.max_depth))?,
      }
    }
    let mut object = Map::with_capacity_and_hasher(entries.len(), Default::default());
    for (key, value) in entries {
      if object.insert(key, value).is_some() && self.options.unique_keys {
        return Err(de::Error::custom("duplicate key in object"));
      }
    }
    Ok(Val::obj(object))
  }
}

/// An object key, as a string value.
#[derive(Clone, Copy)]
struct Key<'a>(Seed<'a>);

impl<'de> DeserializeSeed<'de> for Key<'_> {
  type Value = Val;

  fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Val, D::Error> {
    deserializer.deserialize_str(self.0)
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
    parse_one(&text, 0..text.len(), &Shape::All, &ReadOptions::default())
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
    assert!(parse_one(&text, 0..text.len(), &Shape::All, &options).is_ok());
    let text = Bytes::from_static(b"[[[[1]]]]");
    let e = parse_one(&text, 0..text.len(), &Shape::All, &options).unwrap_err();
    assert!(e.message.contains("nesting deeper than 3 levels"), "{}", e.message);
  }

  #[test]
  fn reads_sequences() {
    let text = Bytes::from_static(b" 1 [2]\n{\"a\":3}\"x\" ");
    let values: Vec<String> = parse_many(&text, &Shape::All, &ReadOptions::default())
      .map(|v| v.unwrap().to_string())
      .collect();
    assert_eq!(values, ["1", "[2]", "{\"a\":3}", "\"x\""]);
    let text = Bytes::from_static(b"  \n ");
    assert_eq!(parse_many(&text, &Shape::All, &ReadOptions::default()).count(), 0);
    let text = Bytes::from_static(b"1\n2\n{x");
    let results: Vec<_> = parse_many(&text, &Shape::All, &ReadOptions::default()).collect();
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
    assert!(parse_one(&text, 0..text.len(), &Shape::All, &options)
      .unwrap_err()
      .message
      .contains("duplicate"));
    let text = Bytes::from_static(b"[9007199254740993, 1]");
    let v = parse_one(&text, 0..text.len(), &Shape::All, &options).unwrap();
    assert_eq!(v.to_string(), "[9007199254740992.0,1.0]");
    assert_eq!(parse(r#"{"a":1,"a":2}"#).unwrap().to_string(), r#"{"a":2}"#);
  }

  #[test]
  fn shape_skips_but_validates() {
    let shape = Shape::fields([("b", Shape::All), ("c", Shape::fields([("d", Shape::All)]))]);
    let text = Bytes::from_static(br#"{"a":[1,{"x":2}],"b":"kept","c":{"d":1,"e":2},"f":3}"#);
    let v = parse_one(&text, 0..text.len(), &shape, &ReadOptions::default()).unwrap();
    assert_eq!(v.to_string(), r#"{"b":"kept","c":{"d":1}}"#);
    let text = Bytes::from_static(br#"{"a":[1,{"x":tru}],"b":1}"#);
    assert!(parse_one(&text, 0..text.len(), &shape, &ReadOptions::default()).is_err());
    let deep = format!("{{\"a\":{}{}}}", "[".repeat(300), "]".repeat(300));
    let text = Bytes::from(deep.into_bytes());
    assert!(parse_one(&text, 0..text.len(), &shape, &ReadOptions::default()).is_err());
  }

  #[test]
  fn strings_share_the_buffer() {
    let text = Bytes::from_static(br#"{"name":"plain","esc":"a\"b"}"#);
    let v = parse_one(&text, 0..text.len(), &Shape::All, &ReadOptions::default()).unwrap();
    assert_eq!(v.to_string(), r#"{"name":"plain","esc":"a\"b"}"#);
  }
}
