//! A fast path for the programs NDJSON pipelines mostly run: paths, `select`, comparisons, boolean
//! logic, arithmetic, object and array construction, string interpolation, `if`, `//`.
//!
//! Why it exists: on log records, building jq values costs about 1.5 µs a record (an allocation
//! per string, three per object) and jaq's interpreter about 2 µs for
//! `select(.status >= 500) | {id, path}` (boxed iterators for every operator, objects built by
//! merging one-key objects). That is slower per core than V8's `JSON.parse` plus a JS loop. Here
//! the record is read into borrowed values (strings are slices of the input, containers plain
//! vectors) and the program is evaluated directly on them, about 5x faster.
//!
//! Exactness: only programs built entirely from the constructs above are taken (`compile` says
//! `None` otherwise), every operation has the semantics of offloop's jq values (numbers, their
//! order and printing are the same `Num`), and anything this evaluator does not handle exactly
//! for a given record (an error, comparing objects, a repeated key it would have to resolve)
//! makes it give up on that record, which then runs through jaq. Its test checks its outputs
//! against jq 1.8.2's, and against jaq's path on the whole, unpruned input. It polls for aborts
//! and the memory budget as it goes: a program such as `[.[], .[]]` forty times over runs
//! entirely in here.

use std::borrow::Cow;
use std::cmp::Ordering;

use jaq_core::load::lex::StrPart;
use jaq_core::load::parse::{BinaryOp, Term};
use jaq_core::ops::{Cmp, Math};
use jaq_core::path::{Opt, Part};

use super::read::{Build, Number, RepeatedKey, Vals};
use super::shape::{same_key, static_key};
use super::value::{interrupt, text, Num, Val};

/// A JSON value borrowing from the text it was parsed from (and from the program).
#[derive(Debug)]
pub enum Fv<'t> {
  Null,
  Bool(bool),
  Num(Num),
  Str(Cow<'t, str>),
  Arr(Vec<Fv<'t>>),
  /// Entries in input order; a repeated key is kept (jq keeps the last value, at the first place).
  Obj(Vec<(Cow<'t, str>, Fv<'t>)>),
}

/// Values are copied deeply (`[.[], .[]]` copies its input): a copy counts its containers, so
/// that it can be aborted, and checks a large array against the memory budget first.
impl Clone for Fv<'_> {
  fn clone(&self) -> Self {
    match self {
      Fv::Null => Fv::Null,
      Fv::Bool(b) => Fv::Bool(*b),
      Fv::Num(n) => Fv::Num(n.clone()),
      Fv::Str(s) => Fv::Str(s.clone()),
      Fv::Arr(items) => {
        interrupt::tick();
        interrupt::reserve_items::<Fv>(items.len());
        Fv::Arr(items.clone())
      }
      Fv::Obj(entries) => {
        interrupt::tick();
        interrupt::reserve_items::<(Cow<str>, Fv)>(entries.len());
        Fv::Obj(entries.clone())
      }
    }
  }
}

/// The evaluator gave up on this input: run it through jaq instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fallback;

type Res<T> = std::result::Result<T, Fallback>;

/// Builds `Fv`s for the reader.
#[derive(Clone, Copy)]
pub struct Values;

impl<'t> Build<'t> for Values {
  type Value = Fv<'t>;
  type Key = Cow<'t, str>;

