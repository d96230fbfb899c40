//! jq's regular expressions: `_match_impl`, the native jq 1.8 defines `match`, `test`, `capture`,
//! `scan`, `split`, `splits`, `sub` and `gsub` on (`DEFS`), with its outputs and messages.
//!
//! jq uses Oniguruma (Perl syntax, UTF-8); jaq's regex-bites has ASCII classes only and no
//! look-around. fancy-regex has both, over regex-automata's Unicode classes, with a backtracking
//! limit that turns a catastrophic pattern into an error instead of a hang. What differs from
//! Oniguruma is translated: its flag letters (`m` is dot-matches-newline there), `$` and `\Z`
//! (the end, or before a final newline), POSIX bracket classes (`[[:alpha:]]`: Unicode in
//! Oniguruma, ASCII in fancy-regex). The search loop is jq's: after an empty match it goes
//! on one character further, after a non-empty one at its end (so an empty match may follow).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use fancy_regex::{Regex, RegexBuilder};
use jaq_core::native::{bome, v, Filter};
use jaq_core::RunPtr;

use super::program::Kind;
use super::value::ops::type_error;
use super::value::{interrupt, Error, Map, Str, Val, ValR};

pub const DEFS: &str = r#"
def _offloop_regex($val): ($val | type) as $type
  | if $type == "string" then [$val, null]
    elif $type == "array" and ($val | length) > 0 then [$val[0], $val[1]]
    else error($type + " not a string or array") end;
def _offloop_captured: reduce (.captures[] | select(.name != null)) as $c ({}; . + {($c.name): $c.string});
def match($re; $flags): _match_impl($re; $flags; false)[];
def match($val): _offloop_regex($val) as [$re, $flags] | match($re; $flags);
def test($re; $flags): _match_impl($re; $flags; true);
def test($val): _offloop_regex($val) as [$re, $flags] | test($re; $flags);
def capture($re; $flags): match($re; $flags) | _offloop_captured;
def capture($val): _offloop_regex($val) as [$re, $flags] | capture($re; $flags);
def scan($re; $flags):
  match($re; "g" + $flags) | if (.captures | length) > 0 then [.captures[].string] else .string end;
def scan($re): scan($re; null);
def split($re; $flags): . as $s
  | [foreach ((match($re; $flags + "g") | [.offset, .offset + .length]), [null, null]) as [$from, $to]
      ({}; .piece = $s[.next:$from] | .next = $to; .piece)];
def splits($re; $flags): split($re; $flags)[];
def splits($re): splits($re; null);
def sub($re; str; $flags): . as $in
  | (reduce match($re; $flags) as $m ({texts: [], next: 0};
        $in[.next:$m.offset] as $gap
        | [$m | _offloop_captured | str] as $replacements
        | reduce range($replacements | length) as $i (.; .texts[$i] += $gap + $replacements[$i])
        | .next = $m.offset + $m.length)
      | .texts[] + $in[.next:])
    // $in;
def sub($re; str): sub($re; str; "");
def gsub($re; str; $flags): sub($re; str; $flags + "g");
def gsub($re; str): sub($re; str; "g");
"#;

pub fn funs() -> Box<[Filter<RunPtr<Kind>>]> {
  Box::new([("_match_impl", v(3), |mut cv| {
    let test = cv.0.pop_var();
    let flags = cv.0.pop_var();
    let re = cv.0.pop_var();
    bome(match_impl(&cv.1, &re, &flags, test.truthy()))
  })])
}

/// jq's regex flags: `g` global, `n` no empty matches, and how the pattern compiles.
#[derive(Default)]
struct Flags {
  global: bool,
  not_empty: bool,
  /// Inline flags for the pattern: `i`, `x`, and `s` for jq's `m` and `p`.
  inline: String,
}

fn flags(flags: &Val) -> Result<Flags, Error> {
  let mut out = Flags::default();
  let text = match flags {
    Val::Null => return Ok(out),
    Val::Str(s) => s.as_str(),
    other => return Err(type_error(other, "is not a string")),
  };
  for c in text.chars() {
    match c {
      'g' => out.global = true,
      'n' => out.not_empty = true,
      'i' | 'x' if !out.inline.contains(c) => out.inline.push(c),
      'm' | 'p' if !out.inline.contains('s') => out.inline.push('s'),
      // `s` (Oniguruma's single line: `^` and `$` only at the ends) is how patterns compile
      // anyway; `l` (longest match) has no equivalent and is accepted as jq accepts it.
      'i' | 'x' | 'm' | 'p' | 's' | 'l' => {}
      _ => return Err(Error::str(format_args!("{text} is not a valid modifier string"))),
    }
  }
  Ok(out)
}

