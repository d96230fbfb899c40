//! JSON text to jq values, by a reader written for this job (`Reader`).
//!
//! Strings are built as slices of the input buffer (no copy, no allocation for the text itself),
//! objects at their final size, and with a `Shape` from the filter the reader skips what the
//! filter never reads. Skipped values are still fully validated, so pruning never lets malformed
//! input through, and the nesting depth cap holds there too. Numbers are doubles as jq 1.8 reads
//! them, keeping their text where it differs from the double's (`value::num`). A long read polls
//! for aborts and the memory budget as it goes.
//!
//! Why by hand: no JSON library builds only the fields a filter reads while validating the rest at
//! this speed. The fastest library path (sonic-rs through serde) spends most of its time in serde's
//! visitor plumbing, and sonic-rs's DOM cannot leave fields out and recurses without a depth limit
//! (measurements: benchmark/NOTES.md, "Why offloop reads JSON itself"). Its test checks it against
//! serde_json on mutated texts.

use std::borrow::Cow;

use bytes::Bytes;

use super::shape::Shape;
use super::value::interrupt;
use super::value::num::{exponent_digits, Decimal};
use super::value::{text, Map, Num, Str, Val};

/// The deepest nesting read by default: 254, the limit sonic-rs (the reader used before) had.
pub const MAX_DEPTH: usize = 254;

/// Stack a parse needs at most: the reader recurses once per nesting level, a few hundred bytes
/// a level in release builds, several KiB in debug builds. With less left, the parse runs on a
/// new stack segment.
const PARSE_STACK: usize = if cfg!(debug_assertions) { 4 << 20 } else { 256 << 10 };

/// How a text is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadOptions {
  /// Arrays and objects nested deeper than this are refused.
  pub max_depth: usize,
  /// I-JSON (RFC 7493, required by RFC 8785): refuse objects that repeat a key and lone
  /// surrogates, where jq keeps the last key and reads a lone low surrogate as U+FFFD.
  pub i_json: bool,
  /// Read numbers as exactly rounded IEEE doubles, refusing those beyond the double range, and
  /// keep no literal text (RFC 8785). Otherwise numbers are jq's: literals rounded as jq rounds
  /// them, out-of-range ones kept as infinite literals.
  pub doubles: bool,
}

impl Default for ReadOptions {
  fn default() -> Self {
    ReadOptions {
      max_depth: MAX_DEPTH,
      i_json: false,
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

/// 1-based line and column (in characters) of a byte offset of `text`.
pub fn line_column(text: &[u8], offset: usize) -> (usize, usize) {
  let before = &text[..offset.min(text.len())];
  let line_start = memchr::memrchr(b'\n', before).map_or(0, |i| i + 1);
  let line = memchr::memchr_iter(b'\n', before).count() + 1;
  let column = String::from_utf8_lossy(&before[line_start..]).chars().count() + 1;
  (line, column)
}

/// A number as read: its double, and its text when the reader could not prove that the text is
/// what jq prints for the double (`Num::json_literal` then decides).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Number<'t> {
  pub value: f64,
  pub literal: Option<&'t str>,
}

impl Number<'_> {
  /// The jq number.
  #[inline]
  pub fn num(self) -> Num {
    match self.literal {
      None => Num::Short(self.value),
      Some(text) => Num::json_literal(text, self.value),
    }
  }
}

/// What the reader builds from what it reads: jq values (`Vals`), or the fast evaluator's
/// borrowed values (`fast::Values`). `'t` is the lifetime of the text being parsed.
pub trait Build<'t>: Copy {
  type Value;
  type Key;
  fn null(self) -> Self::Value;
  fn bool(self, b: bool) -> Self::Value;
  fn number(self, n: Number<'t>) -> Self::Value;
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

/// Builds jq values; strings are slices of `text` (the buffer being parsed), not copies.
#[derive(Clone, Copy)]
pub struct Vals<'a>(pub &'a Bytes);

impl<'t> Build<'t> for Vals<'_> {
  type Value = Val;
  type Key = Str;

  fn null(self) -> Val {
    Val::Null
  }

  fn bool(self, b: bool) -> Val {
    Val::Bool(b)
  }

  fn number(self, n: Number<'t>) -> Val {
    Val::Num(n.num())
  }

  fn string(self, s: Cow<'t, str>) -> Val {
    Val::Str(self.key(s))
  }

  fn key(self, s: Cow<'t, str>) -> Str {
    match s {
      Cow::Borrowed(s) => Str::in_buffer(self.0, s),
      Cow::Owned(s) => Str::from(s),
    }
  }

  fn array(self, items: Vec<Val>) -> Val {
    Val::array(items)
  }

