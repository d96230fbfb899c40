//! jq syntax jaq's parser lacks, rewritten into equivalent jq that it parses, before compiling.
//!
//! jaq-core takes a program only as text (its syntax tree cannot be handed to the compiler), so
//! these are rewrites of the text, on jaq's own tokens wherever jaq can lex the program:
//!
//! - number literals `.5` and `1.` (jq's lexer takes them; jaq's wants digits on both sides of
//!   the point): `0.5`, `1`;
//! - a UTF-16 surrogate pair written as two `\u` escapes in a string: the character; a low
//!   surrogate escaped on its own: U+FFFD, as jq reads it;
//! - `$__loc__`: `{"file":"<top-level>","line":N}` (in an object, `{$__loc__}` is the key
//!   `__loc__`);
//! - `reduce`/`foreach` over an operator expression (`reduce .[] / .[] as $x (…)`): jq takes the
//!   source up to `as`, jaq a single term, so the source goes in parentheses;
//! - the object pattern `{$name: pattern}` (binds `$name` to `.name` and destructures it);
//! - `*`, `/` and `%`, which jq groups left to right at one precedence where jaq binds `%`
//!   tighter (`. / 60 % 60` is `(. / 60) % 60` in jq, `. / (60 % 60)` in jaq): what comes before
//!   such a `%` goes in parentheses;
//! - destructuring alternatives, `E as P1 ?// P2 ?// P3 | body`: jq binds every variable of every
//!   pattern (null where the pattern in use has none), tries `P1 | body`, and on an error in the
//!   binding or the body goes on with the next pattern; the last one's error is the result. That
//!   is `E as $v | . as $in | null as [$all, $vars] | try ($in | $v as P1 | body) catch (try ($in
//!   | $v as P2 | body) catch ($in | $v as P3 | body))`.
//!
//! A compile error's offset in the rewritten text maps back to the program's (`original`).

use std::ops::Range;

use jaq_core::load::lex::{StrPart, Tok, Token};
use jaq_core::load::{self, Lexer};

/// A program as jaq gets it, and where its pieces came from.
pub struct Rewritten {
  pub code: String,
  /// `(offset in code, offset in the program, length)` of each piece copied from the program, in
  /// order of `code`.
  copied: Vec<(usize, usize, usize)>,
}

impl Rewritten {
  /// The program's offset of an offset in the rewritten code (inserted text maps to the end of
  /// the piece before it).
  pub fn original(&self, offset: usize) -> usize {
    let i = self.copied.partition_point(|&(at, ..)| at <= offset);
    match i.checked_sub(1).map(|i| self.copied[i]) {
      Some((at, from, len)) => from + (offset - at).min(len),
      None => 0,
    }
  }
}

/// The variable alternatives bind the matched value to (a name no program can have bound: jq
/// reserves names starting with `__` only by convention, jaq not at all, so it is long).
const ALT: &str = "$__offloop_destructured";

/// The variable holding the input of the body (a `catch` has the error as its input).
const INPUT: &str = "$__offloop_input";

/// The longest program a rewrite may make: alternatives repeat their body once per pattern, so
/// alternatives nested in their bodies grow a program exponentially.
const MAX_REWRITTEN: usize = 1 << 20;

/// The most escapes (`\n`, `\\`, `\u0041`…) a program's strings may hold. jaq's lexer keeps
/// about 270 bytes for each, and compiling reads the program several times before any budget
/// can stop it: a 16 MB literal of `\\` took 2.2 GB and 6 s (found by the `jq_compile` fuzz
/// target). At this limit that is about 30 MB per pass.
pub const MAX_ESCAPES: usize = 100_000;

/// Why a program is refused before jaq reads it.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
  /// Alternatives nested so deep that the program would grow past `MAX_REWRITTEN`.
  TooLong,
  /// More than `MAX_ESCAPES` escapes in strings; `offset` is the first past the limit.
  Escapes { offset: usize },
}

impl Refused {
  pub fn message(&self) -> String {
    match self {
      Refused::TooLong => "destructuring alternatives (?//) nest too deeply".to_owned(),
      Refused::Escapes { .. } => format!(
        "more than {MAX_ESCAPES} escapes in strings; offloop limits them so that compiling fits in \
         bounded memory (pass long texts in vars)"
      ),
    }
  }