/// Escapes that mean the same in Oniguruma (Perl syntax) and fancy-regex; `\p` and `\P` only
/// with braces. Other letters mean something else in one of them (`\h`, `\v`, `\u`, `\pL`…) and
/// are refused rather than matched differently.
const SAME_ESCAPES: &str = "dDwWsSbBAzZGKktnrfaexpPNOR";

/// Oniguruma's `$` and `\Z` (the end, or before a newline at the end) in fancy-regex's terms, `{,`
/// as the literal brace it is in Oniguruma; escapes and class syntax whose meanings differ are
/// refused; the rest of the pattern as it is.
fn translate(pattern: &str, inline: &str) -> Result<String, Error> {
  const END: &str = r"(?=\n?\z)";
  let unsupported = |what: &str| Error::str(format_args!("Regex failure: {what} is not supported in {pattern}"));
  let mut out = String::with_capacity(pattern.len() + 16);
  if !inline.is_empty() {
    out.push_str(&format!("(?{inline})"));
  }
  let mut chars = pattern.chars().peekable();
  let mut class = 0usize;
  while let Some(c) = chars.next() {
    match c {
      '\\' => match chars.next() {
        Some('Z') if class == 0 => out.push_str(END),
        Some(e @ ('p' | 'P')) if chars.peek() != Some(&'{') => return Err(unsupported(&format!("\\{e}"))),
        Some(e) if e.is_ascii_alphabetic() && !SAME_ESCAPES.contains(e) => return Err(unsupported(&format!("\\{e}"))),
        Some(e) => {
          out.push('\\');
          out.push(e);
        }
        None => out.push('\\'),
      },
      '[' if class > 0 && chars.peek() == Some(&':') => {
        // The longest class, `:^xdigit:]`, is 10 characters: no more is copied.
        let rest: String = chars.clone().take(10).collect();
        match posix_class(&rest) {
          Some((unicode, length)) => {
            out.push_str(&unicode);
            chars.by_ref().take(length).for_each(drop);
          }
          None => {
            class += 1;
            out.push(c);
          }
        }
      }
      '[' => {
        class += 1;
        out.push(c);
      }
      ']' if class > 0 => {
        class -= 1;
        out.push(c);
      }
      '&' if class > 0 && chars.peek() == Some(&'&') => return Err(unsupported("&& in a class")),
      '{' if class == 0 && chars.peek() == Some(&',') => out.push_str("\\{"),
      '$' if class == 0 => out.push_str(END),
      c => out.push(c),
    }
  }
  Ok(out)
}

/// A POSIX bracket class at the start of `rest` (just after its `[`: `:alpha:]`, `:^digit:]`) as
/// Oniguruma reads it in UTF-8, over Unicode, for use inside a class; and how many characters of
/// `rest` it took. fancy-regex's own are ASCII only. The sets are what jq 1.8.2 matches, code point
/// by code point over the BMP (`cntrl` is `Cc` alone, `punct` takes symbols too).
fn posix_class(rest: &str) -> Option<(String, usize)> {
  let body = rest.strip_prefix(':')?;
  let end = body.find(":]")?;
  let (negated, name) = match body[..end].strip_prefix('^') {
    Some(name) => (true, name),
    None => (false, &body[..end]),
  };
  const GRAPH: &str = r"[\S&&\P{Cc}&&\P{Cn}&&\P{Cs}]";
  let members = match name {
    "alpha" => r"\p{Alphabetic}".to_owned(),
    "upper" => r"\p{Uppercase}".to_owned(),
    "lower" => r"\p{Lowercase}".to_owned(),
    "digit" => r"\p{Nd}".to_owned(),
    "alnum" => r"\p{Alphabetic}\p{Nd}".to_owned(),
    "space" => r"\s".to_owned(),
    "blank" => r"\p{Zs}\t".to_owned(),
    "cntrl" => r"\p{Cc}".to_owned(),
    "graph" => GRAPH.to_owned(),
    "print" => format!(r"{GRAPH}\p{{Zs}}"),
    "punct" => r"\p{P}\p{S}".to_owned(),
    "word" => r"\p{Alphabetic}\p{M}\p{Nd}\p{Pc}".to_owned(),
    "xdigit" => "0-9A-Fa-f".to_owned(),
    "ascii" => r"\x00-\x7F".to_owned(),
    _ => return None,
  };
  let unicode = if negated { format!("[^{members}]") } else { members };
  Some((unicode, 1 + end + 2))
}

