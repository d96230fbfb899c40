//! The `#[napi]` layer of the compute kernels: decode arguments on the JS thread, compute on the pool.
//!
//! Large inputs (`topK`'s matrix, the data of `describe`, `histogram`, `sort`, `argsort`) are copied
//! on the JS thread before the job runs, in slices between turns of the loop, or read in place when
//! they live in a SharedArrayBuffer (see `runtime::stage`). Queries and the vectors given to
//! `VectorIndex.add` are copied at once.

use napi::bindgen_prelude::{Float32Array, Float64Array, PromiseRaw, Uint32Array};
use napi::Env;
use napi_derive::napi;

use super::element::Element;
use super::histogram::{self, Bins, MAX_BINS};
use super::sort;
use super::stats;
use super::vector::{self, Index, Metric, Neighbors, MAX_ROWS};
use crate::runtime::abort::Signal;
use crate::runtime::args::{with_typed_view, AnyTypedArray, Kind, Options, TypedArrayArg};
use crate::runtime::bytes::{Output, View};
use crate::runtime::stage::WriteBack;
use crate::runtime::{spawn, sync, Cancel, Job, JobOutput, JobResult, JsArg, OffloopError, Result};

/// Largest vector dimension accepted.
const MAX_DIM: u64 = 1 << 20;
const DEFAULT_PERCENTILES: [f64; 3] = [25.0, 50.0, 75.0];
const DEFAULT_BINS: usize = 10;
const NUMERIC_ARRAY: &str = "an instance of Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, \
  Int32Array, Uint32Array, Float32Array, Float64Array, BigInt64Array or BigUint64Array";

/// Options of `new VectorIndex()`.
#[napi(object, object_to_js = false, object_from_js = false)]
pub struct VectorIndexOptions {
  /// `'cosine'` (default): cosine similarity, higher is closer; rows are normalised once at `add`.
  /// `'dot'`: inner product, higher is closer. `'l2'`: squared Euclidean distance, lower is closer.
  #[napi(ts_type = "'cosine' | 'dot' | 'l2'")]
  pub metric: Option<Metric>,
}

impl VectorIndexOptions {
  fn decode(options: JsArg) -> Result<Self> {
    Ok(VectorIndexOptions {
      metric: metric(&options.options("options")?)?,
    })
  }
}

/// Options of `VectorIndex.search()` and `VectorIndex.searchBatch()`.
#[napi(object, object_to_js = false, object_from_js = false)]
pub struct SearchOptions<'env> {
  /// Aborts the search; the promise rejects with an `AbortError`.
  #[napi(ts_type = "AbortSignal")]
  pub signal: Option<Signal<'env>>,
}

impl<'env> SearchOptions<'env> {
  fn decode(options: JsArg) -> Result<Self> {
    Ok(SearchOptions {
      signal: options.options("options")?.signal()?,
    })
  }
}

/// Options of `topK()`.
#[napi(object, object_to_js = false, object_from_js = false)]
pub struct TopKOptions<'env> {
  /// `'cosine'` (default), `'dot'` or `'l2'`, as for `VectorIndex`.
  #[napi(ts_type = "'cosine' | 'dot' | 'l2'")]
  pub metric: Option<Metric>,
  /// Aborts the search; the promise rejects with an `AbortError`.
  #[napi(ts_type = "AbortSignal")]
  pub signal: Option<Signal<'env>>,
}

impl<'env> TopKOptions<'env> {
  fn decode(options: JsArg) -> Result<Self> {
    let options = options.options("options")?;
    Ok(TopKOptions {
      metric: metric(&options)?,
      signal: options.signal()?,
    })
  }
}

/// The nearest rows of one query, best first: for `'cosine'` and `'dot'` the highest scores, for
/// `'l2'` the smallest squared distances. Equal scores are ordered by id.
#[napi(object, object_from_js = false)]
pub struct SearchResult {
  /// Row ids (the order of `add`, from 0; for `topK`, row indices of the matrix).
  pub ids: Uint32Array,
  /// The cosine similarity, inner product or squared distance of each row.
  pub scores: Float32Array,
}

