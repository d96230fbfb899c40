//! jq's order of evaluation, and its folds, where jaq's differ: restored in the program's syntax
//! tree before jaq compiles it.
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
//! An object takes its entries left to right, the first one's values the outer loop, so it fails
//! at the first entry that fails, where jaq built nothing when a later entry yielded nothing.
//!
//! A `reduce` or `foreach` goes on from the last value its update yields, or from null if it
//! yields none, where jaq went on from each value and stopped at none: an update that may yield
//! other than one value is rewritten (`fold_outputs`); the usual ones (`. + $x`, `.[$k] += 1`,
//! calls of builtins known to yield one value) are left alone.
//!
//! The variables' names hold a space, which no jq program can write, so they never meet the
//! program's own. The walk recurses once per level of the tree: `compile` runs it on the stack it
//! sized for the program's depth.

use jaq_core::load::lex::StrPart;
use jaq_core::load::parse::{BinaryOp, Pattern, Term};
use jaq_core::path::{Opt, Part};

/// The variable that holds an operator's right operand.
const RIGHT: &str = "$ right";

/// The label that ends an update's right-hand side at its first value.
const FIRST: &str = "$ first";

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
pub fn jq_order(term: Term<&str>) -> Term<&str> {
  let mut defined = Vec::new();
  defined_names(&term, &mut defined);
  Order { defined }.term(term)
}

/// Builtins that yield one value (or fail) whatever their input: a fold's update calling them needs
/// no rewriting. Called with no arguments,
#[rustfmt::skip]
const ONE_VALUE: &[&str] = &[
  "null", "true", "false", "not", "length", "utf8bytelength", "keys", "keys_unsorted", "tostring",
  "tojson", "tonumber", "type", "ascii_downcase", "ascii_upcase", "add", "any", "all", "flatten",
  "min", "max", "unique", "sort", "reverse", "to_entries", "from_entries", "explode", "implode",
  "trim", "ltrim", "rtrim", "first", "last", "transpose", "toarray", "floor", "ceil", "round",
  "trunc", "sqrt", "fabs", "abs", "exp", "exp2", "exp10", "log", "log2", "log10", "infinite",
  "nan", "isinfinite", "isnan", "isnormal", "gmtime", "localtime", "mktime", "todate", "fromdate",
  "now",
];
/// with arguments of any kind (they collect them, as `map(f)` is `[.[] | f]`),
#[rustfmt::skip]
const ONE_VALUE_WHATEVER_ITS_ARGUMENTS: &[&str] = &[
  "map", "map_values", "with_entries", "del", "sort_by", "group_by", "unique_by", "min_by",
  "max_by", "any", "all", "isempty", "add", "pick", "IN", "INDEX", "error",
];
/// and with arguments that yield one value each.
#[rustfmt::skip]
const ONE_VALUE_PER_ARGUMENT: &[&str] = &[
  "has", "contains", "inside", "startswith", "endswith", "ltrimstr", "rtrimstr", "trimstr",
  "split", "join", "test", "index", "rindex", "indices", "setpath", "getpath", "delpaths",
  "flatten", "sub", "gsub", "strftime", "strflocaltime", "strptime", "format", "pow", "atan2",
  "fmin", "fmax", "fmod", "ldexp",
];

/// jq's builtins written in C that take several arguments (`test`, `match` and `capture` hand
/// theirs to C's `_match_impl`), with their arity. jq runs a C function's last argument as the
/// outer loop, and fails at its error first: `[pow(1,2; 3,4)]` is `[1,8,1,16]`, and
/// `pow(error("a"); empty)` yields nothing. jaq runs the first one outermost, as jq does for the
/// builtins it defines in jq (`sub`, `split/2`, `range/2`: `$` parameters bind left to right).
#[rustfmt::skip]
const LAST_ARGUMENT_OUTERMOST: &[(&str, usize)] = &[
  ("atan2", 2), ("hypot", 2), ("pow", 2), ("remainder", 2), ("jn", 2), ("yn", 2), ("copysign", 2),
  ("drem", 2), ("fdim", 2), ("fmax", 2), ("fmin", 2), ("fmod", 2), ("nextafter", 2),
  ("nexttoward", 2), ("scalb", 2), ("scalbln", 2), ("ldexp", 2), ("fma", 3), ("setpath", 2),
  ("test", 2), ("match", 2), ("capture", 2),
];