  fn object(self, entries: Vec<(Str, Val)>, unique_keys: bool) -> Result<Val, RepeatedKey> {
    let mut object = Map::with_capacity_and_hasher(entries.len(), Default::default());
    for (key, value) in entries {
      if object.insert(key, value).is_some() && unique_keys {
        return Err(RepeatedKey);
      }
    }
    Ok(Val::object(object))
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
  let mut reader = Reader::new(&text[..range.end], range.start, options);
  let value = reader.value_on_stack(build, shape).map_err(|e| *e)?;
  if reader.space().is_some() {
    return reader.fail("trailing characters after the value").map_err(|e| *e);
  }
  Ok(value)
}

/// Parses a sequence of JSON values separated by whitespace (what `jq` reads), in order.
/// An empty or all-whitespace text has no values; the sequence ends after the first error.
pub fn parse_many<'t, 'a, B: Build<'t> + 'a>(
  build: B,
  text: &'t [u8],
  shape: &'a Shape,
  options: &'a ReadOptions,
) -> impl Iterator<Item = Result<B::Value, ParseError>> + 'a
where
  't: 'a,
{
  let mut reader = Reader::new(text, 0, options);
  let mut done = false;
  std::iter::from_fn(move || {
    if done || reader.space().is_none() {
      return None;
    }
    let value = reader.value_on_stack(build, shape).and_then(|value| {
      reader.ends_apart()?;
      Ok(value)
    });
    done = value.is_err();
    Some(value.map_err(|e| *e))
  })
}

/// A JSON reader that builds values through `Build` and skips, while still validating, whatever
/// the `Shape` leaves out (see the module's documentation for why it exists).
///
/// JSON as RFC 8259 has it, strictly: no trailing commas, no leading zeros, no lone surrogates,
/// no control characters or invalid UTF-8 in strings.
struct Reader<'t, 'o> {
  text: &'t [u8],
  at: usize,
  options: &'o ReadOptions,
  /// Where the reader next polls the run's abort and memory budget (a long text is read in
  /// steps of `POLL_BYTES`).
  next_poll: usize,
}

/// The reader polls for an abort once per this many bytes read.
const POLL_BYTES: usize = 64 << 10;

/// Errors are boxed: a parse moves many results up its recursion, and a small error keeps
/// `Parsed<Fv>` as small as `Fv`.
type Parsed<T> = Result<T, Box<ParseError>>;

impl<'t, 'o> Reader<'t, 'o> {
  fn new(text: &'t [u8], at: usize, options: &'o ReadOptions) -> Self {
    Reader {
      text,
      at,
      options,
      next_poll: at + POLL_BYTES,
    }
  }

  #[cold]
  fn fail<T>(&self, message: &str) -> Parsed<T> {
    Err(Box::new(ParseError {
      message: message.to_owned(),
      offset: self.at,
    }))
  }

  /// After a value of a sequence: a number or a literal may not run into what follows (`02`,
  /// `1true`, `true1`, `1-2` are not two values; jq refuses them too, though it reads `02` as 2).
  /// Inside arrays and objects, and after the one value of `parse_one`, what follows is checked
  /// anyway, so the reader's inner loops pay nothing for this.
  fn ends_apart(&self) -> Parsed<()> {
    let last = self.at.checked_sub(1).map(|i| self.text[i]);
    let next = self.text.get(self.at);
    match (last, next) {
      (Some(b'0'..=b'9'), Some(b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z' | b'-' | b'+' | b'.')) => {
        self.fail("invalid number")
      }
      (Some(b'a'..=b'z' | b'A'..=b'Z'), Some(next)) if next.is_ascii_alphanumeric() => {
        self.fail("expected a JSON value")
      }
      _ => Ok(()),
    }
  }

  /// Skips whitespace; the next byte, not consumed.
  fn space(&mut self) -> Option<u8> {
    while let Some(&b) = self.text.get(self.at) {
      if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
        return Some(b);
      }
      self.at += 1;
    }
    None
  }

  /// `value`, on a new stack segment when little stack is left (the reader recurses once per
  /// nesting level).
  fn value_on_stack<B: Build<'t>>(&mut self, build: B, shape: &Shape) -> Parsed<B::Value> {
    stacker::maybe_grow(PARSE_STACK, 2 * PARSE_STACK, || self.value(build, shape, 0))
  }