  fn null(self) -> Fv<'t> {
    Fv::Null
  }

  fn bool(self, b: bool) -> Fv<'t> {
    Fv::Bool(b)
  }

  fn number(self, n: Number<'t>) -> Fv<'t> {
    Fv::Num(n.num())
  }

  fn string(self, s: Cow<'t, str>) -> Fv<'t> {
    Fv::Str(s)
  }

  fn key(self, s: Cow<'t, str>) -> Cow<'t, str> {
    s
  }

  fn array(self, items: Vec<Fv<'t>>) -> Fv<'t> {
    Fv::Arr(items)
  }

  fn object(self, entries: Vec<(Cow<'t, str>, Fv<'t>)>, unique_keys: bool) -> Result<Fv<'t>, RepeatedKey> {
    if unique_keys && has_repeated_key(&entries) {
      return Err(RepeatedKey);
    }
    Ok(Fv::Obj(entries))
  }
}

/// Whether an object repeats a key: pairwise for the few keys most objects have, through a hash
/// set beyond (a client's object with 100k keys must not take quadratic time).
fn has_repeated_key<V>(entries: &[(Cow<'_, str>, V)]) -> bool {
  const PAIRWISE: usize = 16;
  if entries.len() <= PAIRWISE {
    return entries
      .iter()
      .enumerate()
      .any(|(i, (key, _))| entries[..i].iter().any(|(k, _)| same_key(k.as_bytes(), key.as_bytes())));
  }
  let mut seen = std::collections::HashSet::with_capacity(entries.len());
  !entries.iter().all(|(key, _)| seen.insert(key.as_ref()))
}

impl<'t> Fv<'t> {
  fn truthy(&self) -> bool {
    !matches!(self, Fv::Null | Fv::Bool(false))
  }

  /// jq's order of kinds: null < false < true < numbers < strings < arrays < objects.
  fn rank(&self) -> u8 {
    match self {
      Fv::Null => 0,
      Fv::Bool(b) => 1 + u8::from(*b),
      Fv::Num(_) => 3,
      Fv::Str(_) => 4,
      Fv::Arr(_) => 5,
      Fv::Obj(_) => 6,
    }
  }

  /// The value of `key` in an object: the last one if the key repeats, as in jq.
  fn field(&self, key: &str) -> Option<&Fv<'t>> {
    match self {
      Fv::Obj(entries) => entries
        .iter()
        .rev()
        .find(|(k, _)| same_key(k.as_bytes(), key.as_bytes()))
        .map(|(_, v)| v),
      _ => None,
    }
  }
}

/// Orders two values as jq's `<` does (`value::order::jq_cmp`); `==` is `Equal` (jq's order
/// never makes NaN equal to anything). Objects are left to jaq (they compare by sorted keys).
fn compare(a: &Fv, b: &Fv) -> Res<Ordering> {
  use Fv::*;
  Ok(match (a, b) {
    (Num(x), Num(y)) => x.jq_cmp(y),
    (Str(x), Str(y)) => x.as_bytes().cmp(y.as_bytes()),
    (Arr(x), Arr(y)) => {
      interrupt::tick();
      for (x, y) in x.iter().zip(y) {
        match compare(x, y)? {
          Ordering::Equal => {}
          other => return Ok(other),
        }
      }
      x.len().cmp(&y.len())
    }
    (Obj(_), Obj(_)) => return Err(Fallback),
    _ => a.rank().cmp(&b.rank()),
  })
}

/// A key of a path step.
#[derive(Debug, Clone)]
pub enum Key {
  Name(String),
  Index(isize),
}

/// A program, or the part of one, in the subset this evaluator runs.
#[derive(Debug, Clone)]
pub enum Expr {
  Id,
  Empty,
  Lit(Lit),
  Var(usize),
  /// `f.a[0]?`: one step.
  Index(Box<Expr>, Key, Opt),
  /// `f[]`
  Iter(Box<Expr>, Opt),
  Pipe(Box<Expr>, Box<Expr>),
  Comma(Box<Expr>, Box<Expr>),
  Cmp(Box<Expr>, Cmp, Box<Expr>),
  Math(Box<Expr>, Math, Box<Expr>),
  And(Box<Expr>, Box<Expr>),
  Or(Box<Expr>, Box<Expr>),
  Alt(Box<Expr>, Box<Expr>),
  Neg(Box<Expr>),
  Not,
  Length,
  ToString,
  Type,
  Select(Box<Expr>),
  If(Box<Expr>, Box<Expr>, Box<Expr>),
  Arr(Box<Expr>),
  /// `{...}`; `distinct` when every key is a name and no name repeats, so entries need no
  /// repeated-key check while the object is built.
  Obj {
    entries: Vec<(ObjKey, Expr)>,
    distinct: bool,
  },
  Interp(Vec<Interp>),
}

/// A literal of the program.
#[derive(Debug, Clone)]
pub enum Lit {
  Null,
  Bool(bool),
  Num(Num),
  Str(String),
  EmptyArr,
}

#[derive(Debug, Clone)]
pub enum ObjKey {
  Name(String),
  Expr(Expr),
}

#[derive(Debug, Clone)]
pub enum Interp {
  Text(String),
  Expr(Expr),
}

/// Translates a program into this evaluator's subset; `None` if any part is outside it.
/// `globals` names the program's global variables (without `$`), in order.
pub fn compile(code: &str, globals: &[String]) -> Option<Expr> {
  let term = jaq_core::load::parse(code, |p| p.term())?;
  Compiler { globals }.term(&term)
}

struct Compiler<'g> {
  globals: &'g [String],
}

impl Compiler<'_> {
  fn term(&self, term: &Term<&str>) -> Option<Expr> {
    Some(match term {
      Term::Id => Expr::Id,
      Term::Num(n) => Expr::Lit(Lit::Num(Num::literal(n)?)),
      Term::Str(None, parts) => match static_key(term) {
        Some(text) => Expr::Lit(Lit::Str(text)),
        None => Expr::Interp(
          parts
            .iter()
            .map(|part| match part {
              StrPart::Str(s) => Some(Interp::Text((*s).to_owned())),
              StrPart::Char(c) => Some(Interp::Text(c.to_string())),
              StrPart::Term(t) => self.single(t).map(Interp::Expr),
            })
            .collect::<Option<_>>()?,
        ),
      },
      Term::Arr(None) => Expr::Lit(Lit::EmptyArr),
      Term::Arr(Some(t)) => Expr::Arr(Box::new(self.term(t)?)),
      Term::Obj(entries) => {
        let entries: Vec<(ObjKey, Expr)> = entries
          .iter()
          .map(|(key, value)| match (key, value) {
            (Term::Var(name), None) => Some((ObjKey::Name(name[1..].to_owned()), self.var(name)?)),
            (key, None) => {
              let name = static_key(key)?;
              Some((
                ObjKey::Name(name.clone()),
                Expr::Index(Box::new(Expr::Id), Key::Name(name), Opt::Essential),
              ))
            }
            (key, Some(value)) => {
              let key = match static_key(key) {
                Some(name) => ObjKey::Name(name),
                None => ObjKey::Expr(self.single(key)?),
              };
              Some((key, self.single(value)?))
            }
          })
          .collect::<Option<_>>()?;
        let distinct = entries.iter().enumerate().all(|(i, (key, _))| match key {
          ObjKey::Name(name) => !entries[..i]
            .iter()
            .any(|(k, _)| matches!(k, ObjKey::Name(n) if n == name)),
          ObjKey::Expr(_) => false,
        });
        Expr::Obj { entries, distinct }
      }
      Term::Neg(t) => Expr::Neg(Box::new(self.single(t)?)),
      Term::BinOp(l, op, r) => {
        let pair = |l: &Term<&str>, r: &Term<&str>| Some((Box::new(self.single(l)?), Box::new(self.single(r)?)));
        match op {
          BinaryOp::Pipe(None) => Expr::Pipe(Box::new(self.term(l)?), Box::new(self.term(r)?)),
          BinaryOp::Comma => Expr::Comma(Box::new(self.term(l)?), Box::new(self.term(r)?)),
          BinaryOp::Cmp(op) => {
            let (l, r) = pair(l, r)?;
            Expr::Cmp(l, *op, r)
          }
          BinaryOp::Math(op @ (Math::Add | Math::Sub | Math::Mul | Math::Div)) => {
            let (l, r) = pair(l, r)?;
            Expr::Math(l, *op, r)
          }
          BinaryOp::And => {
            let (l, r) = pair(l, r)?;
            Expr::And(l, r)
          }
          BinaryOp::Or => {
            let (l, r) = pair(l, r)?;
            Expr::Or(l, r)
          }
          BinaryOp::Alt => {
            let (l, r) = pair(l, r)?;
            Expr::Alt(l, r)
          }
          _ => return None,
        }
      }
      Term::IfThenElse(branches, otherwise) => {
        let mut expr = match otherwise {
          Some(t) => self.term(t)?,
          None => Expr::Id,
        };
        for (cond, then) in branches.iter().rev() {
          expr = Expr::If(Box::new(self.single(cond)?), Box::new(self.term(then)?), Box::new(expr));
        }
        expr
      }
      Term::Call(name, args) => match (*name, &args[..]) {
        ("select", [cond]) => Expr::Select(Box::new(self.single(cond)?)),
        ("empty", []) => Expr::Empty,
        ("null", []) => Expr::Lit(Lit::Null),
        ("true", []) => Expr::Lit(Lit::Bool(true)),
        ("false", []) => Expr::Lit(Lit::Bool(false)),
        ("not", []) => Expr::Not,
        ("length", []) => Expr::Length,
        ("tostring", []) => Expr::ToString,
        ("type", []) => Expr::Type,
        _ => return None,
      },
      Term::Var(name) => self.var(name)?,
      Term::Path(base, path) => {
        let mut expr = self.term(base)?;
        for (part, opt) in &path.0 {
          expr = match part {
            Part::Index(key) => {
              let key = match (static_key(key), key) {
                (Some(name), _) => Key::Name(name),
                (None, Term::Num(n)) => Key::Index(n.parse().ok().filter(|i: &isize| i.unsigned_abs() < 1 << 31)?),
                (None, Term::Neg(n)) => match &**n {
                  Term::Num(n) => Key::Index(-n.parse::<isize>().ok().filter(|i| i.unsigned_abs() < 1 << 31)?),
                  _ => return None,
                },
                _ => return None,
              };
              Expr::Index(Box::new(expr), key, *opt)
            }
            Part::Range(None, None) => Expr::Iter(Box::new(expr), *opt),
            Part::Range(..) => return None,
          };
        }
        expr
      }
      Term::Recurse
      | Term::Str(Some(_), _)
      | Term::Label(..)
      | Term::Break(_)
      | Term::Fold(..)
      | Term::TryCatch(..)
      | Term::Def(..) => return None,
    })
  }

  /// A term that yields at most one value: operands must, so that no operator needs jq's order
  /// of combining the outputs of both sides.
  fn single(&self, term: &Term<&str>) -> Option<Expr> {
    self.term(term).filter(at_most_one)
  }

  fn var(&self, name: &str) -> Option<Expr> {
    let name = name.strip_prefix('$')?;
    self.globals.iter().position(|g| g == name).map(Expr::Var)
  }
}

fn at_most_one(expr: &Expr) -> bool {
  match expr {
    Expr::Id
    | Expr::Empty
    | Expr::Lit(_)
    | Expr::Var(_)
    | Expr::Not
    | Expr::Length
    | Expr::ToString
    | Expr::Type
    | Expr::Arr(_)
    | Expr::Cmp(..)
    | Expr::Math(..)
    | Expr::And(..)
    | Expr::Or(..)
    | Expr::Alt(..)
    | Expr::Neg(_)
    | Expr::Obj { .. }
    | Expr::Interp(_) => true,
    Expr::Index(base, ..) => at_most_one(base),
    Expr::Select(_) => true,
    Expr::Pipe(a, b) => at_most_one(a) && at_most_one(b),
    Expr::If(_, then, otherwise) => at_most_one(then) && at_most_one(otherwise),
    Expr::Iter(..) | Expr::Comma(..) => false,
  }
}

/// A value during evaluation: borrowed from the input where possible.
type V<'a> = Cow<'a, Fv<'a>>;

impl Expr {
  /// Runs the expression on `input`, handing each output to `emit` in order.
  /// Programs without recursion do work in proportion to the elements they iterate and the values
  /// they copy: those count their steps (`interrupt::tick`), so that `[.[], .[]]` forty times
  /// over can be aborted.
  pub fn run<'a>(&'a self, input: V<'a>, vars: &'a [Fv<'a>], emit: &mut dyn FnMut(V<'a>) -> Res<()>) -> Res<()> {
    match self {
      Expr::Iter(base, opt) => {
        let mut emit = |value: V<'a>| {
          interrupt::tick();
          emit(value)
        };
        let mut each = |value: V<'a>| match value {
          Cow::Borrowed(Fv::Arr(items)) => items.iter().try_for_each(|item| emit(Cow::Borrowed(item))),
          Cow::Borrowed(Fv::Obj(entries)) => iterate_object(entries, &mut |v| emit(Cow::Borrowed(v))),
          Cow::Owned(Fv::Arr(items)) => items.into_iter().try_for_each(|item| emit(Cow::Owned(item))),
          Cow::Owned(Fv::Obj(entries)) => iterate_object(&entries, &mut |v| emit(Cow::Owned(v.clone()))),
          _ if matches!(opt, Opt::Optional) => Ok(()),
          _ => Err(Fallback),
        };
        base.run(input, vars, &mut each)
      }
      Expr::Pipe(a, b) => a.run(input, vars, &mut |value| b.run(value, vars, emit)),
      Expr::Comma(a, b) => {
        a.run(input.clone(), vars, emit)?;
        b.run(input, vars, emit)
      }
      Expr::If(cond, then, otherwise) => match cond.truth(&input, vars)? {
        Some(true) => then.run(input, vars, emit),
        Some(false) => otherwise.run(input, vars, emit),
        None => Ok(()),
      },
      Expr::Arr(inner) => {
        let mut items = Vec::new();
        inner.run(input, vars, &mut |v| {
          items.push(v.into_owned());
          Ok(())
        })?;
        emit(Cow::Owned(Fv::Arr(items)))
      }
      single => match single.one(input, vars)? {
        Some(value) => emit(value),
        None => Ok(()),
      },
    }
  }

  /// Runs an expression that yields at most one value (`at_most_one`).
  fn one<'a>(&'a self, input: V<'a>, vars: &'a [Fv<'a>]) -> Res<Option<V<'a>>> {
    let owned = |v: Fv<'a>| Ok(Some(Cow::Owned(v)));
    match self {
      Expr::Id => Ok(Some(input)),
      Expr::Empty => Ok(None),
      Expr::Lit(lit) => owned(lit.value()),
      Expr::Var(i) => Ok(Some(Cow::Borrowed(&vars[*i]))),
      Expr::Index(base, key, opt) => {
        // A path into a borrowed input, by reference: no call of `one` per step.
        if let Some(found) = self.path_in(&input) {
          return Ok(Some(found?.map_or(Cow::Owned(Fv::Null), Cow::Borrowed)));
        }
        // `.a`, the most common path, indexes the input itself: no call (with a frame of several
        // hundred bytes) to evaluate `.`.
        let base = match &**base {
          Expr::Id => input,
          base => match base.one(input, vars)? {
            Some(base) => base,
            None => return Ok(None),
          },
        };
        match index(base, key) {
          Ok(value) => Ok(Some(value)),
          Err(Fallback) if matches!(opt, Opt::Optional) => Ok(None),
          Err(Fallback) => Err(Fallback),
        }
      }
      Expr::Pipe(a, b) => match a.one(input, vars)? {
        Some(value) => b.one(value, vars),
        None => Ok(None),
      },
      Expr::Select(cond) => match cond.truth(&input, vars)? {
        Some(true) => Ok(Some(input)),
        _ => Ok(None),
      },
      Expr::If(cond, then, otherwise) => match cond.truth(&input, vars)? {
        Some(true) => then.one(input, vars),
        Some(false) => otherwise.one(input, vars),
        None => Ok(None),
      },
      Expr::Cmp(..) | Expr::And(..) | Expr::Or(..) => Ok(self.truth(&input, vars)?.map(|b| Cow::Owned(Fv::Bool(b)))),
      Expr::Math(l, op, r) => Ok(Self::binary(l, r, &input, vars, |l, r| math(l, *op, r))?.map(Cow::Owned)),
      Expr::Alt(l, r) => match l.one(input.clone(), vars)? {
        Some(a) if a.truthy() => Ok(Some(a)),
        _ => r.one(input, vars),
      },
      Expr::Neg(inner) => match inner.one(input, vars)? {
        Some(value) => owned(match &*value {
          Fv::Num(n) => Fv::Num(n.neg()),
          _ => return Err(Fallback),
        }),
        None => Ok(None),
      },
      Expr::Not => owned(Fv::Bool(!input.truthy())),
      Expr::Length => owned(length(&input)?),
      Expr::ToString => owned(match &*input {
        Fv::Str(s) => Fv::Str(s.clone()),
        other => Fv::Str(Cow::Owned(to_string(other)?)),
      }),
      Expr::Type => owned(Fv::Str(Cow::Borrowed(match &*input {
        Fv::Null => "null",
        Fv::Bool(_) => "boolean",
        Fv::Num(_) => "number",
        Fv::Str(_) => "string",
        Fv::Arr(_) => "array",
        Fv::Obj(_) => "object",
      }))),
      Expr::Obj { entries, distinct } => {
        let mut object: Vec<(Cow<'a, str>, Fv<'a>)> = Vec::with_capacity(entries.len());
        for (key, value) in entries {
          let key = match key {
            ObjKey::Name(name) => Cow::Borrowed(name.as_str()),
            ObjKey::Expr(expr) => match expr.one(input.clone(), vars)? {
              Some(Cow::Borrowed(Fv::Str(s))) => s.clone(),
              Some(Cow::Owned(Fv::Str(s))) => s,
              Some(_) => return Err(Fallback),
              None => return Ok(None),
            },
          };
          let value = match value.path_in(&input) {
            Some(found) => found?.map_or(Fv::Null, Fv::clone),
            None => match value.one(input.clone(), vars)? {
              Some(value) => value.into_owned(),
              None => return Ok(None),
            },
          };
          // A repeated key keeps its first place and takes the last value, as jq's objects do.
          if *distinct {
            object.push((key, value));
            continue;
          }
          match object.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = value,
            None => object.push((key, value)),
          }
        }
        owned(Fv::Obj(object))
      }
      Expr::Interp(parts) => {
        // jq runs the last part first (the outer loop): a part that yields nothing leaves the
        // parts before it unrun, and their errors unseen.
        let mut values = Vec::with_capacity(parts.len());
        for part in parts.iter().rev() {
          if let Interp::Expr(expr) = part {
            match expr.one(input.clone(), vars)? {
              Some(value) => values.push(value),
              None => return Ok(None),
            }
          }
        }
        let mut text = String::new();
        for part in parts {
          match part {
            Interp::Text(t) => text.push_str(t),
            Interp::Expr(_) => match values.pop().as_deref() {
              Some(Fv::Str(s)) => text.push_str(s),
              Some(other) => text.push_str(&to_string(other)?),
              None => return Err(Fallback),
            },
          }
        }
        owned(Fv::Str(Cow::Owned(text)))
      }
      Expr::Arr(_) | Expr::Iter(..) | Expr::Comma(..) => {
        let mut first = None;
        self.run(input, vars, &mut |value| {
          match first {
            None => first = Some(value),
            Some(_) => return Err(Fallback),
          }
          Ok(())
        })?;
        Ok(first)
      }
    }
  }

  /// The truthiness of a condition's single output (`None`: no output). Comparisons, `and`, `or`
  /// and `not` answer with a `bool` directly: building an `Fv::Bool` and moving it back through
  /// `one`, whose frame is several hundred bytes, was 2% of the addon's instructions on the
  /// benchmark's NDJSON `select(.status >= 500 or .latency_ms > 900) | {...}`.
  fn truth<'a>(&'a self, input: &V<'a>, vars: &'a [Fv<'a>]) -> Res<Option<bool>> {
    match self {
      Expr::Cmp(l, op, r) => Self::binary(l, r, input, vars, |l, r| {
        let order = compare(l, r)?;
        Ok(match op {
          Cmp::Eq => order == Ordering::Equal,
          Cmp::Ne => order != Ordering::Equal,
          Cmp::Lt => order == Ordering::Less,
          Cmp::Le => order != Ordering::Greater,
          Cmp::Gt => order == Ordering::Greater,
          Cmp::Ge => order != Ordering::Less,
        })
      }),
      Expr::And(l, r) => match l.truth(input, vars)? {
        Some(false) => Ok(Some(false)),
        Some(true) => r.truth(input, vars),
        None => Ok(None),
      },
      Expr::Or(l, r) => match l.truth(input, vars)? {
        Some(true) => Ok(Some(true)),
        Some(false) => r.truth(input, vars),
        None => Ok(None),
      },
      Expr::Not => Ok(Some(!input.truthy())),
      other => Ok(other.operand(input, vars, &mut None)?.map(Fv::truthy)),
    }
  }

  /// Both operands' values, the right one first (as jq runs them), handed to `f`.
  fn binary<'a, T>(
    l: &'a Expr,
    r: &'a Expr,
    input: &V<'a>,
    vars: &'a [Fv<'a>],
    f: impl FnOnce(&Fv<'a>, &Fv<'a>) -> Res<T>,
  ) -> Res<Option<T>> {
    let (mut right, mut left) = (None, None);
    let Some(b) = r.operand(input, vars, &mut right)? else {
      return Ok(None);
    };
    let Some(a) = l.operand(input, vars, &mut left)? else {
      return Ok(None);
    };
    f(a, b).map(Some)
  }

  /// The single value of an operand (`None`: it yields nothing). A path into a borrowed input
  /// (`.status`, `.user.name`) is looked up by reference; anything else is computed by `one`
  /// into `slot`, which the caller keeps while it uses the value. Why: `one` hands back a `Cow`
  /// through memory, written with narrow stores and read back with wide loads that then wait
  /// for those stores, and on the benchmark's NDJSON filter those stalls were most of the time
  /// the condition took (benchmark/NOTES.md).
  fn operand<'s, 'a: 's>(
    &'a self,
    input: &V<'a>,
    vars: &'a [Fv<'a>],
    slot: &'s mut Option<V<'a>>,
  ) -> Res<Option<&'s Fv<'a>>> {
    static NULL: Fv<'static> = Fv::Null;
    if let Some(found) = self.path_in(input) {
      return Ok(Some(found?.unwrap_or(&NULL)));
    }
    *slot = match self {
      // A literal operand (`.status >= 500`) is built in place, without a call of `one`.
      Expr::Lit(lit) => Some(Cow::Owned(lit.value())),
      other => other.one(input.clone(), vars)?,
    };
    Ok(slot.as_deref())
  }

  /// `path` over a borrowed input; `None` for a computed one too.
  fn path_in<'a>(&self, input: &V<'a>) -> Option<Res<Option<&'a Fv<'a>>>> {
    match input {
      Cow::Borrowed(value) => self.path(value),
      Cow::Owned(_) => None,
    }
  }

  /// What a path of steps from `.` that are not optional (`.a.b[0]`) names in `input`, by
  /// reference (`None` for null); `None` if the expression is not such a path. The result
  /// comes back in registers.
  fn path<'a, 't>(&self, input: &'a Fv<'t>) -> Option<Res<Option<&'a Fv<'t>>>> {
    match self {
      Expr::Id => Some(Ok(Some(input))),
      Expr::Index(base, key, Opt::Essential) => Some(match base.path(input)? {
        Ok(Some(value)) => child(value, key),
        // `null | .a` and `null | .[0]` are null.
        Ok(None) => Ok(None),
        Err(Fallback) => Err(Fallback),
      }),
      _ => None,
    }
  }
}

