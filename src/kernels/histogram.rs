//! `histogram` with numpy.histogram's semantics: bins `[e[i], e[i+1])`, the last one closed, values
//! outside the range not counted, equal-width edges from `linspace`, an empty range widened by ±0.5.
//! A value's bin is always the one its edges say (numpy's arithmetic is only a first guess), so the
//! result is exact even where bins are narrower than a rounding step.

use rayon::prelude::*;

use super::element::Element;
use super::stats::{extent, nan_error, CHUNK};
use crate::runtime::{Cancel, OffloopError, Result};

/// Most bins a histogram may have: the per-thread counters are `4 × bins` bytes each.
pub const MAX_BINS: usize = 1 << 24;

#[derive(Debug, Clone, PartialEq)]
pub enum Bins {
  /// `count` equal-width bins over `[min, max]`; a missing bound is the data's own.
  Uniform {
    count: usize,
    min: Option<f64>,
    max: Option<f64>,
  },
  /// Explicit edges: at least two, non-decreasing, no NaN.
  Edges(Vec<f64>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
  pub edges: Vec<f64>,
  pub counts: Vec<u32>,
}

impl Bins {
  /// Checks explicit edges; `name` is their option path for errors.
  pub fn edges(edges: Vec<f64>, name: &str) -> Result<Bins> {
    if edges.len() < 2 || edges.len() > MAX_BINS + 1 {
      return Err(OffloopError::out_of_range(
        &format!("{name}.length"),
        &format!(">= 2 && <= {}", MAX_BINS + 1),
        &edges.len().to_string(),
      ));
    }
    if let Some(i) = edges.iter().position(|e| e.is_nan()) {
      return Err(OffloopError::out_of_range(&format!("{name}[{i}]"), "a number", "NaN"));
    }
    if let Some(i) = edges.windows(2).position(|w| w[1] < w[0]) {
      return Err(OffloopError::out_of_range(
        &format!("{name}[{}]", i + 1),
        &format!(">= {name}[{i}] ({}): edges must not decrease", edges[i]),
        &edges[i + 1].to_string(),
      ));
    }
    Ok(Bins::Edges(edges))
  }
}

/// numpy.linspace(first, last, count + 1).
fn linspace(first: f64, last: f64, count: usize) -> Vec<f64> {
  // numpy's step overflows when the range is wider than the largest double, and every edge but the
  // last is NaN or infinite. Numbers that large halve and double exactly, so half scale gives the
  // edges numpy would find if the exponent had no limit.
  if (last - first).is_infinite() {
    return linspace(first / 2.0, last / 2.0, count)
      .into_iter()
      .map(|e| e * 2.0)
      .collect();
  }
  let delta = last - first;
  let step = delta / count as f64;
  let mut edges: Vec<f64> = (0..=count)
    .map(|i| match step == 0.0 {
      true => i as f64 / count as f64 * delta + first,
      false => i as f64 * step + first,
    })
    .collect();
  edges[count] = last;
  edges
}

/// The bounds of equal-width bins, as numpy's `_get_outer_edges` picks them.
fn outer_edges<T: Element>(
  data: &[T],
  min: Option<f64>,
  max: Option<f64>,
  skip_nan: bool,
  cancel: &Cancel,
) -> Result<(f64, f64)> {
  let (first, last) = match (min, max) {
    (Some(min), Some(max)) => (min, max),
    _ => {
      let found = extent(data, skip_nan, cancel)?;
      match found.count {
        0 => (min.unwrap_or(0.0), max.unwrap_or(1.0)),
        _ => (min.unwrap_or(found.min), max.unwrap_or(found.max)),
      }
    }
  };
  if !(first.is_finite() && last.is_finite()) {
    return Err(OffloopError::new(
      crate::runtime::ErrorKind::RangeError,
      "ERR_OUT_OF_RANGE",
      format!("The range of the histogram, [{first}, {last}], is not finite: pass options.min and options.max"),
    ));
  }
  if first > last {
    return Err(OffloopError::out_of_range(
      "options.min",
      &format!("<= the maximum ({last})"),
      &first.to_string(),
    ));
  }
  Ok(match first == last {
    true => (first - 0.5, last + 0.5),
    false => (first, last),
  })
}

/// Counts `data` into bins; `bin_of` says which bin a number falls in, if any.
fn count<T: Element>(
  data: &[T],
  bins: usize,
  skip_nan: bool,
  cancel: &Cancel,
  bin_of: impl Fn(f64) -> Option<usize> + Sync,
) -> Result<Vec<u32>> {
  let (counts, first_nan) = data
    .par_chunks(CHUNK)
    .enumerate()
    .try_fold(
      || (vec![0u32; bins], None),
      |(mut counts, mut first_nan): (Vec<u32>, Option<usize>), (i, chunk)| {
        cancel.check()?;
        for (j, x) in chunk.iter().enumerate() {
          let x = x.to_f64();
          if x.is_nan() {
            first_nan = Some(first_nan.unwrap_or(i * CHUNK + j).min(i * CHUNK + j));
          } else if let Some(bin) = bin_of(x) {
            counts[bin] += 1;
          }
        }
        Ok((counts, first_nan))
      },
    )
    .try_reduce(
      || (vec![0u32; bins], None),
      |(mut a, nan_a), (b, nan_b)| {
        a.iter_mut().zip(&b).for_each(|(a, b)| *a += b);
        Ok((a, nan_a.into_iter().chain(nan_b).min()))
      },
    )?;
  match (first_nan, skip_nan) {
    (Some(i), false) => Err(nan_error(i)),
    _ => Ok(counts),
  }
}

/// The bin of `x` among non-decreasing `edges`: edges at or below `x`, minus one; `x` equal to the
/// last edge goes to the last bin.
fn search_bin(edges: &[f64], x: f64) -> Option<usize> {
  let n = edges.len() - 1;
  match (edges[0]..=edges[n]).contains(&x) {
    true => Some((edges.partition_point(|e| *e <= x) - 1).min(n - 1)),
    false => None,
  }
}

pub fn histogram<T: Element>(data: &[T], bins: Bins, skip_nan: bool, cancel: &Cancel) -> Result<Histogram> {
  let (edges, uniform) = match bins {
    Bins::Uniform { count, min, max } => {
      let (first, last) = outer_edges(data, min, max, skip_nan, cancel)?;
      (linspace(first, last, count), true)
    }
    Bins::Edges(edges) => (edges, false),
  };
  let n = edges.len() - 1;
  let (first, last) = (edges[0], edges[n]);
  let scale = n as f64 / (last - first);
  let counts = count(data, n, skip_nan, cancel, |x| {
    if !uniform || !(first..=last).contains(&x) {
      return search_bin(&edges, x);
    }
    // Equal-width bins: numpy's arithmetic guess, checked against the edges. It can miss by an ULP
    // near an edge, or entirely when the width rounds to 0 or overflows: then search.
    let bin = (((x - first) * scale) as usize).min(n - 1);
    match edges[bin] <= x && (x < edges[bin + 1] || (bin == n - 1 && x <= last)) {
      true => Some(bin),
      false => search_bin(&edges, x),
    }
  })?;
  Ok(Histogram { edges, counts })
}

#[cfg(test)]
mod tests {
  use super::*;

