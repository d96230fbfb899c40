//! Builtins that are operations on values, as jq 1.8 has them: those jaq-json supplied with its
//! value type (`tojson`, `fromjson`, `length`, `contains`, `has`, `indices`, `bsearch`,
//! `tonumber`, …) and those where jaq's generic versions would not have jq's semantics on these
//! values (`setpath`, `delpaths`, `sort`, `implode`, `floor`/`ceil`/`round`).

use bytes::Bytes;
use jaq_core::native::{bome, v, Filter};
use jaq_core::RunPtr;

use super::interrupt::{self, reserve};
use super::ops::{type_error, type_error2};
use super::order::{contains, equal, jq_cmp, total_cmp};
use super::path;
use super::text::{brief, to_json};
use super::{Error, Num, Str, Val, ValR};
use crate::json::program::Kind;
use crate::json::read::{self, line_column, ReadOptions, Vals};
use crate::json::shape::Shape;

/// jaq's definitions (core and standard library) that these natives replace (definitions would shadow them): `nan`
/// is `0 / 0` there, an error in jq, and `isnan` and the others are built on it.
pub const REPLACED_DEFS: &[&str] = &[
  "setpath",
  "delpaths",
  "keys",
  "nan",
  "infinite",
  "isnan",
  "isinfinite",
  "isnormal",
  "min_by",
  "max_by",
  "unique_by",
  "unique",
  "min",
  "max",
];

/// Definitions on top of the natives (in jq 1.8's terms). Sorting and grouping by `f` sort the
/// keys `map([f])`, as jq does.
pub const DEFS: &str = r#"
def @json: tojson;
def have_decnum: true;
def have_literal_numbers: true;
def sort_by(f): _sort_by_impl(map([f]));
def group_by(f): _group_by_impl(map([f]));
def unique_by(f): _unique_by_impl(map([f]));
def min_by(f): _min_by_impl(map([f]));
def max_by(f): _max_by_impl(map([f]));

def indices($i):
  if type == "array" and ($i | type) == "array" then .[$i]
  elif type == "array" then .[[$i]]
  elif type == "string" and ($i | type) == "string" then _strindices($i)
  else .[$i] end;
