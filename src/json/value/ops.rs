//! `+ - * / %` and negation, as jq 1.8 computes them (`binop_*` in its builtin.c), with its
//! messages. Numbers compute as doubles (a literal loses its text); sizes that come from values
//! (string repetition, concatenation) are checked against the call's memory budget first.

use std::ops::{Add, Div, Mul, Neg, Rem, Sub};

use super::interrupt::{self, reserve, Steps};
use super::order::equal;
use super::text::brief;
use super::{Arr, Error, Map, Num, Obj, Str, Val, ValR};

/// jq's strings are at most this long (`INT_MAX` less half its string header).
pub const MAX_STRING: usize = i32::MAX as usize - 8;

/// jq's arrays take indices up to this (`INT_MAX >> 2`, "Array index too large" beyond).
pub const MAX_INDEX: usize = (i32::MAX >> 2) as usize;

/// Allocations smaller than this are not checked against the budget first: the allocator counts
/// them as they happen.
const CHECKED: usize = 1 << 16;

fn bytes_of_values(n: usize) -> usize {
  n.saturating_mul(std::mem::size_of::<Val>())
}

/// `a (dump) and b (dump) message`.
pub fn type_error2(a: &Val, b: &Val, message: &str) -> Error {
  Error::str(format_args!("{} and {} {message}", brief(a), brief(b)))
}

/// `a (dump) message`.
pub fn type_error(a: &Val, message: &str) -> Error {
  Error::str(format_args!("{} {message}", brief(a)))
}

impl Add for Val {
  type Output = ValR;
  fn add(self, rhs: Val) -> ValR {
    match (self, rhs) {
      (Val::Null, x) | (x, Val::Null) => Ok(x),
      (Val::Num(a), Val::Num(b)) => Ok(Val::float(a.value() + b.value())),
      (Val::Str(a), Val::Str(b)) => concat(&a, &b),
      (Val::Arr(mut a), Val::Arr(b)) => {
        let len = a.len() + b.len();
        if len > MAX_INDEX + 1 {
          return Err(Error::str("Array index too large"));
        }
        if len > a.len() {
          reserve_values(len);
          a.update(b.0.depth.saturating_sub(1), |items| items.extend_from_slice(b.items()));
        }
        Ok(Val::Arr(a))
      }
      (Val::Obj(mut a), Val::Obj(b)) => {
        a.update(b.0.depth.saturating_sub(1), |map| {
          for (k, v) in b.map() {
            map.insert(k.clone(), v.clone());
          }
        });
        Ok(Val::Obj(a))
      }
      (a, b) => Err(type_error2(&a, &b, "cannot be added")),
    }
  }
}

fn reserve_values(n: usize) {
  let bytes = bytes_of_values(n);
  if bytes >= CHECKED {
    reserve(bytes);
  }
}

fn concat(a: &Str, b: &Str) -> ValR {
  let len = a.len() + b.len();
  if len >= MAX_STRING {
    return Err(Error::str("String too long"));
  }
  if b.is_empty() {
    return Ok(Val::Str(a.clone()));
  }
  if len >= CHECKED {
    reserve(len);
  }
  let mut s = String::with_capacity(len);
  s.push_str(a.as_str());
  s.push_str(b.as_str());
  Ok(Val::from(s))
}

impl Sub for Val {
  type Output = ValR;
  fn sub(self, rhs: Val) -> ValR {
    match (self, rhs) {
      (Val::Num(a), Val::Num(b)) => Ok(Val::float(a.value() - b.value())),
      (Val::Arr(a), Val::Arr(b)) => {
        let kept: Vec<Val> = a
          .items()
          .iter()
          .filter(|x| !b.items().iter().any(|y| equal(x, y)))
          .cloned()
          .collect();
        Ok(Val::array(kept))
      }
      (a, b) => Err(type_error2(&a, &b, "cannot be subtracted")),
    }
  }
}

impl Mul for Val {
  type Output = ValR;
  fn mul(self, rhs: Val) -> ValR {
    match (self, rhs) {
      (Val::Num(a), Val::Num(b)) => Ok(Val::float(a.value() * b.value())),
      (Val::Str(s), Val::Num(n)) | (Val::Num(n), Val::Str(s)) => repeat(&s, &n),
      (Val::Obj(a), Val::Obj(b)) => {
        let depth = a.0.depth.min(b.0.depth);
        Ok(Val::Obj(interrupt::on_stack(depth, || merge(a, &b, &mut Steps::new()))))
      }
      (a, b) => Err(type_error2(&a, &b, "cannot be multiplied")),
    }
  }
}

