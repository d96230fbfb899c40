//! `describe`: count, sum, mean, population variance, min, max and percentiles in a few parallel
//! passes.
//!
//! Sums are compensated (Neumaier) in 8 independent lanes per chunk, so the loop vectorises and the
//! error stays near one rounding whatever the length. Variance is the corrected two-pass formula
//! (Chan, Golub & LeVeque): `(Σd² − (Σd)²/n) / n` with `d = x − mean`, which cancels most of the
//! error of the mean itself. Chunks are merged in index order, so results do not depend on how the
//! pool split the work. Percentiles are order statistics of a copy: `select_nth_unstable` per needed
//! rank (a handful of linear passes) or, for many percentiles, one parallel sort.

use rayon::prelude::*;

use super::element::Element;
use crate::runtime::{Cancel, ErrorKind, OffloopError, Result};

/// Elements per parallel task: large enough to amortise scheduling, small enough to stay in L2.
pub(super) const CHUNK: usize = 1 << 14;
const LANES: usize = 8;
/// Above this many ranks, sorting the copy once beats one selection per rank.
const MAX_SELECTIONS: usize = 16;

#[derive(Debug, Clone, PartialEq)]
pub struct Description {
  pub count: usize,
  pub sum: f64,
  pub mean: f64,
  pub variance: f64,
  pub stddev: f64,
  pub min: f64,
  pub max: f64,
  pub percentiles: Vec<f64>,
}

/// A Neumaier-compensated sum.
#[derive(Debug, Clone, Copy, Default)]
struct Sum {
  hi: f64,
  lo: f64,
}

#[inline(always)]
fn neumaier(hi: &mut f64, lo: &mut f64, x: f64) {
  let t = *hi + x;
  // Both branches are computed and one is selected, which keeps the lane loop vectorisable.
  let big = (*hi - t) + x;
  let small = (x - t) + *hi;
  *lo += if hi.abs() >= x.abs() { big } else { small };
  *hi = t;
}

impl Sum {
  fn add(&mut self, x: f64) {
    neumaier(&mut self.hi, &mut self.lo, x);
  }

  fn merge(mut self, other: Sum) -> Sum {
    self.add(other.hi);
    self.lo += other.lo;
    self
  }

  /// The correction is NaN once the sum overflowed or met an infinity: then the sum alone is right.
  fn value(self) -> f64 {
    if self.hi.is_finite() {
      self.hi + self.lo
    } else {
      self.hi
    }
  }
}

/// Σ f(x) over the non-NaN elements of `chunk`.
fn lane_sum<T: Element>(chunk: &[T], f: impl Fn(f64) -> f64) -> Sum {
  let mut hi = [0.0; LANES];
  let mut lo = [0.0; LANES];
  let (blocks, tail) = chunk.as_chunks::<LANES>();
  for block in blocks {
    for i in 0..LANES {
      let x = block[i].to_f64();
      let v = if x.is_nan() { 0.0 } else { f(x) };
      neumaier(&mut hi[i], &mut lo[i], v);
    }
  }
  let mut total = Sum::default();
  for i in 0..LANES {
    total = total.merge(Sum { hi: hi[i], lo: lo[i] });
  }
  for x in tail.iter().map(|x| x.to_f64()).filter(|x| !x.is_nan()) {
    total.add(f(x));
  }
  total
}

/// What one pass over the data learns besides sums: how many numbers, their range, the first NaN.
#[derive(Debug, Clone, Copy)]
pub(super) struct Extent {
  pub count: usize,
  pub first_nan: Option<usize>,
  pub min: f64,
  pub max: f64,
}

impl Extent {
  const EMPTY: Extent = Extent {
    count: 0,
    first_nan: None,
    min: f64::INFINITY,
    max: f64::NEG_INFINITY,
  };

  fn of<T: Element>(offset: usize, chunk: &[T]) -> Extent {
    let nans = chunk.iter().filter(|x| x.is_nan()).count();
    let (min, max) = chunk.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(min, max), x| {
      // f64::min/max ignore NaN.
      (min.min(x.to_f64()), max.max(x.to_f64()))
    });
    Extent {
      count: chunk.len() - nans,
      first_nan: (nans > 0)
        .then(|| chunk.iter().position(|x| x.is_nan()).map(|i| offset + i))
        .flatten(),
      min,
      max,
    }
  }

  fn merge(self, other: Extent) -> Extent {
    Extent {
      count: self.count + other.count,
      first_nan: self.first_nan.or(other.first_nan),
      min: self.min.min(other.min),
      max: self.max.max(other.max),
    }
  }

  /// `data[i]` is NaN: an error naming `i`, unless the caller asked to leave NaN out.
  pub fn check_nan(&self, skip_nan: bool) -> Result<()> {
    match (self.first_nan, skip_nan) {
      (Some(i), false) => Err(nan_error(i)),
      _ => Ok(()),
    }
  }

  /// No number to describe: empty data, or only NaN left out.
  fn check_not_empty(&self, len: usize) -> Result<()> {
    match (self.count, len) {
      (0, 0) => Err(OffloopError::out_of_range("data.length", ">= 1", "0")),
      (0, _) => Err(OffloopError::new(
        ErrorKind::RangeError,
        "ERR_OUT_OF_RANGE",
        format!("The \"data\" argument holds no number: all {len} values are NaN"),
      )),
      _ => Ok(()),
    }
  }
}

