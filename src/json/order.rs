//! jq's order of evaluation where jaq's differs, restored in the program's syntax tree before jaq
//! compiles it.
//!
//! jq runs the right operand of an arithmetic or comparison operator first, as the outer loop:
//! `[(1,2) + (10,20)]` is `[11,12,21,22]`, and of two failing operands (`.a.b + .c[0]`) the right
//! one's error is the one `try … catch` sees. Likewise the later part of a string interpolation
//! is the outer loop: `"\(1,2)\(3,4)"` gives `"13"`, `"23"`, `"14"`, `"24"`. jaq runs the left
//! one first in both. So `l + r` becomes `r as $v | l + $v`, and `"\(a)\(b)"` becomes
//! `b as $v1 | a as $v0 | "\($v0)\($v1)"`, wherever the order can show: where both sides may yield
//! other than exactly one value, or fail. An operand that is a literal, a variable or `.` yields
//! one value and cannot fail, so with one of those the two orders agree and the tree is left as it
//! is (`. + 1`, `$x * .a`, `.status >= 500`), costing no binding.
//!
//! The variables' names hold a space, which no jq program can write, so they never meet the
//! program's own. The walk recurses once per level of the tree: `compile` runs it on the stack it
//! sized for the program's depth.

use jaq_core::load::lex::StrPart;
use jaq_core::load::parse::{BinaryOp, Pattern, Term};
use jaq_core::path::Part;

/// The variable that holds an operator's right operand.
const RIGHT: &str = "$ right";

/// The variables that hold a string's interpolated parts, one per part, or a path's indices. A
/// string or path with more of them than this that may yield other than one value keeps jaq's
/// order (listed in the README).
const PARTS: [&str; 16] = [
  "$ part 0",
  "$ part 1",
  "$ part 2",
  "$ part 3",
  "$ part 4",
  "$ part 5",
  "$ part 6",
  "$ part 7",
  "$ part 8",
  "$ part 9",
  "$ part 10",
  "$ part 11",
  "$ part 12",
  "$ part 13",
  "$ part 14",
  "$ part 15",
];

/// `term` with jq's order of evaluation, throughout.
pub fn jq_order<'s>(term: Term<&'s str>) -> Term<&'s str> {
  match term {
    Term::BinOp(l, op, r) => {
      let (l, r) = (jq_order(*l), jq_order(*r));
      let op = match op {
        BinaryOp::Pipe(Some(pattern)) => BinaryOp::Pipe(Some(pattern_order(pattern))),
        op => op,
      };
      match op {
        BinaryOp::Math(_) | BinaryOp::Cmp(_) if !single(&l) && !single(&r) => {
          bind(r, RIGHT, Term::BinOp(Box::new(l), op, Box::new(Term::Var(RIGHT))))
        }
        op => Term::BinOp(Box::new(l), op, Box::new(r)),
      }
    }
    Term::Str(format, parts) => interpolation_order(format, parts),
    Term::Arr(items) => Term::Arr(items.map(|items| Box::new(jq_order(*items)))),
    Term::Obj(entries) => {
      let interpolated: Vec<bool> = entries
        .iter()
        .map(|(key, value)| {
          value.is_none() && matches!(key, Term::Str(_, parts) if parts.iter().any(|p| matches!(p, StrPart::Term(_))))
        })
        .collect();
      let entries = entries
        .into_iter()
        .map(|(key, value)| (jq_order(key), value.map(jq_order)))
        .collect();
      shorthand_keys_once(entries, &interpolated)
    }
    Term::Neg(term) => Term::Neg(Box::new(jq_order(*term))),
    Term::Label(name, body) => Term::Label(name, Box::new(jq_order(*body))),
    Term::Fold(kind, over, pattern, args) => Term::Fold(
      kind,
      Box::new(jq_order(*over)),
      pattern_order(pattern),
      args.into_iter().map(jq_order).collect(),
    ),
    Term::TryCatch(body, catch) => Term::TryCatch(Box::new(jq_order(*body)), catch.map(|c| Box::new(jq_order(*c)))),
    Term::IfThenElse(branches, otherwise) => Term::IfThenElse(
      branches
        .into_iter()
        .map(|(cond, then)| (jq_order(cond), jq_order(then)))
        .collect(),
      otherwise.map(|o| Box::new(jq_order(*o))),
    ),
    Term::Def(defs, body) => Term::Def(
      defs
        .into_iter()
        .map(|mut def| {
          def.body = jq_order(def.body);
          def
        })
        .collect(),
      Box::new(jq_order(*body)),
    ),
    Term::Call(name, args) => Term::Call(name, args.into_iter().map(jq_order).collect()),
    Term::Path(head, mut path) => {
      for (part, _) in &mut path.0 {
        *part = match std::mem::replace(part, Part::Range(None, None)) {
          Part::Index(index) => Part::Index(jq_order(index)),
          Part::Range(from, to) => Part::Range(from.map(jq_order), to.map(jq_order)),
        };
      }
      index_order(jq_order(*head), path)
    }
    leaf @ (Term::Id | Term::Recurse | Term::Num(_) | Term::Var(_) | Term::Break(_)) => leaf,
  }
}

