//! Which parts of its input a jq program can observe, so the reader can skip the rest.
//!
//! A filter such as `select(.status >= 500) | {id, path}` reads three fields of each record;
//! building jaq values for the other fields costs more than running the filter. The analysis walks
//! the program's syntax tree and tracks where the input (`.`) flows: followed through static
//! object keys (`.a.b`), `select(...)` and pipes, it stays "the input at path p"; any other use
//! (output, comparison, a builtin call, iteration, update) consumes the value at p whole. The
//! result keeps every consumed path whole and only drops object keys nobody can reach, so the
//! program's outputs and errors are the same on the pruned value.
//!
//! A value that is only walked through, or only tested by `not`, is still read, though not whole:
//! `.a.b | true` fails when `.a` is a number, and `.a | not` depends on whether `.a` exists. Such a
//! value is kept as `Fields`: an object keeps only the keys read further (it stays an object, so
//! indexing it with a key still succeeds and it is still true); anything else, whose type decides
//! errors and truthiness, is kept whole.
//!
//! Anything the analysis does not understand makes it keep the whole input: user definitions
//! (their parameters may run on other inputs), destructuring patterns, imports.

use std::collections::BTreeMap;

use jaq_core::load::lex::StrPart;
use jaq_core::load::parse::{BinaryOp, Pattern, Term};
use jaq_core::path::Part;

/// The part of a value that is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
  /// The whole value.
  All,
  /// If the value is an object, only these keys (sorted); any other value is read whole.
  Fields(Box<[(Box<[u8]>, Shape)]>),
}

impl Shape {
  pub fn fields<K: AsRef<[u8]>>(fields: impl IntoIterator<Item = (K, Shape)>) -> Shape {
    let mut fields: Vec<(Box<[u8]>, Shape)> = fields.into_iter().map(|(k, s)| (k.as_ref().into(), s)).collect();
    fields.sort_by(|a, b| a.0.cmp(&b.0));
    Shape::Fields(fields.into())
  }

  /// The shape of the value under `key` of an object with this shape, `None` if it is not read.
  /// Called for every key of every object read: a linear scan over the few fields a program
  /// names, comparing lengths and first bytes before calling `memcmp`, measured faster than a
  /// binary search.
  pub fn field(&self, key: &[u8]) -> Option<&Shape> {
    match self {
      Shape::All => Some(&Shape::All),
      Shape::Fields(fields) => fields.iter().find(|(k, _)| same_key(k, key)).map(|(_, shape)| shape),
    }
  }

  /// The shape of the input of the jq program `code`: `All` unless the analysis can prove less.
  pub fn of_program(code: &str) -> Shape {
    let Some(term) = jaq_core::load::parse(code, |p| p.term()) else {
      return Shape::All;
    };
    let mut analysis = Analysis::default();
    let flow = analysis.term(&term, Some(&[]));
    analysis.consume(flow);
    if analysis.opaque {
      Shape::All
    } else {
      analysis.need.into_shape()
    }
  }
}

/// Equality of two keys, cheapest checks first. Keys of up to 16 bytes, most of them, are
/// compared in two loads each that may overlap, without the call of `memcmp` (which cost 3% of
/// the benchmark's NDJSON filter, where the reader compares each key with the fields it keeps).
#[inline]
pub fn same_key(a: &[u8], b: &[u8]) -> bool {
  /// The first and the last `N` bytes of `bytes` (at least `N` long) as two words.
  fn ends<const N: usize>(bytes: &[u8]) -> ([u8; N], [u8; N]) {
    let first = bytes[..N].try_into().unwrap_or([0; N]);
    let last = bytes[bytes.len() - N..].try_into().unwrap_or([0; N]);
    (first, last)
  }
  if a.len() != b.len() {
    return false;
  }
  match a.len() {
    0 => true,
    1..=3 => a[0] == b[0] && a[a.len() / 2] == b[a.len() / 2] && a[a.len() - 1] == b[a.len() - 1],
    4..=7 => ends::<4>(a) == ends::<4>(b),
    8..=16 => ends::<8>(a) == ends::<8>(b),
    _ => a.first() == b.first() && a == b,
  }
}

