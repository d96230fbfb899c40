//! Equality, order and containment, as jq 1.8 defines them (`jv_equal`, `jv_cmp`,
//! `jv_contains`): kinds in the order null < false < true < numbers < strings < arrays <
//! objects; strings by their bytes (code point order); arrays element by element, then by
//! length; objects by their sorted keys, then by their values in key order.
//!
//! Every walk over containers counts its steps (`interrupt::Steps`), so a comparison of values
//! that share their children, or the billions of comparisons of `[range(1e5)] - [range(1e5)]`,
//! can be aborted; and it runs on a stack sized for the values' depth. Scalars compare without
//! counting (sorting counts its comparisons itself).

use std::cmp::Ordering;

use super::interrupt::{on_stack, Steps};
use super::{Num, Obj, Str, Val};

/// jq's `==`. Numbers as `Num::jq_eq` (NaN equals nothing), except that an array or object is
/// equal to itself (jq compares pointers first: `[nan] as $x | $x == $x` is true).
pub fn equal(a: &Val, b: &Val) -> bool {
  match (a, b) {
    (Val::Arr(_) | Val::Obj(_), Val::Arr(_) | Val::Obj(_)) => {
      on_stack(a.depth().min(b.depth()), || eq(a, b, &mut Steps::new()))
    }
    _ => eq(a, b, &mut Steps::uncounted()),
  }
}

/// jq's order, for `<`, `<=`, `>`, `>=`: numbers as `Num::jq_cmp` (NaN below everything, also
/// below NaN).
pub fn jq_cmp(a: &Val, b: &Val) -> Ordering {
  walk_cmp(a, b, Num::jq_cmp)
}

/// A total order that agrees with jq's wherever jq's is consistent (see `Num::total_cmp`): for
/// sorting, grouping and searching.
pub fn total_cmp(a: &Val, b: &Val) -> Ordering {
  walk_cmp(a, b, Num::total_cmp)
}

fn walk_cmp(a: &Val, b: &Val, num: fn(&Num, &Num) -> Ordering) -> Ordering {
  match (a, b) {
    (Val::Arr(_) | Val::Obj(_), Val::Arr(_) | Val::Obj(_)) => {
      on_stack(a.depth().min(b.depth()), || cmp(a, b, num, &mut Steps::new()))
    }
    _ => cmp(a, b, num, &mut Steps::uncounted()),
  }
}

/// jq's `contains`: `None` when the values are of different kinds (jq's error).
pub fn contains(a: &Val, b: &Val) -> Option<bool> {
  if a.kind() != b.kind() {
    return None;
  }
  Some(on_stack(a.depth().min(b.depth()), || {
    contained(a, b, &mut Steps::new())
  }))
}

fn eq(a: &Val, b: &Val, steps: &mut Steps) -> bool {
  steps.step();
  match (a, b) {
    (Val::Null, Val::Null) => true,
    (Val::Bool(x), Val::Bool(y)) => x == y,
    (Val::Num(x), Val::Num(y)) => x.jq_eq(y),
    (Val::Str(x), Val::Str(y)) => x == y,
    (Val::Arr(x), Val::Arr(y)) => {
      x.ptr_eq(y) || (x.len() == y.len() && x.items().iter().zip(y.items()).all(|(x, y)| eq(x, y, steps)))
    }
    (Val::Obj(x), Val::Obj(y)) => {
      x.ptr_eq(y)
        || (x.len() == y.len()
          && x
            .map()
            .iter()
            .all(|(k, x)| y.map().get(k).is_some_and(|y| eq(x, y, steps))))
    }
    _ => false,
  }
}

fn cmp(a: &Val, b: &Val, num: fn(&Num, &Num) -> Ordering, steps: &mut Steps) -> Ordering {
  steps.step();
  match (a, b) {
    (Val::Num(x), Val::Num(y)) => num(x, y),
    (Val::Str(x), Val::Str(y)) => x.as_bytes().cmp(y.as_bytes()),
    (Val::Arr(x), Val::Arr(y)) => {
      for (x, y) in x.items().iter().zip(y.items()) {
        match cmp(x, y, num, steps) {
          Ordering::Equal => {}
          other => return other,
        }
      }
      x.len().cmp(&y.len())
    }
    (Val::Obj(x), Val::Obj(y)) => {
      let (kx, ky) = (sorted_keys(x), sorted_keys(y));
      kx.cmp(&ky).then_with(|| {
        for key in kx {
          match cmp(&x.map()[key], &y.map()[key], num, steps) {
            Ordering::Equal => {}
            other => return other,
          }
        }
        Ordering::Equal
      })
    }
    _ => a.kind().cmp(&b.kind()),
  }
}

/// An object's keys in jq's order (`keys`): by their bytes.
pub fn sorted_keys(o: &Obj) -> Vec<&Str> {
  let mut keys: Vec<&Str> = o.map().keys().collect();
  keys.sort_unstable();
  keys
}

fn contained(a: &Val, b: &Val, steps: &mut Steps) -> bool {
  steps.step();
  if a.kind() != b.kind() {
    return false;
  }
  match (a, b) {
    (Val::Obj(a), Val::Obj(b)) => b
      .map()
      .iter()
      .all(|(k, bv)| a.map().get(k).is_some_and(|av| contained(av, bv, steps))),
    (Val::Arr(a), Val::Arr(b)) => b
      .items()
      .iter()
      .all(|bv| a.items().iter().any(|av| contained(av, bv, steps))),
    (Val::Str(a), Val::Str(b)) => b.is_empty() || memchr::memmem::find(a.as_bytes(), b.as_bytes()).is_some(),
    _ => eq(a, b, steps),
  }
}