  /// Where in the program the refusal points.
  pub fn offset(&self) -> usize {
    match self {
      Refused::TooLong => 0,
      Refused::Escapes { offset } => *offset,
    }
  }
}

pub fn rewrite(code: &str) -> Result<Rewritten, Refused> {
  let (lexable, first) = literals(code)?;
  let Ok(tokens) = Lexer::new(lexable.as_str()).lex() else {
    // jaq reports the error; nothing to rewrite in a program it cannot lex.
    return Ok(compose(lexable, &first, None));
  };
  let mut out = Out {
    code: &lexable,
    limit: MAX_REWRITTEN.max(2 * lexable.len()),
    text: String::with_capacity(lexable.len() + 16),
    copied: Vec::new(),
  };
  out.seq(&tokens, 0, lexable.len(), false);
  if out.text.len() > out.limit {
    return Err(Refused::TooLong);
  }
  let second = Rewritten {
    code: out.text,
    copied: out.copied,
  };
  Ok(compose(lexable, &first, Some(second)))
}

/// The result of both passes, with offsets mapping through both.
fn compose(lexable: String, first: &Rewritten, second: Option<Rewritten>) -> Rewritten {
  let Some(second) = second else {
    return Rewritten {
      code: lexable,
      copied: first.copied.clone(),
    };
  };
  // Each piece of the second pass, split where the first pass's pieces split it.
  let mut copied = Vec::new();
  for &(at, from, len) in &second.copied {
    let mut done = 0;
    while done < len {
      let here = from + done;
      let i = first.copied.partition_point(|&(a, ..)| a <= here) - 1;
      let (a, f, l) = first.copied[i];
      // Text the first pass inserted maps to the end of the piece before it (length 0).
      let avail = (a + l).saturating_sub(here);
      let take = avail.max(1).min(len - done);
      copied.push((at + done, f + (here - a).min(l), avail.min(take)));
      done += take;
    }
  }
  Rewritten {
    code: second.code,
    copied,
  }
}