/// Paths consumed whole, as a trie.
#[derive(Default)]
struct Need {
  all: bool,
  fields: BTreeMap<String, Need>,
}

impl Need {
  /// The value at `path` is read whole.
  fn mark(&mut self, path: &[String]) {
    if let Some(node) = self.reach(path) {
      node.all = true;
      node.fields.clear();
    }
  }

  /// The value at `path` is read as far as its type (and the keys on the way).
  fn reach(&mut self, path: &[String]) -> Option<&mut Need> {
    let mut node = self;
    for key in path {
      if node.all {
        return None;
      }
      node = node.fields.entry(key.clone()).or_default();
    }
    (!node.all).then_some(node)
  }

  fn into_shape(self) -> Shape {
    if self.all {
      Shape::All
    } else {
      Shape::fields(self.fields.into_iter().map(|(k, n)| (k, n.into_shape())))
    }
  }
}

/// Where a term's outputs come from.
enum Flow {
  /// The program's input at this path of object keys (or fewer outputs, as after `select`).
  Input(Vec<String>),
  /// Anything else: constants, or values built from consumed parts.
  Other,
}

#[derive(Default)]
struct Analysis {
  need: Need,
  /// Set when the program does something the analysis cannot follow.
  opaque: bool,
}

/// Builtins that never look at their input.
const INPUT_FREE: &[&str] = &["empty", "true", "false", "null", "nan", "infinite", "now"];

impl Analysis {
  fn consume(&mut self, flow: Flow) {
    if let Flow::Input(path) = flow {
      self.need.mark(&path);
    }
  }

  fn input(ctx: Option<&[String]>) -> Flow {
    ctx.map_or(Flow::Other, |path| Flow::Input(path.to_vec()))
  }

  /// Analyses a term whose outputs are consumed whole.
  fn used(&mut self, term: &Term<&str>, ctx: Option<&[String]>) {
    let flow = self.term(term, ctx);
    self.consume(flow);
  }

