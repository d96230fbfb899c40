//! The `#[napi]` layer of compression: decode arguments and options (node:zlib's names, ranges and
//! errors), hand the work to the pool, and return Buffers.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::ffi::c_void;
use std::ops::RangeInclusive;
use std::ptr;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use napi::bindgen_prelude::{ObjectFinalize, PromiseRaw, ToNapiValue};
use napi::{sys, Env};
use napi_derive::napi;

use super::codec::{self, EncodeSettings, Flush, Format, Source};
use super::host_zlib;
use super::settings::{
  self, BrotliParam, BrotliSettings, DecodeSettings, DeflateSettings, ZstdParam, ZstdSettings, DEFAULT_CHUNK_SIZE,
  DEFAULT_MAX_OUTPUT, MAX_OUTPUT_LIMIT, MEM_LEVELS, MIN_CHUNK_SIZE, STRATEGIES,
};
use super::stream::{Chunk, Recipe, StreamState};
use crate::runtime::abort::{clear_exception, Signal};
use crate::runtime::args::{out_of_range_received, Kind, Options};
use crate::runtime::bridge::Settler;
use crate::runtime::bytes::ByteView;
use crate::runtime::external::ExternalMemory;
use crate::runtime::pool::drop_later;
use crate::runtime::serial::Serial;
use crate::runtime::stage;
use crate::runtime::{promise, rejected, spawn, sync, Cancel, ErrorKind, Job, JsArg, OffloopError, Result};

/// Options of `compress()`, `compressSync()` and compressing streams, with node:zlib's names.
/// Options of other formats are ignored, as node:zlib ignores them.
#[napi(object, object_to_js = false, object_from_js = false)]
pub struct CompressOptions<'env> {
  /// 'gzip', 'deflate', 'deflate-raw': zlib's level, 0 (store) to 9 (smallest), -1 for the default
  /// 6. Output is node:zlib's at the same level (see the README). 'brotli': the
  /// quality, 0-11, default 11 (node:zlib's). 'zstd': the level, -131072 to 22, default 3.
  pub level: Option<i32>,
  /// 'gzip', 'deflate', 'deflate-raw': the window is 2^windowBits bytes, 9-15 for 'gzip', 8-15
  /// otherwise; default 15.
  pub window_bits: Option<u32>,
  /// 'gzip', 'deflate', 'deflate-raw': memory for the match finder, 1-9; default 8.
  pub mem_level: Option<u32>,
  /// 'gzip', 'deflate', 'deflate-raw': `zlib.constants.Z_DEFAULT_STRATEGY` (0, the default) to
  /// `Z_FIXED` (4).
  pub strategy: Option<u32>,
  /// 'brotli': `zlib.constants.BROTLI_PARAM_*` keys (MODE, QUALITY, LGWIN, LGBLOCK,
  /// DISABLE_LITERAL_CONTEXT_MODELING, SIZE_HINT, NPOSTFIX, NDIRECT). 'zstd':
  /// `zlib.constants.ZSTD_c_*` keys (compressionLevel, windowLog, hashLog, chainLog, searchLog,
  /// minMatch, targetLength, strategy, enableLongDistanceMatching, contentSizeFlag, checksumFlag,
  /// dictIDFlag). A parameter here overrides `level`.
  #[napi(ts_type = "Record<number, number>")]
  pub params: Option<Params>,
  /// Streams: the most output bytes pushed at once, >= 64; default 65536 (node:zlib's is 16384).
  /// Accepted and unused by one-shot calls, which node:zlib fill in pieces of this size.
  pub chunk_size: Option<u32>,
  /// Reject with `ERR_BUFFER_TOO_LARGE` (RangeError) when the output would exceed this many bytes,
  /// 1-4294967296. Default 4294967296 (node:zlib's).
  pub max_output_length: Option<f64>,
  /// Aborts the call (between slices of the input; a one-shot gzip/deflate compression is one
  /// slice); it rejects with an `AbortError`. Not for streams.
  #[napi(ts_type = "AbortSignal")]
  pub signal: Option<Signal<'env>>,
}

/// Options of `decompress()`, `decompressSync()` and decompressing streams, with node:zlib's names.
#[napi(object, object_to_js = false, object_from_js = false)]
pub struct DecompressOptions<'env> {
  /// Reject with `ERR_BUFFER_TOO_LARGE` (RangeError) as soon as the output would exceed this many
  /// bytes, 1-4294967296. Default 268435456 (256 MiB) for one-shot calls, where the whole output is
  /// held in memory; unlimited for streams, where it is pushed a chunk at a time as the reader
  /// takes it. node:zlib's default is 4294967296: a 4 MB request can inflate to 4 GB.
  pub max_output_length: Option<f64>,
  /// 'gzip', 'deflate': the largest window accepted, 8-15, or 0 (the default) for the one the
  /// header names. 'deflate-raw': the window, 8-15, default 15.
  pub window_bits: Option<u32>,
  /// 'brotli': `zlib.constants.BROTLI_DECODER_PARAM_DISABLE_RING_BUFFER_REALLOCATION`. 'zstd':
  /// `zlib.constants.ZSTD_d_windowLogMax` (10-31, default 27: frames that need a window over
  /// 128 MiB are refused).
  #[napi(ts_type = "Record<number, number>")]
  pub params: Option<Params>,
  /// Streams: the most output bytes pushed at once, >= 64; default 65536.
  pub chunk_size: Option<u32>,
  /// Aborts the call (between steps of at most 1 MiB of input); it rejects with an `AbortError`.
  /// Not for streams.
  #[napi(ts_type = "AbortSignal")]
  pub signal: Option<Signal<'env>>,
}

