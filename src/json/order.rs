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

/// The variables that hold a string's interpolated parts, one per part. A string with more parts
/// than this that may yield other than one value keeps jaq's order (listed in the README).
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
    Term::Obj(entries) => Term::Obj(
      entries
        .into_iter()
        .map(|(key, value)| (jq_order(key), value.map(jq_order)))
        .collect(),
    ),
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
      Term::Path(Box::new(jq_order(*head)), path)
    }
    leaf @ (Term::Id | Term::Recurse | Term::Num(_) | Term::Var(_) | Term::Break(_)) => leaf,
  }
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

  /// How many values `code` binds in jq's order (each binding names its variable twice).
  fn bindings(code: &str) -> usize {
    let term = parse(code, |p| p.term()).unwrap_or_else(|| panic!("{code} parses"));
    format!("{:?}", jq_order(term)).matches("\"$ ").count() / 2
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
