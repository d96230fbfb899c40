//! Exact (flat) nearest-neighbour search over f32 vectors: an append-only index and a scan over
//! rows that live elsewhere (a JS Float32Array).
//!
//! Speed comes from three things. The distance loops keep 16 independent accumulators, so LLVM
//! vectorises them without fast-math (a plain `.sum()` must add in order and does not). Rows are
//! scanned in blocks on all cores, each task keeping a bounded heap per query, merged at the end.
//! Many queries share one pass over memory: each small tile of rows is scored against every query
//! while it is in cache.
//!
//! An index holds its rows in segments behind `Arc`s. A search takes a snapshot (an `Arc` clone) and
//! never sees a half-finished `add`; `add` appends in place when no search holds the snapshot and
//! otherwise copies only the last, partly filled segment (copy-on-write).

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::{Arc, Mutex};

use rayon::prelude::*;

use crate::runtime::{Cancel, OffloopError, Result};

const LANES: usize = 16;
/// Rows per parallel task and per index segment, in bytes.
const BLOCK_BYTES: usize = 1 << 20;
/// Rows scored against every query of a batch while they sit in L1/L2.
const TILE_BYTES: usize = 32 << 10;
/// Row ids are u32 (the ids of `search` results are a Uint32Array).
pub const MAX_ROWS: usize = u32::MAX as usize;
/// The most hits (queries × min(k, rows)) a search keeps, unless one query's full result is more:
/// 2^27 hits are 1 GiB of ids and scores, held about twice over while the threads' partial results
/// merge. Without a bound, a few KB of queries and a huge `k` asked for any amount of memory.
const MAX_HITS: usize = 1 << 27;
/// Cosine scores a row in f32 when its squared norm in f32 is at least this (and finite): its
/// squares lost at most 2^-150 each to subnormals, 2^-130 over a million elements, nothing at f32
/// precision. The sum with a unit query is then finite, as it is at most the row's norm.
const MIN_F32_NORM2: f32 = 1e-18;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
  /// Cosine similarity, higher is closer.
  Cosine,
  /// Inner product, higher is closer.
  Dot,
  /// Squared Euclidean distance, lower is closer.
  L2,
}

impl Metric {
  pub const NAMES: &'static [&'static str] = &["cosine", "dot", "l2"];

  pub fn from_name(name: &str) -> Metric {
    match name {
      "dot" => Metric::Dot,
      "l2" => Metric::L2,
      _ => Metric::Cosine,
    }
  }

  pub fn name(self) -> &'static str {
    match self {
      Metric::Cosine => "cosine",
      Metric::Dot => "dot",
      Metric::L2 => "l2",
    }
  }
}

/// Σ term(row[i], query[i]) for `Q` queries at once, each in `LANES` independent accumulators summed
/// pairwise at the end. Every pair is summed in the same order whatever `Q`, so a batch finds the
/// same scores, bit for bit, as single searches; `Q = 2` loads each row chunk once for two queries.
#[inline(always)]
fn sums<const Q: usize>(row: &[f32], queries: [&[f32]; Q], term: impl Fn(f32, f32) -> f32) -> [f32; Q] {
  let (row_blocks, row_tail) = row.as_chunks::<LANES>();
  // Slicing to the row's length lets the compiler drop the bounds checks below.
  let query_blocks: [&[[f32; LANES]]; Q] =
    std::array::from_fn(|q| &queries[q].as_chunks::<LANES>().0[..row_blocks.len()]);
  let mut acc = [[0f32; LANES]; Q];
  for (c, x) in row_blocks.iter().enumerate() {
    for q in 0..Q {
      let y = &query_blocks[q][c];
      for i in 0..LANES {
        acc[q][i] += term(x[i], y[i]);
      }
    }
  }
  std::array::from_fn(|q| {
    let acc = &mut acc[q];
    let mut width = LANES;
    while width > 1 {
      width /= 2;
      for i in 0..width {
        acc[i] += acc[i + width];
      }
    }
    let query_tail = &queries[q][row.len() - row_tail.len()..];
    acc[0] + row_tail.iter().zip(query_tail).map(|(x, y)| term(*x, *y)).sum::<f32>()
  })
}