/// Validated `params` of one format.
pub enum Params {
  Brotli(Vec<(BrotliParam, u32)>),
  Zstd(Vec<(ZstdParam, i32)>),
}

fn format(value: JsArg) -> Result<Format> {
  let name = value.one_of("format", Format::NAMES)?;
  Ok(Format::from_name(name).expect("one_of returned a listed name"))
}

/// What every call's options resolve to beyond the format's settings.
struct Limits {
  max_output: usize,
  chunk_size: usize,
}

/// What `compress()` and `decompress()` (and their sync forms and streams) share: options decoded
/// for a format, resolved to the codec's settings, and the one-shot run.
trait CallOptions<'env>: Sized {
  type Settings: Send + 'static;
  /// `maxOutputLength` of a one-shot call that gives none.
  const ONE_SHOT_LIMIT: usize;

  fn decode(format: Format, options: &Options) -> Result<Self>;

  /// The codec's settings, limits and signal; `default_limit` where no `maxOutputLength` is given.
  fn settings(self, format: Format, default_limit: usize) -> (Self::Settings, Limits, Option<Signal<'env>>);

  fn run(
    format: Format,
    settings: &Self::Settings,
    input: &(impl Source + ?Sized),
    limit: usize,
    cancel: &Cancel,
  ) -> Result<Vec<u8>>;
}

/// A one-shot call's options, decoded for `format`: its settings, output limit and signal.
fn one_shot_options<'env, O: CallOptions<'env>>(
  format: Format,
  options: JsArg,
) -> Result<(O::Settings, usize, Option<Signal<'env>>)> {
  let (settings, limits, signal) = O::decode(format, &options.options("options")?)?.settings(format, O::ONE_SHOT_LIMIT);
  Ok((settings, limits.max_output, signal))
}

/// `compress()` and `decompress()`: the data is read (copied, or staged) before the options, as
/// node:zlib checks them, and the work runs on the pool.
fn one_shot<'env, O: CallOptions<'env>>(
  env: &'env Env,
  format: JsArg,
  data: JsArg,
  options: JsArg,
) -> napi::Result<PromiseRaw<'env, JsBuffer>> {
  spawn(env, || {
    // SAFETY: an export's JS thread (inside the call's panic guard: it reads a JS property).
    unsafe { host_zlib::bind(env.raw()) };
    let format = self::format(format)?;
    let data = data.byte_view("data")?;
    let (settings, limit, signal) = one_shot_options::<O>(format, options)?;
    Ok(Job::new(move |cancel| O::run(format, &settings, &data, limit, cancel).map(JsBuffer)).abortable(signal))
  })
}

/// `compressSync()` and `decompressSync()`: the caller's bytes are read in place, on this thread.
fn one_shot_sync<'env, O: CallOptions<'env>>(
  env: Env,
  format: JsArg,
  data: JsArg,
  options: JsArg,
) -> napi::Result<JsBuffer> {
  sync(&env, || {
    // SAFETY: an export's JS thread (inside the call's panic guard: it reads a JS property).
    unsafe { host_zlib::bind(env.raw()) };
    let format = self::format(format)?;
    let (settings, limit, _) = one_shot_options::<O>(format, options)?;
    data
      .with_bytes("data", |bytes| {
        O::run(format, &settings, bytes, limit, &Cancel::default())
      })?
      .map(JsBuffer)
  })
}

