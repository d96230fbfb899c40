//! The `#[napi]` layer of hashing: decode arguments, hand the work to the pool.

use napi::bindgen_prelude::{PromiseRaw, This, ToNapiValue};
use napi::{sys, Env};
use napi_derive::napi;
use rayon::prelude::*;
use zeroize::Zeroizing;

use super::encoding::{Encoded, Encoding};
use super::engine::{digest_view, Algorithm, Engine};
use super::file::{self, Threads};
use super::incremental::Incremental;
use crate::runtime::abort::Signal;
use crate::runtime::bytes::ByteView;
use crate::runtime::iterate::{for_await, Consumer};
use crate::runtime::{promise, rejected, spawn, stage, sync, Job, JsArg, OffloopError, Result};

/// Options of the async hashing calls.
#[napi(object, object_to_js = false, object_from_js = false)]
pub struct DigestOptions<'env> {
  /// Aborts the call (while it waits for a thread, or between chunks of a large input or file);
  /// it rejects with an `AbortError`.
  #[napi(ts_type = "AbortSignal")]
  pub signal: Option<Signal<'env>>,
}

fn algorithm(value: JsArg) -> Result<Algorithm> {
  let name = value.one_of("algorithm", Algorithm::NAMES)?;
  Ok(Algorithm::from_name(name).expect("one_of returned a listed name"))
}

fn encoding(value: JsArg) -> Result<Encoding> {
  if value.is_nullish() {
    return Ok(Encoding::Hex);
  }
  let name = value.one_of("encoding", Encoding::NAMES)?;
  Ok(Encoding::from_name(name).expect("one_of returned a listed name"))
}

fn signal<'env>(options: JsArg) -> Result<Option<Signal<'env>>> {
  let options = DigestOptions {
    signal: options.options("options")?.signal()?,
  };
  Ok(options.signal)
}

/// A secret key, copied and wiped after use.
fn key(value: JsArg) -> Result<Zeroizing<Vec<u8>>> {
  value.secret("key")
}

/// Paths are strings: Node's Buffer and URL paths are not accepted, to keep one spelling.
fn path(value: JsArg, name: &str) -> Result<String> {
  let path = value.string(name)?;
  if path.contains('\0') {
    return Err(OffloopError::invalid_value(name, "must be a string without null bytes"));
  }
  Ok(path)
}

/// Hashes on the calling thread (sync exports). Never through the pool, even for BLAKE3: the pool
/// may be busy with queued jobs, and a sync call must not wait behind them.
fn digest_now(mut engine: Box<dyn Engine>, data: &[u8]) -> Vec<u8> {
  engine.update(data);
  engine.finish()
}

impl ToNapiValue for Encoded {
  unsafe fn to_napi_value(env: sys::napi_env, value: Self) -> napi::Result<sys::napi_value> {
    let mut result = std::ptr::null_mut();
    // SAFETY: napi-rs calls this on the JS thread of `env`. Digests are small: copying them into
    // a JS string or Buffer is cheaper than an external buffer.
    let status = unsafe {
      match &value {
        Encoded::Text(text) => {
          sys::napi_create_string_latin1(env, text.as_ptr().cast(), text.len() as isize, &mut result)
        }
        Encoded::Bytes(bytes) => sys::napi_create_buffer_copy(
          env,
          bytes.len(),
          bytes.as_ptr().cast(),
          std::ptr::null_mut(),
          &mut result,
        ),
      }
    };
    if status == sys::Status::napi_ok {
      Ok(result)
    } else {
      Err(napi::Error::from_reason("offloop: cannot create the digest value"))
    }
  }
}