impl Lit {
  fn value(&self) -> Fv<'_> {
    match self {
      Lit::Null => Fv::Null,
      Lit::Bool(b) => Fv::Bool(*b),
      Lit::Num(n) => Fv::Num(n.clone()),
      Lit::Str(s) => Fv::Str(Cow::Borrowed(s)),
      Lit::EmptyArr => Fv::Arr(Vec::new()),
    }
  }
}

/// `.[]` over an object: its values, each key once (a repeated key yields its last value, at its
/// first place).
fn iterate_object<'a, 't>(
  entries: &'a [(Cow<'t, str>, Fv<'t>)],
  emit: &mut dyn FnMut(&'a Fv<'t>) -> Res<()>,
) -> Res<()> {
  if has_repeated_key(entries) {
    return Err(Fallback);
  }
  entries.iter().try_for_each(|(_, v)| emit(v))
}

/// `.[key]` as jq does it: null gives null, objects the key's value or null, arrays the element
/// or null; anything else is an error (left to jaq, which words it). Inlined, as `child`: paths
/// are most of what filters evaluate, and the calls cost as much as the lookups.
#[inline]
fn index<'a>(value: V<'a>, key: &Key) -> Res<V<'a>> {
  Ok(match value {
    Cow::Borrowed(v) => child(v, key)?.map_or(Cow::Owned(Fv::Null), Cow::Borrowed),
    Cow::Owned(v) => Cow::Owned(child(&v, key)?.cloned().unwrap_or(Fv::Null)),
  })
}