def index($i): indices($i) | .[0];
def rindex($i): indices($i) | .[-1:][0];
def transpose: [range(0; map(length) | max // 0) as $i | [.[][$i]]];
def in(xs): . as $x | xs | has($x);
def inside(xs): . as $x | xs | contains($x);
"#;

/// Longest text a `fromjson` error quotes.
const QUOTED: usize = 200;

pub fn funs() -> Box<[Filter<RunPtr<Kind>>]> {
  Box::new([
    ("tojson", v(0), |cv| bome(Ok(Val::from(to_json(&cv.1))))),
    ("fromjson", v(0), |cv| {
      let depth = cv.0.data().guard.max_depth;
      bome(from_json(&cv.1, depth))
    }),
    ("length", v(0), |cv| bome(path::length(&cv.1))),
    ("contains", v(1), |mut cv| {
      let b = cv.0.pop_var();
      bome(match contains(&cv.1, &b) {
        Some(found) => Ok(Val::Bool(found)),
        None => Err(Error::str(format_args!(
          "{} and {} cannot have their containment checked",
          brief(&cv.1),
          brief(&b)
        ))),
      })
    }),
    ("has", v(1), |mut cv| {
      let key = cv.0.pop_var();
      bome(path::has(&cv.1, &key))
    }),
    ("_strindices", v(1), |mut cv| {
      let needle = cv.0.pop_var();
      bome(string_indices(&cv.1, &needle))
    }),
    ("bsearch", v(1), |mut cv| {
      let target = cv.0.pop_var();
      bome(bsearch(&cv.1, &target))
    }),
    ("tonumber", v(0), |cv| bome(to_number(cv.1))),
    ("toboolean", v(0), |cv| {
      bome(match &cv.1 {
        Val::Bool(_) => Ok(cv.1.clone()),
        Val::Str(s) if s.as_str() == "true" => Ok(Val::Bool(true)),
        Val::Str(s) if s.as_str() == "false" => Ok(Val::Bool(false)),
        other => Err(type_error(other, "cannot be parsed as a boolean")),
      })
    }),
    ("setpath", v(2), |mut cv| {
      let value = cv.0.pop_var();
      let path = cv.0.pop_var();
      bome(path::setpath(cv.1, &path, value))
    }),
    ("delpaths", v(1), |mut cv| {
      let paths = cv.0.pop_var();
      bome(path::delpaths(cv.1, &paths))
    }),
    ("sort", v(0), |cv| {
      bome(match cv.1 {
        Val::Arr(a) => {
          let mut items = a.into_vec();
          let mut compared = Compared::default();
          items.sort_by(|x, y| compared.cmp(x, y));
          Ok(Val::array(items))
        }
        other => Err(type_error(&other, "cannot be sorted, as it is not an array")),
      })
    }),
    ("_sort_by_impl", v(1), |mut cv| {
      let keys = cv.0.pop_var();
      bome(by_keys(cv.1, keys).map(|pairs| pairs.into_iter().map(|(_, v)| v).collect()))
    }),
    ("_group_by_impl", v(1), |mut cv| {
      let keys = cv.0.pop_var();
      bome(by_keys(cv.1, keys).map(|pairs| {
        let mut groups: Vec<(Val, Vec<Val>)> = Vec::new();
        for (key, value) in pairs {
          match groups.last_mut() {
            Some((last, group)) if equal(last, &key) => group.push(value),
            _ => groups.push((key, vec![value])),
          }
        }
        groups.into_iter().map(|(_, group)| Val::array(group)).collect()
      }))
    }),
    ("_unique_by_impl", v(1), |mut cv| {
      let keys = cv.0.pop_var();
      bome(by_keys(cv.1, keys).map(unique))
    }),
    ("unique", v(0), |cv| {
      bome(match &cv.1 {
        Val::Arr(_) => by_keys(cv.1.clone(), cv.1).map(unique),
        other => Err(type_error(other, "cannot be sorted, as it is not an array")),
      })
    }),
    ("min", v(0), |cv| bome(extreme_by(cv.1.clone(), cv.1, true))),
    ("max", v(0), |cv| bome(extreme_by(cv.1.clone(), cv.1, false))),
    ("_min_by_impl", v(1), |mut cv| {
      let keys = cv.0.pop_var();
      bome(extreme_by(cv.1, keys, true))
    }),
    ("_max_by_impl", v(1), |mut cv| {
      let keys = cv.0.pop_var();
      bome(extreme_by(cv.1, keys, false))
    }),
    ("implode", v(0), |cv| bome(implode(&cv.1))),
    ("encode_base64", v(0), |cv| bome(encode_base64(cv.1))),
    ("escape_html", v(0), |cv| {
      bome(escaped(&cv.1, "can not be escaped for HTML", html_escape))
    }),
    ("escape_sh", v(0), |cv| {
      bome(escaped(&cv.1, "can not be escaped for shell", shell_escape))
    }),
    ("encode_uri", v(0), |cv| {
      bome(escaped(&cv.1, "can not be escaped for URI", uri_escape))
    }),
    ("nan", v(0), |_| bome(Ok(Val::float(f64::NAN)))),
    ("infinite", v(0), |_| bome(Ok(Val::float(f64::INFINITY)))),
    ("isnan", v(0), |cv| bome(classify(&cv.1, f64::is_nan))),
    ("isinfinite", v(0), |cv| bome(classify(&cv.1, f64::is_infinite))),
    ("isnormal", v(0), |cv| bome(classify(&cv.1, f64::is_normal))),
    ("keys_unsorted", v(0), |cv| bome(keys(cv.1, false))),
    ("keys", v(0), |cv| bome(keys(cv.1, true))),
    ("floor", v(0), |cv| bome(math(&cv.1, f64::floor))),
    ("ceil", v(0), |cv| bome(math(&cv.1, f64::ceil))),
    ("round", v(0), |cv| bome(math(&cv.1, f64::round))),
  ])
}

/// `fromjson`: one JSON value, nested at most as deep as the input may be.
fn from_json(v: &Val, max_depth: usize) -> ValR {
  let Val::Str(s) = v else {
    return Err(type_error(v, "only strings can be parsed"));
  };
  // A byte order mark at the start is skipped, as jq's parser does (and its columns leave it out).
  let text: &Bytes = &s.bytes().slice(if s.bytes().starts_with(b"\xEF\xBB\xBF") {
    3..
  } else {
    0..
  });
  let options = ReadOptions {
    max_depth,
    ..ReadOptions::default()
  };
  read::parse_one(Vals(text), text, 0..text.len(), &Shape::All, &options).map_err(|e| {
    let quoted = match s.as_str().char_indices().nth(QUOTED) {
      Some((cut, _)) => format!("{}...", &s.as_str()[..cut]),
      None => s.as_str().to_owned(),
    };
    if let Some(message) = invalid_word(text, e.offset, &options) {
      return Error::str(format_args!("{message} (while parsing '{quoted}')"));
    }
    let (line, column) = line_column(text, e.offset);
    Error::str(format_args!(
      "{} at line {line}, column {column} (while parsing '{quoted}')",
      e.message
    ))
  })
}

/// jq's message when the error at `offset` is in a word that is no JSON value (`NaN1`, `tru`,
/// `'a'`): jq's scanner reads a run of characters other than whitespace, quotes and `[]{},:` as one
/// word and judges it where it ends, at the character after it or at the end of the text, counting
/// columns in bytes.
fn invalid_word(text: &Bytes, offset: usize, options: &ReadOptions) -> Option<String> {
  let in_word = |b: &u8| {
    !matches!(
      b,
      b' ' | b'\t' | b'\r' | b'\n' | b'"' | b'[' | b']' | b'{' | b'}' | b',' | b':'
    )
  };
  // The reader may stop at the character after the word (`-]`, `-` at the end).
  let offset = match text.get(offset) {
    Some(b) if in_word(b) => offset,
    _ if offset > 0 && text.get(offset - 1).is_some_and(in_word) => offset - 1,
    _ => return None,
  };
  let start = text[..offset].iter().rposition(|b| !in_word(b)).map_or(0, |i| i + 1);
  let end = text[offset..]
    .iter()
    .position(|b| !in_word(b))
    .map_or(text.len(), |i| offset + i);
  if read::parse_one(Vals(text), text, start..end, &Shape::All, options).is_ok() {
    return None;
  }
  let what = match &text[start..end] {
    [b't' | b'f', ..] | [b'n', b'u', ..] => "Invalid literal",
    [b'\'', ..] => "Invalid string literal; expected \", but got '",
    _ => "Invalid numeric literal",
  };
  let line = memchr::memchr_iter(b'\n', &text[..end]).count() + 1;
  let line_start = memchr::memrchr(b'\n', &text[..end]).map_or(0, |i| i + 1);
  Some(if end == text.len() {
    format!("{what} at EOF at line {line}, column {}", end - line_start)
  } else {
    format!("{what} at line {line}, column {}", end - line_start + 1)
  })
}

/// `_strindices`: where `needle` starts in `haystack`, in characters, overlapping matches too.
fn string_indices(haystack: &Val, needle: &Val) -> ValR {
  let Val::Str(h) = haystack else {
    return Err(type_error(haystack, "cannot be searched, as it is not a string"));
  };
  let Val::Str(n) = needle else {
    return Err(type_error(needle, "is not a string"));
  };
  if n.is_empty() {
    return Ok(Val::array(Vec::new()));
  }
  let text = h.as_bytes();
  let finder = memchr::memmem::Finder::new(n.as_bytes());
  let mut found = Vec::new();
  let (mut from, mut chars, mut counted) = (0usize, 0usize, 0usize);
  // Overlapping matches of a long needle cost its length each (`"a" * 2e6 | indices("a" * 1e6)`
  // is 10^12 steps): then every match polls, otherwise every `POLL_EVERY`.
  let poll = if n.len() >= 256 {
    interrupt::poll
  } else {
    interrupt::tick
  };
  while let Some(i) = finder.find(&text[from..]) {
    poll();
    let at = from + i;
    chars += text[counted..at].iter().filter(|&&b| b & 0xc0 != 0x80).count();
    counted = at;
    interrupt::push(&mut found, Val::float(chars as f64));
    from = at + 1;
  }
  Ok(Val::array(found))
}

/// `bsearch(x)`: the index of `x` in a sorted array, or `-1 - insertion point`.
fn bsearch(array: &Val, target: &Val) -> ValR {
  let Val::Arr(a) = array else {
    return Err(type_error(array, "cannot be searched from"));
  };
  let (mut start, mut end) = (0, a.len());
  while start < end {
    let mid = start + (end - start) / 2;
    match jq_cmp(target, &a.items()[mid]) {
      std::cmp::Ordering::Equal => return Ok(Val::float(mid as f64)),
      std::cmp::Ordering::Less => end = mid,
      std::cmp::Ordering::Greater => start = mid + 1,
    }
  }
  Ok(Val::float(-1.0 - start as f64))
}

/// `tonumber`: numbers as they are, strings in decNumber's syntax as literals.
fn to_number(v: Val) -> ValR {
  match &v {
    Val::Num(_) => Ok(v),
    Val::Str(s) => Num::literal(s.as_str())
      .map(Val::Num)
      .ok_or_else(|| type_error(&v, "cannot be parsed as a number")),
    _ => Err(type_error(&v, "cannot be parsed as a number")),
  }
}

/// `implode`: code points to a string; invalid code points become U+FFFD.
fn implode(v: &Val) -> ValR {
  let Val::Arr(a) = v else {
    return Err(Error::str("implode input must be an array"));
  };
  reserve(a.len().saturating_mul(4));
  let mut s = String::with_capacity(a.len());
  for item in a.items() {
    let code = match item {
      Val::Num(n) if !n.is_nan() => n.as_int(),
      other => {
        return Err(type_error(
          other,
          "can't be imploded, unicode codepoint needs to be numeric",
        ))
      }
    };
    s.push(
      u32::try_from(code)
        .ok()
        .and_then(char::from_u32)
        .unwrap_or(char::REPLACEMENT_CHARACTER),
    );
  }
  Ok(Val::Str(Str::from(s)))
}

/// `@base64` (after `tostring`), as jaq's `encode_base64` but a piece at a time: its text is
/// checked against the memory budget before it is made, and a run polls for aborts as it encodes
/// (programs like `@base64 "\(@base64 "\(...)")"` encode hundreds of MB in one step).
fn encode_base64(v: Val) -> ValR {
  use base64::engine::{general_purpose::STANDARD, Engine};
  let Val::Str(s) = &v else {
    return Err(Error::typ(v, "string"));
  };
  let bytes = s.as_bytes();
  let len = base64::encoded_len(bytes.len(), true).unwrap_or(usize::MAX);
  reserve(len);
  let mut out = String::with_capacity(len);
  // Pieces of a multiple of 3 bytes encode without padding between them.
  for piece in bytes.chunks(3 << 14) {
    STANDARD.encode_string(piece, &mut out);
    interrupt::poll();
  }
  Ok(Val::from(out))
}

/// A string with each byte that `escape` names replaced, as jq's `@html`, `@sh` (of a string) and
/// `@uri` make it; other values are `what` errors. jaq-std's versions build the whole text in one
/// step: `"é" * 2.5e8 | @uri` took 3.5 GB under a 1 GiB budget. Here its size is checked against
/// the budget before it is made, and the run polls between pieces.
fn escaped(v: &Val, what: &str, escape: fn(u8) -> Option<&'static [u8]>) -> ValR {
  let Val::Str(s) = v else {
    return Err(type_error(v, what));
  };
  let bytes = s.as_bytes();
  let len = bytes.iter().map(|&b| escape(b).map_or(1, <[u8]>::len)).sum();
  reserve(len);
  let mut out = Vec::with_capacity(len);
  for piece in bytes.chunks(64 << 10) {
    for &b in piece {
      match escape(b) {
        Some(e) => out.extend_from_slice(e),
        None => out.push(b),
      }
    }
    interrupt::poll();
  }
  // Escapes are ASCII and replace whole ASCII bytes, so the text stays UTF-8.
  Ok(Val::from(String::from_utf8(out).unwrap_or_default()))
}

/// `@html`: jq 1.8 writes NUL as `\0`, as it does in `@sh`.
fn html_escape(b: u8) -> Option<&'static [u8]> {
  Some(match b {
    b'<' => b"&lt;",
    b'>' => b"&gt;",
    b'&' => b"&amp;",
    b'\'' => b"&apos;",
    b'"' => b"&quot;",
    0 => b"\\0",
    _ => return None,
  })
}

/// The inside of `@sh`'s single quotes.
fn shell_escape(b: u8) -> Option<&'static [u8]> {
  Some(match b {
    b'\'' => b"'\\''",
    0 => b"\\0",
    _ => return None,
  })
}