/// Hashes `data` on offloop's pool, like node:crypto's `crypto.hash(algorithm, data, encoding)`.
///
/// `algorithm`: 'sha256', 'sha384', 'sha512', 'sha512-256' or 'blake3'. `encoding`: 'hex'
/// (default), 'base64', 'base64url' (unpadded) or 'buffer' (resolves with a Buffer). Strings are
/// hashed as UTF-8. A view of 1 MiB or more is copied on the JS thread in slices between turns of
/// the event loop: do not modify, transfer or resize it until the promise settles. BLAKE3 splits a
/// large input over the pool's threads.
///
/// Rejects with a TypeError `ERR_INVALID_ARG_VALUE` for an unknown algorithm or encoding (the
/// message lists the supported ones), `ERR_INVALID_ARG_TYPE` for a wrong type, `ERR_INVALID_STATE`
/// when `data` was detached (transferred) or shrunk before offloop copied it, and an `AbortError`
/// when `options.signal` aborts.
#[napi(
  ts_generic_types = "E extends 'hex' | 'base64' | 'base64url' | 'buffer' = 'hex'",
  ts_args_type = "algorithm: 'sha256' | 'sha384' | 'sha512' | 'sha512-256' | 'blake3', data: string | ArrayBufferView | ArrayBuffer, encoding?: E, options?: DigestOptions",
  ts_return_type = "Promise<E extends 'buffer' ? Buffer : string>"
)]
pub fn hash<'env>(
  env: &'env Env,
  algorithm: JsArg,
  data: JsArg,
  encoding: JsArg,
  options: JsArg,
) -> napi::Result<PromiseRaw<'env, Encoded>> {
  spawn(env, || {
    let algorithm = self::algorithm(algorithm)?;
    let data = data.byte_view("data")?;
    let encoding = self::encoding(encoding)?;
    let signal = signal(options)?;
    Ok(Job::new(move |cancel| Ok(encoding.encode(digest_view(algorithm.hasher(), &data, cancel)?))).abortable(signal))
  })
}

/// `hash()` on the calling thread, returning the digest: for small inputs, where the hop to the
/// pool costs more than the hash (SHA-256 of 4 KiB takes about 2.5 µs). It blocks the event loop for
/// the whole hash.
///
/// @throws {TypeError} `ERR_INVALID_ARG_VALUE` / `ERR_INVALID_ARG_TYPE` as `hash()` rejects.
#[napi(
  catch_unwind,
  ts_generic_types = "E extends 'hex' | 'base64' | 'base64url' | 'buffer' = 'hex'",
  ts_args_type = "algorithm: 'sha256' | 'sha384' | 'sha512' | 'sha512-256' | 'blake3', data: string | ArrayBufferView | ArrayBuffer, encoding?: E",
  ts_return_type = "E extends 'buffer' ? Buffer : string"
)]
pub fn hash_sync(env: Env, algorithm: JsArg, data: JsArg, encoding: JsArg) -> napi::Result<Encoded> {
  sync(&env, || {
    let algorithm = self::algorithm(algorithm)?;
    let encoding = self::encoding(encoding)?;
    data
      .with_bytes("data", |bytes| digest_now(algorithm.hasher(), bytes))
      .map(|digest| encoding.encode(digest))
  })
}

/// Hashes many inputs in one call, spread over the pool; resolves with the digests in input order.
/// Each input is what `hash()` takes, copied as there.
///
/// Rejects like `hash()`; `ERR_INVALID_ARG_TYPE` names the bad element (`inputs[3]`).
#[napi(
  ts_generic_types = "E extends 'hex' | 'base64' | 'base64url' | 'buffer' = 'hex'",
  ts_args_type = "algorithm: 'sha256' | 'sha384' | 'sha512' | 'sha512-256' | 'blake3', inputs: Array<string | ArrayBufferView | ArrayBuffer>, encoding?: E, options?: DigestOptions",
  ts_return_type = "Promise<Array<E extends 'buffer' ? Buffer : string>>"
)]
pub fn hash_many<'env>(
  env: &'env Env,
  algorithm: JsArg,
  inputs: JsArg,
  encoding: JsArg,
  options: JsArg,
) -> napi::Result<PromiseRaw<'env, Vec<Encoded>>> {
  spawn(env, || {
    let algorithm = self::algorithm(algorithm)?;
    let inputs = inputs.array_of("inputs", 0..=u32::MAX, |input, name| input.byte_view(name))?;
    let encoding = self::encoding(encoding)?;
    let signal = signal(options)?;
    Ok(
      Job::new(move |cancel| {
        inputs
          .par_iter()
          .map(|input| Ok(encoding.encode(digest_view(algorithm.hasher(), input, cancel)?)))
          .collect()
      })
      .abortable(signal),
    )
  })
}