impl<'env> CallOptions<'env> for CompressOptions<'env> {
  type Settings = EncodeSettings;
  const ONE_SHOT_LIMIT: usize = MAX_OUTPUT_LIMIT as usize;

  fn decode(format: Format, options: &Options) -> Result<Self> {
    let level = match format {
      Format::Brotli => level(options, 0..=11)?,
      Format::Zstd => level(options, ZstdParam::CompressionLevel.range())?,
      _ => level(options, settings::DEFLATE_LEVELS)?,
    };
    // zlib's own options mean nothing to brotli and zstd, which ignore them, as node:zlib does.
    let deflate_only = |key, range| match format.is_deflate() {
      true => integer(options, key, range),
      false => Ok(None),
    };
    Ok(CompressOptions {
      level,
      window_bits: deflate_only("windowBits", settings::compress_window_bits(format == Format::Gzip))?,
      mem_level: deflate_only("memLevel", MEM_LEVELS)?,
      strategy: deflate_only("strategy", STRATEGIES)?,
      params: params(format, options, BrotliParam::encoder, ZstdParam::compressor)?,
      chunk_size: integer(options, "chunkSize", MIN_CHUNK_SIZE..=u32::MAX as u64)?,
      max_output_length: max_output_length(options)?,
      signal: options.signal()?,
    })
  }

  /// The compressor's settings, limits and signal. `level` comes first among brotli's and zstd's
  /// parameters, so `params` override it.
  fn settings(self, format: Format, default_limit: usize) -> (EncodeSettings, Limits, Option<Signal<'env>>) {
    let settings = match (format, self.params) {
      (Format::Brotli, params) => {
        let quality = self.level.map(|q| (BrotliParam::Quality, q as u32));
        let params = match params {
          Some(Params::Brotli(params)) => params,
          _ => Vec::new(),
        };
        EncodeSettings::Brotli(BrotliSettings {
          params: quality.into_iter().chain(params).collect(),
        })
      }
      (Format::Zstd, params) => {
        let level = self.level.map(|l| (ZstdParam::CompressionLevel, l));
        let params = match params {
          Some(Params::Zstd(params)) => params,
          _ => Vec::new(),
        };
        EncodeSettings::Zstd(ZstdSettings {
          params: level.into_iter().chain(params).collect(),
        })
      }
      _ => {
        let defaults = DeflateSettings::default();
        EncodeSettings::Deflate(DeflateSettings {
          window_bits: self.window_bits.map_or(defaults.window_bits, |n| n as u8),
          mem_level: self.mem_level.map_or(defaults.mem_level, |n| n as u8),
          strategy: self.strategy.map_or(defaults.strategy, |n| n as u8),
          ..defaults.with_level(self.level.map_or(-1, i64::from))
        })
      }
    };
    let limits = limits(self.max_output_length, self.chunk_size, default_limit);
    (settings, limits, self.signal)
  }

  fn run(
    format: Format,
    settings: &EncodeSettings,
    input: &(impl Source + ?Sized),
    limit: usize,
    cancel: &Cancel,
  ) -> Result<Vec<u8>> {
    codec::compress(format, settings, input, limit, cancel)
  }
}

impl<'env> CallOptions<'env> for DecompressOptions<'env> {
  type Settings = DecodeSettings;
  const ONE_SHOT_LIMIT: usize = DEFAULT_MAX_OUTPUT;

  fn decode(format: Format, options: &Options) -> Result<Self> {
    let window_bits = match format.is_deflate() {
      true => decompress_window_bits(options, format)?,
      false => None,
    };
    Ok(DecompressOptions {
      max_output_length: max_output_length(options)?,
      window_bits,
      params: params(format, options, BrotliParam::decoder, ZstdParam::decompressor)?,
      chunk_size: integer(options, "chunkSize", MIN_CHUNK_SIZE..=u32::MAX as u64)?,
      signal: options.signal()?,
    })
  }

  fn settings(self, _: Format, default_limit: usize) -> (DecodeSettings, Limits, Option<Signal<'env>>) {
    let mut settings = DecodeSettings {
      window_bits: self.window_bits.map(|n| n as u8),
      ..DecodeSettings::default()
    };
    match self.params {
      Some(Params::Brotli(params)) => settings.brotli.params = params,
      Some(Params::Zstd(params)) => settings.zstd.params = params,
      None => {}
    }
    let limits = limits(self.max_output_length, self.chunk_size, default_limit);
    (settings, limits, self.signal)
  }

  fn run(
    format: Format,
    settings: &DecodeSettings,
    input: &(impl Source + ?Sized),
    limit: usize,
    cancel: &Cancel,
  ) -> Result<Vec<u8>> {
    codec::decompress(format, settings, input, limit, cancel)
  }
}

fn limits(max_output_length: Option<f64>, chunk_size: Option<u32>, default_limit: usize) -> Limits {
  Limits {
    max_output: max_output_length.map_or(default_limit, |n| n as usize),
    chunk_size: chunk_size.map_or(DEFAULT_CHUNK_SIZE, |n| n as usize),
  }
}

/// An integer option in `range`, which ends within a `u32`.
fn integer(options: &Options, key: &str, range: RangeInclusive<u64>) -> Result<Option<u32>> {
  debug_assert!(*range.end() <= u64::from(u32::MAX), "{key} would not fit");
  Ok(whole(options, key, *range.start() as i64..=*range.end() as i64)?.map(|n| n as u32))
}

/// `level`, which may be negative (zlib's -1, zstd's fast levels).
fn level(options: &Options, range: RangeInclusive<i64>) -> Result<Option<i32>> {
  Ok(whole(options, "level", range)?.map(|n| n as i32))
}

/// `maxOutputLength`: up to 2^32, node:zlib's largest, one more than a `u32` holds.
fn max_output_length(options: &Options) -> Result<Option<f64>> {
  Ok(whole(options, "maxOutputLength", 1..=MAX_OUTPUT_LIMIT as i64)?.map(|n| n as f64))
}