/// `"ab" * n`: jq's count is `n` truncated (`0.5` gives `""`); below zero or NaN gives null.
fn repeat(s: &Str, n: &Num) -> ValR {
  let d = n.value();
  if d < 0.0 || d.is_nan() {
    return Ok(Val::Null);
  }
  let count = if d > f64::from(i32::MAX) {
    i32::MAX as usize
  } else {
    d as usize
  };
  let len = s.len().saturating_mul(count);
  if len >= MAX_STRING {
    return Err(Error::str("Repeat string result too long"));
  }
  if len >= CHECKED {
    reserve(len);
  }
  Ok(Val::from(s.as_str().repeat(count)))
}

/// `a * b` of objects: `b`'s entries into `a`, merging objects found under the same key.
fn merge(mut a: Obj, b: &Obj, steps: &mut Steps) -> Obj {
  a.update(b.0.depth.saturating_sub(1), |map: &mut Map| {
    for (k, v) in b.map() {
      // Objects that share their children make the merge long: it polls.
      steps.step();
      let merged = match (map.get(k), v) {
        (Some(Val::Obj(old)), Val::Obj(new)) => Val::Obj(merge(old.clone(), new, steps)),
        _ => v.clone(),
      };
      map.insert(k.clone(), merged);
    }
  });
  a
}

impl Div for Val {
  type Output = ValR;
  fn div(self, rhs: Val) -> ValR {
    match (self, rhs) {
      (Val::Num(a), Val::Num(b)) if b.value() == 0.0 => Err(type_error2(
        &Val::Num(a),
        &Val::Num(b),
        "cannot be divided because the divisor is zero",
      )),
      (Val::Num(a), Val::Num(b)) => Ok(Val::float(a.value() / b.value())),
      (Val::Str(a), Val::Str(b)) => Ok(split(&a, b.as_str())),
      (a, b) => Err(type_error2(&a, &b, "cannot be divided")),
    }
  }
}

/// `a / b` of strings (`split/1`): by each character when `sep` is empty, none for an empty
/// string, and an empty last part when `s` ends with `sep`.
pub fn split(s: &Str, sep: &str) -> Val {
  let text = s.as_str();
  if text.is_empty() {
    return Val::array(Vec::new());
  }
  // Parts are pushed counted (`interrupt::push`): `"x" * 1e8 | split("")` is 10^8 values.
  let mut parts = Vec::new();
  if sep.is_empty() {
    for (i, c) in text.char_indices() {
      interrupt::push(&mut parts, Val::Str(s.slice(i..i + c.len_utf8())));
    }
  } else {
    let mut start = 0;
    for end in memchr::memmem::find_iter(text.as_bytes(), sep.as_bytes()) {
      if end < start {
        continue;
      }
      interrupt::push(&mut parts, Val::Str(s.slice(start..end)));
      start = end + sep.len();
    }
    interrupt::push(&mut parts, Val::Str(s.slice(start..text.len())));
  }
  Val::Arr(Arr::new(parts))
}

/// jq's conversion of a double to an integer for `%` (`dtoi`): saturating, NaN handled before.
fn dtoi(n: f64) -> i64 {
  if n < i64::MIN as f64 {
    i64::MIN
  } else if -n <= i64::MIN as f64 {
    i64::MAX
  } else {
    n as i64
  }
}

impl Rem for Val {
  type Output = ValR;
  fn rem(self, rhs: Val) -> ValR {
    match (self, rhs) {
      (Val::Num(a), Val::Num(b)) => {
        let (x, y) = (a.value(), b.value());
        if x.is_nan() || y.is_nan() {
          return Ok(Val::float(f64::NAN));
        }
        let divisor = dtoi(y);
        if divisor == 0 {
          return Err(type_error2(
            &Val::Num(a),
            &Val::Num(b),
            "cannot be divided (remainder) because the divisor is zero",
          ));
        }
        let r = if divisor == -1 { 0 } else { dtoi(x) % divisor };
        Ok(Val::float(r as f64))
      }
      (a, b) => Err(type_error2(&a, &b, "cannot be divided (remainder)")),
    }
  }
}

impl Neg for Val {
  type Output = ValR;
  fn neg(self) -> ValR {
    match self {
      Val::Num(n) => Ok(Val::Num(n.neg())),
      other => Err(type_error(&other, "cannot be negated")),
    }
  }
}