/// `head` followed by `path` with jq's order: in `t[i]` the index is the outer loop and runs
/// first (`[([1,2],[3,4])[0,1]]` is `[1,3,2,4]`; a failing index fails before `t` runs, even with
/// `?`), in `t[i][j]` the last index is outermost, and in `t[a:b]` `a` is outside `b`. The indices
/// that may yield other than one value are bound, outermost first, when two of the pieces may.
/// jaq follows a path through such bindings in `path()` and updates too.
fn index_order<'s>(head: Term<&'s str>, mut path: jaq_core::path::Path<Term<&'s str>>) -> Term<&'s str> {
  let several = path
    .0
    .iter()
    .flat_map(|(part, _)| match part {
      Part::Index(index) => vec![index],
      Part::Range(from, to) => from.iter().chain(to).collect(),
    })
    .filter(|t| !single(t))
    .count();
  if several == 0 || several + usize::from(!single(&head)) < 2 || several > PARTS.len() {
    return Term::Path(Box::new(head), path);
  }
  // Outermost first: the last part's indices, a slice's start before its end.
  let mut bound = Vec::with_capacity(several);
  for (part, _) in path.0.iter_mut().rev() {
    let slots: Vec<&mut Term<&'s str>> = match part {
      Part::Index(index) => vec![index],
      Part::Range(from, to) => from.iter_mut().chain(to.iter_mut()).collect(),
    };
    for slot in slots.into_iter().filter(|t| !single(t)) {
      let name = PARTS[bound.len()];
      bound.push((std::mem::replace(slot, Term::Var(name)), name));
    }
  }
  bound
    .into_iter()
    .rev()
    .fold(Term::Path(Box::new(head), path), |body, (index, name)| {
      bind(index, name, body)
    })
}

/// An object's entries, with each shorthand entry whose key is interpolated (`{"a\(1,2)"}`)
/// computing its key once: jq takes each of the key's values and the input's field of that name
/// (`{"a1": .a1}`, `{"a2": .a2}`), where jaq computed the key again for the value and crossed
/// every key with every value. Such keys are bound first, the first entry outermost as jq loops:
/// `"a\(1,2)" as $k | {($k): .[$k]}`. (`interpolated` tells, of the entries as written, which
/// are such: their keys are already in jq's order and no longer plain strings.)
fn shorthand_keys_once<'s>(
  mut entries: Vec<(Term<&'s str>, Option<Term<&'s str>>)>,
  interpolated: &[bool],
) -> Term<&'s str> {
  let count = interpolated.iter().filter(|i| **i).count();
  if count == 0 || count > PARTS.len() {
    return Term::Obj(entries);
  }
  let mut bound = Vec::with_capacity(count);
  for ((key, value), _) in entries.iter_mut().zip(interpolated).filter(|(_, i)| **i) {
    let name = PARTS[bound.len()];
    bound.push((std::mem::replace(key, Term::Var(name)), name));
    let index = (Part::Index(Term::Var(name)), jaq_core::path::Opt::Essential);
    *value = Some(Term::Path(Box::new(Term::Id), jaq_core::path::Path(vec![index])));
  }
  bound
    .into_iter()
    .rev()
    .fold(Term::Obj(entries), |body, (key, name)| bind(key, name, body))
}

fn pattern_order<'s>(pattern: Pattern<&'s str>) -> Pattern<&'s str> {
  match pattern {
    Pattern::Var(name) => Pattern::Var(name),
    Pattern::Arr(items) => Pattern::Arr(items.into_iter().map(pattern_order).collect()),
    Pattern::Obj(entries) => Pattern::Obj(
      entries
        .into_iter()
        .map(|(key, pattern)| (jq_order(key), pattern_order(pattern)))
        .collect(),
    ),
  }
}