/// A call of a `LAST_ARGUMENT_OUTERMOST` builtin with jq's order: where two of its arguments may
/// yield other than one value (or fail), those are bound, the last one outermost.
fn last_argument_outermost<'s>(name: &'s str, mut args: Vec<Term<&'s str>>) -> Term<&'s str> {
  if args.iter().filter(|t| !single(t)).count() < 2 {
    return Term::Call(name, args);
  }
  let mut bound = Vec::with_capacity(args.len());
  for arg in args.iter_mut().filter(|t| !single(t)) {
    let var = PARTS[bound.len()];
    bound.push((std::mem::replace(arg, Term::Var(var)), var));
  }
  bound
    .into_iter()
    .fold(Term::Call(name, args), |body, (arg, var)| bind(arg, var, body))
}

/// The rewriting, knowing the functions the program defines: a builtin it redefines is not known
/// to yield one value, and calls of those with filter parameters are kept from being tail calls.
struct Order<'s> {
  defined: Vec<Defined<'s>>,
}

/// A function the program defines.
struct Defined<'s> {
  name: &'s str,
  arity: usize,
  /// Whether a parameter is a filter (`f`, not `$x`): each call binds a closure that holds its
  /// caller's bindings.
  closures: bool,
}

impl<'s> Order<'s> {
  fn term(&self, term: Term<&'s str>) -> Term<&'s str> {
    match term {
      Term::BinOp(l, op, r) => {
        let (l, r) = (self.term(*l), self.term(*r));
        let op = match op {
          BinaryOp::Pipe(Some(pattern)) => BinaryOp::Pipe(Some(self.pattern(pattern))),
          op => op,
        };
        match op {
          BinaryOp::Math(_) | BinaryOp::Cmp(_) if !single(&l) && !single(&r) => {
            bind(r, RIGHT, Term::BinOp(Box::new(l), op, Box::new(Term::Var(RIGHT))))
          }
          // jq's `|=` takes the first value of its update at every path; jaq took them all at the
          // root path (`. |= (1, 2)`): `label $first | r | ., break $first`.
          BinaryOp::Update if !self.yields_one(&r) => {
            let first = Term::BinOp(Box::new(Term::Id), BinaryOp::Comma, Box::new(Term::Break(FIRST)));
            let r = Term::BinOp(Box::new(r), BinaryOp::Pipe(None), Box::new(first));
            Term::BinOp(Box::new(l), op, Box::new(Term::Label(FIRST, Box::new(r))))
          }
          op => Term::BinOp(Box::new(l), op, Box::new(r)),
        }
      }
      Term::Str(format, parts) => self.interpolation(format, parts),
      Term::Arr(items) => Term::Arr(items.map(|items| Box::new(self.term(*items)))),
      Term::Obj(entries) => {
        let interpolated: Vec<bool> = entries
          .iter()
          .map(|(key, value)| {
            value.is_none() && matches!(key, Term::Str(_, parts) if parts.iter().any(|p| matches!(p, StrPart::Term(_))))
          })
          .collect();
        let entries = entries
          .into_iter()
          .map(|(key, value)| (self.term(key), value.map(|t| self.term(t))))
          .collect();
        if interpolated.contains(&true) {
          shorthand_keys_once(entries, &interpolated)
        } else {
          self.object(entries)
        }
      }
      Term::Neg(term) => Term::Neg(Box::new(self.term(*term))),
      Term::Label(name, body) => Term::Label(name, Box::new(self.term(*body))),
      Term::Fold(kind, over, pattern, args) => {
        let mut args: Vec<_> = args.into_iter().map(|t| self.term(t)).collect();
        self.fold_outputs(kind, &mut args);
        Term::Fold(kind, Box::new(self.term(*over)), self.pattern(pattern), args)
      }
      Term::TryCatch(body, catch) => Term::TryCatch(Box::new(self.term(*body)), catch.map(|c| Box::new(self.term(*c)))),
      Term::IfThenElse(branches, otherwise) => Term::IfThenElse(
        branches
          .into_iter()
          .map(|(cond, then)| (self.term(cond), self.term(then)))
          .collect(),
        otherwise.map(|o| Box::new(self.term(*o))),
      ),
      Term::Def(defs, body) => Term::Def(
        defs
          .into_iter()
          .map(|mut def| {
            def.body = self.term(def.body);
            def
          })
          .collect(),
        Box::new(self.term(*body)),
      ),
      Term::Call(name, args) => {
        let arity = args.len();
        let args: Vec<_> = args.into_iter().map(|t| self.term(t)).collect();
        let defined = self.defined.iter().any(|d| d.name == name && d.arity == arity);
        if !defined && LAST_ARGUMENT_OUTERMOST.contains(&(name, arity)) {
          return last_argument_outermost(name, args);
        }
        let call = Term::Call(name, args);
        if self
          .defined
          .iter()
          .any(|d| d.name == name && d.arity == arity && d.closures)
        {
          // Not a tail call: `CALL | if true then . else . end`. jaq runs a tail call in a loop,
          // and one passing filters (`def f(g): … f(g)`) then chains a closure per level with no
          // frame to show for it: with no stack guard to stop it, dropping the chain recursed
          // until the thread's stack overflowed (SIGSEGV at about 1.3 million levels). As a
          // plain call it recurses, and the stack guard stops it cleanly.
          let identity = Term::IfThenElse(
            vec![(Term::Call("true", Vec::new()), Term::Id)],
            Some(Box::new(Term::Id)),
          );
          Term::BinOp(Box::new(call), BinaryOp::Pipe(None), Box::new(identity))
        } else {
          call
        }
      }
      Term::Path(head, mut path) => {
        for (part, _) in &mut path.0 {
          *part = match std::mem::replace(part, Part::Range(None, None)) {
            Part::Index(index) => Part::Index(self.term(index)),
            Part::Range(from, to) => Part::Range(from.map(|t| self.term(t)), to.map(|t| self.term(t))),
          };
        }
        index_order(self.term(*head), path)
      }
      leaf @ (Term::Id | Term::Recurse | Term::Num(_) | Term::Var(_) | Term::Break(_)) => leaf,
    }
  }

  fn pattern(&self, pattern: Pattern<&'s str>) -> Pattern<&'s str> {
    match pattern {
      Pattern::Var(name) => Pattern::Var(name),
      Pattern::Arr(items) => Pattern::Arr(items.into_iter().map(|p| self.pattern(p)).collect()),
      Pattern::Obj(entries) => Pattern::Obj(
        entries
          .into_iter()
          .map(|(key, pattern)| (self.term(key), self.pattern(pattern)))
          .collect(),
      ),
    }
  }

  /// The string's parts with jq's order: each interpolation that may yield other than one value
  /// bound, the last one outermost, when more than one of them may.
  fn interpolation(&self, format: Option<&'s str>, parts: Vec<StrPart<&'s str, Term<&'s str>>>) -> Term<&'s str> {
    let mut parts: Vec<_> = parts
      .into_iter()
      .map(|part| match part {
        StrPart::Term(term) => StrPart::Term(self.term(term)),
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

  /// An object with jq's order where it can show. jq takes the entries left to right, the first
  /// one's values the outer loop, so it fails at the first entry that fails; jaq built no object
  /// at all when a later entry yielded none, even after an earlier one failed
  /// (`{a: error("x"), b: empty}`). So where an entry's key or value may yield other than one
  /// value and two may fail, each key and value that may is bound in order, the first outermost
  /// (a shorthand `{a}` taking `.a`, which may fail, as `{a: .a}`).
  fn object(&self, mut entries: Vec<(Term<&'s str>, Option<Term<&'s str>>)>) -> Term<&'s str> {
    let implicit = |key: &Term<&'s str>| match key {
      Term::Str(None, _) if single(key) => {
        let field = (Part::Index(key.clone()), Opt::Essential);
        Some(Term::Path(Box::new(Term::Id), jaq_core::path::Path(vec![field])))
      }
      _ => None,
    };
    // A computed key may yield other than one value too (`{a: .b.c, (.z | select(.)): 1}`).
    let varies = entries
      .iter()
      .any(|(key, value)| !self.yields_one(key) || value.as_ref().is_some_and(|v| !self.yields_one(v)));
    // A shorthand entry other than `{a}` (`{$x}`, `{@base64 "a"}`) is left as it is.
    let fallible: usize = entries
      .iter()
      .map(|(key, value)| match (value, implicit(key)) {
        (Some(value), _) => usize::from(!single(key)) + usize::from(!single(value)),
        (None, Some(_)) => 1,
        (None, None) => 0,
      })
      .sum();
    if !varies || fallible < 2 || fallible > PARTS.len() {
      return Term::Obj(entries);
    }
    let mut bound = Vec::with_capacity(fallible);
    for (key, value) in &mut entries {
      if value.is_none() {
        *value = implicit(key);
      }
      let Some(value) = value else { continue };
      for slot in [key, value] {
        if !single(slot) {
          let name = PARTS[bound.len()];
          bound.push((std::mem::replace(slot, Term::Var(name)), name));
        }
      }
    }
    bound
      .into_iter()
      .rev()
      .fold(Term::Obj(entries), |body, (term, name)| bind(term, name, body))
  }

  /// A `reduce` or `foreach` (`kind`, with its arguments) whose update may yield other than one
  /// value, made to go on as jq does: from the update's last value, or from null if it yields none
  /// (jaq went on from each value, and stopped at none). `reduce`'s update becomes
  /// `_offloop_last(UPDATE)` (a native: as `reduce UPDATE as $v (null; $v)` it cost 5 times the
  /// plain `reduce`). `foreach`'s state becomes the array of the update's
  /// values, each of which is extracted: `foreach S as $x (I | [.]; [.[-1] | UPDATE]; .[] | EXTRACT)`
  /// (so an update that yields values and then fails, or never ends, outputs none of that step's).
  fn fold_outputs(&self, kind: &str, args: &mut Vec<Term<&'s str>>) {
    let take = |term: &mut Term<&'s str>| std::mem::replace(term, Term::Id);
    let pipe = |l, r| Term::BinOp(Box::new(l), BinaryOp::Pipe(None), Box::new(r));
    let path = |part| Term::Path(Box::new(Term::Id), jaq_core::path::Path(vec![(part, Opt::Essential)]));
    match (kind, args.as_mut_slice()) {
      ("reduce", [_, update]) if !self.yields_one(update) => *update = Term::Call("_offloop_last", vec![take(update)]),
      ("foreach", [init, update, ..]) if !self.yields_one(update) => {
        *init = pipe(take(init), Term::Arr(Some(Box::new(Term::Id))));
        let previous = path(Part::Index(Term::Neg(Box::new(Term::Num("1")))));
        *update = Term::Arr(Some(Box::new(pipe(previous, take(update)))));
        let each = path(Part::Range(None, None));
        let extract = match args.get_mut(2) {
          Some(extract) => pipe(each, take(extract)),
          None => each,
        };
        args.truncate(2);
        args.push(extract);
      }
      _ => {}
    }
  }

  /// Whether `term` yields exactly one value unless it fails, whatever its input (so that a fold's
  /// update needs no rewriting); `false` where that is not plain from the syntax (calls of the
  /// program's own definitions, of builtins not listed below).
  fn yields_one(&self, term: &Term<&str>) -> bool {
    match term {
      Term::Id | Term::Num(_) | Term::Var(_) | Term::Arr(_) => true,
      Term::Str(_, parts) => parts
        .iter()
        .all(|part| !matches!(part, StrPart::Term(t) if !self.yields_one(t))),
      Term::Obj(entries) => entries
        .iter()
        .all(|(key, value)| self.yields_one(key) && value.as_ref().is_none_or(|t| self.yields_one(t))),
      Term::Neg(term) => self.yields_one(term),
      Term::BinOp(l, op, r) => match op {
        BinaryOp::Comma | BinaryOp::Pipe(Some(Pattern::Arr(_) | Pattern::Obj(_))) => false,
        // The input updated, once.
        BinaryOp::Update => true,
        BinaryOp::Assign | BinaryOp::UpdateMath(_) | BinaryOp::UpdateAlt => self.yields_one(r),
        _ => self.yields_one(l) && self.yields_one(r),
      },
      Term::IfThenElse(branches, otherwise) => {
        branches
          .iter()
          .all(|(cond, then)| self.yields_one(cond) && self.yields_one(then))
          && otherwise.as_deref().is_none_or(|t| self.yields_one(t))
      }
      Term::TryCatch(body, Some(catch)) => self.yields_one(body) && self.yields_one(catch),
      Term::Path(head, path) => {
        self.yields_one(head)
          && path.0.iter().all(|(part, opt)| {
            matches!(opt, Opt::Essential)
              && match part {
                Part::Index(index) => self.yields_one(index),
                Part::Range(None, None) => false,
                Part::Range(from, to) => from.iter().chain(to).all(|t| self.yields_one(t)),
              }
          })
      }
      Term::Fold(kind, _, _, args) => *kind == "reduce" && args.first().is_some_and(|t| self.yields_one(t)),
      Term::Call(name, args) if !self.defined.iter().any(|d| d.name == *name) => match args.len() {
        0 => ONE_VALUE.contains(name),
        _ if ONE_VALUE_WHATEVER_ITS_ARGUMENTS.contains(name) => true,
        _ => ONE_VALUE_PER_ARGUMENT.contains(name) && args.iter().all(|t| self.yields_one(t)),
      },
      Term::Def(_, body) => self.yields_one(body),
      _ => false,
    }
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

/// The functions `term` defines (`def name: …`) anywhere in it.
fn defined_names<'s>(term: &Term<&'s str>, names: &mut Vec<Defined<'s>>) {
  let mut visit = |t: &Term<&'s str>| defined_names(t, names);
  match term {
    Term::Id | Term::Recurse | Term::Num(_) | Term::Var(_) | Term::Break(_) => {}
    Term::Str(_, parts) => parts.iter().for_each(|part| {
      if let StrPart::Term(t) = part {
        visit(t)
      }
    }),
    Term::Arr(item) => item.iter().for_each(|t| visit(t)),
    Term::Obj(entries) => entries.iter().for_each(|(key, value)| {
      visit(key);
      value.iter().for_each(&mut visit);
    }),
    Term::Neg(t) | Term::Label(_, t) => visit(t),
    Term::BinOp(l, op, r) => {
      if let BinaryOp::Pipe(Some(pattern)) = op {
        pattern_terms(pattern, &mut visit);
      }
      visit(l);
      visit(r);
    }
    Term::Fold(_, over, pattern, args) => {
      visit(over);
      pattern_terms(pattern, &mut visit);
      args.iter().for_each(visit);
    }
    Term::TryCatch(body, catch) => {
      visit(body);
      catch.iter().for_each(|t| visit(t));
    }
    Term::IfThenElse(branches, otherwise) => {
      branches.iter().for_each(|(cond, then)| {
        visit(cond);
        visit(then);
      });
      otherwise.iter().for_each(|t| visit(t));
    }
    Term::Def(defs, body) => {
      for def in defs {
        names.push(Defined {
          name: def.name,
          arity: def.args.len(),
          closures: def.args.iter().any(|arg| !arg.starts_with('$')),
        });
        defined_names(&def.body, names);
      }
      defined_names(body, names);
    }
    Term::Call(_, args) => args.iter().for_each(visit),
    Term::Path(head, path) => {
      visit(head);
      for (part, _) in &path.0 {
        match part {
          Part::Index(index) => visit(index),
          Part::Range(from, to) => from.iter().chain(to).for_each(&mut visit),
        }
      }
    }
  }
}

/// The terms in a destructuring pattern (its computed keys).
fn pattern_terms<'s>(pattern: &Pattern<&'s str>, visit: &mut impl FnMut(&Term<&'s str>)) {
  match pattern {
    Pattern::Var(_) => {}
    Pattern::Arr(items) => items.iter().for_each(|p| pattern_terms(p, visit)),
    Pattern::Obj(entries) => entries.iter().for_each(|(key, p)| {
      visit(key);
      pattern_terms(p, visit);
    }),
  }
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
    // `["a", 0]`, as paths are written.
    Term::Arr(Some(items)) => commas(items).all(single),
    Term::Obj(entries) => entries.is_empty(),
    Term::Str(None, parts) => parts.iter().all(|part| !matches!(part, StrPart::Term(_))),
    Term::Neg(term) => matches!(**term, Term::Num(_)),
    _ => false,
  }
}

/// The terms of a chain of commas (`a, b, c`).
fn commas<'a, 's>(term: &'a Term<&'s str>) -> Box<dyn Iterator<Item = &'a Term<&'s str>> + 'a> {
  match term {
    Term::BinOp(l, BinaryOp::Comma, r) => Box::new(commas(l).chain(commas(r))),
    term => Box::new(std::iter::once(term)),
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
      "{id, path, user: .user.name, latency_ms}",
      "{a: 1, b: (1, 2)}",
      "pow(.a; 2)",
      "setpath([\"a\"]; .b)",
      r#"test("a"; .f)"#,
      "def pow(a; b): [a, b]; pow(.a; .b)",
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
      (r#"{a: error("x"), b: empty}"#, 2),
      ("{a, b: .c[]}", 2),
      ("{(.k): .v, b: .c[]}", 3),
      ("pow(.a; .b)", 2),
      ("fma(.a; 2; .c)", 2),
      ("setpath(.p; .v)", 2),
      (r#"capture(.re; .f)"#, 2),
    ] {
      assert_eq!(bindings(code), count, "{code}");
    }
  }

  /// Whether `code`'s folds were made to go on from their update's last value.
  fn folds_rewritten(code: &str) -> bool {
    let term = parse(code, |p| p.term()).unwrap_or_else(|| panic!("{code} parses"));
    let debug = format!("{:?}", jq_order(term));
    debug.contains("_offloop_last") || debug.contains("Neg(Num(\"1\"))")
  }

  #[test]
  fn folds_rewritten_only_where_an_update_may_yield_other_than_one_value() {
    for code in [
      "reduce .[] as $x (0; . + $x)",
      "reduce .[] as $x ({}; .[$x.k] += [$x])",
      "reduce .[] as [$k, $v] ({}; .[$k] = $v)",
      "reduce .[] as $x (0; if $x > . then $x else . end)",
      "reduce .[] as $x (0; . + ($x | length))",
      "reduce .[] as $x ({}; .[$x | tostring] = ($x | tojson))",
      "reduce .[] as $x (.; setpath($x.p; $x.v))",
      "reduce .[] as $x ([]; . + [$x | select(.ok)])",
      "reduce .[] as $x (0; map(., 2) | length)",
      "foreach .[] as $x (0; . + $x; [$x, .])",
    ] {
      assert!(!folds_rewritten(code), "{code}");
    }
    for code in [
      "reduce .[] as $x (0; ., 10)",
      "reduce .[] as $x (0; select($x > 1) | . + $x)",
      "reduce .[] as $x (0; f)",
      "reduce .[] as $x (0; .a?)",
      "reduce .[] as $x (0; setpath($x.p; 1, 2))",
      "def length: 1, 2; reduce .[] as $x (0; length)",
      "foreach .[] as $x (0; .[])",
      "foreach .[] as $x (0; first(empty); .)",
    ] {
      assert!(folds_rewritten(code), "{code}");
    }
  }

  #[test]
  fn calls_passing_filters_to_the_programs_functions_are_not_tail_calls() {
    let rewritten = |code: &str| {
      let term = parse(code, |p| p.term()).unwrap_or_else(|| panic!("{code} parses"));
      format!("{:?}", jq_order(term)).matches("IfThenElse").count()
    };
    assert_eq!(
      rewritten("def f(g): if . > 0 then . - 1 | f(g) else g end; f(1)"),
      1 + 2
    );
    assert_eq!(rewritten("def f($n): if $n > 0 then f($n - 1) else 0 end; f(9)"), 1);
    assert_eq!(rewritten("def map(f): f; map(1)"), 1);
  }

  #[test]
  fn leaves_long_interpolations_in_jaq_order() {
    let parts: String = (0..=PARTS.len()).map(|i| format!("\\(.a{i})")).collect();
    assert_eq!(bindings(&format!("\"{parts}\"")), 0);
  }
}