  fn run(data: &[f64], bins: Bins) -> Histogram {
    histogram(data, bins, false, &Cancel::default()).unwrap()
  }

  #[test]
  fn uniform_bins_like_numpy() {
    // numpy.histogram([1, 2, 1], bins=3) -> ([2, 0, 1], [1, 1.333.., 1.666.., 2])
    let h = run(
      &[1.0, 2.0, 1.0],
      Bins::Uniform {
        count: 3,
        min: None,
        max: None,
      },
    );
    assert_eq!(h.counts, [2, 0, 1]);
    assert_eq!(h.edges, [1.0, 1.0 + 1.0 / 3.0, 1.0 + 2.0 / 3.0, 2.0]);
    // numpy.histogram(np.arange(4), bins=np.arange(5)) -> [1, 1, 1, 1]; the last bin is closed.
    let h = run(
      &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, -1.0],
      Bins::edges(vec![0.0, 1.0, 2.0, 3.0, 4.0], "bins").unwrap(),
    );
    assert_eq!(h.counts, [1, 1, 1, 2]);
    // An empty range widens by 0.5 each way; empty data spans [0, 1].
    let h = run(
      &[3.0, 3.0],
      Bins::Uniform {
        count: 2,
        min: None,
        max: None,
      },
    );
    assert_eq!((h.edges, h.counts), (vec![2.5, 3.0, 3.5], vec![0, 2]));
    let h = run(
      &[],
      Bins::Uniform {
        count: 2,
        min: None,
        max: None,
      },
    );
    assert_eq!((h.edges, h.counts), (vec![0.0, 0.5, 1.0], vec![0, 0]));
  }