impl From<Neighbors> for SearchResult {
  fn from(n: Neighbors) -> Self {
    SearchResult {
      ids: Uint32Array::from_vec(n.ids),
      scores: Float32Array::from_vec(n.scores),
    }
  }
}

fn metric(options: &Options) -> Result<Option<Metric>> {
  Ok(options.one_of("metric", Metric::NAMES)?.map(Metric::from_name))
}

fn k(value: JsArg) -> Result<usize> {
  Ok(value.integer("k", 1, u32::MAX.into())? as usize)
}

/// A query of exactly `dim` numbers, copied and prepared for `metric`.
fn query(value: JsArg, dim: usize, metric: Metric) -> Result<Vec<f32>> {
  let query = value.typed_array::<Float32Array>("query")?.to_vec();
  if query.len() != dim {
    return Err(OffloopError::out_of_range(
      "query.length",
      &format!("the dimension ({dim})"),
      &query.len().to_string(),
    ));
  }
  vector::prepare_queries(query, dim, metric, "query")
}

/// An exact (flat) vector index held in Rust memory: every search scans all rows, on all cores.
/// Exact results, no build step, no recall trade-off; a search scans rows at about the memory
/// bandwidth (some 7 ms per 100k × 384 rows on two cores), and `searchBatch` shares one pass.
#[napi]
pub struct VectorIndex {
  index: Index,
}