/// `@uri`: every byte but the unreserved ones of RFC 3986 as `%XX`.
fn uri_escape(b: u8) -> Option<&'static [u8]> {
  const HEX: &[u8; 16] = b"0123456789ABCDEF";
  const PERCENT: [[u8; 3]; 256] = {
    let mut table = [[0; 3]; 256];
    let mut i = 0;
    while i < 256 {
      table[i] = [b'%', HEX[i >> 4], HEX[i & 15]];
      i += 1;
    }
    table
  };
  match b {
    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => None,
    _ => Some(&PERCENT[b as usize]),
  }
}

/// Compares with the total order (sorting needs one), counting the comparisons to poll for
/// aborts now and then: a sort of millions of values is many short walks.
#[derive(Default)]
struct Compared(u32);

impl Compared {
  fn cmp(&mut self, a: &Val, b: &Val) -> std::cmp::Ordering {
    self.0 = self.0.wrapping_add(1);
    if self.0.is_multiple_of(interrupt::POLL_EVERY) {
      interrupt::poll();
    }
    total_cmp(a, b)
  }
}

/// The values of array `values` with their keys (the array `keys`, as long), sorted by key,
/// stably (jq's `jv_sort`).
fn by_keys(values: Val, keys: Val) -> Result<Vec<(Val, Val)>, Error> {
  let (Val::Arr(v), Val::Arr(k)) = (&values, &keys) else {
    return Err(type_error2(
      &values,
      &keys,
      "cannot be sorted, as they are not both arrays",
    ));
  };
  if v.len() != k.len() {
    return Err(type_error2(
      &values,
      &keys,
      "cannot be sorted, as they are not both arrays",
    ));
  }
  let mut pairs: Vec<(Val, Val)> = k.items().iter().cloned().zip(v.items().iter().cloned()).collect();
  let mut compared = Compared::default();
  pairs.sort_by(|(x, _), (y, _)| compared.cmp(x, y));
  Ok(pairs)
}