fn element(len: usize, i: isize) -> Option<usize> {
  let i = if i < 0 { len as isize + i } else { i };
  (0..len as isize).contains(&i).then_some(i as usize)
}

/// The value `index` gives, `None` where that is null. One search of the keys: a field is found
/// once, not checked and then fetched (the search calls `memcmp` per matching key).
#[inline]
fn child<'a, 't>(value: &'a Fv<'t>, key: &Key) -> Res<Option<&'a Fv<'t>>> {
  match (value, key) {
    (Fv::Null, _) => Ok(None),
    (Fv::Obj(_), Key::Name(name)) => Ok(value.field(name)),
    (Fv::Arr(items), Key::Index(i)) => Ok(element(items.len(), *i).map(|i| &items[i])),
    _ => Err(Fallback),
  }
}

/// `+ - * /` on numbers (doubles, as jq computes them), `+` on strings and with null. Division
/// by zero and everything else is left to jaq.
fn math<'t>(l: &Fv<'t>, op: Math, r: &Fv<'t>) -> Res<Fv<'t>> {
  use Fv::*;
  Ok(match (l, op, r) {
    (Null, Math::Add, x) | (x, Math::Add, Null) => x.clone(),
    (Str(a), Math::Add, Str(b)) => Str(Cow::Owned(format!("{a}{b}"))),
    (Num(a), _, Num(b)) => {
      let (a, b) = (a.value(), b.value());
      Fv::Num(super::value::Num::Float(match op {
        Math::Add => a + b,
        Math::Sub => a - b,
        Math::Mul => a * b,
        Math::Div if b != 0.0 => a / b,
        Math::Div | Math::Rem => return Err(Fallback),
      }))
    }
    _ => return Err(Fallback),
  })
}