#[napi]
impl VectorIndex {
  /// Makes an empty index of `dim`-dimensional vectors (1–1048576).
  ///
  /// @throws {RangeError} `ERR_OUT_OF_RANGE` for a bad `dim`.
  /// @throws {TypeError} `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` for a bad `metric`.
  #[napi(
    constructor,
    catch_unwind,
    ts_args_type = "dim: number, options?: VectorIndexOptions"
  )]
  pub fn new(env: Env, dim: JsArg, options: JsArg) -> napi::Result<Self> {
    sync(&env, || {
      let dim = dim.integer("dim", 1, MAX_DIM)? as usize;
      let metric = VectorIndexOptions::decode(options)?.metric.unwrap_or(Metric::Cosine);
      Ok(VectorIndex {
        index: Index::new(dim, metric),
      })
    })
  }

  /// Appends `vectors.length / dim` rows (copied; normalised for `'cosine'`) and returns the id of
  /// the first. Ids are consecutive from 0. Synchronous (large adds use all cores): 100k × 384 rows
  /// (150 MB) take about 0.1 s; add large sets in slices between awaits to keep the loop responsive.
  /// Searches already running do not see the new rows.
  ///
  /// @throws {RangeError} `ERR_OUT_OF_RANGE` when `vectors.length` is not a multiple of `dim`, for a
  /// NaN or infinite value (naming its index; nothing is added), or beyond 2^32 − 1 rows.
  /// @throws {TypeError} `ERR_INVALID_ARG_TYPE` unless `vectors` is a Float32Array.
  #[napi(catch_unwind, ts_args_type = "vectors: Float32Array")]
  pub fn add(&mut self, env: Env, vectors: JsArg) -> napi::Result<u32> {
    sync(&env, || {
      let vectors = vectors.typed_array::<Float32Array>("vectors")?;
      Ok(self.index.add(&vectors)? as u32)
    })
  }

  /// The `k` rows nearest to `query` (a Float32Array of `dim` numbers), best first. Fewer when the
  /// index holds fewer rows.
  ///
  /// Rejects with `ERR_INVALID_ARG_TYPE` (TypeError) for a query that is not a Float32Array,
  /// `ERR_OUT_OF_RANGE` (RangeError) for a query of the wrong length or with NaN/infinite values,
  /// or a `k` that is not an integer >= 1, and an `AbortError` when `options.signal` aborts.
  #[napi(ts_args_type = "query: Float32Array, k: number, options?: SearchOptions")]
  pub fn search<'env>(
    &self,
    env: &'env Env,
    query: JsArg,
    k: JsArg,
    options: JsArg,
  ) -> napi::Result<PromiseRaw<'env, SearchResult>> {
    spawn(env, || {
      let query = self::query(query, self.index.dim(), self.index.metric())?;
      let (run, signal) = self.search_job(move || Ok(query), k, options)?;
      Ok(Job::new(move |cancel| Ok(run(cancel)?.remove(0).into())).abortable(signal))
    })
  }

  /// `search()` for many queries at once (`queries.length / dim` of them, row-major), sharing one
  /// pass over the rows: much faster than separate searches. Resolves with one result per query.
  /// `queries` is copied (large ones in slices between turns of the loop): do not modify it until
  /// the promise settles.
  ///
  /// Rejects like `search()`; `ERR_OUT_OF_RANGE` when `queries.length` is not a multiple of `dim`,
  /// or when the results would hold more than 2^27 hits (queries × `k`, `k` capped at the index
  /// size) and more than the index has rows: some 1 GiB and more, past what a batch is for.
  #[napi(ts_args_type = "queries: Float32Array, k: number, options?: SearchOptions")]
  pub fn search_batch<'env>(
    &self,
    env: &'env Env,
    queries: JsArg,
    k: JsArg,
    options: JsArg,
  ) -> napi::Result<PromiseRaw<'env, Vec<SearchResult>>> {
    spawn(env, || {
      let queries = queries.typed_view::<Float32Array>("queries")?;
      let (dim, metric) = (self.index.dim(), self.index.metric());
      // Copied and normalised on the pool: a large batch would otherwise cost the JS thread.
      let prepare = move || vector::prepare_queries(queries.read(<[f32]>::to_vec)?, dim, metric, "queries");
      let (run, signal) = self.search_job(prepare, k, options)?;
      Ok(Job::new(move |cancel| Ok(run(cancel)?.into_iter().map(Into::into).collect())).abortable(signal))
    })
  }

  /// Rows in the index.
  #[napi(getter)]
  pub fn size(&self) -> u32 {
    self.index.len() as u32
  }

  #[napi(getter)]
  pub fn dim(&self) -> u32 {
    self.index.dim() as u32
  }

  #[napi(getter, ts_return_type = "'cosine' | 'dot' | 'l2'")]
  pub fn metric(&self) -> &'static str {
    self.index.metric().name()
  }

  /// Removes every row; ids start from 0 again. Searches already running keep their rows.
  #[napi(catch_unwind)]
  pub fn clear(&mut self) {
    self.index.clear();
  }
}

impl VectorIndex {
  /// A search over a snapshot of the index, ready for the pool; `queries` prepares the queries
  /// there.
  fn search_job<'env>(
    &self,
    queries: impl FnOnce() -> Result<Vec<f32>> + Send + 'static,
    k: JsArg,
    options: JsArg,
  ) -> Result<(
    impl FnOnce(&Cancel) -> Result<Vec<Neighbors>> + Send + 'static,
    Option<Signal<'env>>,
  )> {
    let k = self::k(k)?;
    let signal = SearchOptions::decode(options)?.signal;
    let (rows, dim, metric) = (self.index.snapshot(), self.index.dim(), self.index.metric());
    let run = move |cancel: &Cancel| vector::search(&rows.blocks(), dim, metric, true, &queries()?, k, cancel);
    Ok((run, signal))
  }
}