/// Hashes a file, read in Rust a chunk at a time (never whole in memory). Reading the next chunk
/// overlaps hashing the current one, and BLAKE3 splits each chunk over the pool's threads.
///
/// Rejects with Node's fs errors (`code` `ENOENT`, `EISDIR`, `EACCES`..., with `syscall` and
/// `path`), `ERR_INVALID_ARG_TYPE` for a path that is not a string, and an `AbortError` when
/// `options.signal` aborts (checked between chunks).
#[napi(
  ts_generic_types = "E extends 'hex' | 'base64' | 'base64url' | 'buffer' = 'hex'",
  ts_args_type = "algorithm: 'sha256' | 'sha384' | 'sha512' | 'sha512-256' | 'blake3', path: string, encoding?: E, options?: DigestOptions",
  ts_return_type = "Promise<E extends 'buffer' ? Buffer : string>"
)]
pub fn hash_file<'env>(
  env: &'env Env,
  algorithm: JsArg,
  path: JsArg,
  encoding: JsArg,
  options: JsArg,
) -> napi::Result<PromiseRaw<'env, Encoded>> {
  spawn(env, || {
    let algorithm = self::algorithm(algorithm)?;
    let path = self::path(path, "path")?;
    let encoding = self::encoding(encoding)?;
    let signal = signal(options)?;
    Ok(
      Job::new(move |cancel| Ok(encoding.encode(file::hash_file(algorithm.hasher(), &path, Threads::Pool, cancel)?)))
        .abortable(signal),
    )
  })
}

/// Hashes many files in parallel, one per pool thread at a time (so thousands of paths never run
/// out of file descriptors); resolves with the digests in path order.
///
/// Rejects, like `Promise.all`, with the error of a file that failed (its `path` says which), or
/// as `hashFile()` does.
#[napi(
  ts_generic_types = "E extends 'hex' | 'base64' | 'base64url' | 'buffer' = 'hex'",
  ts_args_type = "algorithm: 'sha256' | 'sha384' | 'sha512' | 'sha512-256' | 'blake3', paths: Array<string>, encoding?: E, options?: DigestOptions",
  ts_return_type = "Promise<Array<E extends 'buffer' ? Buffer : string>>"
)]
pub fn hash_files<'env>(
  env: &'env Env,
  algorithm: JsArg,
  paths: JsArg,
  encoding: JsArg,
  options: JsArg,
) -> napi::Result<PromiseRaw<'env, Vec<Encoded>>> {
  spawn(env, || {
    let algorithm = self::algorithm(algorithm)?;
    let paths = paths.array_of("paths", 0..=u32::MAX, path)?;
    let encoding = self::encoding(encoding)?;
    let signal = signal(options)?;
    Ok(
      Job::new(move |cancel| {
        paths
          .par_iter()
          .map(|path| Ok(encoding.encode(file::hash_file(algorithm.hasher(), path, Threads::One, cancel)?)))
          .collect()
      })
      .abortable(signal),
    )
  })
}