/// Scales `v` to unit length (the norm in f64, for accuracy). A zero vector stays zero.
fn normalize(v: &mut [f32]) {
  let norm = v.iter().map(|x| *x as f64 * *x as f64).sum::<f64>().sqrt();
  if norm > 0.0 {
    let scale = 1.0 / norm;
    v.iter_mut().for_each(|x| *x = (*x as f64 * scale) as f32);
  }
}

/// How a scan turns a row and a query into a rank: higher is better for every metric (`L2` ranks by
/// negated distance), so one heap type serves all.
trait Scorer: Sync {
  /// The per-element term summed over a row and a query.
  fn term(x: f32, y: f32) -> f32;
  /// The rank of `row` given its sum of terms with `query`.
  fn rank(sum: f32, row: &[f32], query: &[f32]) -> f32;
  /// The score reported to JS for a rank.
  fn score(rank: f32) -> f32;
}

/// Dot product; also cosine over rows and query that are already unit length.
struct Inner;
/// Squared Euclidean distance.
struct Euclid;
/// Cosine over rows of any length (a `topK` matrix, one query); the query is unit length already.
struct Cosine;

impl Scorer for Inner {
  #[inline(always)]
  fn term(x: f32, y: f32) -> f32 {
    x * y
  }
  #[inline(always)]
  fn rank(sum: f32, _: &[f32], _: &[f32]) -> f32 {
    sum
  }
  fn score(rank: f32) -> f32 {
    rank
  }
}

impl Scorer for Euclid {
  #[inline(always)]
  fn term(x: f32, y: f32) -> f32 {
    (x - y) * (x - y)
  }
  #[inline(always)]
  fn rank(sum: f32, _: &[f32], _: &[f32]) -> f32 {
    -sum
  }
  fn score(rank: f32) -> f32 {
    -rank
  }
}

impl Scorer for Cosine {
  #[inline(always)]
  fn term(x: f32, y: f32) -> f32 {
    x * y
  }
  #[inline(always)]
  fn rank(sum: f32, row: &[f32], query: &[f32]) -> f32 {
    // The row is hot in L1 after the first loop: its norm costs no memory traffic.
    let norm2 = sums(row, [row], Inner::term)[0];
    if (MIN_F32_NORM2..f32::INFINITY).contains(&norm2) {
      return sum / norm2.sqrt();
    }
    // f32 squares overflow from about 1.8e19 and lose digits to subnormals below about 1e-19; the
    // products of f32 numbers are exact in f64 and far from its limits. Zero rows score 0, NaN
    // rows NaN.
    let (dot, norm2) = row.iter().zip(query).fold((0.0, 0.0), |(dot, norm2), (x, y)| {
      let x = *x as f64;
      (dot + x * *y as f64, norm2 + x * x)
    });
    match norm2 == 0.0 {
      true => 0.0,
      false => (dot / norm2.sqrt()) as f32,
    }
  }
  fn score(rank: f32) -> f32 {
    rank
  }
}

/// A candidate. Better = higher rank; NaN ranks below everything; ties go to the lower id, so the
/// result does not depend on how the scan was split.
#[derive(Debug, Clone, Copy)]
struct Hit {
  rank: f32,
  id: u32,
}

impl Hit {
  fn key(&self) -> f32 {
    if self.rank.is_nan() {
      f32::NEG_INFINITY
    } else {
      self.rank
    }
  }
}

impl Ord for Hit {
  fn cmp(&self, other: &Self) -> Ordering {
    self
      .key()
      .partial_cmp(&other.key())
      .unwrap_or(Ordering::Equal)
      .then_with(|| other.id.cmp(&self.id))
  }
}

impl PartialOrd for Hit {
  fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
    Some(self.cmp(other))
  }
}