/// The `k` rows of `matrix` (a row-major Float32Array of `dim`-dimensional rows: do not modify it
/// until the promise settles) nearest to `query`, best first. A large matrix is copied before each
/// search, in slices between turns of the loop, unless it lives in a SharedArrayBuffer (read in
/// place); for many searches over the same rows, `VectorIndex` keeps them in Rust. `VectorIndex.search()`
/// for data that lives in JS. Rows holding NaN score NaN and come last, as do rows holding
/// ±Infinity under `cosine` (their angle is undefined).
///
/// Rejects with `ERR_INVALID_ARG_TYPE` (TypeError) unless `matrix` and `query` are Float32Arrays,
/// `ERR_OUT_OF_RANGE` (RangeError) when `matrix.length` is not a multiple of `dim`, `query.length`
/// is not `dim`, the query holds NaN/infinite values or `k` is not an integer >= 1, and an
/// `AbortError` when `options.signal` aborts.
#[napi(ts_args_type = "matrix: Float32Array, dim: number, query: Float32Array, k: number, options?: TopKOptions")]
pub fn top_k<'env>(
  env: &'env Env,
  matrix: JsArg,
  dim: JsArg,
  query: JsArg,
  k: JsArg,
  options: JsArg,
) -> napi::Result<PromiseRaw<'env, SearchResult>> {
  spawn(env, || {
    let matrix = matrix.typed_view::<Float32Array>("matrix")?;
    let dim = dim.integer("dim", 1, MAX_DIM)? as usize;
    if matrix.len() % dim != 0 || matrix.len() / dim > MAX_ROWS {
      return Err(OffloopError::out_of_range(
        "matrix.length",
        &format!("a multiple of dim ({dim}), at most {MAX_ROWS} rows"),
        &matrix.len().to_string(),
      ));
    }
    let TopKOptions { metric, signal } = TopKOptions::decode(options)?;
    let metric = metric.unwrap_or(Metric::Cosine);
    let query = self::query(query, dim, metric)?;
    let k = self::k(k)?;
    Ok(
      Job::new(move |cancel| {
        let mut found =
          matrix.read(|m| vector::search(&vector::blocks(m, dim), dim, metric, false, &query, k, cancel))??;
        Ok(found.remove(0).into())
      })
      .abortable(signal),
    )
  })
}

/// Options of `describe()`.
#[napi(object, object_to_js = false, object_from_js = false)]
pub struct DescribeOptions<'env> {
  /// Percentiles to compute, each 0–100, by linear interpolation between order statistics (numpy's
  /// default method). Default `[25, 50, 75]`; `[]` skips the work (a copy and a selection).
  pub percentiles: Option<Vec<f64>>,
  /// Leave NaN values out instead of rejecting. Default `false`.
  #[napi(js_name = "skipNaN")]
  pub skip_nan: Option<bool>,
  /// Aborts the call; the promise rejects with an `AbortError`.
  #[napi(ts_type = "AbortSignal")]
  pub signal: Option<Signal<'env>>,
}

impl<'env> DescribeOptions<'env> {
  fn decode(options: JsArg) -> Result<Self> {
    let options = options.options("options")?;
    Ok(DescribeOptions {
      percentiles: options
        .get("percentiles")?
        .map(|(value, path)| value.array_of(&path, 0..=u32::MAX, |p, path| p.number_in(path, 0.0..=100.0)))
        .transpose()?,
      skip_nan: options.boolean("skipNaN")?,
      signal: options.signal()?,
    })
  }
}

/// Summary statistics of `describe()`. Variance and standard deviation are the population's
/// (ddof 0, like numpy's default).
#[napi(object, object_from_js = false)]
pub struct Description {
  /// Values counted (NaN left out under `skipNaN`).
  pub count: f64,
  pub sum: f64,
  pub mean: f64,
  pub variance: f64,
  pub stddev: f64,
  pub min: f64,
  pub max: f64,
  /// One value per requested percentile, in the order asked.
  pub percentiles: Vec<f64>,
}

