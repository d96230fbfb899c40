//! The regular expression natives that jaq's definitions build `test`, `match`, `capture`, `scan`,
//! `split/2`, `splits`, `sub` and `gsub` on (`matches`, `split_matches`, `split_`), with the
//! engine jaq uses (regex-bites, whose searches take time linear in the text), and jaq's outputs.
//!
//! Why offloop's own: jaq's versions collect every match of a string before they make a value
//! of any, with no check point (`gsub(""; "x")` over a million characters held 230 MB that the
//! memory budget saw only afterwards; a longer string, any amount), and they panic on a group
//! that starts before an earlier group (`"ba" | match("(?:(a)|(b))+")`). Here each match becomes
//! values at once, which checks the memory budget, and every match polls for aborts. One search is still one step: a pattern that matches nowhere in a long string is
//! searched to its end before the run can stop.

use jaq_core::native::{bome, Filter};
use jaq_core::{Bind, RunPtr};
use regex_bites::bytes::{Regex, RegexBuilder};

use super::program::Kind;
use super::value::{interrupt, Error, Map, Str, Val, ValR};

pub fn funs() -> Box<[Filter<RunPtr<Kind>>]> {
  let vv = || [Bind::Var(()), Bind::Var(())].into();
  Box::new([
    ("matches", vv(), |mut cv| {
      let flags = cv.0.pop_var();
      let re = cv.0.pop_var();
      bome(search(&cv.1, &flags, &re, Parts::Matches))
    }),
    ("split_matches", vv(), |mut cv| {
      let flags = cv.0.pop_var();
      let re = cv.0.pop_var();
      bome(search(&cv.1, &flags, &re, Parts::Both))
    }),
    ("split_", vv(), |mut cv| {
      let flags = cv.0.pop_var();
      let re = cv.0.pop_var();
      bome(search(&cv.1, &flags, &re, Parts::Between))
    }),
  ])
}

/// What a search outputs, in order: the text between matches, the matches, or both.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Parts {
  Matches,
  Between,
  Both,
}

/// jq's flags: `g` global, `n` ignore empty matches, `i` case-insensitive, `x` extended, `s`
/// single line, `m` multi-line (`^`/`$` at lines), `l` longest (greed swapped, as jaq does), `p`
/// both `s` and `m`.
#[derive(Default)]
struct Flags {
  global: bool,
  ignore_empty: bool,
  builder: (bool, bool, bool, bool, bool),
}

impl Flags {
  fn parse(flags: &str) -> Result<Flags, Error> {
    let mut out = Flags::default();
    let (i, m, s, l, x) = &mut out.builder;
    for flag in flags.chars() {
      match flag {
        'g' => out.global = true,
        'n' => out.ignore_empty = true,
        'i' => *i = true,
        'm' => *m = true,
        's' => *s = true,
        'l' => *l = true,
        'x' => *x = true,
        'p' => (*m, *s) = (true, true),
        c => return Err(Error::str(format_args!("invalid regex flag: {c}"))),
      }
    }
    Ok(out)
  }

  fn regex(&self, re: &str) -> Result<Regex, Error> {
    let (i, m, s, l, x) = self.builder;
    RegexBuilder::new(re)
      .case_insensitive(i)
      .multi_line(m)
      .dot_matches_new_line(s)
      .swap_greed(l)
      .ignore_whitespace(x)
      .build()
      .map_err(|e| Error::str(format_args!("invalid regex: {e}")))
  }
}

fn string<'v>(v: &'v Val) -> Result<&'v Str, Error> {
  match v {
    Val::Str(s) => Ok(s),
    other => Err(Error::typ(other.clone(), "string")),
  }
}

fn search(input: &Val, flags: &Val, re: &Val, parts: Parts) -> ValR {
  let flags = Flags::parse(string(flags)?.as_str())?;
  let regex = flags.regex(string(re)?.as_str())?;
  let text = string(input)?;
  let bytes = text.as_bytes();
  let names: Vec<Option<&str>> = regex.capture_names().collect();
  let mut chars = CharIndex::default();
  let mut out = Vec::new();
  let mut last = 0;
  for captures in regex.captures_iter(bytes) {
    // A search can take time linear in the rest of the text (regex-bites' global searches are
    // quadratic): every match polls.
    interrupt::poll();
    let whole = captures.get(0).expect("group 0 is the match");
    if flags.ignore_empty && whole.is_empty() {
      continue;
    }
    if parts != Parts::Matches {
      out.push(Val::Str(text.sub(&bytes[last..whole.start()])));
      last = whole.end();
    }
    if parts != Parts::Between {
      // Groups that took no part in the match are left out, as jaq does.
      let groups = captures.iter().zip(&names).filter_map(|(group, name)| {
        let group = group?;
        let mut fields = Map::default();
        let offset = chars.of(bytes, group.start());
        fields.insert(Str::from("offset"), Val::from(offset as isize));
        fields.insert(Str::from("length"), Val::from(char_count(group.as_bytes()) as isize));
        fields.insert(Str::from("string"), Val::Str(text.sub(group.as_bytes())));
        if let Some(name) = name {
          fields.insert(Str::from("name"), Val::str(name));
        }
        Some(Val::object(fields))
      });
      out.push(Val::array(groups.collect()));
    }
    if !flags.global {
      break;
    }
  }
  if parts != Parts::Matches {
    out.push(Val::Str(text.sub(&bytes[last..])));
  }
  Ok(Val::array(out))
}

/// Characters in UTF-8 text: the bytes that do not continue a character.
fn char_count(bytes: &[u8]) -> usize {
  bytes.iter().filter(|&&b| (b as i8) >= -0x40).count()
}

/// Character offsets of byte offsets, counted from the last one asked for: matches come in
/// order, so the text is counted about once, and a group before the previous one counts back.
#[derive(Default)]
struct CharIndex {
  byte: usize,
  char: usize,
}

impl CharIndex {
  fn of(&mut self, text: &[u8], byte: usize) -> usize {
    if byte >= self.byte {
      self.char += char_count(&text[self.byte..byte]);
    } else {
      self.char -= char_count(&text[byte..self.byte]);
    }
    self.byte = byte;
    self.char
  }
}