impl PartialEq for Hit {
  fn eq(&self, other: &Self) -> bool {
    self.cmp(other) == Ordering::Equal
  }
}

impl Eq for Hit {}

/// The best `k` hits seen so far; the worst of them on top of a min-heap.
struct TopK {
  k: usize,
  heap: BinaryHeap<std::cmp::Reverse<Hit>>,
}

impl TopK {
  fn new(k: usize) -> Self {
    TopK {
      k,
      heap: BinaryHeap::with_capacity(k.min(1024)),
    }
  }

  #[inline]
  fn offer(&mut self, hit: Hit) {
    if self.heap.len() < self.k {
      self.heap.push(std::cmp::Reverse(hit));
    } else if let Some(mut worst) = self.heap.peek_mut() {
      if hit > worst.0 {
        *worst = std::cmp::Reverse(hit);
      }
    }
  }

  fn merge(mut self, other: TopK) -> TopK {
    other.heap.into_iter().for_each(|hit| self.offer(hit.0));
    self
  }
}

/// The result of one query, best first.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Neighbors {
  pub ids: Vec<u32>,
  pub scores: Vec<f32>,
}

/// Rows to scan: `rows.len() / dim` rows whose ids start at `first_id`.
#[derive(Clone, Copy)]
pub struct Block<'a> {
  pub first_id: usize,
  pub rows: &'a [f32],
}

/// Cuts a row-major matrix into blocks of about `BLOCK_BYTES`.
pub fn blocks(matrix: &[f32], dim: usize) -> Vec<Block<'_>> {
  let rows_per_block = (BLOCK_BYTES / (dim * 4)).max(1);
  matrix
    .chunks(rows_per_block * dim)
    .enumerate()
    .map(|(i, rows)| Block {
      first_id: i * rows_per_block,
      rows,
    })
    .collect()
}

/// Scores every row of `tile` (whose first id is `first_id`) against every query, queries in pairs.
#[inline(always)]
fn score_tile<S: Scorer>(tile: &[f32], first_id: usize, dim: usize, queries: &[f32], tops: &mut [TopK]) {
  let mut pairs = queries.chunks_exact(2 * dim);
  let mut top_pairs = tops.chunks_exact_mut(2);
  for (pair, top) in (&mut pairs).zip(&mut top_pairs) {
    let (q0, q1) = pair.split_at(dim);
    for (r, row) in tile.chunks_exact(dim).enumerate() {
      let [s0, s1] = sums(row, [q0, q1], S::term);
      let id = (first_id + r) as u32;
      top[0].offer(Hit {
        rank: S::rank(s0, row, q0),
        id,
      });
      top[1].offer(Hit {
        rank: S::rank(s1, row, q1),
        id,
      });
    }
  }
  if let ([top], false) = (top_pairs.into_remainder(), pairs.remainder().is_empty()) {
    for (r, row) in tile.chunks_exact(dim).enumerate() {
      let [sum] = sums(row, [pairs.remainder()], S::term);
      top.offer(Hit {
        rank: S::rank(sum, row, pairs.remainder()),
        id: (first_id + r) as u32,
      });
    }
  }
}

/// `score_tile` compiled for AVX2: twice the vector width for the same code and the same results
/// (no FMA, so every sum is rounded as in the portable build). Batches are compute-bound and gain
/// about 1.5x; single queries are bound by memory and gain little.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn score_tile_avx2<S: Scorer>(tile: &[f32], first_id: usize, dim: usize, queries: &[f32], tops: &mut [TopK]) {
  score_tile::<S>(tile, first_id, dim, queries, tops)
}

fn score_tile_dispatch<S: Scorer>(tile: &[f32], first_id: usize, dim: usize, queries: &[f32], tops: &mut [TopK]) {
  #[cfg(target_arch = "x86_64")]
  if std::is_x86_feature_detected!("avx2") {
    // SAFETY: the CPU supports AVX2 (checked just above; the answer is cached by std).
    return unsafe { score_tile_avx2::<S>(tile, first_id, dim, queries, tops) };
  }
  score_tile::<S>(tile, first_id, dim, queries, tops)
}