/// Count, sum, mean, population variance and standard deviation, min, max and percentiles of a
/// numeric TypedArray (do not modify it until the promise settles), on all cores.
/// Sums are compensated (Neumaier) and the variance two-pass, so large offsets and long arrays keep
/// their precision. 64-bit integers are converted to the nearest double. Infinities follow IEEE
/// arithmetic (a sum with `Infinity` is `Infinity`, its variance NaN).
///
/// Rejects with `ERR_OUT_OF_RANGE` (RangeError) for empty data, a NaN (the message names its index,
/// e.g. `data[17]`) unless `skipNaN`, or a percentile outside 0–100; `ERR_INVALID_ARG_TYPE`
/// (TypeError) for data that is not a numeric TypedArray.
#[napi(ts_args_type = "data: TypedArray, options?: DescribeOptions")]
pub fn describe<'env>(env: &'env Env, data: JsArg, options: JsArg) -> napi::Result<PromiseRaw<'env, Description>> {
  spawn(env, || {
    let data = data.any_typed_view("data", NUMERIC_ARRAY)?;
    let options = DescribeOptions::decode(options)?;
    let percentiles = options.percentiles.unwrap_or_else(|| DEFAULT_PERCENTILES.to_vec());
    let skip_nan = options.skip_nan.unwrap_or(false);
    Ok(
      Job::new(move |cancel| {
        let d = with_typed_view!(data, |view| view.read(|data| stats::describe(
          data,
          &percentiles,
          skip_nan,
          cancel
        )))??;
        Ok(Description {
          count: d.count as f64,
          sum: d.sum,
          mean: d.mean,
          variance: d.variance,
          stddev: d.stddev,
          min: d.min,
          max: d.max,
          percentiles: d.percentiles,
        })
      })
      .abortable(options.signal),
    )
  })
}

/// Options of `histogram()`.
#[napi(object, object_to_js = false, object_from_js = false)]
pub struct HistogramOptions<'env> {
  /// A number of equal-width bins (1–16777216) over `[min, max]`, or the bin edges themselves
  /// (non-decreasing, at least two). Default 10.
  #[napi(ts_type = "number | number[]")]
  pub bins: Option<Bins>,
  /// Lower bound of equal-width bins. Default: the smallest value. Not with explicit edges.
  pub min: Option<f64>,
  /// Upper bound of equal-width bins. Default: the largest value. Not with explicit edges.
  pub max: Option<f64>,
  /// Leave NaN values out instead of rejecting. Default `false`.
  #[napi(js_name = "skipNaN")]
  pub skip_nan: Option<bool>,
  /// Aborts the call; the promise rejects with an `AbortError`.
  #[napi(ts_type = "AbortSignal")]
  pub signal: Option<Signal<'env>>,
}

/// Bin edges and counts of `histogram()`: `counts[i]` values fell in `[edges[i], edges[i + 1])`, the
/// last bin also holds values equal to its upper edge.
#[napi(object, object_from_js = false)]
pub struct HistogramResult {
  /// `bins + 1` edges.
  pub edges: Float64Array,
  pub counts: Uint32Array,
}

impl<'env> HistogramOptions<'env> {
  fn decode(options: JsArg) -> Result<Self> {
    let options = options.options("options")?;
    let finite = |key| {
      options
        .get(key)?
        .map(|(v, path)| v.number_in(&path, f64::MIN..=f64::MAX))
        .transpose()
    };
    let (min, max) = (finite("min")?, finite("max")?);
    let bins = match options.get("bins")? {
      None => None,
      Some((value, path)) if value.is_array() => {
        if min.is_some() || max.is_some() {
          return Err(OffloopError::invalid_value(
            "options.min",
            "and options.max cannot be used with an array of bin edges",
          ));
        }
        Some(Bins::edges(
          value.array_of(&path, 2..=MAX_BINS as u32 + 1, |edge, path| edge.number(path))?,
          &path,
        )?)
      }
      Some((value, path)) if value.kind() == Kind::Number => Some(Bins::Uniform {
        count: value.integer(&path, 1, MAX_BINS as u64)? as usize,
        min,
        max,
      }),
      Some((value, path)) => {
        return Err(OffloopError::invalid_type(
          &path,
          "of type number or an instance of Array",
          &value.received(),
        ))
      }
    };
    Ok(HistogramOptions {
      bins,
      min,
      max,
      skip_nan: options.boolean("skipNaN")?,
      signal: options.signal()?,
    })
  }

  fn bins(&self) -> Bins {
    self.bins.clone().unwrap_or(Bins::Uniform {
      count: DEFAULT_BINS,
      min: self.min,
      max: self.max,
    })
  }
}