/// The first pass, on characters (jaq cannot lex these): number literals `.5`, `1.` and
/// surrogates in strings.
fn literals(code: &str) -> Result<(String, Rewritten), Refused> {
  let bytes = code.as_bytes();
  let mut text = String::with_capacity(code.len() + 4);
  let mut copied = Vec::new();
  let mut from = 0;
  let edit = |text: &mut String, copied: &mut Vec<_>, from: &mut usize, at: usize, skip: usize, insert: &str| {
    copied.push((text.len(), *from, at - *from));
    text.push_str(&code[*from..at]);
    text.push_str(insert);
    *from = at + skip;
  };
  // Open interpolations: the parenthesis depth in each.
  let mut interpolations: Vec<usize> = Vec::new();
  let mut in_string = false;
  let mut escapes = 0;
  let mut i = 0;
  while i < bytes.len() {
    let c = bytes[i];
    if in_string {
      if c == b'\\' && bytes.get(i + 1) != Some(&b'(') {
        escapes += 1;
        if escapes > MAX_ESCAPES {
          return Err(Refused::Escapes { offset: i });
        }
      }
      match c {
        b'"' => in_string = false,
        b'\\' if bytes.get(i + 1) == Some(&b'(') => {
          interpolations.push(1);
          in_string = false;
          i += 2;
          continue;
        }
        b'\\' if bytes.get(i + 1) == Some(&b'u') => {
          if let Some(c) = surrogate_pair(&code[i..]) {
            edit(&mut text, &mut copied, &mut from, i, 12, c.encode_utf8(&mut [0; 4]));
            i += 12;
            continue;
          }
          // A low surrogate on its own is U+FFFD in jq (a high one on its own is an error there
          // too, and stays one).
          if escaped_unit(&code[i..]).is_some_and(|unit| (0xdc00..=0xdfff).contains(&unit)) {
            edit(&mut text, &mut copied, &mut from, i, 6, "\u{fffd}");
            i += 6;
            continue;
          }
          i += 2;
          continue;
        }
        b'\\' => {
          i += 2;
          continue;
        }
        _ => {}
      }
      i += 1;
      continue;
    }
    match c {
      b'"' => in_string = true,
      b'#' => {
        // A comment: to the end of a line not ending in an odd number of backslashes.
        while i < bytes.len() {
          let end = memchr::memchr(b'\n', &bytes[i..]).map_or(bytes.len(), |n| i + n);
          let line = code[i..end].trim_end_matches('\r');
          i = end + 1;
          if line.bytes().rev().take_while(|&b| b == b'\\').count() % 2 == 0 {
            break;
          }
        }
        continue;
      }
      b'(' => {
        if let Some(depth) = interpolations.last_mut() {
          *depth += 1;
        }
      }
      b')' => {
        if let Some(depth) = interpolations.last_mut() {
          *depth -= 1;
          if *depth == 0 {
            interpolations.pop();
            in_string = true;
          }
        }
      }
      b'a'..=b'z' | b'A'..=b'Z' | b'_' | b'$' | b'@' => {
        // A name (`mod::name` too): its digits are not numbers. A single colon ends it: in
        // `{a:1.5}` and `.[$i:2.5]` the number after it is one.
        i += 1;
        loop {
          match bytes.get(i) {
            Some(b) if b.is_ascii_alphanumeric() || *b == b'_' => i += 1,
            Some(b':') if bytes.get(i + 1) == Some(&b':') => i += 2,
            _ => break,
          }
        }
        continue;
      }
      b'.' if bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => {
        edit(&mut text, &mut copied, &mut from, i, 0, "0");
        i = number_end(bytes, i + 1, None);
        continue;
      }
      b'.' if bytes.get(i + 1) == Some(&b'.') => {
        i += 2;
        continue;
      }
      b'0'..=b'9' => {
        let mut after_point = None;
        let end = number_end(bytes, i, Some(&mut after_point));
        if let Some(at) = after_point {
          // `1.` is the literal `1` (jq prints it so, where `1.0` keeps its point).
          edit(&mut text, &mut copied, &mut from, at - 1, 1, "");
        }
        i = end;
        continue;
      }
      _ => {}
    }
    i += 1;
  }
  if copied.is_empty() {
    return Ok((
      code.to_owned(),
      Rewritten {
        code: String::new(),
        copied: vec![(0, 0, code.len())],
      },
    ));
  }
  copied.push((text.len(), from, code.len() - from));
  text.push_str(&code[from..]);
  Ok((text.clone(), Rewritten { code: text, copied }))
}

/// The end of a number literal's digits starting at `i`: digits, a point and digits (if `point`
/// is given: it gets the offset after a point no digit follows), an exponent.
fn number_end(bytes: &[u8], mut i: usize, point: Option<&mut Option<usize>>) -> usize {
  let digits = |i: &mut usize| {
    while bytes.get(*i).is_some_and(u8::is_ascii_digit) {
      *i += 1;
    }
  };
  digits(&mut i);
  if let Some(point) = point.filter(|_| bytes.get(i) == Some(&b'.') && bytes.get(i + 1) != Some(&b'.')) {
    i += 1;
    if !bytes.get(i).is_some_and(u8::is_ascii_digit) {
      *point = Some(i);
    }
    digits(&mut i);
  }
  if matches!(bytes.get(i), Some(b'e' | b'E')) {
    let sign = usize::from(matches!(bytes.get(i + 1), Some(b'+' | b'-')));
    if bytes.get(i + 1 + sign).is_some_and(u8::is_ascii_digit) {
      i += 1 + sign;
      digits(&mut i);
    }
  }
  i
}

/// `\uD83D\uDE00` at the start of `s`: the character of the pair.
fn surrogate_pair(s: &str) -> Option<char> {
  let high = escaped_unit(s)?;
  let low = escaped_unit(s.get(6..)?)?;
  char::decode_utf16([high, low])
    .next()?
    .ok()
    .filter(|c| u32::from(*c) > 0xffff)
}

/// The UTF-16 unit of the `\uXXXX` escape at the start of `s`.
fn escaped_unit(s: &str) -> Option<u16> {
  s.strip_prefix("\\u")
    .and_then(|h| u16::from_str_radix(h.get(..4)?, 16).ok())
}

struct Out<'a> {
  code: &'a str,
  /// The longest the rewritten program may be.
  limit: usize,
  text: String,
  copied: Vec<(usize, usize, usize)>,
}