fn scan<S: Scorer>(blocks: &[Block], dim: usize, queries: &[f32], k: usize, cancel: &Cancel) -> Result<Vec<Neighbors>> {
  let count = queries.len() / dim;
  let tile_rows = (TILE_BYTES / (dim * 4)).max(1);
  let fresh = || (0..count).map(|_| TopK::new(k)).collect::<Vec<_>>();
  let tops = blocks
    .par_iter()
    .try_fold(fresh, |mut tops, block| {
      cancel.check()?;
      for (t, tile) in block.rows.chunks(tile_rows * dim).enumerate() {
        score_tile_dispatch::<S>(tile, block.first_id + t * tile_rows, dim, queries, &mut tops);
      }
      Ok(tops)
    })
    .try_reduce(fresh, |a, b| {
      Ok(a.into_iter().zip(b).map(|(a, b)| a.merge(b)).collect())
    })?;
  Ok(
    tops
      .into_iter()
      .map(|top| {
        let hits = top.heap.into_sorted_vec();
        Neighbors {
          ids: hits.iter().map(|h| h.0.id).collect(),
          scores: hits.iter().map(|h| S::score(h.0.rank)).collect(),
        }
      })
      .collect(),
  )
}

/// Checks that a query holds only finite numbers; `name` is its argument name.
fn check_finite(values: &[f32], name: &str) -> Result<()> {
  match values.iter().position(|x| !x.is_finite()) {
    Some(i) => Err(OffloopError::out_of_range(
      &format!("{name}[{i}]"),
      "a finite number",
      &values[i].to_string(),
    )),
    None => Ok(()),
  }
}

/// Checks and prepares queries (a multiple of `dim` finite values) for `metric`.
pub fn prepare_queries(mut queries: Vec<f32>, dim: usize, metric: Metric, name: &str) -> Result<Vec<f32>> {
  if !queries.len().is_multiple_of(dim) {
    return Err(OffloopError::out_of_range(
      &format!("{name}.length"),
      &format!("a multiple of the dimension ({dim})"),
      &queries.len().to_string(),
    ));
  }
  check_finite(&queries, name)?;
  if metric == Metric::Cosine {
    queries.chunks_exact_mut(dim).for_each(normalize);
  }
  Ok(queries)
}

/// The `k` best rows of `blocks` for each query (prepared by [`prepare_queries`]). `normalized`:
/// the rows are unit length already (an index), so cosine is a plain dot product.
pub fn search(
  blocks: &[Block],
  dim: usize,
  metric: Metric,
  normalized: bool,
  queries: &[f32],
  k: usize,
  cancel: &Cancel,
) -> Result<Vec<Neighbors>> {
  let rows = blocks.iter().map(|block| block.rows.len() / dim).sum::<usize>();
  let count = queries.len() / dim;
  let most = MAX_HITS.max(rows);
  if count.saturating_mul(k.min(rows)) > most {
    return Err(OffloopError::out_of_range(
      "k",
      &format!(
        "<= {} for {count} queries over {rows} rows (their results would outgrow memory)",
        most / count
      ),
      &k.to_string(),
    ));
  }
  match (metric, normalized) {
    (Metric::Dot, _) | (Metric::Cosine, true) => scan::<Inner>(blocks, dim, queries, k, cancel),
    (Metric::Cosine, false) => scan::<Cosine>(blocks, dim, queries, k, cancel),
    (Metric::L2, _) => scan::<Euclid>(blocks, dim, queries, k, cancel),
  }
}

/// The rows of an index: full segments of `segment_rows` rows and a last one that may be partial.
#[derive(Clone)]
pub struct Rows {
  dim: usize,
  segment_rows: usize,
  segments: Vec<Arc<Vec<f32>>>,
  len: usize,
}