/// The first value of each run of equal keys (jq's `jv_unique`).
fn unique(pairs: Vec<(Val, Val)>) -> Val {
  let mut kept: Vec<(Val, Val)> = Vec::new();
  for (key, value) in pairs {
    if !kept.last().is_some_and(|(last, _)| equal(last, &key)) {
      kept.push((key, value));
    }
  }
  kept.into_iter().map(|(_, v)| v).collect()
}

/// `min_by`/`max_by` (jq's `minmax_by`): the first value of least key, the last of greatest;
/// null for an empty array.
fn extreme_by(values: Val, keys: Val, min: bool) -> ValR {
  let (Val::Arr(v), Val::Arr(k)) = (&values, &keys) else {
    return Err(type_error2(&values, &keys, "cannot be iterated over"));
  };
  if v.len() != k.len() {
    return Err(type_error2(&values, &keys, "have wrong length"));
  }
  let mut best: Option<usize> = None;
  for (i, key) in k.items().iter().enumerate() {
    interrupt::tick();
    best = match best {
      Some(b) if (jq_cmp(key, &k.items()[b]) == std::cmp::Ordering::Less) != min => Some(b),
      _ => Some(i),
    };
  }
  Ok(best.map_or(Val::Null, |b| v.items()[b].clone()))
}

/// `isnan` and the like: false for anything but a number.
fn classify(v: &Val, test: fn(f64) -> bool) -> ValR {
  Ok(Val::Bool(v.as_num().is_some_and(|n| test(n.value()))))
}

/// `keys` (sorted) and `keys_unsorted`: an object's keys, an array's indices.
fn keys(v: Val, sorted: bool) -> ValR {
  match v {
    v @ (Val::Arr(_) | Val::Obj(_)) => {
      let mut keys: Vec<Val> = path::entries(v)?.into_iter().map(|(k, _)| k).collect();
      if sorted {
        keys.sort_by(total_cmp);
      }
      Ok(Val::array(keys))
    }
    other => Err(type_error(&other, "has no keys")),
  }
}

/// A math function of a number (jq's `LIBM_DD`): the result is a plain double.
fn math(v: &Val, f: fn(f64) -> f64) -> ValR {
  match v {
    Val::Num(n) => Ok(Val::float(f(n.value()))),
    other => Err(type_error(other, "number required")),
  }
}