/// `windowBits` of a decompressor: 8-15, or 0 (the header's window) for gzip and zlib streams, as
/// node:zlib takes it (zlib-rs panics on 1-7).
fn decompress_window_bits(options: &Options, format: Format) -> Result<Option<u32>> {
  let Some((n, path)) = number(options, "windowBits")? else {
    return Ok(None);
  };
  match n {
    0.0 if format != Format::DeflateRaw => Ok(Some(0)),
    n => in_range(&path, n, 8..=15).map(|n| Some(n as u32)),
  }
}

/// An integer option in `range`, if given.
fn whole(options: &Options, key: &str, range: RangeInclusive<i64>) -> Result<Option<i64>> {
  let Some((n, path)) = number(options, key)? else {
    return Ok(None);
  };
  in_range(&path, n, range).map(Some)
}

/// A number option and its path, if given: NaN counts as not given, as node:zlib has it (its
/// `checkRangesOrGetDefault` gives NaN the default).
fn number(options: &Options, key: &str) -> Result<Option<(f64, String)>> {
  let Some((value, path)) = options.get(key)? else {
    return Ok(None);
  };
  let n = value.number(&path)?;
  Ok((!n.is_nan()).then_some((n, path)))
}

/// `n` if it is an integer in `range`; otherwise `ERR_OUT_OF_RANGE`, in node:zlib's words.
fn in_range(path: &str, n: f64, range: RangeInclusive<i64>) -> Result<i64> {
  match n.fract() == 0.0 && *range.start() as f64 <= n && n <= *range.end() as f64 {
    true => Ok(n as i64),
    false => Err(OffloopError::out_of_range(
      path,
      &format!(">= {} and <= {}", range.start(), range.end()),
      &out_of_range_received(n),
    )),
  }
}

/// `params` of brotli or zstd (other formats ignore it, as node:zlib does).
fn params(
  format: Format,
  options: &Options,
  brotli: fn(u32) -> Option<BrotliParam>,
  zstd: fn(u32) -> Option<ZstdParam>,
) -> Result<Option<Params>> {
  let Some((object, path)) = options.get("params")? else {
    return Ok(None);
  };
  Ok(match format {
    Format::Brotli => Some(Params::Brotli(numeric_params(
      object,
      &path,
      "Brotli",
      "ERR_BROTLI_INVALID_PARAM",
      brotli,
      |p, v| p.check(v),
    )?)),
    Format::Zstd => Some(Params::Zstd(numeric_params(
      object,
      &path,
      "zstd",
      "ERR_ZSTD_INVALID_PARAM",
      zstd,
      |p, v| {
        let range = p.range();
        match range.contains(&v) {
          true => Ok(v as i32),
          false => Err(format!(">= {} && <= {}", range.start(), range.end())),
        }
      },
    )?)),
    _ => None,
  })
}

/// An object of numeric keys (node's `zlib.constants`) to integers or booleans, in key order. `known` names
/// the parameter a key stands for; `check` takes its value or says what the values are. An unknown
/// key is node's `ERR_BROTLI_INVALID_PARAM` / `ERR_ZSTD_INVALID_PARAM`.
fn numeric_params<P, V>(
  object: JsArg,
  path: &str,
  library: &str,
  code: &'static str,
  known: fn(u32) -> Option<P>,
  check: impl Fn(P, i64) -> std::result::Result<V, String>,
) -> Result<Vec<(P, V)>>
where
  P: Copy,
{
  if object.kind() != Kind::Object || object.is_array() {
    return Err(OffloopError::invalid_type(path, "of type object", &object.received()));
  }
  own_properties(object, path)?
    .into_iter()
    .map(|(key, value)| {
      let Some(param) = key.parse::<u32>().ok().and_then(known) else {
        return Err(OffloopError::new(
          ErrorKind::RangeError,
          code,
          format!("{key} is not a valid {library} parameter"),
        ));
      };
      let name = format!("{path}[{key}]");
      // node:zlib takes booleans too (as 1 and 0: its parameters go through a `Uint32Array`).
      let n = match value.kind() {
        Kind::Boolean => f64::from(u8::from(value.boolean(&name)?)),
        _ => value.number(&name)?,
      };
      if !n.is_finite() || n.fract() != 0.0 {
        return Err(OffloopError::out_of_range(
          &name,
          "an integer",
          &out_of_range_received(n),
        ));
      }
      check(param, n as i64)
        .map(|v| (param, v))
        .map_err(|range| OffloopError::out_of_range(&name, &range, &out_of_range_received(n)))
    })
    .collect()
}