pub(super) fn nan_error(index: usize) -> OffloopError {
  OffloopError::out_of_range(
    &format!("data[{index}]"),
    "a number, not NaN (pass { skipNaN: true } to leave NaN out)",
    "NaN",
  )
}

/// Maps fixed chunks of `data` in parallel and merges the results in index order (deterministic).
fn chunked<T: Element, A: Send>(
  data: &[T],
  cancel: &Cancel,
  map: impl Fn(usize, &[T]) -> A + Sync,
  merge: impl Fn(A, A) -> A,
  empty: A,
) -> Result<A> {
  let parts = data
    .par_chunks(CHUNK)
    .enumerate()
    .map(|(i, chunk)| {
      cancel.check()?;
      Ok(map(i * CHUNK, chunk))
    })
    .collect::<Result<Vec<A>>>()?;
  Ok(parts.into_iter().fold(empty, merge))
}

/// The count and range of the numbers in `data`; NaN is an error unless `skip_nan`.
pub(super) fn extent<T: Element>(data: &[T], skip_nan: bool, cancel: &Cancel) -> Result<Extent> {
  let extent = chunked(data, cancel, Extent::of, Extent::merge, Extent::EMPTY)?;
  extent.check_nan(skip_nan)?;
  Ok(extent)
}

/// Where percentile `p` (0–100) falls among `n` sorted values: numpy's default `linear` method,
/// index `(n − 1) · p/100` between ranks `lo` and `hi` at fraction `t`.
fn position(n: usize, p: f64) -> (usize, usize, f64) {
  let virtual_index = (n - 1) as f64 * (p / 100.0);
  let lo = (virtual_index.floor() as usize).min(n - 1);
  let hi = (lo + 1).min(n - 1);
  (lo, hi, virtual_index - lo as f64)
}

/// numpy's `_lerp` (exact at both ends). Where numpy computes `inf − inf` (NaN) between a number and
/// an infinity, the infinity is the answer; between −∞ and +∞ it stays NaN.
fn lerp(a: f64, b: f64, t: f64) -> f64 {
  if t == 0.0 || a == b {
    a
  } else if a.is_infinite() || b.is_infinite() {
    match (a.is_infinite(), b.is_infinite()) {
      (true, true) => f64::NAN,
      (true, false) => a,
      _ => b,
    }
  } else if t >= 0.5 {
    b - (b - a) * (1.0 - t)
  } else {
    a + (b - a) * t
  }
}

/// Moves the values of the given ranks (sorted, distinct) to their sorted positions.
fn place_ranks(values: &mut [f64], ranks: &[usize]) {
  if ranks.len() > MAX_SELECTIONS {
    values.par_sort_unstable_by(f64::total_cmp);
    return;
  }
  let mut start = 0;
  for &rank in ranks {
    values[start..].select_nth_unstable_by(rank - start, f64::total_cmp);
    start = rank + 1;
  }
}

/// Percentiles (each 0–100) of the non-NaN values of `data`, which holds at least one.
pub fn percentiles<T: Element>(data: &[T], percentiles: &[f64]) -> Vec<f64> {
  if percentiles.is_empty() {
    return Vec::new();
  }
  let mut values: Vec<f64> = data.par_iter().map(|x| x.to_f64()).filter(|x| !x.is_nan()).collect();
  let n = values.len();
  let mut ranks: Vec<usize> = percentiles
    .iter()
    .flat_map(|p| {
      let (lo, hi, _) = position(n, *p);
      [lo, hi]
    })
    .collect();
  ranks.sort_unstable();
  ranks.dedup();
  place_ranks(&mut values, &ranks);
  percentiles
    .iter()
    .map(|p| {
      let (lo, hi, t) = position(n, *p);
      lerp(values[lo], values[hi], t)
    })
    .collect()
}

/// Describes `data`. NaN is an error naming its index unless `skip_nan`; empty data is an error.
pub fn describe<T: Element>(data: &[T], wanted: &[f64], skip_nan: bool, cancel: &Cancel) -> Result<Description> {
  let (extent, sum) = chunked(
    data,
    cancel,
    |offset, chunk| (Extent::of(offset, chunk), lane_sum(chunk, |x| x)),
    |(e1, s1), (e2, s2)| (e1.merge(e2), s1.merge(s2)),
    (Extent::EMPTY, Sum::default()),
  )?;
  extent.check_nan(skip_nan)?;
  extent.check_not_empty(data.len())?;
  let n = extent.count as f64;
  let sum = sum.value();
  let mean = sum / n;
  let (deviations, squares) = chunked(
    data,
    cancel,
    |_, chunk| {
      (
        lane_sum(chunk, |x| x - mean),
        lane_sum(chunk, |x| (x - mean) * (x - mean)),
      )
    },
    |(d1, s1), (d2, s2)| (d1.merge(d2), s1.merge(s2)),
    (Sum::default(), Sum::default()),
  )?;
  let deviations = deviations.value();
  let variance = ((squares.value() - deviations * deviations / n) / n).max(0.0);
  // `max` above would turn NaN into 0: keep NaN when the data held an infinity.
  let variance = if mean.is_finite() { variance } else { f64::NAN };
  cancel.check()?;
  Ok(Description {
    count: extent.count,
    sum,
    mean,
    variance,
    stddev: variance.sqrt(),
    min: extent.min,
    max: extent.max,
    percentiles: percentiles(data, wanted),
  })
}