/// HMAC of `data` under `key` on offloop's pool, like
/// `crypto.createHmac(algorithm, key).update(data).digest(encoding)`. For 'blake3' it is BLAKE3's
/// keyed mode, whose key must be exactly 32 bytes.
///
/// To check a MAC you received, compare with `crypto.timingSafeEqual()` on the decoded bytes (or
/// use `encoding: 'buffer'`), never with `===`.
///
/// Rejects like `hash()`, and with a RangeError `ERR_OUT_OF_RANGE` for a 'blake3' key that is not
/// 32 bytes. The key never appears in a message.
#[napi(
  ts_generic_types = "E extends 'hex' | 'base64' | 'base64url' | 'buffer' = 'hex'",
  ts_args_type = "algorithm: 'sha256' | 'sha384' | 'sha512' | 'sha512-256' | 'blake3', key: string | ArrayBufferView | ArrayBuffer, data: string | ArrayBufferView | ArrayBuffer, encoding?: E, options?: DigestOptions",
  ts_return_type = "Promise<E extends 'buffer' ? Buffer : string>"
)]
pub fn hmac<'env>(
  env: &'env Env,
  algorithm: JsArg,
  key: JsArg,
  data: JsArg,
  encoding: JsArg,
  options: JsArg,
) -> napi::Result<PromiseRaw<'env, Encoded>> {
  spawn(env, || {
    let algorithm = self::algorithm(algorithm)?;
    let engine = algorithm.mac(&self::key(key)?)?;
    let data = data.byte_view("data")?;
    let encoding = self::encoding(encoding)?;
    let signal = signal(options)?;
    Ok(Job::new(move |cancel| Ok(encoding.encode(digest_view(engine, &data, cancel)?))).abortable(signal))
  })
}

/// `hmac()` on the calling thread, returning the MAC: for small inputs.
///
/// @throws {TypeError} / {RangeError} as `hmac()` rejects.
#[napi(
  catch_unwind,
  ts_generic_types = "E extends 'hex' | 'base64' | 'base64url' | 'buffer' = 'hex'",
  ts_args_type = "algorithm: 'sha256' | 'sha384' | 'sha512' | 'sha512-256' | 'blake3', key: string | ArrayBufferView | ArrayBuffer, data: string | ArrayBufferView | ArrayBuffer, encoding?: E",
  ts_return_type = "E extends 'buffer' ? Buffer : string"
)]
pub fn hmac_sync(env: Env, algorithm: JsArg, key: JsArg, data: JsArg, encoding: JsArg) -> napi::Result<Encoded> {
  sync(&env, || {
    let algorithm = self::algorithm(algorithm)?;
    let engine = algorithm.mac(&self::key(key)?)?;
    let encoding = self::encoding(encoding)?;
    data
      .with_bytes("data", |bytes| digest_now(engine, bytes))
      .map(|digest| encoding.encode(digest))
  })
}

/// A hash fed piece by piece, like node:crypto's `Hash`, made by `createHasher()`. Each `update()`
/// queues its chunk and returns at once; the chunks are hashed on offloop's pool, in order, one at
/// a time. `digest()` resolves once all of them are hashed.
#[napi]
pub struct Hasher {
  /// `None` once `digest()` was called.
  incremental: Option<Incremental>,
}

fn finalized() -> OffloopError {
  OffloopError::error("ERR_CRYPTO_HASH_FINALIZED", "Digest already called")
}

/// Queues the final step of `incremental` and returns the promise of its digest.
fn finish(env: sys::napi_env, incremental: &Incremental, encoding: Encoding) -> Result<sys::napi_value> {
  let (promise, settler) = promise::<Encoded>(env)?;
  settler.settle_from(|settle| incremental.finish(move |digest| settle(Ok(encoding.encode(digest)))));
  Ok(promise)
}