/// The own enumerable string keys of `object` and their values, valid for the current call.
fn own_properties(object: JsArg, path: &str) -> Result<Vec<(String, JsArg)>> {
  let env = object.env();
  let unreadable = || OffloopError::invalid_value(path, "could not be read: a getter or proxy threw");
  let mut keys = ptr::null_mut();
  let mut count = 0u32;
  // SAFETY: JS thread of `env`; `object` is live for the call. A throwing proxy leaves an
  // exception pending, which is cleared and reported.
  unsafe {
    if sys::napi_get_property_names(env, object.raw(), &mut keys) != sys::Status::napi_ok
      || sys::napi_get_array_length(env, keys, &mut count) != sys::Status::napi_ok
    {
      clear_exception(env);
      return Err(unreadable());
    }
  }
  (0..count)
    .map(|i| {
      let (mut key, mut value) = (ptr::null_mut(), ptr::null_mut());
      // SAFETY: as above; `keys` is an array of `count` strings.
      let ok = unsafe {
        sys::napi_get_element(env, keys, i, &mut key) == sys::Status::napi_ok
          && sys::napi_get_property(env, object.raw(), key, &mut value) == sys::Status::napi_ok
      };
      if !ok {
        // SAFETY: as above.
        unsafe { clear_exception(env) };
        return Err(unreadable());
      }
      let key = JsArg::from_raw(env, key).string(path)?;
      Ok((key, JsArg::from_raw(env, value)))
    })
    .collect()
}

/// A Buffer made from bytes produced on the pool. Large ones become external Buffers over the
/// same memory (no copy on the JS thread), freed on the pool when JS collects them; small ones are
/// copied, which costs less than an external Buffer's bookkeeping.
pub struct JsBuffer(Vec<u8>);

/// Below this a copy is cheaper than an external Buffer (about 2 µs of bookkeeping).
const EXTERNAL_MIN: usize = 64 << 10;

/// From this size the memory is handed back to the OS on a pool thread, not in a GC finalizer.
const FREE_ON_POOL_MIN: usize = 1 << 20;

impl ToNapiValue for JsBuffer {
  unsafe fn to_napi_value(env: sys::napi_env, value: Self) -> napi::Result<sys::napi_value> {
    let bytes = value.0;
    let mut buffer = ptr::null_mut();
    if bytes.len() >= EXTERNAL_MIN {
      let (data, len) = (bytes.as_ptr(), bytes.len());
      let hint = Box::into_raw(Box::new(bytes));
      // SAFETY: JS thread of `env` (the caller's contract). `data` lives in the boxed Vec, which
      // only `free_bytes` frees: V8 calls it when the Buffer dies. On failure (a runtime that
      // refuses external memory) nothing took the box, and it is taken back below.
      let status = unsafe {
        sys::napi_create_external_buffer(
          env,
          len,
          data as *mut c_void,
          Some(free_bytes),
          hint.cast(),
          &mut buffer,
        )
      };
      if status == sys::Status::napi_ok {
        return Ok(buffer);
      }
      // SAFETY: the call failed, so the finalizer will never run: the box is still ours.
      let bytes = *unsafe { Box::from_raw(hint) };
      return copy(env, &bytes);
    }
    copy(env, &bytes)
  }
}

fn copy(env: sys::napi_env, bytes: &[u8]) -> napi::Result<sys::napi_value> {
  let mut buffer = ptr::null_mut();
  // SAFETY: JS thread of `env` (callers are `to_napi_value`); `bytes` outlives the call.
  let status =
    unsafe { sys::napi_create_buffer_copy(env, bytes.len(), bytes.as_ptr().cast(), ptr::null_mut(), &mut buffer) };
  if status != sys::Status::napi_ok {
    return Err(napi::Error::from_reason("offloop: cannot create the output Buffer"));
  }
  Ok(buffer)
}

unsafe extern "C" fn free_bytes(_env: sys::napi_env, _data: *mut c_void, hint: *mut c_void) {
  // SAFETY: `hint` is the box from `to_napi_value`; V8 calls this once.
  let bytes = unsafe { Box::from_raw(hint.cast::<Vec<u8>>()) };
  // By capacity, which decides the allocator: a block kept unshrunk (`worth_shrinking`) may hold
  // less than it spans.
  if bytes.capacity() >= FREE_ON_POOL_MIN {
    drop_later(bytes);
  }
}

/// Compresses `data` on offloop's pool, like node:zlib's `gzip()`, `deflate()`, `deflateRaw()`,
/// `brotliCompress()` and `zstdCompress()`; resolves with a Buffer.
///
/// Strings are compressed as UTF-8. Bytes are copied (large ones in 1 MiB slices between turns of
/// the loop): do not modify them until the promise settles. gzip/deflate output is node:zlib's byte for
/// byte (its own zlib, where Node exports it); brotli's at most qualities, within 0.3% at the others.
///
/// Rejects with a TypeError `ERR_INVALID_ARG_VALUE` for an unknown format, `ERR_INVALID_ARG_TYPE`
/// for a wrong type, a RangeError `ERR_OUT_OF_RANGE` for an option out of range,
/// `ERR_BROTLI_INVALID_PARAM` / `ERR_ZSTD_INVALID_PARAM` for an unknown parameter,
/// `ERR_BUFFER_TOO_LARGE` past `maxOutputLength`, and an `AbortError` when `options.signal` aborts.
#[napi(
  ts_args_type = "format: 'gzip' | 'deflate' | 'deflate-raw' | 'brotli' | 'zstd', data: string | ArrayBufferView | ArrayBuffer, options?: CompressOptions",
  ts_return_type = "Promise<Buffer>"
)]
pub fn compress<'env>(
  env: &'env Env,
  format: JsArg,
  data: JsArg,
  options: JsArg,
) -> napi::Result<PromiseRaw<'env, JsBuffer>> {
  one_shot::<CompressOptions>(env, format, data, options)
}