/// Where `seq` puts parentheses (before and after which tokens, how many) so that assignments
/// bind tighter than `//`, as in jq: `.a = .b // "d"` is `(.a = .b) // "d"` there, jaq parses it
/// as `.a = (.b // "d")`. Between `,`, `|`, `;`, `:` (a slice, a definition) and `as` at this
/// level, the operands of a `//` that hold an assignment are put in parentheses. A stretch with a
/// keyword in it (`if`, `reduce`, `def`, `try`…) is left as it is: an `if … end` is a term there
/// and would be split. So is the operand right after `as` (its pattern), which `binding` rewrites.
fn assignments_in_alternatives(tokens: &[Token<&str>]) -> (Vec<usize>, Vec<usize>) {
  const ENDS: [&str; 5] = [",", "|", ";", ":", "as"];
  const KEYWORDS: [&str; 13] = [
    "def", "if", "then", "elif", "else", "end", "reduce", "foreach", "try", "catch", "label", "import", "include",
  ];
  const ASSIGNMENTS: [&str; 8] = ["=", "|=", "+=", "-=", "*=", "/=", "%=", "//="];
  let mut opens = vec![0; tokens.len()];
  let mut closes = vec![0; tokens.len()];
  let mut start = 0;
  for end in 0..=tokens.len() {
    if end < tokens.len() && !ENDS.iter().any(|s| is(&tokens[end], s)) {
      continue;
    }
    let stretch = start..end;
    let after_as = start > 0 && is(&tokens[start - 1], "as");
    start = end + 1;
    let part = &tokens[stretch.clone()];
    if !part.iter().any(|t| is(t, "//")) || part.iter().any(|t| KEYWORDS.iter().any(|k| is(t, k))) {
      continue;
    }
    let mut first = stretch.start;
    for i in stretch.clone().chain([stretch.end]) {
      if i < stretch.end && !is(&tokens[i], "//") {
        continue;
      }
      let pattern = after_as && first == stretch.start;
      if !pattern && first < i && tokens[first..i].iter().any(|t| ASSIGNMENTS.iter().any(|a| is(t, a))) {
        opens[first] += 1;
        closes[i - 1] += 1;
      }
      first = i + 1;
    }
  }
  (opens, closes)
}

/// Where `seq` puts parentheses (as `assignments_in_alternatives` gives them) so that jaq groups
/// `*`, `/` and `%` as jq does: left to right, at one precedence. In a stretch of this level
/// between operators of lower precedence, delimiters and keywords, everything before a `%` that
/// follows a `*` or `/` goes in parentheses: `a * b % c / d % e` becomes `((a * b) % c / d) % e`,
/// which jaq, binding `%` tighter, groups as jq does. A `-` right after `*`, `/` or `%` is a sign,
/// inside the stretch; any other `-` ends one (a sign there applies to what follows it, which jq
/// computes to the same number). The operand right after `as` is a pattern: its stretch is left
/// as it is.
fn remainders_left_to_right(tokens: &[Token<&str>]) -> (Vec<usize>, Vec<usize>) {
  const WORDS: [&str; 16] = [
    "def", "if", "then", "elif", "else", "end", "reduce", "foreach", "try", "catch", "label", "import", "include",
    "and", "or", "as",
  ];
  let multiplicative = |t: &Token<&str>| is(t, "*") || is(t, "/") || is(t, "%");
  let operand_sym = |t: &Token<&str>| t.0.starts_with('.') || t.0 == "?";
  let mut opens = vec![0; tokens.len()];
  let mut closes = vec![0; tokens.len()];
  let mut start = 0;
  let mut after_as = false;
  let mut multiplied = false;
  for (i, token) in tokens.iter().enumerate() {
    let ends = match token.1 {
      Tok::Sym => {
        !multiplicative(token) && !operand_sym(token) && !(token.0 == "-" && i > 0 && multiplicative(&tokens[i - 1]))
      }
      Tok::Word => WORDS.contains(&token.0),
      _ => false,
    };
    if ends {
      after_as = is(token, "as");
      start = i + 1;
      multiplied = false;
    } else if !after_as && is(token, "%") && multiplied && i > start {
      opens[start] += 1;
      closes[i - 1] += 1;
    } else if is(token, "*") || is(token, "/") {
      multiplied = true;
    }
  }
  (opens, closes)
}