impl Rows {
  pub fn blocks(&self) -> Vec<Block<'_>> {
    self
      .segments
      .iter()
      .enumerate()
      .map(|(i, segment)| Block {
        first_id: i * self.segment_rows,
        rows: segment,
      })
      .collect()
  }
}

/// Runs `work` on every item, on the calling thread and one helper thread per other core.
///
/// Not on the pool: `add` is synchronous, so the JS thread would wait for the whole queue of
/// jobs ahead of it (seconds, behind a batch of jq runs or sorts). The helpers are the caller's
/// own, at its priority, so it never waits for a background thread either. Items are taken from a
/// shared queue; a helper that cannot be spawned (a thread limit) only leaves more to the others.
fn on_every_core<T: Send>(items: Vec<T>, work: impl Fn(T) + Sync) {
  let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
  let helpers = cores.min(items.len()).saturating_sub(1);
  let queue = Mutex::new(items.into_iter());
  let drain = || loop {
    let item = queue.lock().unwrap_or_else(|e| e.into_inner()).next();
    match item {
      Some(item) => work(item),
      None => break,
    }
  };
  std::thread::scope(|scope| {
    for _ in 0..helpers {
      let _ = std::thread::Builder::new()
        .name("offloop-add".into())
        .spawn_scoped(scope, &drain);
    }
    drain();
  });
}

/// An append-only, exact vector index.
pub struct Index {
  metric: Metric,
  rows: Arc<Rows>,
}

impl Index {
  pub fn new(dim: usize, metric: Metric) -> Self {
    let rows = Rows {
      dim,
      segment_rows: (BLOCK_BYTES / (dim * 4)).max(1),
      segments: Vec::new(),
      len: 0,
    };
    Index {
      metric,
      rows: Arc::new(rows),
    }
  }

  pub fn dim(&self) -> usize {
    self.rows.dim
  }

  pub fn metric(&self) -> Metric {
    self.metric
  }

  pub fn len(&self) -> usize {
    self.rows.len
  }

  /// What a search scans: the rows as they are now, unaffected by later `add`s.
  pub fn snapshot(&self) -> Arc<Rows> {
    self.rows.clone()
  }

  /// Appends `vectors` (rows of `dim` finite numbers; cosine normalises them) and returns the id of
  /// the first. Nothing is added when they are invalid.
  pub fn add(&mut self, vectors: &[f32]) -> Result<usize> {
    let dim = self.dim();
    if !vectors.len().is_multiple_of(dim) {
      return Err(OffloopError::out_of_range(
        "vectors.length",
        &format!("a multiple of the dimension ({dim})"),
        &vectors.len().to_string(),
      ));
    }
    check_finite(vectors, "vectors")?;
    let first = self.len();
    let count = vectors.len() / dim;
    if count > MAX_ROWS - first {
      return Err(OffloopError::out_of_range(
        "vectors.length",
        &format!("at most {} more rows (ids are 32-bit)", MAX_ROWS - first),
        &count.to_string(),
      ));
    }
    let normalize_rows = self.metric == Metric::Cosine;
    // Copies the outer list only if a search holds the snapshot.
    let rows = Arc::make_mut(&mut self.rows);
    let capacity = rows.segment_rows * dim;
    let partial = rows.segments.last().map_or(0, |s| capacity - s.len());
    let (head, body) = vectors.split_at(partial.min(vectors.len()));
    let open = rows.segments.len() - usize::from(!head.is_empty());
    let new_segments = body.len().div_ceil(capacity);
    rows
      .segments
      .extend((0..new_segments).map(|_| Arc::new(Vec::with_capacity(capacity))));
    let sources = std::iter::once(head)
      .filter(|h| !h.is_empty())
      .chain(body.chunks(capacity));
    // Copies the partial segment only if a search holds it.
    let jobs: Vec<_> = rows.segments[open..]
      .iter_mut()
      .map(Arc::make_mut)
      .zip(sources)
      .collect();
    let fill = |(segment, source): (&mut Vec<f32>, &[f32])| {
      let start = segment.len();
      segment.reserve_exact(capacity - start);
      segment.extend_from_slice(source);
      if normalize_rows {
        segment[start..].chunks_exact_mut(dim).for_each(normalize);
      }
    };
    // A large add is bound by page faults and normalisation, which scale with cores; a small one
    // would only pay for starting threads.
    if vectors.len() * 4 < 2 * BLOCK_BYTES {
      jobs.into_iter().for_each(fill);
    } else {
      on_every_core(jobs, fill);
    }
    rows.len += count;
    Ok(first)
  }