/// A histogram of a numeric TypedArray (do not modify it until the promise settles)
/// with numpy.histogram's semantics: equal-width bins between the data's (or the given) min and
/// max, or explicit edges; values outside the range are not counted; a range of one value is
/// widened by 0.5 each way; empty data spans [0, 1].
///
/// Rejects with `ERR_OUT_OF_RANGE` (RangeError) for a NaN (naming its index) unless `skipNaN`, an
/// infinite range, `min > max`, decreasing edges or a bad bin count; `ERR_INVALID_ARG_TYPE`
/// (TypeError) for data that is not a numeric TypedArray; `ERR_INVALID_ARG_VALUE` for `min`/`max`
/// together with explicit edges.
#[napi(ts_args_type = "data: TypedArray, options?: HistogramOptions")]
pub fn histogram<'env>(env: &'env Env, data: JsArg, options: JsArg) -> napi::Result<PromiseRaw<'env, HistogramResult>> {
  spawn(env, || {
    let data = data.any_typed_view("data", NUMERIC_ARRAY)?;
    let options = HistogramOptions::decode(options)?;
    let (bins, skip_nan) = (options.bins(), options.skip_nan.unwrap_or(false));
    Ok(
      Job::new(move |cancel| {
        let h = with_typed_view!(data, |view| view
          .read(|data| histogram::histogram(data, bins, skip_nan, cancel)))??;
        Ok(HistogramResult {
          edges: Float64Array::from_vec(h.edges),
          counts: Uint32Array::from_vec(h.counts),
        })
      })
      .abortable(options.signal),
    )
  })
}

/// Options of `sort()` and `argsort()`.
#[napi(object, object_to_js = false, object_from_js = false)]
pub struct SortOptions<'env> {
  /// Largest first; NaN still last. Default `false`.
  pub descending: Option<bool>,
  /// Writes the result into this array and resolves with it, instead of a new one: for `sort()`
  /// a TypedArray of `data`'s type (`data` itself sorts in place), for `argsort()` a Uint32Array;
  /// as many elements as `data`. Reusing one array spares V8 a full GC per call for a result of
  /// tens of MB. The result is copied into it on the JS thread, in slices between turns of the
  /// loop, before the promise resolves. Do not read, write or pass it to another call until the
  /// promise settles. An aborted call leaves it as it was, or, when the abort came during the copy,
  /// holds the whole result. Default: a new array.
  #[napi(ts_type = "TypedArray")]
  pub into: Option<JsArg>,
  /// Aborts the call; the promise rejects with an `AbortError`: at once, or, while the result is
  /// being copied into `into`, once that copy is complete.
  #[napi(ts_type = "AbortSignal")]
  pub signal: Option<Signal<'env>>,
}

impl<'env> SortOptions<'env> {
  fn decode(options: JsArg) -> Result<Self> {
    let options = options.options("options")?;
    Ok(SortOptions {
      descending: options.boolean("descending")?,
      into: options.get("into")?.map(|(into, _)| into),
      signal: options.signal()?,
    })
  }
}

/// `options.into` as an [`Output`] of `A` with `len` elements.
fn output<A: TypedArrayArg>(into: JsArg, len: usize) -> Result<Output<A>> {
  let output = into.typed_output::<A>("options.into")?;
  if output.len() != len {
    return Err(OffloopError::invalid_value(
      "options.into",
      &format!(
        "must have as many elements as data ({len}). Received one of {}",
        output.len()
      ),
    ));
  }
  Ok(output)
}

/// What `sort` and `argsort` resolve with: a new array, or `into` once the result is copied in.
pub enum Sorted {
  New(AnyTypedArray),
  Into(WriteBack),
}

impl JobOutput for Sorted {
  fn into_result(self) -> JobResult {
    match self {
      Sorted::New(array) => array.into_result(),
      Sorted::Into(result) => result.into_result(),
    }
  }
}