/// `compress()` on the calling thread, returning the Buffer: for scripts and small inputs. It
/// blocks the event loop for the whole compression.
///
/// @throws {TypeError} / {RangeError} as `compress()` rejects.
#[napi(
  catch_unwind,
  ts_args_type = "format: 'gzip' | 'deflate' | 'deflate-raw' | 'brotli' | 'zstd', data: string | ArrayBufferView | ArrayBuffer, options?: CompressOptions",
  ts_return_type = "Buffer"
)]
pub fn compress_sync(env: Env, format: JsArg, data: JsArg, options: JsArg) -> napi::Result<JsBuffer> {
  one_shot_sync::<CompressOptions>(env, format, data, options)
}

/// Decompresses `data` on offloop's pool, like node:zlib's `gunzip()`, `inflate()`,
/// `inflateRaw()`, `brotliDecompress()` and `zstdDecompress()`; resolves with a Buffer.
///
/// As node:zlib does: concatenated gzip members and zstd frames are all decompressed; bytes after
/// the end of the data are ignored (after a gzip member, only zero bytes or the end may follow).
/// The output is checked against `maxOutputLength` (default 256 MiB) while it is produced, so a
/// decompression bomb fails early and nothing partial is returned.
///
/// Rejects with `Z_DATA_ERROR` (errno -3) for corrupt data in any format, `Z_BUF_ERROR` (errno -5,
/// "unexpected end of file") for data cut short (including empty input), a RangeError
/// `ERR_BUFFER_TOO_LARGE` past `maxOutputLength`, the argument errors of `compress()`, and an
/// `AbortError` when `options.signal` aborts.
#[napi(
  ts_args_type = "format: 'gzip' | 'deflate' | 'deflate-raw' | 'brotli' | 'zstd', data: string | ArrayBufferView | ArrayBuffer, options?: DecompressOptions",
  ts_return_type = "Promise<Buffer>"
)]
pub fn decompress<'env>(
  env: &'env Env,
  format: JsArg,
  data: JsArg,
  options: JsArg,
) -> napi::Result<PromiseRaw<'env, JsBuffer>> {
  one_shot::<DecompressOptions>(env, format, data, options)
}

/// `decompress()` on the calling thread, returning the Buffer. It blocks the event loop for the
/// whole decompression.
///
/// @throws {Error} / {TypeError} / {RangeError} as `decompress()` rejects.
#[napi(
  catch_unwind,
  ts_args_type = "format: 'gzip' | 'deflate' | 'deflate-raw' | 'brotli' | 'zstd', data: string | ArrayBufferView | ArrayBuffer, options?: DecompressOptions",
  ts_return_type = "Buffer"
)]
pub fn decompress_sync(env: Env, format: JsArg, data: JsArg, options: JsArg) -> napi::Result<JsBuffer> {
  one_shot_sync::<DecompressOptions>(env, format, data, options)
}

/// The engine of `createCompressStream()` / `createDecompressStream()` (`offloop/stream`), for
/// building other stream types on: each call queues its work on offloop's pool, in order, and
/// resolves with the output it produced, at most `chunkSize` bytes. When `more` is true after a
/// call settles, that call has more output: call `resume()` (when the reader wants it) before
/// anything else.
#[napi(custom_finalize)]
pub struct StreamCodec {
  shared: Shared,
  gate: Rc<Gate>,
  format: Format,
}

/// What a stream's queued calls share with the object.
#[derive(Clone)]
struct Shared {
  serial: Serial<StreamState>,
  more: Arc<AtomicBool>,
  /// The native memory the codec holds, as V8 was told (`StreamOutput`): a codec holds 40 KB to
  /// several MB behind a small object, and streams never ended piled up before V8 collected them
  /// (4,000 zstd compressors grew the process by 980 MiB).
  memory: ExternalMemory,
  /// Set by `close()`, at once: the call running on the pool stops at its next slice of input.
  /// Without it a closed stream's write ran on to the end of its chunk (seconds per MB for brotli
  /// at quality 11) on a pool thread whose result nobody wanted.
  stop: Cancel,
}

/// A call, ready to queue on the pool; given the JS thread's env.
type Call = Box<dyn FnOnce(sys::napi_env)>;

/// Keeps a stream's calls in order while a large chunk is copied between turns of the loop: the
/// calls made meanwhile wait here and reach the pool after it, in the order they were made.
#[derive(Default)]
struct Gate {
  staging: Cell<bool>,
  waiting: RefCell<VecDeque<Call>>,
}

impl Gate {
  /// Runs `call` now, or after the staging in progress and the calls already waiting.
  fn enter(&self, env: sys::napi_env, call: Call) {
    if self.staging.get() {
      self.waiting.borrow_mut().push_back(call);
    } else {
      call(env);
    }
  }