/// jq's `length`: null 0, numbers their absolute value, strings their characters, arrays and
/// objects their entries; booleans are an error.
fn length<'t>(value: &Fv<'t>) -> Res<Fv<'t>> {
  let count = |n: usize| Fv::Num(super::value::Num::Float(n as f64));
  Ok(match value {
    Fv::Null => count(0),
    Fv::Num(n) => Fv::Num(n.abs()),
    Fv::Str(s) => count(s.chars().count()),
    Fv::Arr(items) => count(items.len()),
    Fv::Obj(entries) if !has_repeated_key(entries) => count(entries.len()),
    _ => return Err(Fallback),
  })
}

/// jq's text of a value inside a string (`tostring`, interpolation): a string itself, anything
/// else its JSON.
fn to_string(value: &Fv) -> Res<String> {
  Ok(match value {
    Fv::Str(s) => s.as_ref().to_owned(),
    other => {
      let mut out = Vec::new();
      write_value(&mut out, other)?;
      String::from_utf8(out).map_err(|_| Fallback)?
    }
  })
}

/// Writes a value as compact JSON, exactly as `value::text` writes the jq value it stands for.
pub fn write_value(out: &mut Vec<u8>, value: &Fv) -> Res<()> {
  match value {
    Fv::Null => out.extend_from_slice(b"null"),
    Fv::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
    Fv::Num(n) => n.write(out),
    Fv::Str(s) => text::string(out, s),
    Fv::Arr(items) => {
      interrupt::tick();
      out.push(b'[');
      for (i, item) in items.iter().enumerate() {
        if i > 0 {
          out.push(b',');
        }
        write_value(out, item)?;
      }
      out.push(b']');
    }
    Fv::Obj(entries) => {
      if has_repeated_key(entries) {
        return Err(Fallback);
      }
      interrupt::tick();
      out.push(b'{');
      for (i, (key, item)) in entries.iter().enumerate() {
        if i > 0 {
          out.push(b',');
        }
        text::string(out, key);
        out.push(b':');
        write_value(out, item)?;
      }
      out.push(b'}');
    }
  }
  Ok(())
}