  pub fn clear(&mut self) {
    *self = Index::new(self.dim(), self.metric);
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  fn random(n: usize, seed: u64) -> Vec<f32> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..n)
      .map(|_| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % 2001) as f32 / 1000.0 - 1.0
      })
      .collect()
  }

  /// The reference: score every row in f64, sort by (score, id).
  fn brute_force(rows: &[f32], dim: usize, query: &[f32], k: usize, metric: Metric) -> Vec<u32> {
    let norm = |v: &[f32]| v.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    let mut scored: Vec<(f64, u32)> = rows
      .chunks_exact(dim)
      .enumerate()
      .map(|(i, row)| {
        let d: f64 = row.iter().zip(query).map(|(a, b)| *a as f64 * *b as f64).sum();
        let l2: f64 = row
          .iter()
          .zip(query)
          .map(|(a, b)| (*a as f64 - *b as f64).powi(2))
          .sum();
        let rank = match metric {
          Metric::Dot => d,
          Metric::Cosine => d / norm(row) / norm(query),
          Metric::L2 => -l2,
        };
        (rank, i as u32)
      })
      .collect();
    scored.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap().then(a.1.cmp(&b.1)));
    scored.iter().take(k).map(|s| s.1).collect()
  }

  fn dot(a: &[f32], b: &[f32]) -> f32 {
    sums(a, [b], Inner::term)[0]
  }

  #[test]
  fn lane_loops_match_plain_sums() {
    for len in [0, 1, 15, 16, 17, 100, 384] {
      let a = random(len, 1);
      let b = random(len, 2);
      let plain: f64 = a.iter().zip(&b).map(|(x, y)| *x as f64 * *y as f64).sum();
      assert!((dot(&a, &b) as f64 - plain).abs() < 1e-4, "len {len}");
      let plain: f64 = a.iter().zip(&b).map(|(x, y)| (*x as f64 - *y as f64).powi(2)).sum();
      assert!(
        (sums(&a, [&b], Euclid::term)[0] as f64 - plain).abs() < 1e-3,
        "len {len}"
      );
      // Pairs of queries sum exactly as single ones.
      assert_eq!(sums(&a, [&b, &a], Inner::term), [dot(&a, &b), dot(&a, &a)]);
    }
  }

  #[test]
  fn index_and_matrix_scans_agree_with_brute_force() {
    let dim = 37; // odd: exercises the lane tail
    let rows = random(dim * 5000, 3);
    let queries = random(dim * 4, 4);
    for metric in [Metric::Cosine, Metric::Dot, Metric::L2] {
      let mut index = Index::new(dim, metric);
      // Several adds, across segment boundaries.
      index.add(&rows[..dim * 1234]).unwrap();
      index.add(&rows[dim * 1234..]).unwrap();
      assert_eq!(index.len(), 5000);
      let prepared = prepare_queries(queries.clone(), dim, metric, "query").unwrap();
      let snapshot = index.snapshot();
      let from_index = search(&snapshot.blocks(), dim, metric, true, &prepared, 10, &Cancel::default()).unwrap();
      let from_matrix = search(
        &blocks(&rows, dim),
        dim,
        metric,
        false,
        &prepared,
        10,
        &Cancel::default(),
      )
      .unwrap();
      for (q, query) in queries.chunks_exact(dim).enumerate() {
        let expected = brute_force(&rows, dim, query, 10, metric);
        assert_eq!(from_index[q].ids, expected, "{metric:?} index");
        assert_eq!(from_matrix[q].ids, expected, "{metric:?} matrix");
        assert!(from_index[q].scores.windows(2).all(|w| match metric {
          Metric::L2 => w[0] <= w[1],
          _ => w[0] >= w[1],
        }));
      }
    }
  }

  #[test]
  fn k_larger_than_the_rows_returns_them_all_and_ties_go_to_lower_ids() {
    let mut index = Index::new(2, Metric::Dot);
    index.add(&[1.0, 0.0, 0.0, 1.0, 1.0, 0.0]).unwrap();
    let snapshot = index.snapshot();
    let result = search(
      &snapshot.blocks(),
      2,
      Metric::Dot,
      true,
      &[1.0, 0.0],
      10,
      &Cancel::default(),
    )
    .unwrap();
    assert_eq!(result[0].ids, [0, 2, 1]);
    assert_eq!(result[0].scores, [1.0, 1.0, 0.0]);
    let empty = Index::new(2, Metric::Dot).snapshot();
    let none = search(
      &empty.blocks(),
      2,
      Metric::Dot,
      true,
      &[1.0, 0.0],
      3,
      &Cancel::default(),
    )
    .unwrap();
    assert_eq!(none, [Neighbors::default()]);
  }

  #[test]
  fn cosine_over_a_matrix_holds_at_any_magnitude_and_nan_rows_score_nan() {
    let scores = |rows: &[f32]| {
      let found = search(
        &blocks(rows, 2),
        2,
        Metric::Cosine,
        false,
        &[1.0, 0.0],
        3,
        &Cancel::default(),
      )
      .unwrap();
      (found[0].ids.clone(), found[0].scores.clone())
    };
    // Their squares overflow f32, or underflow to subnormals or 0.
    for m in [3e38, 2e19, 1e-22, 1e-23, f32::from_bits(1)] {
      assert_eq!(
        scores(&[m, 0.0, 0.0, m, -m, 0.0]),
        (vec![0, 1, 2], vec![1.0, 0.0, -1.0]),
        "{m}"
      );
    }
    let (ids, scores) = scores(&[f32::NAN, 0.0, 0.0, 1.0, -1.0, 0.0]);
    assert_eq!((ids, &scores[..2]), (vec![1, 2, 0], &[0.0, -1.0][..]));
    assert!(scores[2].is_nan());
  }

  #[test]
  fn a_snapshot_does_not_see_later_adds() {
    let mut index = Index::new(4, Metric::L2);
    index.add(&random(4 * 10, 5)).unwrap();
    let before = index.snapshot();
    index.add(&random(4 * 10, 6)).unwrap();
    let rows = |snapshot: &Rows| snapshot.blocks().iter().map(|b| b.rows.len() / 4).sum::<usize>();
    assert_eq!((rows(&before), index.len()), (10, 20));
    index.clear();
    assert_eq!((index.len(), rows(&before)), (0, 10));
  }

  #[test]
  fn cosine_rows_are_normalised_and_bad_rows_are_refused() {
    let mut index = Index::new(2, Metric::Cosine);
    index.add(&[3.0, 4.0, 0.0, 0.0]).unwrap();
    let snapshot = index.snapshot();
    assert_eq!(snapshot.blocks()[0].rows, [0.6, 0.8, 0.0, 0.0]);
    let e = index.add(&[1.0, 2.0, 3.0]).unwrap_err();
    assert!(e.message.contains("multiple of the dimension (2)"), "{}", e.message);
    let e = index.add(&[1.0, f32::NAN]).unwrap_err();
    assert!(e.message.contains("vectors[1]"), "{}", e.message);
    assert_eq!(index.len(), 2);
    let e = prepare_queries(vec![1.0], 2, Metric::Dot, "query").unwrap_err();
    assert_eq!(e.code, "ERR_OUT_OF_RANGE");
  }
}