/// Compiled patterns of this thread, by pattern and flags: programs match the same few patterns
/// against every record.
fn compiled(pattern: &str, inline: &str) -> Result<Rc<Regex>, Error> {
  const KEPT: usize = 64;
  thread_local! {
    static CACHE: RefCell<HashMap<(String, String), Rc<Regex>>> = RefCell::new(HashMap::new());
  }
  let key = (pattern.to_owned(), inline.to_owned());
  if let Some(re) = CACHE.with(|c| c.borrow().get(&key).cloned()) {
    return Ok(re);
  }
  let re = RegexBuilder::new(&translate(pattern, inline)?)
    .build()
    .map_err(|e| Error::str(format_args!("Regex failure: {e}")))?;
  let re = Rc::new(re);
  CACHE.with(|c| {
    let mut cache = c.borrow_mut();
    if cache.len() >= KEPT {
      cache.clear();
    }
    cache.insert(key, re.clone());
  });
  Ok(re)
}

/// Character offsets of byte offsets, counted forward from the last one asked for.
struct Chars<'a> {
  text: &'a str,
  byte: usize,
  char: usize,
}

impl Chars<'_> {
  fn at(&mut self, byte: usize) -> usize {
    if byte < self.byte {
      (self.byte, self.char) = (0, 0);
    }
    self.char += self.text[self.byte..byte].chars().count();
    self.byte = byte;
    self.char
  }
}

fn object(entries: [(&str, Val); 4]) -> Val {
  let mut map = Map::default();
  for (k, v) in entries {
    map.insert(Str::from(k), v);
  }
  Val::object(map)
}

fn number(n: usize) -> Val {
  Val::float(n as f64)
}

/// `_match_impl(re; flags; test)`: `test` → whether it matches; else an array of jq's match
/// objects (`offset`, `length`, `string`, `captures`, each capture with its `name`, null for an
/// unnamed group; a group that took no part has offset -1 and string null).
fn match_impl(input: &Val, re: &Val, flags_val: &Val, test: bool) -> ValR {
  let Val::Str(text) = input else {
    return Err(type_error(input, "cannot be matched, as it is not a string"));
  };
  let Val::Str(pattern) = re else {
    return Err(type_error(re, "is not a string"));
  };
  let flags = flags(flags_val)?;
  let regex = compiled(pattern.as_str(), &flags.inline)?;
  let text = text.as_str();
  let names: Vec<Val> = regex
    .capture_names()
    .skip(1)
    .map(|n| n.map_or(Val::Null, Val::str))
    .collect();
  let mut chars = Chars { text, byte: 0, char: 0 };
  let mut matches = Vec::new();
  let mut start = 0;
  while start <= text.len() {
    interrupt::tick();
    let found = regex
      .captures_from_pos(text, start)
      .map_err(|e| Error::str(format_args!("Regex failure: {e}")))?;
    let Some(caps) = found else { break };
    let whole = caps.get(0).expect("a match has group 0");
    let empty = whole.start() == whole.end();
    start = if empty {
      whole.end() + text[whole.end()..].chars().next().map_or(1, char::len_utf8)
    } else {
      whole.end()
    };
    if empty && flags.not_empty {
      continue;
    }
    if test {
      return Ok(Val::Bool(true));
    }
    let offset = chars.at(whole.start());
    let length = whole.as_str().chars().count();
    let captures: Vec<Val> = names
      .iter()
      .enumerate()
      .map(|(i, name)| match caps.get(i + 1) {
        None => object([
          ("offset", Val::float(-1.0)),
          ("string", Val::Null),
          ("length", number(0)),
          ("name", name.clone()),
        ]),
        Some(m) if m.start() == m.end() || empty => object([
          ("offset", number(if empty { offset } else { chars.at(m.start()) })),
          ("string", Val::str("")),
          ("length", number(0)),
          ("name", name.clone()),
        ]),
        Some(m) => object([
          ("offset", number(chars.at(m.start()))),
          ("length", number(m.as_str().chars().count())),
          ("string", Val::str(m.as_str())),
          ("name", name.clone()),
        ]),
      })
      .collect();
    let mut map = Map::default();
    map.insert(Str::from("offset"), number(offset));
    map.insert(Str::from("length"), number(length));
    map.insert(Str::from("string"), Val::str(whole.as_str()));
    map.insert(Str::from("captures"), Val::array(captures));
    matches.push(Val::object(map));
    if !flags.global {
      break;
    }
  }
  Ok(if test { Val::Bool(false) } else { Val::array(matches) })
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn translates_oniguruma_ends() {
    assert_eq!(translate("a$", "").unwrap(), r"a(?=\n?\z)");
    assert_eq!(translate(r"[$]\$\Z", "i").unwrap(), r"(?i)[$]\$(?=\n?\z)");
    assert_eq!(translate(r"a{,2}\p{L}\d", "").unwrap(), r"a\{,2}\p{L}\d");
    for refused in [r"\h", r"\v", r"\u0041", r"\pL", "[a-z&&[^b]]"] {
      assert!(translate(refused, "").is_err(), "{refused}");
    }
  }
}