  /// Analyses `term` run on the input at `ctx` (`None`: an input not taken from the program's
  /// input, or from a part of it that is consumed whole anyway).
  fn term(&mut self, term: &Term<&str>, ctx: Option<&[String]>) -> Flow {
    match term {
      Term::Id => Self::input(ctx),
      Term::Num(_) | Term::Var(_) | Term::Break(_) | Term::Arr(None) => Flow::Other,
      Term::Recurse => {
        self.consume(Self::input(ctx));
        Flow::Other
      }
      Term::Str(_, parts) => {
        for part in parts {
          if let StrPart::Term(t) = part {
            self.used(t, ctx);
          }
        }
        Flow::Other
      }
      Term::Arr(Some(t)) | Term::Neg(t) | Term::Label(_, t) => {
        self.used(t, ctx);
        Flow::Other
      }
      Term::Obj(entries) => {
        for (key, value) in entries {
          match (key, value) {
            (Term::Var(_), None) => {}
            // `{a}` is `{a: .a}`
            (key, None) => match static_key(key) {
              Some(k) => {
                let flow = self.index(Self::input(ctx), k);
                self.consume(flow);
              }
              None => {
                self.used(key, ctx);
                self.consume(Self::input(ctx));
              }
            },
            (key, Some(value)) => {
              self.used(key, ctx);
              self.used(value, ctx);
            }
          }
        }
        Flow::Other
      }
      Term::BinOp(l, op, r) => match op {
        BinaryOp::Pipe(None) => {
          let left = self.term(l, ctx);
          match left {
            Flow::Input(path) => self.term(r, Some(&path)),
            Flow::Other => self.term(r, None),
          }
        }
        BinaryOp::Pipe(Some(pattern)) => {
          self.used(l, ctx);
          if !matches!(pattern, Pattern::Var(_)) {
            self.opaque = true;
          }
          self.term(r, ctx)
        }
        BinaryOp::Comma | BinaryOp::Alt | BinaryOp::Or | BinaryOp::And | BinaryOp::Math(_) | BinaryOp::Cmp(_) => {
          self.used(l, ctx);
          self.used(r, ctx);
          Flow::Other
        }
        BinaryOp::Assign | BinaryOp::Update | BinaryOp::UpdateMath(_) | BinaryOp::UpdateAlt => {
          // The whole input comes out, changed.
          self.consume(Self::input(ctx));
          self.used(l, None);
          self.used(r, None);
          Flow::Other
        }
      },
      Term::Fold(_, xs, pattern, args) => {
        self.used(xs, ctx);
        if !matches!(pattern, Pattern::Var(_)) {
          self.opaque = true;
        }
        let mut args = args.iter();
        if let Some(init) = args.next() {
          self.used(init, ctx);
        }
        for arg in args {
          self.used(arg, None);
        }
        Flow::Other
      }
      Term::TryCatch(t, catch) => {
        self.used(t, ctx);
        if let Some(catch) = catch {
          self.used(catch, None);
        }
        Flow::Other
      }
      Term::IfThenElse(branches, otherwise) => {
        for (cond, then) in branches {
          self.used(cond, ctx);
          self.used(then, ctx);
        }
        match otherwise {
          Some(t) => self.used(t, ctx),
          // `if c then t end` outputs its input when `c` is false.
          None => self.consume(Self::input(ctx)),
        }
        Flow::Other
      }
      Term::Def(..) => {
        self.opaque = true;
        Flow::Other
      }
      Term::Call(name, args) => match (*name, &args[..]) {
        ("select", [cond]) => {
          self.used(cond, ctx);
          Self::input(ctx)
        }
        // Only the truthiness of the input: whether it is there, null or false.
        ("not", []) => {
          if let Some(path) = ctx {
            self.need.reach(path);
          }
          Flow::Other
        }
        (name, []) if INPUT_FREE.contains(&name) => Flow::Other,
        (_, args) => {
          // A builtin may read all of its input; its arguments run on that input or on values
          // taken from it, which is then whole anyway.
          self.consume(Self::input(ctx));
          for arg in args {
            self.used(arg, None);
          }
          Flow::Other
        }
      },
      Term::Path(base, path) => {
        let mut flow = self.term(base, ctx);
        for (part, _optional) in &path.0 {
          flow = match part {
            Part::Index(key) => match static_key(key) {
              Some(k) => self.index(flow, k),
              None => {
                // `f[g]` runs `g` on the input of the whole path expression.
                self.used(key, ctx);
                self.consume(flow);
                Flow::Other
              }
            },
            Part::Range(from, upto) => {
              for bound in [from, upto].into_iter().flatten() {
                self.used(bound, ctx);
              }
              self.consume(flow);
              Flow::Other
            }
          };
        }
        flow
      }
    }
  }

  /// `flow` indexed with `key`: whether that fails depends on the type of the value indexed.
  fn index(&mut self, flow: Flow, key: String) -> Flow {
    match flow {
      Flow::Input(mut path) => {
        self.need.reach(&path);
        path.push(key);
        Flow::Input(path)
      }
      Flow::Other => Flow::Other,
    }
  }
}

/// The text of a string literal without interpolation or format, such as `"a"` or `a` in `.a`.
pub fn static_key(term: &Term<&str>) -> Option<String> {
  let Term::Str(None, parts) = term else {
    return None;
  };
  let mut key = String::new();
  for part in parts {
    match part {
      StrPart::Str(s) => key.push_str(s),
      StrPart::Char(c) => key.push(*c),
      StrPart::Term(_) => return None,
    }
  }
  Some(key)
}

#[cfg(test)]
mod tests {
  use super::*;

  fn fields(names: &[&str]) -> Shape {
    Shape::fields(names.iter().map(|n| (*n, Shape::All)))
  }