  #[test]
  fn values_on_edges_fall_in_the_upper_bin() {
    let data: Vec<f64> = (0..=1000).map(|i| i as f64 / 10.0).collect();
    let h = run(
      &data,
      Bins::Uniform {
        count: 7,
        min: Some(0.0),
        max: Some(100.0),
      },
    );
    for (i, c) in h.counts.iter().enumerate() {
      let expected = data
        .iter()
        .filter(|x| **x >= h.edges[i] && (**x < h.edges[i + 1] || (i == 6 && **x <= h.edges[7])))
        .count();
      assert_eq!(*c as usize, expected, "bin {i}");
    }
    assert_eq!(h.counts.iter().sum::<u32>(), 1001);
  }

  #[test]
  fn a_range_wider_than_the_largest_double_has_finite_edges() {
    for (min, max) in [(None, None), (Some(-1e308), Some(1e308))] {
      let h = run(&[-1e308, 1e308], Bins::Uniform { count: 4, min, max });
      assert_eq!(h.edges, [-1e308, -5e307, 0.0, 5e307, 1e308]);
      assert_eq!(h.counts, [1, 0, 0, 1]);
    }
  }

  #[test]
  fn repeated_edges_make_empty_bins() {
    let h = run(
      &[1.0, 1.0, 2.0],
      Bins::edges(vec![0.0, 1.0, 1.0, 2.0, 2.0], "bins").unwrap(),
    );
    assert_eq!(h.counts, [0, 0, 2, 1]);
  }

  #[test]
  fn bad_bins_and_ranges() {
    assert!(Bins::edges(vec![1.0], "options.bins").is_err());
    let e = Bins::edges(vec![0.0, 2.0, 1.0], "options.bins").unwrap_err();
    assert!(e.message.contains("options.bins[2]"), "{}", e.message);
    assert!(Bins::edges(vec![0.0, f64::NAN], "options.bins").is_err());
    let cancel = Cancel::default();
    let inf = histogram(
      &[1.0, f64::INFINITY],
      Bins::Uniform {
        count: 2,
        min: None,
        max: None,
      },
      false,
      &cancel,
    );
    assert_eq!(inf.unwrap_err().code, "ERR_OUT_OF_RANGE");
    let reversed = histogram(
      &[1.0],
      Bins::Uniform {
        count: 2,
        min: Some(2.0),
        max: Some(1.0),
      },
      false,
      &cancel,
    );
    assert!(reversed.unwrap_err().message.contains("options.min"));
    let nan = histogram(
      &[1.0, f64::NAN],
      Bins::Uniform {
        count: 2,
        min: Some(0.0),
        max: Some(1.0),
      },
      false,
      &cancel,
    );
    assert!(nan.unwrap_err().message.contains("data[1]"));
    let skipped = histogram(
      &[1.0, f64::NAN],
      Bins::Uniform {
        count: 2,
        min: None,
        max: None,
      },
      true,
      &cancel,
    );
    assert_eq!(skipped.unwrap().counts, [0, 1]);
  }
}