/// The jq value the reader would have built from the same text with `build`, for inputs the
/// evaluator gave up on: converting costs less than parsing again, and goes through the same
/// builder, so the value is the same.
pub fn to_val<'t>(value: Fv<'t>, build: Vals) -> Val {
  match value {
    Fv::Null => Build::<'t>::null(build),
    Fv::Bool(b) => Build::<'t>::bool(build, b),
    Fv::Num(n) => Val::Num(n),
    Fv::Str(s) => build.string(s),
    Fv::Arr(items) => Build::<'t>::array(build, items.into_iter().map(|v| to_val(v, build)).collect()),
    Fv::Obj(entries) => {
      let entries = entries
        .into_iter()
        .map(|(k, v)| (build.key(k), to_val(v, build)))
        .collect();
      Build::<'t>::object(build, entries, false).expect("repeated keys are allowed")
    }
  }
}

/// `jq -r`: a string's raw text, anything else as JSON.
pub fn write_raw(out: &mut Vec<u8>, value: &Fv) -> Res<()> {
  match value {
    Fv::Str(s) => {
      out.extend_from_slice(s.as_bytes());
      Ok(())
    }
    other => write_value(out, other),
  }
}

#[cfg(test)]
mod tests {
  use super::super::program::{compile as compile_program, Program};
  use super::super::shape::Shape;
  use super::super::value::oracle::{self, Answer};