fn is(token: &Token<&str>, text: &str) -> bool {
  token.0 == text && matches!(token.1, Tok::Sym | Tok::Word)
}

fn is_block(token: &Token<&str>, open: char) -> bool {
  matches!(token.1, Tok::Block(_)) && token.0.starts_with(open)
}

impl Out<'_> {
  fn span(&self, token: &Token<&str>) -> Range<usize> {
    load::span(self.code, token.0)
  }

  fn copy(&mut self, from: usize, to: usize) {
    if from < to {
      self.copied.push((self.text.len(), from, to - from));
      self.text.push_str(&self.code[from..to]);
    }
  }

  /// Tokens from `start` to `end` of the code (the text between tokens as it is).
  fn seq(&mut self, tokens: &[Token<&str>], start: usize, end: usize, in_object: bool) {
    let (mut opens, mut closes) = remainders_left_to_right(tokens);
    if !in_object {
      let (more_opens, more_closes) = assignments_in_alternatives(tokens);
      opens.iter_mut().zip(more_opens).for_each(|(n, more)| *n += more);
      closes.iter_mut().zip(more_closes).for_each(|(n, more)| *n += more);
    }
    let mut at = start;
    let mut i = 0;
    while i < tokens.len() {
      let token = &tokens[i];
      let span = self.span(token);
      self.copy(at, span.start);
      self.text.extend(std::iter::repeat_n('(', opens[i]));
      at = span.end;
      // (`{reduce: 1}` and `{reduce, a: 1}` hold a key, not a reduction.)
      let next = tokens.get(i + 1);
      let key = next.is_some_and(|t| is(t, ":") || (in_object && is(t, ",")));
      if (is(token, "reduce") || is(token, "foreach")) && next.is_some() && !key {
        let source = tokens[i + 1..].iter().position(|t| is(t, "as")).map(|n| i + 1 + n);
        let nested = |r#as: usize| tokens[i + 1..r#as].iter().any(|t| is(t, "reduce") || is(t, "foreach"));
        if let Some(r#as) = source.filter(|&r#as| r#as > i + 2 && !nested(r#as)) {
          self.copy(span.start, span.end);
          let (first, last) = (self.span(&tokens[i + 1]), self.span(&tokens[r#as - 1]));
          self.copy(span.end, first.start);
          self.text.push('(');
          self.seq(&tokens[i + 1..r#as], first.start, last.end, false);
          self.text.push(')');
          at = last.end;
          i = r#as;
          continue;
        }
      }
      if is(token, "as") {
        if let Some(next) = self.binding(tokens, i, end) {
          (at, i) = next;
          continue;
        }
      }
      if token.0 == "$__loc__" && matches!(token.1, Tok::Var) {
        let line = self.code[..span.start].matches('\n').count() + 1;
        let loc = format!(r#"{{"file":"<top-level>","line":{line}}}"#);
        let shorthand = in_object
          && (i == 0 || is(&tokens[i - 1], ","))
          && tokens.get(i + 1).is_some_and(|t| is(t, ",") || is(t, "}"));
        if shorthand {
          self.text.push_str(&format!(r#""__loc__": {loc}"#));
        } else {
          self.text.push_str(&format!("({loc})"));
        }
      } else {
        self.token(token);
      }
      self.text.extend(std::iter::repeat_n(')', closes[i]));
      i += 1;
    }
    self.copy(at, end);
  }

  fn token(&mut self, token: &Token<&str>) {
    let span = self.span(token);
    match &token.1 {
      Tok::Block(inner) => {
        self.copy(span.start, span.start + 1);
        self.seq(inner, span.start + 1, span.end, token.0.starts_with('{'));
      }
      Tok::Str(parts) => {
        let mut at = span.start;
        for part in parts {
          if let StrPart::Term(term) = part {
            let term_span = self.span(term);
            self.copy(at, term_span.start);
            self.token(term);
            at = term_span.end;
          }
        }
        self.copy(at, span.end);
      }
      _ => self.copy(span.start, span.end),
    }
  }

  /// A pattern: in an object pattern, `$name: pattern` becomes `$name, "name": pattern`.
  fn pattern(&mut self, token: &Token<&str>) {
    let span = self.span(token);
    let Tok::Block(inner) = &token.1 else {
      return self.token(token);
    };
    if token.0.starts_with('(') {
      return self.token(token);
    }
    let object = token.0.starts_with('{');
    self.copy(span.start, span.start + 1);
    let mut at = span.start + 1;
    for (i, item) in inner.iter().enumerate() {
      let item_span = self.span(item);
      self.copy(at, item_span.start);
      at = item_span.end;
      match &item.1 {
        Tok::Block(_) => self.pattern(item),
        Tok::Var if object && inner.get(i + 1).is_some_and(|t| is(t, ":")) => {
          self.copy(item_span.start, item_span.end);
          self.text.push_str(&format!(", \"{}\"", &item.0[1..]));
        }
        _ => self.token(item),
      }
    }
    self.copy(at, span.end);
  }

  /// `as` at `tokens[i]`: its patterns (with their rewrites) and, for alternatives, the body.
  /// Returns where the sequence goes on (offset, index), or None to take `as` as a plain token.
  fn binding(&mut self, tokens: &[Token<&str>], i: usize, end: usize) -> Option<(usize, usize)> {
    let pattern = |t: &Token<&str>| matches!(t.1, Tok::Var) || is_block(t, '[') || is_block(t, '{');
    let mut patterns = Vec::new();
    let mut j = i + 1;
    while tokens.get(j).is_some_and(pattern) {
      patterns.push(j);
      j += 1;
      if tokens.get(j).is_some_and(|t| is(t, "?")) && tokens.get(j + 1).is_some_and(|t| is(t, "//")) {
        j += 2;
      } else {
        break;
      }
    }
    let as_span = self.span(&tokens[i]);
    if patterns.len() == 1 {
      self.copy(as_span.start, as_span.end);
      let p = self.span(&tokens[patterns[0]]);
      self.copy(as_span.end, p.start);
      self.pattern(&tokens[patterns[0]]);
      return Some((p.end, patterns[0] + 1));
    }
    if patterns.len() < 2 || !tokens.get(j).is_some_and(|t| is(t, "|")) {
      return None;
    }
    let body_start = j + 1;
    let body_end = body_start + body_length(&tokens[body_start..]);
    let from = self.span(&tokens[j]).end;
    let to = tokens.get(body_end).map_or(end, |t| self.span(t).start);
    let mut vars = Vec::new();
    for &p in &patterns {
      pattern_vars(&tokens[p], &mut vars);
    }
    self.copy(as_span.start, as_span.end);
    self
      .text
      .push_str(&format!(" {ALT} | . as {INPUT} | null as [{}] | ", vars.join(", ")));
    let last = patterns.len() - 1;
    for (n, &p) in patterns.iter().enumerate() {
      if self.text.len() > self.limit {
        // `rewrite` refuses the program; no point in writing more.
        break;
      }
      if n < last {
        self.text.push_str("try (");
      }
      self.text.push_str(&format!("{INPUT} | {ALT} as "));
      self.pattern(&tokens[p]);
      self.text.push_str(" |");
      self.seq(&tokens[body_start..body_end], from, to, false);
      if n < last {
        self.text.push_str(") catch (");
      }
    }
    self.text.push_str(&")".repeat(last));
    Some((to, body_end))
  }
}

/// How many tokens the body of a binding takes: up to the `;`, `then`, `elif`, `else` or `end`
/// that ends the expression it is in (or the end of its block).
fn body_length(tokens: &[Token<&str>]) -> usize {
  let (mut ifs, mut defs) = (0usize, 0usize);
  for (n, t) in tokens.iter().enumerate() {
    if !matches!(t.1, Tok::Sym | Tok::Word) {
      continue;
    }
    match t.0 {
      "if" => ifs += 1,
      "def" => defs += 1,
      "end" if ifs > 0 => ifs -= 1,
      ";" if defs > 0 => defs -= 1,
      "then" | "elif" | "else" if ifs > 0 => {}
      ";" | "then" | "elif" | "else" | "end" | ")" | "]" | "}" => return n,
      _ => {}
    }
  }
  tokens.len()
}

/// The variables a pattern binds (not those its computed keys `(…)` use).
fn pattern_vars<'a>(token: &Token<&'a str>, vars: &mut Vec<&'a str>) {
  match &token.1 {
    Tok::Var => {
      if !vars.contains(&token.0) {
        vars.push(token.0);
      }
    }
    Tok::Block(inner) if !token.0.starts_with('(') => {
      for t in inner {
        pattern_vars(t, vars);
      }
    }
    _ => {}
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  fn code(program: &str) -> String {
    rewrite(program).unwrap().code
  }

  /// Programs made of jq's tokens in random order (and stray bytes): a rewrite never panics, and
  /// every offset maps into the program.
  #[test]
  fn survives_random_programs() {
    const PIECES: &[&str] = &[
      ".",
      "..",
      ".5",
      "1.",
      "1e",
      "$__loc__",
      "$a",
      " as ",
      "?//",
      "?",
      "//",
      "|",
      ",",
      ";",
      ":",
      "(",
      ")",
      "[",
      "]",
      "{",
      "}",
      "\"",
      "\\(",
      "\\u",
      "\\ud83d\\ude00",
      "reduce",
      "foreach",
      "if",
      "then",
      "else",
      "end",
      "def",
      "#",
      "\n",
      "é",
      "\u{1F600}",
      "0",
      "a",
      "-",
      "+",
      "*",
      "/",
      "%",
      "%=",
      "@x",
    ];
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
      state ^= state << 13;
      state ^= state >> 7;
      state ^= state << 17;
      state
    };
    for _ in 0..20_000 {
      let len = next() % 24;
      let program: String = (0..len)
        .map(|_| PIECES[(next() % PIECES.len() as u64) as usize])
        .collect();
      if let Ok(r) = rewrite(&program) {
        for offset in 0..=r.code.len() {
          assert!(r.original(offset) <= program.len(), "{program:?}");
        }
      }
    }
  }

  #[test]
  fn refuses_alternatives_nested_too_deep() {
    let nested = ". as [$a] ?// $a ?// {$a} | ".repeat(20) + "$a";
    assert!(rewrite(&nested).is_err());
    assert!(rewrite(&". as [$a] ?// $a ?// {$a} | ".repeat(4)).is_ok());
  }

  #[test]
  fn refuses_more_escapes_than_the_limit() {
    let escapes = |n: usize| format!("\"{}\" | length", "\\\\".repeat(n));
    assert!(rewrite(&escapes(MAX_ESCAPES)).is_ok());
    assert_eq!(
      rewrite(&escapes(MAX_ESCAPES + 1)).err(),
      Some(Refused::Escapes {
        offset: 1 + 2 * MAX_ESCAPES
      })
    );
    // Interpolations, and backslashes in comments, are not escapes.
    let interpolations = format!("\"{}\"", "\\(1)".repeat(MAX_ESCAPES + 1));
    assert!(!matches!(rewrite(&interpolations), Err(Refused::Escapes { .. })));
    assert!(rewrite(&format!("# {}\n1", "\\\\".repeat(MAX_ESCAPES + 1))).is_ok());
  }

  #[test]
  fn leaves_other_programs_as_they_are() {
    for program in [
      ".a | .b",
      "[.[] | {a: .x}] # c\n| length",
      "\"a\\(1 + 2)b\" | 1.5e3",
      "$x.y | ..",
      "def f: 1; f",
    ] {
      assert_eq!(code(program), program);
    }
  }

  #[test]
  fn rewrites_numbers_and_surrogates() {
    assert_eq!(code(".5"), "0.5");
    // After a name and a colon, a number is read as one, not as the rest of the name.
    assert_eq!(code("{a:1.5, if:2.5, b:.5, c:1.}"), "{a:1.5, if:2.5, b:0.5, c:1}");
    assert_eq!(code(".[$i:2.5], .[null:1.5]"), ".[$i:2.5], .[null:1.5]");
    assert_eq!(code("m::f(1.5)"), "m::f(1.5)");
    assert_eq!(code("[1., .5e1, 1.e2]"), "[1, 0.5e1, 1e2]");
    assert_eq!(code("\"\\ud83d\\ude00\" | .a5"), "\"😀\" | .a5");
    assert_eq!(code("\"1. \\(.5)\""), "\"1. \\(0.5)\"");
    let r = rewrite("[.5, x]").unwrap();
    assert_eq!(r.original(5), 4);
  }

  #[test]
  fn assignments_bind_tighter_than_alternatives() {
    assert_eq!(code(".a = .b // \"d\""), "(.a = .b) // \"d\"");
    assert_eq!(
      code(".x // .a |= 1 // 2, [.c += 1 // 3 | .]"),
      ".x // (.a |= 1) // 2, [(.c += 1) // 3 | .]"
    );
    assert_eq!(code("f(.a //= 1 // 2; .b)"), "f((.a //= 1) // 2; .b)");
    assert_eq!(code(". as $x | .a = $x // 1"), ". as $x | (.a = $x) // 1");
    assert_eq!(code(".a = .b // 2 as $x | [$x]"), "(.a = .b) // 2 as $x | [$x]");
    assert_eq!(code(".[1: .a = 1 // 2]"), ".[1: (.a = 1) // 2]");
    assert_eq!(code("def f: .a = .b // 2; f"), "def f: (.a = .b) // 2; f");
    assert_eq!(
      code("reduce .[] as $x (0; .) // .a = 1"),
      "reduce (.[]) as $x (0; .) // (.a = 1)"
    );
    assert_eq!(code("{a: (.b = 1 // 2)}"), "{a: ((.b = 1) // 2)}");
    // Left as they are: no assignment; an `if … end` (a term: its stretch is never split) or
    // another keyword in the stretch; an object's keys.
    assert_eq!(code(".a // .b == 1"), ".a // .b == 1");
    assert_eq!(
      code(".x // .a = if true then 1 else 2 end"),
      ".x // .a = if true then 1 else 2 end"
    );
    assert_eq!(
      code("if .c then .a else .b end = 5 // 2"),
      "if .c then .a else .b end = 5 // 2"
    );
    assert_eq!(code("try .a = 1 // 2"), "try .a = 1 // 2");
    assert_eq!(code("{reduce: 1, as: 2, foreach: 3}"), "{reduce: 1, as: 2, foreach: 3}");
    assert_eq!(code("{reduce, x: 1, as: 2}"), "{reduce, x: 1, as: 2}");
  }

  #[test]
  fn remainders_group_left_to_right_with_products() {
    assert_eq!(code(". / 60 % 60"), "(. / 60) % 60");
    assert_eq!(code("a * b % c / d % e"), "((a * b) % c / d) % e");
    assert_eq!(code("1 + .a * -2 % 3 - 4"), "1 + (.a * -2) % 3 - 4");
    assert_eq!(
      code("[.x / 2 % 3, {a: 12 * 5 % 3}]"),
      "[(.x / 2) % 3, {a: (12 * 5) % 3}]"
    );
    assert_eq!(
      code("\"\\(. / 60 % 60)\" | .a? * .b % 7"),
      "\"\\((. / 60) % 60)\" | (.a? * .b) % 7"
    );
    assert_eq!(
      code("if . then . * 2 % 3 else 0 end"),
      "if . then (. * 2) % 3 else 0 end"
    );
    assert_eq!(
      code("reduce .[] as $x (0; . + $x * 2 % 5)"),
      "reduce (.[]) as $x (0; . + ($x * 2) % 5)"
    );
    // Left as they are: `%` first, or alone; parenthesized already; an assignment's own `%=`.
    for program in ["a % b * c", ". % 60", "a / (b % c)", ".a %= 2 * 3", "a // b % c"] {
      assert_eq!(code(program), program);
    }
  }

  #[test]
  fn rewrites_alternatives() {
    assert_eq!(
      code(". as [$a] ?// $b | $a"),
      format!(
        ". as {ALT} | . as {INPUT} | null as [$a, $b] | try ({INPUT} | {ALT} as [$a] | $a) catch ({INPUT} | {ALT} as $b | $a)"
      )
    );
    assert_eq!(code("(. as $a ?// [$a] | 1; 2)").matches("| 1").count(), 2);
    assert_eq!(code(". as {$a, $b: [$c]} | $c"), ". as {$a, $b, \"b\": [$c]} | $c");
    assert_eq!(code("reduce .[] / 2 as $x (0; .)"), "reduce (.[] / 2) as $x (0; .)");
    assert_eq!(code("{$__loc__}"), r#"{"__loc__": {"file":"<top-level>","line":1}}"#);
  }
}