  fn value<B: Build<'t>>(&mut self, build: B, shape: &Shape, depth: usize) -> Parsed<B::Value> {
    if self.at >= self.next_poll {
      self.next_poll = self.at + POLL_BYTES;
      interrupt::poll();
    }
    match self.space() {
      Some(b'{') => self.object(build, shape, self.nested(depth)?),
      Some(b'[') => self.array(build, self.nested(depth)?),
      Some(b'"') => Ok(build.string(self.string()?)),
      Some(b'N' | b'I' | b'i' | b'+') if !self.options.doubles => self.non_finite(build),
      Some(b'-') if !self.options.doubles && self.text.get(self.at + 1).is_some_and(u8::is_ascii_alphabetic) => {
        self.non_finite(build)
      }
      Some(b'-' | b'0'..=b'9') => {
        let start = self.at;
        let (value, literal) = self.short_integer_or_number()?;
        // JSON number syntax is ASCII.
        let text = || std::str::from_utf8(&self.text[start..self.at]).unwrap_or_default();
        Ok(build.number(Number {
          value,
          literal: literal.then(text),
        }))
      }
      Some(b't') => self.literal(b"true").map(|()| build.bool(true)),
      Some(b'f') => self.literal(b"false").map(|()| build.bool(false)),
      Some(b'n') if !self.options.doubles && matches!(self.text.get(self.at + 1), Some(b'a' | b'A')) => {
        self.non_finite(build)
      }
      Some(b'n') => self.literal(b"null").map(|()| build.null()),
      Some(_) => self.fail("expected a JSON value"),
      None => self.fail("unexpected end of input"),
    }
  }

  /// NaN or an infinity: jq reads `nan`, `NaN`, `Infinity`, `-inf`… (any case, with a sign) as
  /// numbers, in its input and in `fromjson` (not RFC 8785's doubles).
  fn non_finite<B: Build<'t>>(&mut self, build: B) -> Parsed<B::Value> {
    let rest = &self.text[self.at..];
    let sign = usize::from(matches!(rest[0], b'-' | b'+'));
    let letters = rest[sign..].iter().take_while(|b| b.is_ascii_alphabetic()).count();
    let word = rest[sign..sign + letters].to_ascii_lowercase();
    let end = sign + letters;
    let delimited = rest
      .get(end)
      .is_none_or(|b| b.is_ascii_whitespace() || b",]}:[{\"".contains(b));
    let value = match word.as_slice() {
      b"nan" => f64::NAN,
      b"inf" | b"infinity" if rest[0] == b'-' => f64::NEG_INFINITY,
      b"inf" | b"infinity" => f64::INFINITY,
      _ => return self.fail("expected a JSON value"),
    };
    if !delimited {
      return self.fail("expected a JSON value");
    }
    self.at += end;
    Ok(build.number(Number { value, literal: None }))
  }

  fn nested(&self, depth: usize) -> Parsed<usize> {
    if depth >= self.options.max_depth {
      return self.fail(&format!("nesting deeper than {} levels", self.options.max_depth));
    }
    Ok(depth + 1)
  }

  fn literal(&mut self, word: &[u8]) -> Parsed<()> {
    if self.text[self.at..].starts_with(word) {
      self.at += word.len();
      Ok(())
    } else {
      self.fail("expected a JSON value")
    }
  }

  /// After a value inside a container: true if another follows (a comma was read), false at the
  /// closing bracket (read too).
  fn more(&mut self, close: u8, expected: &str) -> Parsed<bool> {
    match self.space() {
      Some(b',') => {
        self.at += 1;
        Ok(true)
      }
      Some(b) if b == close => {
        self.at += 1;
        Ok(false)
      }
      Some(_) => self.fail(expected),
      None => self.fail("unexpected end of input"),
    }
  }

  fn array<B: Build<'t>>(&mut self, build: B, depth: usize) -> Parsed<B::Value> {
    self.at += 1;
    let mut items = Vec::new();
    if self.space() == Some(b']') {
      self.at += 1;
      return Ok(build.array(items));
    }
    loop {
      // Elements of an array are kept whole: a shape only ever names object keys.
      items.push(self.value(build, &Shape::All, depth)?);
      if !self.more(b']', "expected ',' or ']' after an array element")? {
        return Ok(build.array(items));
      }
    }
  }

  fn object<B: Build<'t>>(&mut self, build: B, shape: &Shape, depth: usize) -> Parsed<B::Value> {
    let start = self.at;
    self.at += 1;
    // A shape names the keys kept: room for them at once (objects read whole grow as usual).
    let mut entries = Vec::with_capacity(match shape {
      Shape::Fields(fields) => fields.len(),
      Shape::All => 0,
    });
    if self.space() == Some(b'}') {
      self.at += 1;
    } else {
      loop {
        if self.space() != Some(b'"') {
          return self.fail("expected a string key");
        }
        let key = self.string()?;
        if self.space() != Some(b':') {
          return self.fail("expected ':' after an object key");
        }
        self.at += 1;
        match shape.field(key.as_bytes()) {
          Some(shape) => {
            let value = self.value(build, shape, depth)?;
            entries.push((build.key(key), value));
          }
          None => self.value(Discard, &Shape::All, depth)?,
        }
        if !self.more(b'}', "expected ',' or '}' after an object value")? {
          break;
        }
      }
    }
    build.object(entries, self.options.i_json).or_else(|RepeatedKey| {
      self.at = start;
      self.fail("duplicate key in object")
    })
  }

  /// The string whose opening quote is at `self.at`, borrowed from the text when it has no
  /// escapes. Inlined into its callers with escapes left to `escaped_string`: most strings and
  /// keys are short and plain, and the call cost more than the scan.
  #[inline(always)]
  fn string(&mut self) -> Parsed<Cow<'t, str>> {
    let start = self.at + 1;
    self.at = start;
    let mut ascii = true;
    let mut end = self.scan_string(&mut ascii);
    let mut owned = None;
    if self.text.get(end) != Some(&b'"') {
      self.at = end;
      owned = Some(self.escaped_string(start, &mut ascii)?);
      end = self.at;
    }
    self.at = end + 1;
    let text = self.text;
    if !ascii {
      // Escapes decode to valid UTF-8; only the raw parts can be invalid.
      if let Err(e) = std::str::from_utf8(&text[start..end]) {
        return Err(Box::new(ParseError {
          message: "invalid UTF-8 in a string".to_owned(),
          offset: start + e.valid_up_to(),
        }));
      }
    }
    match owned {
      // SAFETY: the bytes are all ASCII (`scan_string` saw no byte above 0x7f) or were just
      // validated as UTF-8. Validating every string again would cost 15% of a parse.
      None => Ok(Cow::Borrowed(unsafe {
        std::str::from_utf8_unchecked(&text[start..end])
      })),
      Some(out) => Ok(Cow::Owned(String::from_utf8(out).unwrap_or_default())),
    }
  }

  /// The rest of the string that starts at `start`, from `self.at` (a backslash or a byte that
  /// cannot be in a string): its text with escapes decoded, `self.at` left at the closing quote.
  #[inline(never)]
  fn escaped_string(&mut self, start: usize, ascii: &mut bool) -> Parsed<Vec<u8>> {
    let mut out = Vec::new();
    let mut run = start;
    loop {
      match self.text.get(self.at) {
        Some(b'"') => break,
        Some(b'\\') => {
          out.extend_from_slice(&self.text[run..self.at]);
          self.escape(&mut out)?;
          run = self.at;
        }
        Some(_) => return self.fail("control character in a string"),
        None => return self.fail("unexpected end of input in a string"),
      }
      self.at = self.scan_string(ascii);
    }
    out.extend_from_slice(&self.text[run..self.at]);
    Ok(out)
  }

  /// The first byte at or after `self.at` that ends a run of plain string characters: a quote,
  /// a backslash or a control character (or the end of the text). Clears `ascii` if the run has
  /// bytes above 0x7f. Eight bytes at a time: strings are most of the bytes of typical JSON.
  #[inline]
  fn scan_string(&self, ascii: &mut bool) -> usize {
    const HIGH: u64 = text::HIGH_BITS;
    let mut at = self.at;
    let text = self.text;
    while let Some(chunk) = text.get(at..at + 8) {
      let word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
      let stops = text::special_bytes(word, false);
      if stops != 0 {
        let first = stops.trailing_zeros() / 8;
        // The bytes before the first stop, checked for a high bit in the word already loaded (a
        // byte loop here cost more than the scan for short strings and keys).
        let before = (1u64 << (first * 8)) - 1;
        *ascii &= word & HIGH & before == 0;
        return at + first as usize;
      }
      *ascii &= word & HIGH == 0;
      at += 8;
    }
    while let Some(&b) = text.get(at) {
      if text::special_byte(b, false) {
        break;
      }
      *ascii &= b.is_ascii();
      at += 1;
    }
    at
  }

  /// The escape at `self.at` (a backslash), decoded onto `out`.
  fn escape(&mut self, out: &mut Vec<u8>) -> Parsed<()> {
    let byte = match self.text.get(self.at + 1) {
      Some(b'"') => b'"',
      Some(b'\\') => b'\\',
      Some(b'/') => b'/',
      Some(b'b') => 0x08,
      Some(b'f') => 0x0c,
      Some(b'n') => b'\n',
      Some(b'r') => b'\r',
      Some(b't') => b'\t',
      Some(b'u') => {
        let high = self.hex4(self.at + 2)?;
        let (code, length) = match high {
          0xd800..=0xdbff => match (self.text.get(self.at + 6..self.at + 8), self.hex4(self.at + 8)) {
            (Some(b"\\u"), Ok(low @ 0xdc00..=0xdfff)) => (0x10000 + ((high - 0xd800) << 10) + (low - 0xdc00), 12),
            _ => return self.fail("lone surrogate in a \\u escape"),
          },
          0xdc00..=0xdfff if !self.options.i_json => (0xfffd, 6),
          0xdc00..=0xdfff => return self.fail("lone surrogate in a \\u escape"),
          _ => (high, 6),
        };
        let c = char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER);
        out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
        self.at += length;
        return Ok(());
      }
      _ => return self.fail("invalid escape in a string"),
    };
    out.push(byte);
    self.at += 2;
    Ok(())
  }

  fn hex4(&self, at: usize) -> Parsed<u32> {
    let digits = self.text.get(at..at + 4).unwrap_or_default();
    match std::str::from_utf8(digits)
      .ok()
      .filter(|d| d.len() == 4 && d.bytes().all(|b| b.is_ascii_hexdigit()))
    {
      Some(d) => Ok(u32::from_str_radix(d, 16).unwrap_or_default()),
      None => self.fail("invalid \\u escape in a string"),
    }
  }

  /// `number`, inlined for the most common number, an integer of at most 15 digits (exact as a
  /// double, and printed as written): the call cost more than reading it. Anything else is read
  /// again from its start by `number`.
  #[inline(always)]
  fn short_integer_or_number(&mut self) -> Parsed<(f64, bool)> {
    const SHORT: usize = 15;
    let text = self.text;
    let negative = text[self.at] == b'-';
    let first = self.at + usize::from(negative);
    if let Some(b'1'..=b'9') = text.get(first) {
      let mut at = first;
      let mut n: u64 = 0;
      // At most SHORT + 1 digits: below 10^16, no overflow.
      while let (true, Some(&d @ b'0'..=b'9')) = (at - first <= SHORT, text.get(at)) {
        n = n * 10 + u64::from(d - b'0');
        at += 1;
      }
      if at - first <= SHORT && !matches!(text.get(at), Some(b'.' | b'e' | b'E' | b'0'..=b'9')) {
        self.at = at;
        let n = n as f64;
        return Ok((if negative { -n } else { n }, false));
      }
    }
    self.number()
  }

  /// The number at `self.at`: `-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?`. Skipped numbers
  /// are converted too: with `doubles`, one out of the double range is an error wherever it is.
  /// Its double, and whether its text may print differently (then the literal is kept).
  fn number(&mut self) -> Parsed<(f64, bool)> {
    let text = self.text;
    let start = self.at;
    let negative = text[start] == b'-';
    let mut at = start + usize::from(negative);
    // Up to 19 significant digits accumulate exactly in a u64.
    let mut mantissa: u64 = 0;
    let mut digits = 0usize;
    let mut exponent: i64 = 0;
    let integral_start = at;
    match text.get(at) {
      Some(b'0') => at += 1,
      Some(b'1'..=b'9') => {
        while let Some(&d @ b'0'..=b'9') = text.get(at) {
          if digits < 19 {
            mantissa = mantissa * 10 + u64::from(d - b'0');
          } else {
            exponent += 1;
          }
          digits += usize::from(digits > 0 || d != b'0');
          at += 1;
        }
      }
      _ => {
        self.at = at;
        return self.fail("invalid number");
      }
    }
    let integral_end = at;
    let mut integer = true;
    let mut exponent_part = false;
    let mut fraction_digits = 0;
    let mut explicit: i64 = 0;
    if text.get(at) == Some(&b'.') {
      integer = false;
      at += 1;
      let first = at;
      while let Some(&d @ b'0'..=b'9') = text.get(at) {
        if digits < 19 {
          mantissa = mantissa * 10 + u64::from(d - b'0');
          exponent -= 1;
        }
        digits += usize::from(digits > 0 || d != b'0');
        at += 1;
      }
      if at == first {
        self.at = at;
        return self.fail("invalid number");
      }
      fraction_digits = at - first;
    }
    let digits_end = at;
    if matches!(text.get(at), Some(b'e' | b'E')) {
      integer = false;
      exponent_part = true;
      match exponent_digits(text, at + 1) {
        Ok((power, end)) => {
          explicit = power;
          at = end;
        }
        Err(end) => {
          self.at = end;
          return self.fail("invalid number");
        }
      }
      exponent += explicit;
    }
    self.at = at;
    if integer && integral_end - integral_start <= 15 {
      // Most numbers: exact as doubles, and printed as written.
      let n = mantissa as f64;
      return Ok((if negative { -n } else { n }, false));
    }
    let jq = !self.options.doubles;
    // JSON number syntax is ASCII.
    let raw = || std::str::from_utf8(&text[start..at]).unwrap_or_default();
    // Clinger's fast path: both factors exact in a double, so one correctly rounded operation.
    const POWERS: [f64; 23] = [
      1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
      1e20, 1e21, 1e22,
    ];
    let value = if digits <= 19 && mantissa <= 1 << 53 && exponent.unsigned_abs() <= 22 {
      let m = mantissa as f64;
      let power = POWERS[exponent.unsigned_abs() as usize];
      let n = if exponent < 0 { m / power } else { m * power };
      if negative {
        -n
      } else {
        n
      }
    } else if explicit.unsigned_abs() > u64::from(u16::MAX) {
      self.rewritten_float(start, integral_start..digits_end, explicit - fraction_digits as i64)
    } else if jq && digits > 17 {
      // jq rounds a literal to 17 significant digits before it finds the double.
      match Decimal::parse(raw()) {
        Some(Ok(decimal)) => decimal.to_f64(),
        _ => f64::NAN,
      }
    } else {
      raw().parse().unwrap_or(f64::NAN)
    };
    if !value.is_finite() && !jq {
      self.at = start;
      return self.fail("number out of range");
    }
    // Text jq prints exactly as the double (checked without building either text): decimals of
    // at most 15 significant digits without a trailing zero and with at most three zeros after
    // `0.` (integers of at most 15 digits returned above). Anything else is compared in full.
    let short = !integer
      && !exponent_part
      && digits > 0
      && digits <= 15
      && text[digits_end - 1] != b'0'
      && (text[integral_start] != b'0' || fraction_digits - digits <= 3);
    Ok((value, jq && !short))
  }

  /// The double of a number with an exponent above 65535, which the standard library's parser
  /// stops reading (`dec2flt`): it gets the significant digits of `text[digits]` (without the
  /// point) and the exponent that applies to them as an integer, `power`. At most 800 digits are
  /// kept, a dropped nonzero tail standing as a final 1, so rounding still sees it (768 digits
  /// decide a double).
  fn rewritten_float(&self, start: usize, digits: std::ops::Range<usize>, mut power: i64) -> f64 {
    const KEPT: usize = 800;
    let significant: Vec<u8> = self.text[digits]
      .iter()
      .copied()
      .filter(|&b| b != b'.')
      .skip_while(|&b| b == b'0')
      .collect();
    let mut text: String = if self.text[start] == b'-' {
      "-".into()
    } else {
      String::new()
    };
    if significant.is_empty() {
      text.push('0');
    } else {
      let kept = significant.len().min(KEPT);
      text.extend(significant[..kept].iter().map(|&b| char::from(b)));
      power += (significant.len() - kept) as i64;
      if significant[kept..].iter().any(|&b| b != b'0') {
        text.push('1');
        power -= 1;
      }
    }
    text.push_str(&format!("e{power}"));
    text.parse().unwrap_or(f64::NAN)
  }
}