  /// The staging ended: runs the waiting calls until one of them stages a chunk in turn.
  fn release(&self, env: sys::napi_env) {
    self.staging.set(false);
    while !self.staging.get() {
      let Some(call) = self.waiting.borrow_mut().pop_front() else {
        break;
      };
      call(env);
    }
  }
}

#[napi]
impl StreamCodec {
  /// @throws {TypeError} / {RangeError} for arguments and options as `compress()` /
  /// `decompress()` reject them. `maxOutputLength` limits the whole stream's output (default: no
  /// limit); `signal` is not taken.
  #[napi(
    constructor,
    catch_unwind,
    ts_args_type = "direction: 'compress' | 'decompress', format: 'gzip' | 'deflate' | 'deflate-raw' | 'brotli' | 'zstd', options?: CompressOptions | DecompressOptions"
  )]
  pub fn new(env: Env, direction: JsArg, format: JsArg, options: JsArg) -> napi::Result<Self> {
    sync(&env, || {
      // SAFETY: an export's JS thread (inside the call's panic guard: it reads a JS property).
      unsafe { host_zlib::bind(env.raw()) };
      let direction = direction.one_of("direction", &["compress", "decompress"])?;
      let format = self::format(format)?;
      let options = options.options("options")?;
      let (recipe, limits) = match direction {
        "compress" => {
          let (settings, limits, _) = CompressOptions::decode(format, &options)?.settings(format, usize::MAX);
          (Recipe::Compress(format, settings), limits)
        }
        _ => {
          let (settings, limits, _) = DecompressOptions::decode(format, &options)?.settings(format, usize::MAX);
          (Recipe::Decompress(format, settings), limits)
        }
      };
      Ok(StreamCodec {
        shared: Shared {
          serial: Serial::new(StreamState::new(recipe, limits.max_output, limits.chunk_size)),
          more: Arc::new(AtomicBool::new(false)),
          memory: ExternalMemory::default(),
          stop: Cancel::new(),
        },
        gate: Rc::default(),
        format,
      })
    })
  }

  /// Queues `chunk` (a string is UTF-8); resolves with the output so far. The bytes are copied, as
  /// `compress()` copies them (a chunk of 1 MiB or more in slices between turns of the loop, and
  /// the calls made meanwhile wait for that copy): do not modify the chunk until the promise
  /// settles.
  ///
  /// Rejects with `Z_DATA_ERROR` for corrupt data, `ERR_BUFFER_TOO_LARGE` past `maxOutputLength`,
  /// `ERR_INVALID_STATE` after `end()`, after a failed call, while `more` is true, or when the
  /// chunk's memory was transferred or shrunk while it was copied (the stream then fails).
  #[napi(
    ts_args_type = "chunk: string | ArrayBufferView | ArrayBuffer",
    ts_return_type = "Promise<Buffer>"
  )]
  pub fn write<'env>(&self, env: &'env Env, chunk: JsArg) -> napi::Result<PromiseRaw<'env, StreamOutput>> {
    // SAFETY: JS thread of `env` (an export).
    let (input, staged) = match unsafe { stage::decoding(env.raw(), || chunk.byte_view("chunk")) } {
      Ok(decoded) => decoded,
      Err(error) => return rejected(env, error),
    };
    let input = match input {
      Ok(input) => input,
      Err(error) => {
        // SAFETY: as above.
        unsafe { staged.discard(env.raw()) };
        return rejected(env, error);
      }
    };
    if staged.is_empty() {
      return self.run(env, move |state, cancel| state.begin(input, Flush::None, cancel));
    }
    let (promise, settler) = match promise::<StreamOutput>(env.raw()) {
      Ok(made) => made,
      Err(error) => {
        // SAFETY: as above.
        unsafe { staged.discard(env.raw()) };
        return rejected(env, error);
      }
    };
    let (shared, gate) = (self.shared.clone(), self.gate.clone());
    let start: Call = Box::new(move |env| {
      gate.staging.set(true);
      let ready: stage::Ready = Box::new(move |env, copied| {
        // A chunk that could not be copied fails the stream, in its place among the calls: what
        // follows it would not be the data the caller wrote.
        shared.queue(settler, move |state, cancel| match copied {
          Ok(()) => state.begin(input, Flush::None, cancel),
          Err(error) => {
            state.close();
            Err(error)
          }
        });
        gate.release(env);
      });
      staged.stage(env, ready);
    });
    self.gate.enter(env.raw(), start);
    Ok(PromiseRaw::new(env.raw(), promise))
  }

  /// Makes everything written so far decodable from the output so far, as node:zlib's `flush()`,
  /// with its format's constants. gzip/deflate: `zlib.constants.Z_FULL_FLUSH` (3, the default)
  /// also resets the history (a reader may start there), `Z_SYNC_FLUSH` (2) does not,
  /// `Z_PARTIAL_FLUSH` (1) and `Z_BLOCK` (5) are zlib's, `Z_FINISH` (4) ends the stream (`end()`
  /// then adds nothing), `Z_NO_FLUSH` (0) does nothing. brotli: `BROTLI_OPERATION_FLUSH` (1, the
  /// default; 3 too), `BROTLI_OPERATION_FINISH` (2). zstd: `ZSTD_e_flush` (1, the default),
  /// `ZSTD_e_end` (2).
  #[napi(ts_args_type = "kind?: number", ts_return_type = "Promise<Buffer>")]
  pub fn flush<'env>(&self, env: &'env Env, kind: JsArg) -> napi::Result<PromiseRaw<'env, StreamOutput>> {
    let format = self.format;
    let flush = match kind.is_nullish() {
      true => Ok(Flush::from_node(format, None)),
      false => kind
        .integer("kind", 0, Flush::node_kinds(format).into())
        .map(|kind| Flush::from_node(format, Some(kind as u32))),
    };
    match flush {
      Ok(flush) => self.run(env, move |state, cancel| {
        state.begin(ByteView::Copied(Vec::new()), flush, cancel)
      }),
      Err(error) => rejected(env, error),
    }
  }

  /// Ends the stream: resolves with the last of the output (a compressor's trailer). Rejects with
  /// `Z_BUF_ERROR` when compressed input ended early.
  #[napi(ts_return_type = "Promise<Buffer>")]
  pub fn end<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, StreamOutput>> {
    self.run(env, |state, cancel| {
      state.begin(ByteView::Copied(Vec::new()), Flush::Finish, cancel)
    })
  }

  /// Goes on with the last call while `more` is true, resolving with its next output.
  #[napi(ts_return_type = "Promise<Buffer>")]
  pub fn resume<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, StreamOutput>> {
    self.run(env, |state, cancel| state.resume(cancel))
  }

  /// Stops the stream and frees its memory: the call running on the pool stops within a slice of
  /// its input and rejects with an `AbortError` (the calls queued behind it, and later calls,
  /// with `ERR_INVALID_STATE`). For streams that end early (a destroyed response).
  #[napi(catch_unwind)]
  pub fn close(&self, env: Env) {
    self.shared.stop.cancel();
    // The codec is freed on the pool in a moment: V8 need not wait for this object's collection to
    // hear it. (A call settling after this reports what it saw; the finalizer takes that back.)
    // SAFETY: an export's JS thread.
    unsafe { self.shared.memory.set(env.raw(), 0) };
    let serial = self.shared.serial.clone();
    // Refused only when the pool's queue is full; the memory is then freed with this object.
    self
      .gate
      .enter(env.raw(), Box::new(move |_| drop(serial.run(StreamState::close))));
  }

  /// Whether the last settled call has more output for `resume()`.
  #[napi(getter)]
  pub fn more(&self) -> bool {
    self.shared.more.load(Ordering::Acquire)
  }
}