  fn outputs(program: &Program, input: &str, ndjson: bool) -> Answer {
    let vars = oracle::data()["fast"]["vars"].to_string();
    oracle::answer(program, input, ndjson, Some(&vars))
  }

  /// Programs in the fast evaluator's subset, covering each of its constructs, over records with
  /// every kind of value where programs look (missing keys, nulls, wrong types, large, negative
  /// and literal numbers, escapes, a repeated key, nesting): what the fast evaluator gives, what
  /// jaq gives on the whole (unpruned) record, and what both give over the records as NDJSON
  /// are jq 1.8.2's answers (src/json/testdata/jq-1.8.2.json, from scripts/jq-oracle.py).
  #[test]
  fn agrees_with_jq() {
    let fast = &oracle::data()["fast"];
    let records: Vec<&str> = fast["records"]
      .as_array()
      .unwrap()
      .iter()
      .map(|r| r.as_str().unwrap())
      .collect();
    let mut compared = 0;
    let mut failures = Vec::new();
    let mut agreeing = Vec::new();
    for case in fast["programs"].as_array().unwrap() {
      let code = case["program"].as_str().unwrap();
      let mut differences = Vec::new();
      let mut check = |got: Answer, want: &Answer, what: String| {
        if got != *want {
          differences.push(format!("{what}\n  jq:      {want:?}\n  offloop: {got:?}"));
        }
      };
      let program = compile_program(code).unwrap();
      assert!(program.fast.is_some(), "not in the fast subset: {code}");
      let mut whole = compile_program(code).unwrap();
      whole.fast = None;
      whole.shape = Shape::All;
      let answers: Vec<Answer> = case["answers"]
        .as_array()
        .unwrap()
        .iter()
        .map(Answer::from_oracle)
        .collect();
      for (record, want) in records.iter().zip(&answers) {
        check(
          outputs(&program, record, false),
          want,
          format!("{code} on {record} (fast)"),
        );
        check(
          outputs(&whole, record, false),
          want,
          format!("{code} on {record} (jaq, unpruned)"),
        );
        compared += 1;
      }
      // NDJSON: the outputs of the records in order, up to the first error, which names its line.
      let mut lines = Vec::new();
      let mut want = None;
      for (line, answer) in answers.iter().enumerate() {
        match answer {
          Answer::Outputs(outputs) => lines.extend(outputs.iter().cloned()),
          Answer::Error(message) => {
            want = Some(Answer::Error(format!("{message} (NDJSON line {})", line + 1)));
            break;
          }
        }
      }
      let want = want.unwrap_or(Answer::Outputs(lines));
      check(
        outputs(&program, &records.join("\n"), true),
        &want,
        format!("{code} (NDJSON)"),
      );
      // A program marked `differs` (with the reason) must still differ somewhere.
      match (case.get("differs"), differences.is_empty()) {
        (None, false) => failures.extend(differences),
        (Some(_), true) => agreeing.push(code),
        _ => {}
      }
    }
    assert!(
      failures.is_empty(),
      "{} differ:\n{}",
      failures.len(),
      failures.join("\n")
    );
    assert!(
      agreeing.is_empty(),
      "these now agree with jq (remove `differs`): {agreeing:?}"
    );
    assert!(compared > 500, "{compared}");
  }

  #[test]
  fn leaves_the_rest_to_jaq() {
    for code in [
      "keys",
      ".a[1:]",
      ".[\"a\"] |= 1",
      "reduce .[] as $x (0; . + 1)",
      "try .a catch 1",
      "def f: .; f",
      ". as $x | $x",
      ".a % 2",
      "@csv",
      "@base64 \"\\(.a)\"",
      "..",
      "label $f | 1",
      "{a} | .a = 1",
      ".a[.b]",
      "{(.a, .b): 1}",
      "[.a] + [.b] | select(.[0], .[1])",
    ] {
      let program = compile_program(code).unwrap();
      assert!(program.fast.is_none() || code.starts_with('['), "{code}");
    }
  }
}