  /// `same_key` against slice equality: keys of every length up to 40 bytes, equal, differing
  /// in any one byte, and of other lengths.
  #[test]
  fn same_key_is_equality() {
    for len in 0..=40usize {
      let key: Vec<u8> = (0..len).map(|i| b'a' + (i * 7 % 26) as u8).collect();
      assert!(same_key(&key, &key.clone()), "{len}");
      for at in 0..len {
        let mut other = key.clone();
        other[at] ^= 0x20;
        assert_eq!(same_key(&key, &other), key == other, "{len} {at}");
      }
      assert!(!same_key(&key, &key[..len.saturating_sub(1)]) || len == 0);
      assert!(!same_key(&key, &[key.as_slice(), b"x"].concat()));
    }
  }

  #[test]
  fn follows_static_paths() {
    assert_eq!(Shape::of_program(".a"), fields(&["a"]));
    assert_eq!(
      Shape::of_program("select(.status >= 500 or .latency_ms > 900) | {id, path, user: .user.name}"),
      Shape::fields([
        ("id", Shape::All),
        ("latency_ms", Shape::All),
        ("path", Shape::All),
        ("status", Shape::All),
        ("user", fields(&["name"])),
      ])
    );
    assert_eq!(
      Shape::of_program(".a | .b, .c"),
      Shape::fields([("a", fields(&["b", "c"]))])
    );
    assert_eq!(Shape::of_program(".a.b, .a"), fields(&["a"]));
    assert_eq!(Shape::of_program(r#"."x y", .["z"]"#), fields(&["x y", "z"]));
    assert_eq!(Shape::of_program("1, true, empty"), fields(&[]));
    // `.b` runs, but its value is never used.
    assert_eq!(Shape::of_program(".a as $x | .b | $x"), fields(&["a"]));
    assert_eq!(Shape::of_program("if .a then .b else .c end"), fields(&["a", "b", "c"]));
    assert_eq!(Shape::of_program("{$__loc__, a: \"\\(.b)\"}"), fields(&["b"]));
  }

  #[test]
  fn keeps_what_is_consumed_whole() {
    for program in [
      ".",
      "select(.a)",
      "keys",
      ".[]",
      "..",
      ".a = 1",
      "del(.a)",
      "length",
      "tostring",
      "if .a then .b end",
      "def f: .a; f",
      ". as {a: $x} | $x",
      "map(.a)",
      "{a} + .",
      "has(\"a\")",
      "to_entries",
      "[.[] | .a]",
      ".a, .",
    ] {
      assert_eq!(Shape::of_program(program), Shape::All, "{program}");
    }
    assert_eq!(Shape::of_program(".a[0]"), fields(&["a"]));
    assert_eq!(Shape::of_program(".a | length"), fields(&["a"]));
    assert_eq!(Shape::of_program(".a[] | .b"), fields(&["a"]));
    assert_eq!(Shape::of_program(".a[.k]"), fields(&["a", "k"]));
    assert_eq!(Shape::of_program("reduce .a[] as $x (.b; . + $x)"), fields(&["a", "b"]));
    assert_eq!(Shape::of_program("not"), fields(&[]));
    assert_eq!(Shape::of_program("{(.k): 1} | ."), fields(&["k"]));
    assert_eq!(Shape::of_program("not syntax ("), Shape::All);
  }

  #[test]
  fn keeps_what_is_walked_through_or_tested_by_not() {
    let typed = || Shape::fields::<&str>([]);
    // `.a` decides whether `.b` fails; `.b` itself is never read.
    assert_eq!(Shape::of_program(".a.b | true"), Shape::fields([("a", typed())]));
    assert_eq!(
      Shape::of_program(".a.b.c | 1"),
      Shape::fields([("a", Shape::fields([("b", typed())]))])
    );
    assert_eq!(Shape::of_program(".a | not"), Shape::fields([("a", typed())]));
    assert_eq!(
      Shape::of_program("select(.deleted | not) | .id"),
      Shape::fields([("deleted", typed()), ("id", Shape::All)])
    );
    assert_eq!(Shape::of_program("(.a.b | empty), .a"), fields(&["a"]));
  }
}