/// Builds nothing: the reader's way to validate a value the shape skips.
#[derive(Clone, Copy)]
struct Discard;

impl<'t> Build<'t> for Discard {
  type Value = ();
  type Key = ();
  fn null(self) {}
  fn bool(self, _: bool) {}
  fn number(self, _: Number<'t>) {}
  fn string(self, _: Cow<'t, str>) {}
  fn key(self, _: Cow<'t, str>) {}
  // A `Vec` of `()` never allocates.
  fn array(self, _: Vec<()>) {}
  fn object(self, _: Vec<((), ())>, _: bool) -> Result<(), RepeatedKey> {
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

  fn exact(text: &str) -> Result<Val, ParseError> {
    let text = Bytes::copy_from_slice(text.as_bytes());
    let options = ReadOptions {
      doubles: true,
      ..ReadOptions::default()
    };
    parse_one(Vals(&text), &text, 0..text.len(), &Shape::All, &options)
  }

  fn json(v: &Val) -> String {
    crate::json::value::text::to_json(v)
  }

  fn double(v: &Val) -> f64 {
    v.as_num().expect("a number").value()
  }

  #[test]
  fn reads_values() {
    assert_eq!(
      json(&parse(r#" {"a":[1,2.5,"x",null,true]} "#).unwrap()),
      r#"{"a":[1,2.5,"x",null,true]}"#
    );
    assert_eq!(parse(r#""a\nb""#).unwrap().as_str(), Some("a\nb"));
    // Literals keep their text where the double would print differently (jq 1.8.2's `tojson`).
    for (text, printed) in [
      ("18446744073709551615", "18446744073709551615"),
      ("1.000", "1.000"),
      ("1e2", "1E+2"),
      ("0.00001", "0.00001"),
      ("-0", "-0"),
      ("0.0", "0.0"),
      ("1e400", "1E+400"),
      ("123456789012345", "123456789012345"),
      ("0.000123", "0.000123"),
      ("0.0000123", "0.0000123"),
    ] {
      assert_eq!(json(&parse(text).unwrap()), printed, "{text}");
    }
    assert!(double(&parse("1e400").unwrap()).is_infinite());
    assert!(exact("1e400").is_err(), "out of the double range");
  }

  /// Exponents past what the standard library's parser reads, offset by runs of zeros.
  #[test]
  fn huge_exponents() {
    let zeros = "0".repeat(1_048_585);
    assert_eq!(double(&exact(&format!("0.{zeros}1e1048676")).unwrap()), 1e90);
    assert!(exact(&format!("0.{zeros}1e2000000")).is_err());
    assert_eq!(double(&exact("1e-99999999999").unwrap()), 0.0);
    assert!(double(&exact("-0.0e99999").unwrap()).is_sign_negative());
    // 100,000 digits times 1e-99990: about 10^10 / 3.
    let value = exact(&format!("{}e-99990", "3".repeat(100_000))).unwrap();
    assert_eq!(double(&value), 3333333333.3333335);
    // jq keeps such literals (as infinities, or zeros beyond decNumber's exponents).
    assert!(double(&parse(&format!("0.{zeros}1e2000000")).unwrap()).is_infinite());
    assert_eq!(json(&parse("1e-99999999999").unwrap()), "0");
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
      .map(|v| json(&v.unwrap()))
      .collect();
    assert_eq!(values, ["1", "[2]", "{\"a\":3}", "\"x\""]);
    let text = Bytes::from_static(b"  \n ");
    assert_eq!(
      parse_many(Vals(&text), &text, &Shape::All, &ReadOptions::default()).count(),
      0
    );
    let text = Bytes::from_static(b"0 ,\xf6");
    let results: Vec<_> = parse_many(Vals(&text), &text, &Shape::All, &ReadOptions::default()).collect();
    assert_eq!(json(results[0].as_ref().unwrap()), "0");
    assert!(results[1].is_err());
    let read = |text: &'static [u8]| -> Vec<String> {
      let text = Bytes::from_static(text);
      parse_many(Vals(&text), &text, &Shape::All, &ReadOptions::default())
        .map(|v| v.map_or_else(|e| e.message, |v| json(&v)))
        .collect()
    };
    assert_eq!(
      read(b" 0 2 true 1[2]3\"x\"null -0.5e-3x")[..8],
      ["0", "2", "true", "1", "[2]", "3", "\"x\"", "null"]
    );
    // A number or a literal runs into the next value only where jq too reads two values; jq
    // reads `02` as 2, offloop refuses it (not JSON).
    assert_eq!(read(b"02"), ["invalid number"]);
    assert_eq!(read(b"-01"), ["invalid number"]);
    assert_eq!(read(b"[01]"), ["expected ',' or ']' after an array element"]);
    assert_eq!(read(b"true1"), ["expected a JSON value"]);
    assert_eq!(read(b"1 nullx"), ["1", "expected a JSON value"]);
    assert_eq!(read(b"1true"), ["invalid number"]);
    assert_eq!(read(b"1-2"), ["invalid number"]);
    assert_eq!(read(b"1.5.2"), ["invalid number"]);
    assert_eq!(read(b"1[2]"), ["1", "[2]"]);
    let text = Bytes::from_static(b"[1,\"]\\\"\"] {\"a\":[{}]}\"s\\\\\"true null -1.5e3[]");
    let values: Vec<String> = parse_many(Vals(&text), &text, &Shape::All, &ReadOptions::default())
      .map(|v| json(&v.unwrap()))
      .collect();
    assert_eq!(
      values,
      [
        "[1,\"]\\\"\"]",
        "{\"a\":[{}]}",
        "\"s\\\\\"",
        "true",
        "null",
        "-1.5E+3",
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
  fn i_json_and_doubles() {
    let options = ReadOptions {
      i_json: true,
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
    assert_eq!(json(&v), "[9007199254740992,1]");
    assert_eq!(json(&parse(r#"{"a":1,"a":2}"#).unwrap()), r#"{"a":2}"#);
    // A lone low surrogate: U+FFFD as jq reads it, refused in I-JSON; a lone high one: refused.
    let text = Bytes::from_static(br#"["\udc00", "a\udfffb"]"#);
    assert!(parse_one(Vals(&text), &text, 0..text.len(), &Shape::All, &options).is_err());
    assert_eq!(
      json(&parse(r#"["\udc00", "a\udfffb"]"#).unwrap()),
      "[\"\u{fffd}\",\"a\u{fffd}b\"]"
    );
    for lone in [r#""\ud800""#, r#""\ud800x""#, r#""\ud800\u0041""#, r#""\ud800\ud800""#] {
      assert!(parse(lone).is_err(), "{lone}");
    }
  }

  #[test]
  fn shape_skips_but_validates() {
    let shape = Shape::fields([("b", Shape::All), ("c", Shape::fields([("d", Shape::All)]))]);
    let text = Bytes::from_static(br#"{"a":[1,{"x":2}],"b":"kept","c":{"d":1,"e":2},"f":3}"#);
    let v = parse_one(Vals(&text), &text, 0..text.len(), &shape, &ReadOptions::default()).unwrap();
    assert_eq!(json(&v), r#"{"b":"kept","c":{"d":1}}"#);
    let text = Bytes::from_static(br#"{"a":[1,{"x":tru}],"b":1}"#);
    assert!(parse_one(Vals(&text), &text, 0..text.len(), &shape, &ReadOptions::default()).is_err());
    // A skipped number out of the double range is refused as a read one is (RFC 8785).
    let text = Bytes::from_static(br#"{"a":1e400,"b":1}"#);
    let exact = ReadOptions {
      doubles: true,
      ..ReadOptions::default()
    };
    assert!(parse_one(Vals(&text), &text, 0..text.len(), &shape, &exact).is_err());
    let deep = format!("{{\"a\":{}{}}}", "[".repeat(300), "]".repeat(300));
    let text = Bytes::from(deep.into_bytes());
    assert!(parse_one(Vals(&text), &text, 0..text.len(), &shape, &ReadOptions::default()).is_err());
  }

  /// The value of a serde_json value (numbers as their nearest doubles), for comparing the two
  /// readers.
  fn from_serde(value: &serde_json::Value) -> Val {
    use serde_json::Value as J;
    match value {
      J::Null => Val::Null,
      J::Bool(b) => Val::Bool(*b),
      J::Number(n) => Val::float(n.as_f64().unwrap()),
      J::String(s) => Val::str(s),
      J::Array(items) => Val::array(items.iter().map(from_serde).collect()),
      J::Object(entries) => Val::object(
        entries
          .iter()
          .map(|(k, v)| (Str::from(k.as_str()), from_serde(v)))
          .collect(),
      ),
    }
  }

  /// Byte-level mutations of JSON texts that stress every rule (escapes, surrogates, UTF-8,
  /// number syntax and rounding, nesting): with exact doubles, this reader accepts exactly what
  /// serde_json accepts and reads the same values; jq's reading accepts the same texts and also
  /// numbers beyond the double range; skipping a field (the shape) never changes what is
  /// accepted.
  #[test]
  fn agrees_with_serde_json() {
    let seeds: &[&[u8]] = &[
      br#"{"a":[1,-2,3.5e-3,"x\n\u00e9\ud83d\ude00",null,true,false],"b":{"c":{}},"d":[]}"#,
      br#"[0, -0, 0.0, -0.0, 1E2, 1e+2, 2.5E-2, 123456789012345678, 18446744073709551615]"#,
      br#"[18446744073709551616, -9223372036854775808, -9223372036854775809, 9007199254740993]"#,
      br#"[1e308, 1e-400, 4.9e-324, 2.2250738585072011e-308, 0.1, 0.30000000000000004, 1e22, 1e23]"#,
      br#"[123456789012345678901234567890, 3.14159265358979323846264338327950288, 7e-10, 1.5e300]"#,
      "{\"k\u{e9}y\":\"v\u{4e16}\u{1f600}\",\"\\\"\\\\\\/\\b\\f\\n\\r\\t\":\"\\u0000\\u001f\\uffff\"}".as_bytes(),
      b" { \"a\" : [ [ [ 1 ] ] ] , \"b\" : \"\\ud800\\udc00\" }\n",
      &[b'"', 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80, b'"'],
    ];
    let alphabet = b"{}[]\",:\\/0123456789.eE+-tfnrul \n\tuabd\x00\x1f\x7f\xc3\xa9\xff\xed\xa0\x80";
    let skip_a = Shape::fields([("b", Shape::All)]);
    let options = ReadOptions {
      doubles: true,
      ..ReadOptions::default()
    };
    let mut accepted = 0;
    for bytes in crate::runtime::mutate::mutations(seeds, alphabet, 3, 60_000) {
      let text = Bytes::from(bytes);
      let ours = parse_one(Vals(&text), &text, 0..text.len(), &Shape::All, &options);
      let theirs = serde_json::from_slice::<serde_json::Value>(&text);
      let shown = String::from_utf8_lossy(&text);
      match (&ours, &theirs) {
        (Ok(a), Ok(b)) => {
          assert_eq!(*a, from_serde(b), "{shown}");
          accepted += 1;
        }
        (Err(e), Err(_)) => assert!(e.offset <= text.len(), "{shown}"),
        // jq reads a lone low surrogate as U+FFFD; serde_json refuses it.
        (Ok(_), Err(e)) if e.to_string().contains("surrogate") => {}
        _ => panic!("{shown}: ours {ours:?}, serde_json {theirs:?}"),
      }
      let pruned = parse_one(Vals(&text), &text, 0..text.len(), &skip_a, &options);
      assert_eq!(pruned.is_ok(), ours.is_ok(), "{shown}");
      let jq = parse_one(Vals(&text), &text, 0..text.len(), &Shape::All, &ReadOptions::default());
      match (&jq, &ours) {
        (Ok(_), Ok(_)) | (Err(_), Err(_)) => {}
        (Ok(_), Err(e)) => assert_eq!(e.message, "number out of range", "{shown}"),
        (Err(e), Ok(_)) => panic!("{shown}: jq's reading refused it: {}", e.message),
      }
    }
    // The mutations must leave a fair share of valid texts, or the values are never compared.
    assert!(accepted > 10_000, "{accepted}");
  }

  #[test]
  fn strings_share_the_buffer() {
    let text = Bytes::from_static(br#"{"name":"plain","esc":"a\"b"}"#);
    let v = parse_one(Vals(&text), &text, 0..text.len(), &Shape::All, &ReadOptions::default()).unwrap();
    assert_eq!(json(&v), r#"{"name":"plain","esc":"a\"b"}"#);
    let Val::Obj(o) = &v else { panic!() };
    let Some(Val::Str(name)) = o.get("name") else { panic!() };
    assert!(
      text.as_ptr_range().contains(&name.as_bytes().as_ptr()),
      "sliced, not copied"
    );
  }
}