#[cfg(test)]
mod tests {
  use super::*;

  fn describe_all(data: &[f64], wanted: &[f64]) -> Description {
    describe(data, wanted, false, &Cancel::default()).unwrap()
  }

  #[test]
  fn small_known_answers() {
    let d = describe_all(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0], &[0.0, 25.0, 50.0, 100.0]);
    assert_eq!(d.count, 8);
    assert_eq!(d.sum, 40.0);
    assert_eq!(d.mean, 5.0);
    assert_eq!(d.variance, 4.0);
    assert_eq!(d.stddev, 2.0);
    assert_eq!((d.min, d.max), (2.0, 9.0));
    // numpy.percentile([2,4,4,4,5,5,7,9], [0,25,50,100]) -> [2., 4., 4.5, 9.]
    assert_eq!(d.percentiles, [2.0, 4.0, 4.5, 9.0]);
    let one = describe_all(&[3.5], &[10.0, 90.0]);
    assert_eq!((one.variance, one.percentiles.clone()), (0.0, vec![3.5, 3.5]));
  }

  #[test]
  fn numpy_linear_interpolation() {
    // numpy.percentile(np.arange(10.0), [33.3, 99.9]) -> [2.997, 8.991]
    let data: Vec<f64> = (0..10).map(|x| x as f64).collect();
    let d = describe_all(&data, &[33.3, 99.9]);
    assert!((d.percentiles[0] - 2.997).abs() < 1e-12, "{:?}", d.percentiles);
    assert!((d.percentiles[1] - 8.991).abs() < 1e-12);
    // Many percentiles take the sorting path; it must agree.
    let many: Vec<f64> = (0..=100).map(|p| p as f64).collect();
    let d = describe_all(&data, &many);
    assert_eq!(d.percentiles[50], 4.5);
    assert_eq!(d.percentiles[100], 9.0);
  }

  #[test]
  fn sums_are_compensated_and_variance_survives_a_large_offset() {
    // 1e16 + 1 + 1 + ... : a naive sum loses every 1.
    let mut data = vec![1e16];
    data.extend(std::iter::repeat_n(1.0, 100_000));
    data.push(-1e16);
    assert_eq!(describe_all(&data, &[]).sum, 100_000.0);
    // Variance of 1e9 + {0, 1, 2, 3} is 1.25 exactly.
    let shifted: Vec<f64> = (0..40_000).map(|i| 1e9 + (i % 4) as f64).collect();
    assert_eq!(describe_all(&shifted, &[]).variance, 1.25);
  }

  #[test]
  fn nan_is_an_error_naming_the_index_unless_skipped() {
    let mut data = vec![1.0; 40_000];
    data[33_333] = f64::NAN;
    data[39_000] = f64::NAN;
    let e = describe(&data, &[], false, &Cancel::default()).unwrap_err();
    assert_eq!(e.code, "ERR_OUT_OF_RANGE");
    assert!(e.message.contains("data[33333]"), "{}", e.message);
    let d = describe(&data, &[50.0], true, &Cancel::default()).unwrap();
    assert_eq!((d.count, d.sum, d.percentiles[0]), (39_998, 39_998.0, 1.0));
    let e = describe(&[f64::NAN], &[], true, &Cancel::default()).unwrap_err();
    assert!(e.message.contains("no number"));
    let e = describe::<f64>(&[], &[], true, &Cancel::default()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::RangeError);
  }

  #[test]
  fn infinities_follow_ieee() {
    let d = describe_all(&[1.0, f64::INFINITY], &[0.0, 50.0, 100.0]);
    assert_eq!(d.sum, f64::INFINITY);
    assert!(d.variance.is_nan());
    assert_eq!(d.percentiles, [1.0, f64::INFINITY, f64::INFINITY]);
    let d = describe_all(&[f64::NEG_INFINITY, f64::INFINITY], &[]);
    assert!(d.sum.is_nan());
  }

  #[test]
  fn integers_and_f32() {
    let d = describe(&[1u8, 2, 3, 250], &[50.0], false, &Cancel::default()).unwrap();
    assert_eq!((d.sum, d.max, d.percentiles[0]), (256.0, 250.0, 2.5));
    let d = describe(&[0.1f32, 0.2], &[], false, &Cancel::default()).unwrap();
    assert_eq!(d.sum, 0.1f32 as f64 + 0.2f32 as f64);
  }
}