#[napi]
impl Hasher {
  /// `new Hasher(algorithm)` is `createHasher(algorithm)`.
  ///
  /// @throws {TypeError} `ERR_INVALID_ARG_VALUE` for an unknown algorithm (the message lists them).
  #[napi(
    constructor,
    catch_unwind,
    ts_args_type = "algorithm: 'sha256' | 'sha384' | 'sha512' | 'sha512-256' | 'blake3'"
  )]
  pub fn new(env: Env, algorithm: JsArg) -> napi::Result<Self> {
    sync(&env, || {
      Ok(Hasher {
        incremental: Some(Incremental::new(self::algorithm(algorithm)?.hasher())),
      })
    })
  }

  /// Queues `data` (a string is hashed as UTF-8) and returns this hasher, for chaining. The bytes are
  /// copied, so the caller may reuse its buffer at once, as with node:crypto. For one large buffer,
  /// `hash()` avoids that copy.
  ///
  /// @throws {Error} `ERR_CRYPTO_HASH_FINALIZED` after `digest()`.
  /// @throws {TypeError} `ERR_INVALID_ARG_TYPE` for data that is not a string or bytes.
  #[napi(catch_unwind, ts_args_type = "data: string | ArrayBufferView | ArrayBuffer")]
  pub fn update<'env>(&mut self, env: Env, this: This<'env>, data: JsArg) -> napi::Result<This<'env>> {
    sync(&env, || {
      let incremental = self.incremental.as_ref().ok_or_else(finalized)?;
      incremental.update(ByteView::Copied(data.bytes("data")?))?;
      Ok(this)
    })
  }

  /// Resolves with the digest of everything passed to `update()`, in `encoding` ('hex' by default,
  /// 'base64', 'base64url' or 'buffer'). The hasher cannot be used after.
  ///
  /// Rejects with `ERR_CRYPTO_HASH_FINALIZED` when called twice, `ERR_INVALID_ARG_VALUE` for an
  /// unknown encoding.
  #[napi(
    ts_generic_types = "E extends 'hex' | 'base64' | 'base64url' | 'buffer' = 'hex'",
    ts_args_type = "encoding?: E",
    ts_return_type = "Promise<E extends 'buffer' ? Buffer : string>"
  )]
  pub fn digest<'env>(&mut self, env: &'env Env, encoding: JsArg) -> napi::Result<PromiseRaw<'env, Encoded>> {
    let result = OffloopError::catching(|| {
      let encoding = self::encoding(encoding)?;
      let incremental = self.incremental.take().ok_or_else(finalized)?;
      finish(env.raw(), &incremental, encoding)
    });
    match result {
      Ok(promise) => Ok(PromiseRaw::new(env.raw(), promise)),
      Err(error) => rejected(env, error),
    }
  }
}

/// Starts an incremental hash, like node:crypto's `createHash(algorithm)`:
/// `createHasher('sha256').update(a).update(b).digest('hex')` resolves with the same string as
/// `crypto.createHash('sha256').update(a).update(b).digest('hex')` returns.
///
/// @throws {TypeError} `ERR_INVALID_ARG_VALUE` for an unknown algorithm (the message lists them).
#[napi(
  catch_unwind,
  ts_args_type = "algorithm: 'sha256' | 'sha384' | 'sha512' | 'sha512-256' | 'blake3'"
)]
pub fn create_hasher(env: Env, algorithm: JsArg) -> napi::Result<Hasher> {
  Hasher::new(env, algorithm)
}

/// Chunks of a stream queued for hashing; the stream waits while more than this is queued, so a
/// fast source cannot pile up memory ahead of the hash.
const STREAM_BACKLOG_MAX: usize = 8 << 20;

/// `hashStream()`'s consumer of the source's chunks.
struct StreamDigest {
  env: sys::napi_env,
  incremental: Incremental,
  encoding: Encoding,
}