impl ObjectFinalize for StreamCodec {
  fn finalize(self, env: Env) -> napi::Result<()> {
    // SAFETY: finalizers run on the object's JS thread.
    unsafe { self.shared.memory.finalize(env.raw()) };
    Ok(())
  }
}

/// A stream call's output, and the memory its codec holds after it, which V8 is told as the call
/// settles.
pub struct StreamOutput {
  bytes: JsBuffer,
  held: usize,
  memory: ExternalMemory,
}

impl ToNapiValue for StreamOutput {
  unsafe fn to_napi_value(env: sys::napi_env, value: Self) -> napi::Result<sys::napi_value> {
    // SAFETY: JS thread of `env` (the caller's contract), for both calls.
    unsafe {
      value.memory.set(env, value.held);
      JsBuffer::to_napi_value(env, value.bytes)
    }
  }
}

impl StreamCodec {
  /// Runs `work` on the stream's state after every call made before it, and settles its promise.
  fn run<'env>(
    &self,
    env: &'env Env,
    work: impl FnOnce(&mut StreamState, &Cancel) -> Result<Chunk> + Send + 'static,
  ) -> napi::Result<PromiseRaw<'env, StreamOutput>> {
    let (promise, settler) = match promise::<StreamOutput>(env.raw()) {
      Ok(made) => made,
      Err(error) => return rejected(env, error),
    };
    let shared = self.shared.clone();
    self
      .gate
      .enter(env.raw(), Box::new(move |_| shared.queue(settler, work)));
    Ok(PromiseRaw::new(env.raw(), promise))
  }
}

impl Shared {
  /// Queues `work` on the stream's state, after every task queued before it, to settle `settler`.
  fn queue(
    self,
    settler: Settler<StreamOutput>,
    work: impl FnOnce(&mut StreamState, &Cancel) -> Result<Chunk> + Send + 'static,
  ) {
    let Shared {
      serial,
      more,
      memory,
      stop,
    } = self;
    settler.settle_from(|settle| {
      serial.run(move |state| {
        let result = work(state, &stop).map(|chunk| {
          more.store(chunk.more, Ordering::Release);
          StreamOutput {
            bytes: JsBuffer(chunk.bytes),
            held: chunk.held,
            memory,
          }
        });
        if result.is_err() {
          more.store(false, Ordering::Release);
        }
        settle(result);
      })
    });
  }
}