/// The string's parts with jq's order: each interpolation that may yield other than one value
/// bound, the last one outermost, when more than one of them may.
fn interpolation_order<'s>(format: Option<&'s str>, parts: Vec<StrPart<&'s str, Term<&'s str>>>) -> Term<&'s str> {
  let mut parts: Vec<_> = parts
    .into_iter()
    .map(|part| match part {
      StrPart::Term(term) => StrPart::Term(jq_order(term)),
      other => other,
    })
    .collect();
  let several = |part: &StrPart<&str, Term<&str>>| matches!(part, StrPart::Term(term) if !single(term));
  let count = parts.iter().filter(|part| several(part)).count();
  if count < 2 || count > PARTS.len() {
    return Term::Str(format, parts);
  }
  let mut bound = Vec::with_capacity(count);
  for part in parts.iter_mut().filter(|part| several(part)) {
    let name = PARTS[bound.len()];
    if let StrPart::Term(term) = std::mem::replace(part, StrPart::Term(Term::Var(name))) {
      bound.push((term, name));
    }
  }
  bound
    .into_iter()
    .fold(Term::Str(format, parts), |body, (term, name)| bind(term, name, body))
}

/// `value as $name | body`.
fn bind<'s>(value: Term<&'s str>, name: &'s str, body: Term<&'s str>) -> Term<&'s str> {
  Term::BinOp(
    Box::new(value),
    BinaryOp::Pipe(Some(Pattern::Var(name))),
    Box::new(body),
  )
}

/// Whether `term` yields exactly one value and cannot fail, whatever its input.
fn single(term: &Term<&str>) -> bool {
  match term {
    Term::Id | Term::Num(_) | Term::Var(_) | Term::Arr(None) => true,
    Term::Obj(entries) => entries.is_empty(),
    Term::Str(None, parts) => parts.iter().all(|part| !matches!(part, StrPart::Term(_))),
    Term::Neg(term) => matches!(**term, Term::Num(_)),
    _ => false,
  }
}

#[cfg(test)]
mod tests {
  use jaq_core::load::parse;

  use super::*;

  /// How many values `code` binds in jq's order (`… as $name | …` with a name of `order`'s).
  fn bindings(code: &str) -> usize {
    let term = parse(code, |p| p.term()).unwrap_or_else(|| panic!("{code} parses"));
    format!("{:?}", jq_order(term)).matches("Pipe(Some(Var(\"$ ").count()
  }

  #[test]
  fn binds_only_where_the_order_can_show() {
    for code in [
      ". + 1",
      "$x * .a",
      ".status >= 500",
      "1 - -2",
      r#""a" + .b"#,
      "[] + .a",
      r#""\(.a) and \(1)""#,
      ".a and .b",
      ".a // .b",
      ".a += (1, 2)",
      ".[.a, .b]",
      ".x[.i]",
      ".[$k][.b]",
      ".a.b[0]",
      ".[1:.n]",
      r#"{a, "b", $__loc__, (.c): 1, "d\(.e)": 2}"#,
    ] {
      assert_eq!(bindings(code), 0, "{code}");
    }
    for (code, count) in [
      (".a + .b", 1),
      ("(1, 2) * (3, 4)", 1),
      (".a + .b * .c", 2),
      (r#""\(.a)-\(.b)""#, 2),
      (r#""\(.a)-\(1)-\(.b, .c)""#, 2),
      ("[.[] | .x == .y]", 1),
      ("def f: .a - .b; reduce .[] as $x (0; . + ($x.a * $x.b))", 2),
      (".[.a + .b]", 1),
      (".[.a][.b]", 2),
      ("(.a, .b)[.c]", 1),
      (".x[.a:.b]", 2),
      (r#"{"a\(.x)"}"#, 1),
      (r#"{"a\(.x)", b, "c\(1)"}"#, 2),
    ] {
      assert_eq!(bindings(code), count, "{code}");
    }
  }

  #[test]
  fn leaves_long_interpolations_in_jaq_order() {
    let parts: String = (0..=PARTS.len()).map(|i| format!("\\(.a{i})")).collect();
    assert_eq!(bindings(&format!("\"{parts}\"")), 0);
  }
}