/// The result: for `into`, or a new array over `result`.
fn deliver<A: TypedArrayArg>(result: Vec<A::Element>, into: Option<Output<A>>) -> Result<Sorted> {
  match into {
    Some(into) => Ok(Sorted::Into(into.fill(result)?)),
    None => Ok(Sorted::New(A::from_vec(result).into())),
  }
}

/// One sort job of any element type.
type SortWork = Box<dyn FnOnce(&Cancel) -> Result<Sorted> + Send>;

/// Decodes `into` as an array of `view`'s own type (on the JS thread) and returns the job.
fn sort_work<A: TypedArrayArg>(view: View<A>, into: Option<JsArg>, descending: bool) -> Result<SortWork>
where
  A::Element: Element,
{
  let into = into.map(|into| output::<A>(into, view.len())).transpose()?;
  Ok(Box::new(move |cancel| {
    let result = view.read(|data| sort::sort(data, descending, cancel))??;
    // An abort during the sort: `into` is left as it was, and no new array is made for nobody.
    cancel.check()?;
    deliver(result, into)
  }))
}

/// A sorted copy of a numeric TypedArray (of the same type), on all cores; the input is left
/// untouched, unless it is also `options.into` (do not modify, transfer or resize it until the
/// promise settles; see the README on large inputs). The order is `TypedArray.prototype.sort`'s: numeric, `-0` before `+0`, NaN last.
/// `descending` reverses the numbers (`+0` before `-0`) and keeps NaN last.
///
/// Rejects with `ERR_INVALID_ARG_TYPE` (TypeError) for anything but a numeric TypedArray (and an
/// `into` of another type than `data`), `ERR_INVALID_ARG_VALUE` for an `into` of another length.
#[napi(
  ts_generic_types = "T extends TypedArray",
  ts_args_type = "data: T, options?: SortOptions",
  ts_return_type = "Promise<T>"
)]
pub fn sort<'env>(env: &'env Env, data: JsArg, options: JsArg) -> napi::Result<PromiseRaw<'env, Sorted>> {
  spawn(env, || {
    let data = data.any_typed_view("data", NUMERIC_ARRAY)?;
    let options = SortOptions::decode(options)?;
    let descending = options.descending.unwrap_or(false);
    let work = with_typed_view!(data, |view| sort_work(view, options.into, descending))?;
    Ok(Job::new(work).abortable(options.signal))
  })
}

/// The indices that sort a numeric TypedArray (do not modify, transfer or resize it until the
/// promise settles), in `sort()`'s order. Stable: equal values keep their index order, in both directions,
/// as sorting indices with `Array.prototype.sort` would.
///
/// Rejects with `ERR_INVALID_ARG_TYPE` (TypeError) for anything but a numeric TypedArray (and an
/// `into` that is not a Uint32Array), `ERR_INVALID_ARG_VALUE` for an `into` of another length, and
/// `ERR_OUT_OF_RANGE` beyond 2^32 elements.
#[napi(
  ts_args_type = "data: TypedArray, options?: SortOptions",
  ts_return_type = "Promise<Uint32Array>"
)]
pub fn argsort<'env>(env: &'env Env, data: JsArg, options: JsArg) -> napi::Result<PromiseRaw<'env, Sorted>> {
  spawn(env, || {
    let data = data.any_typed_view("data", NUMERIC_ARRAY)?;
    let len = with_typed_view!(&data, |view| view.len());
    if len > u32::MAX as usize + 1 {
      return Err(OffloopError::out_of_range(
        "data.length",
        "<= 4294967296",
        &len.to_string(),
      ));
    }
    let options = SortOptions::decode(options)?;
    let descending = options.descending.unwrap_or(false);
    let into = options.into.map(|into| output::<Uint32Array>(into, len)).transpose()?;
    Ok(
      Job::new(move |cancel| {
        let order = with_typed_view!(data, |view| view.read(|data| sort::argsort(data, descending, cancel)))??;
        cancel.check()?;
        deliver(order, into)
      })
      .abortable(options.signal),
    )
  })
}
