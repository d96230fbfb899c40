//! `sort` and `argsort` in the order of `TypedArray.prototype.sort`, on all cores.
//!
//! Every element type sorts by one `u64` key (see [`Element::sort_key`]): the keys are sorted as plain
//! integers, which is faster than a float comparator, then turned back into values. `descending`
//! reverses the order of numbers but keeps NaN last, where a "largest first" list wants it. argsort
//! is stable: equal values keep the order of their indices in both directions, as sorting indices
//! with `Array.prototype.sort` (stable) would.

use rayon::prelude::*;

use super::element::Element;
use crate::runtime::{Cancel, Result};

fn key<T: Element>(x: T, descending: bool) -> u64 {
  match descending && !x.is_nan() {
    true => !x.sort_key(),
    false => x.sort_key(),
  }
}

/// The values of sorted keys. For 8-byte types (float64, the 64-bit integers) each value is
/// written over its own key and the allocation is handed on as the result: no second array of the
/// input's size (80 MB for 10M float64) to map, fault in and free per call.
fn values<T: Element>(mut keys: Vec<u64>) -> Vec<T> {
  if std::mem::size_of::<T>() != std::mem::size_of::<u64>() {
    return keys.into_par_iter().map(T::from_sort_key).collect();
  }
  keys
    .par_iter_mut()
    .for_each(|key| *key = bytemuck::cast(T::from_sort_key(*key)));
  bytemuck::allocation::cast_vec(keys)
}

/// Elements whose keys are made between two looks at `cancel`: about a millisecond of work.
const CHUNK: usize = 1 << 19;

/// `key(index, element)` of every element, in order, on all cores, checking `cancel` between
/// chunks: an abort stops a long extraction early.
fn keys<T: Element, K: Send>(data: &[T], cancel: &Cancel, key: impl Fn(usize, T) -> K + Sync) -> Result<Vec<K>> {
  let mut keys = Vec::with_capacity(data.len());
  for (c, chunk) in data.chunks(CHUNK).enumerate() {
    cancel.check()?;
    keys.par_extend(chunk.par_iter().enumerate().map(|(i, x)| key(c * CHUNK + i, *x)));
  }
  cancel.check()?;
  Ok(keys)
}

/// A sorted copy of `data`.
pub fn sort<T: Element>(data: &[T], descending: bool, cancel: &Cancel) -> Result<Vec<T>> {
  let mut keys = keys(data, cancel, |_, x| x.sort_key())?;
  keys.par_sort_unstable();
  let mut sorted: Vec<T> = values(keys);
  if descending {
    // Equal numbers are identical, so reversing the ascending order is the descending one.
    let numbers = sorted.partition_point(|x| !x.is_nan());
    sorted[..numbers].reverse();
  }
  Ok(sorted)
}

/// The indices that sort `data`, equal values in index order. `data.len()` must fit a `u32`.
pub fn argsort<T: Element>(data: &[T], descending: bool, cancel: &Cancel) -> Result<Vec<u32>> {
  debug_assert!(data.len() <= u32::MAX as usize + 1);
  // (key, index) pairs are all distinct, so an unstable sort of them is a stable sort by key.
  let mut pairs = keys(data, cancel, |i, x| (key(x, descending), i as u32))?;
  pairs.par_sort_unstable();
  Ok(pairs.into_par_iter().map(|(_, i)| i).collect())
}

#[cfg(test)]
mod tests {
  use super::*;

  /// `TypedArray.prototype.sort`'s comparator, from the spec (ECMA-262 23.2.4.7).
  fn spec_compare(x: f64, y: f64) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    match (x.is_nan(), y.is_nan()) {
      (true, true) => Equal,
      (true, false) => Greater,
      (false, true) => Less,
      _ if x < y => Less,
      _ if x > y => Greater,
      _ if x == 0.0 && y == 0.0 => (!x.is_sign_negative()).cmp(&!y.is_sign_negative()),
      _ => Equal,
    }
  }

  fn floats() -> Vec<f64> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut values: Vec<f64> = (0..2001)
      .map(|_| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        ((state % 2000) as f64 - 1000.0) / 8.0
      })
      .collect();
    values.extend([f64::NAN, -0.0, 0.0, f64::INFINITY, f64::NEG_INFINITY, -0.0, f64::NAN]);
    values
  }

  #[test]
  fn matches_the_spec_comparator() {
    let data = floats();
    let mut expected = data.clone();
    expected.sort_by(|a, b| spec_compare(*a, *b));
    let sorted = sort(&data, false, &Cancel::default()).unwrap();
    let bits = |v: &[f64]| {
      v.iter()
        .map(|x| if x.is_nan() { 0 } else { x.to_bits() })
        .collect::<Vec<_>>()
    };
    assert_eq!(bits(&sorted), bits(&expected));
    let f32s: Vec<f32> = data.iter().map(|x| *x as f32).collect();
    let sorted32: Vec<f64> = sort(&f32s, false, &Cancel::default())
      .unwrap()
      .iter()
      .map(|x| *x as f64)
      .collect();
    assert_eq!(bits(&sorted32), bits(&expected));
  }

  #[test]
  fn descending_reverses_numbers_and_keeps_nan_last() {
    let sorted = sort(&[1.0, f64::NAN, -0.0, 3.0, 0.0], true, &Cancel::default()).unwrap();
    assert_eq!(
      sorted[..4].iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
      [
        3.0f64.to_bits(),
        1.0f64.to_bits(),
        0.0f64.to_bits(),
        (-0.0f64).to_bits()
      ]
    );
    assert!(sorted[4].is_nan());
    assert_eq!(
      sort(&[i64::MIN, 5, -5, i64::MAX], true, &Cancel::default()).unwrap(),
      [i64::MAX, 5, -5, i64::MIN]
    );
  }

  #[test]
  fn sixty_four_bit_integers_come_back_exactly_from_their_keys() {
    assert_eq!(
      sort(&[u64::MAX, 0, 7, 1 << 63], false, &Cancel::default()).unwrap(),
      [0, 7, 1 << 63, u64::MAX]
    );
    assert_eq!(
      sort(&[i64::MAX, -1, i64::MIN, 0], false, &Cancel::default()).unwrap(),
      [i64::MIN, -1, 0, i64::MAX]
    );
    assert_eq!(
      sort(&[u64::MAX, 0, 7], true, &Cancel::default()).unwrap(),
      [u64::MAX, 7, 0]
    );
  }

  #[test]
  fn argsort_is_stable_both_ways() {
    let data = [2u8, 1, 2, 0, 1, 2];
    assert_eq!(argsort(&data, false, &Cancel::default()).unwrap(), [3, 1, 4, 0, 2, 5]);
    assert_eq!(argsort(&data, true, &Cancel::default()).unwrap(), [0, 2, 5, 1, 4, 3]);
    let data = floats();
    let order = argsort(&data, false, &Cancel::default()).unwrap();
    let by_index: Vec<f64> = order.iter().map(|i| data[*i as usize]).collect();
    let sorted = sort(&data, false, &Cancel::default()).unwrap();
    assert_eq!(
      by_index.iter().map(|x| x.sort_key()).collect::<Vec<_>>(),
      sorted.iter().map(|x| x.sort_key()).collect::<Vec<_>>()
    );
    assert!(argsort::<f64>(&[], false, &Cancel::default()).unwrap().is_empty());
  }
}