impl Consumer for StreamDigest {
  /// Every chunk is copied before the next one is asked for: an iterable may refill one buffer for
  /// each chunk (a parser's read buffer, a `fileHandle.read(buffer)` loop), or transfer or shrink it
  /// once it has moved on. Small chunks are copied at once; a large one is copied on the JS thread
  /// between turns of the loop, and the next chunk waits for that copy, not for the hash.
  fn item(&mut self, chunk: JsArg) -> Result<Option<sys::napi_value>> {
    // SAFETY: JS thread of `self.env` (the loop runs there).
    let (chunk, staged) = unsafe { stage::decoding(self.env, || chunk.byte_view("chunk"))? };
    let chunk = match chunk {
      Ok(chunk) => chunk,
      Err(error) => {
        // SAFETY: as above.
        unsafe { staged.discard(self.env) };
        return Err(error);
      }
    };
    if staged.is_empty() {
      self.incremental.update(chunk)?;
      return self.wait_for_backlog();
    }
    let (promise, settler) = promise::<()>(self.env)?;
    let incremental = self.incremental.clone();
    let ready: stage::Ready = Box::new(move |_, copied| match copied.and_then(|()| incremental.update(chunk)) {
      Ok(()) if incremental.backlog() > STREAM_BACKLOG_MAX => {
        settler.settle_from(|settle| incremental.after(move || settle(Ok(()))))
      }
      result => settler.settle(result),
    });
    staged.stage(self.env, ready);
    Ok(Some(promise))
  }

  fn finish(self, env: sys::napi_env) -> Result<sys::napi_value> {
    finish(env, &self.incremental, self.encoding)
  }
}

impl StreamDigest {
  /// When more than `STREAM_BACKLOG_MAX` waits to be hashed, a promise that resolves once the hash
  /// has caught up: the stream waits for it.
  fn wait_for_backlog(&self) -> Result<Option<sys::napi_value>> {
    if self.incremental.backlog() <= STREAM_BACKLOG_MAX {
      return Ok(None);
    }
    let (promise, settler) = promise::<()>(self.env)?;
    settler.settle_from(|settle| self.incremental.after(move || settle(Ok(()))));
    Ok(Some(promise))
  }
}

/// Hashes every chunk of `source` (a Node stream such as an HTTP request or `fs.createReadStream()`,
/// an async generator, or any (async) iterable of strings and bytes) and resolves with the digest.
///
/// The JS thread only moves and copies chunks: each is copied (so a source may reuse or transfer its
/// buffer as soon as it yields the next chunk) and hashed on offloop's pool, in order, while the
/// next one is read. A chunk of 1 MiB or more is copied in slices between turns of the event loop
/// before the next one is asked for. When more than 8 MiB waits to be hashed, reading pauses until
/// the hash catches up.
///
/// Rejects with whatever the source throws or rejects with (a stream's `'error'`), with
/// `ERR_INVALID_ARG_TYPE` for a chunk that is not a string or bytes (the stream is then destroyed
/// through the iterator's `return()`), or for a source that is not iterable.
#[napi(
  ts_generic_types = "E extends 'hex' | 'base64' | 'base64url' | 'buffer' = 'hex'",
  ts_args_type = "algorithm: 'sha256' | 'sha384' | 'sha512' | 'sha512-256' | 'blake3', source: AsyncIterable<string | ArrayBufferView | ArrayBuffer> | Iterable<string | ArrayBufferView | ArrayBuffer>, encoding?: E",
  ts_return_type = "Promise<E extends 'buffer' ? Buffer : string>"
)]
pub fn hash_stream<'env>(
  env: &'env Env,
  algorithm: JsArg,
  source: JsArg,
  encoding: JsArg,
) -> napi::Result<PromiseRaw<'env, Encoded>> {
  let decoded = OffloopError::catching(|| Ok((self::algorithm(algorithm)?, self::encoding(encoding)?)));
  match decoded {
    Ok((algorithm, encoding)) => for_await(
      env,
      source,
      "source",
      StreamDigest {
        env: env.raw(),
        incremental: Incremental::new(algorithm.hasher()),
        encoding,
      },
    ),
    Err(error) => rejected(env, error),
  }
}
