//! The `#[napi]` layer of password hashing: decode arguments, hand the work to the pool.

use argon2_rust::Algorithm;
use napi::bindgen_prelude::{Either, PromiseRaw};
use napi::Env;
use napi_derive::napi;

use super::argon2::{self, HashParams};
use super::stored::{CostLimits, StoredHash};
use super::Secret;
use crate::runtime::abort::Signal;
use crate::runtime::args::Options;
use crate::runtime::{spawn, sync, Job, JsArg, OffloopError, Result};

const ALGORITHMS: &[&str] = &["argon2id", "argon2i", "argon2d"];

/// Options of `hashPassword()`. Defaults are OWASP's recommendation for argon2id.
#[napi(object, object_to_js = false, object_from_js = false)]
pub struct HashPasswordOptions<'env> {
  /// Default `'argon2id'`.
  #[napi(ts_type = "'argon2id' | 'argon2i' | 'argon2d'")]
  pub algorithm: Option<Algorithm>,
  /// Memory in KiB, at least 8 × `parallelism`. Default 19456 (19 MiB).
  pub memory_cost: Option<u32>,
  /// Passes over memory. Default 2.
  pub time_cost: Option<u32>,
  /// Lanes, 1–255. Default 1.
  pub parallelism: Option<u32>,
  /// Tag length in bytes, 4–1024. Default 32.
  pub output_length: Option<u32>,
  /// 8–1024 bytes. Default: 16 random bytes from the operating system. Leave it unset.
  #[napi(ts_type = "Uint8Array")]
  pub salt: Option<Vec<u8>>,
  /// A pepper kept outside the database; verify needs the same one. Not stored in the hash.
  #[napi(ts_type = "string | Uint8Array")]
  pub secret: Option<Secret>,
  /// Bound into the hash and stored in it as `data=`, as node-argon2 does.
  #[napi(ts_type = "string | Uint8Array")]
  pub associated_data: Option<Vec<u8>>,
  /// Aborts the call while it waits for a thread; rejects with an `AbortError`.
  #[napi(ts_type = "AbortSignal")]
  pub signal: Option<Signal<'env>>,
}

/// Options of `verifyPassword()`.
#[napi(object, object_to_js = false, object_from_js = false)]
pub struct VerifyPasswordOptions<'env> {
  /// The pepper the hash was made with, if any.
  #[napi(ts_type = "string | Uint8Array")]
  pub secret: Option<Secret>,
  /// The largest argon2 memory cost (KiB) a stored hash may ask for. Default 1048576 (1 GiB).
  /// A stored hash over a limit is refused with `ERR_HASH_COST_LIMIT` before any work.
  pub max_memory_cost: Option<u32>,
  /// The largest argon2 time cost a stored hash may ask for. Default 64.
  pub max_time_cost: Option<u32>,
  /// The largest bcrypt cost a stored hash may ask for, 4–31. Default 16.
  pub max_bcrypt_cost: Option<u32>,
  /// Aborts the call while it waits for a thread; rejects with an `AbortError`.
  #[napi(ts_type = "AbortSignal")]
  pub signal: Option<Signal<'env>>,
}

/// The parameters `needsRehash()` compares a stored hash with. Defaults are `hashPassword()`'s.
#[napi(object, object_to_js = false, object_from_js = false)]
pub struct RehashOptions {
  #[napi(ts_type = "'argon2id' | 'argon2i' | 'argon2d'")]
  pub algorithm: Option<Algorithm>,
  pub memory_cost: Option<u32>,
  pub time_cost: Option<u32>,
  pub parallelism: Option<u32>,
  pub output_length: Option<u32>,
}

fn algorithm(name: &str) -> Algorithm {
  match name {
    "argon2i" => Algorithm::Argon2i,
    "argon2d" => Algorithm::Argon2d,
    _ => Algorithm::Argon2id,
  }
}

fn u32_option(options: &Options, key: &str, min: u32, max: u32) -> Result<Option<u32>> {
  Ok(options.integer(key, min.into(), max.into())?.map(|n| n as u32))
}

impl RehashOptions {
  fn decode(options: &Options) -> Result<Self> {
    Ok(RehashOptions {
      algorithm: options.one_of("algorithm", ALGORITHMS)?.map(algorithm),
      memory_cost: u32_option(options, "memoryCost", 8, u32::MAX)?,
      time_cost: u32_option(options, "timeCost", 1, u32::MAX)?,
      parallelism: u32_option(options, "parallelism", 1, 255)?,
      output_length: u32_option(options, "outputLength", 4, 1024)?,
    })
  }

  fn params(&self) -> Result<HashParams> {
    let default = HashParams::default();
    let params = HashParams {
      algorithm: self.algorithm.unwrap_or(default.algorithm),
      memory_cost: self.memory_cost.unwrap_or(default.memory_cost),
      time_cost: self.time_cost.unwrap_or(default.time_cost),
      parallelism: self.parallelism.unwrap_or(default.parallelism),
      output_length: self.output_length.unwrap_or(default.output_length),
    };
    let min_memory = 8 * params.parallelism;
    if params.memory_cost < min_memory {
      return Err(OffloopError::out_of_range(
        "options.memoryCost",
        &format!(">= 8 x parallelism ({min_memory})"),
        &params.memory_cost.to_string(),
      ));
    }
    Ok(params)
  }
}

impl<'env> HashPasswordOptions<'env> {
  fn decode(options: JsArg) -> Result<Self> {
    let options = options.options("options")?;
    let shape = RehashOptions::decode(&options)?;
    let salt = options.binary("salt")?;
    if let Some(salt) = &salt {
      if !(8..=1024).contains(&salt.len()) {
        return Err(OffloopError::out_of_range(
          "options.salt.byteLength",
          ">= 8 && <= 1024",
          &salt.len().to_string(),
        ));
      }
    }
    Ok(HashPasswordOptions {
      algorithm: shape.algorithm,
      memory_cost: shape.memory_cost,
      time_cost: shape.time_cost,
      parallelism: shape.parallelism,
      output_length: shape.output_length,
      salt,
      secret: options.secret("secret")?,
      associated_data: options.bytes("associatedData")?,
      signal: options.signal()?,
    })
  }

  fn params(&self) -> Result<HashParams> {
    RehashOptions {
      algorithm: self.algorithm,
      memory_cost: self.memory_cost,
      time_cost: self.time_cost,
      parallelism: self.parallelism,
      output_length: self.output_length,
    }
    .params()
  }
}

impl<'env> VerifyPasswordOptions<'env> {
  fn decode(options: JsArg) -> Result<Self> {
    let options = options.options("options")?;
    Ok(VerifyPasswordOptions {
      secret: options.secret("secret")?,
      max_memory_cost: u32_option(&options, "maxMemoryCost", 8, u32::MAX)?,
      max_time_cost: u32_option(&options, "maxTimeCost", 1, u32::MAX)?,
      max_bcrypt_cost: u32_option(&options, "maxBcryptCost", 4, 31)?,
      signal: options.signal()?,
    })
  }

  fn limits(&self) -> CostLimits {
    let default = CostLimits::default();
    CostLimits {
      max_memory_cost: self.max_memory_cost.unwrap_or(default.max_memory_cost),
      max_time_cost: self.max_time_cost.unwrap_or(default.max_time_cost),
      max_bcrypt_cost: self.max_bcrypt_cost.unwrap_or(default.max_bcrypt_cost),
    }
  }
}

fn password(value: JsArg) -> Result<Secret> {
  value.secret("password")
}

fn stored_hash(value: JsArg) -> Result<String> {
  value.string_near_secret("hash")
}

/// What a hash needs on the pool thread, owned.
struct HashJob {
  password: Secret,
  params: HashParams,
  salt: Option<Vec<u8>>,
  secret: Option<Secret>,
  associated_data: Option<Vec<u8>>,
}

impl HashJob {
  fn decode<'env>(password: JsArg, options: JsArg) -> Result<(HashJob, Option<Signal<'env>>)> {
    let password = self::password(password)?;
    let options = HashPasswordOptions::decode(options)?;
    let params = options.params()?;
    let HashPasswordOptions {
      salt,
      secret,
      associated_data,
      signal,
      ..
    } = options;
    Ok((
      HashJob {
        password,
        params,
        salt,
        secret,
        associated_data,
      },
      signal,
    ))
  }

  fn run(self) -> Result<String> {
    argon2::hash(
      &self.password,
      &self.params,
      self.salt.as_deref(),
      self.secret.as_deref().map_or(&[][..], |s| &s[..]),
      self.associated_data.as_deref().unwrap_or_default(),
    )
  }
}

/// What a verify needs on the pool thread, owned.
struct VerifyJob {
  hash: String,
  password: Secret,
  secret: Option<Secret>,
  limits: CostLimits,
}

impl VerifyJob {
  fn decode<'env>(hash: JsArg, password: JsArg, options: JsArg) -> Result<(VerifyJob, Option<Signal<'env>>)> {
    let hash = stored_hash(hash)?;
    let password = self::password(password)?;
    let options = VerifyPasswordOptions::decode(options)?;
    let limits = options.limits();
    let VerifyPasswordOptions { secret, signal, .. } = options;
    Ok((
      VerifyJob {
        hash,
        password,
        secret,
        limits,
      },
      signal,
    ))
  }

  fn run(self) -> Result<bool> {
    super::verify(
      &self.hash,
      &self.password,
      self.secret.as_deref().map_or(&[][..], |s| &s[..]),
      &self.limits,
    )
  }
}

/// Hashes a password with argon2 (argon2id by default, at OWASP's parameters) on offloop's pool and
/// resolves with a PHC string such as `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`.
///
/// Memory is taken when the job runs, not while it waits: many queued hashes cost
/// `threads × memoryCost`, not `calls × memoryCost`.
///
/// Rejects with `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` (TypeError) or `ERR_OUT_OF_RANGE`
/// (RangeError) for bad arguments, `ERR_QUEUE_FULL` when `maxQueue` jobs wait, and an `AbortError`
/// when `options.signal` aborts.
#[napi(ts_args_type = "password: string | Uint8Array, options?: HashPasswordOptions")]
pub fn hash_password<'env>(env: &'env Env, password: JsArg, options: JsArg) -> napi::Result<PromiseRaw<'env, String>> {
  spawn(env, || {
    let (job, signal) = HashJob::decode(password, options)?;
    Ok(Job::new(move |_| job.run()).abortable(signal))
  })
}

/// `hashPassword()` on the calling thread. It blocks the event loop for the whole hash (tens of
/// milliseconds at the defaults): for scripts and CLIs, not servers. `options.signal` is ignored.
#[napi(
  catch_unwind,
  ts_args_type = "password: string | Uint8Array, options?: HashPasswordOptions"
)]
pub fn hash_password_sync(env: Env, password: JsArg, options: JsArg) -> napi::Result<String> {
  sync(&env, || HashJob::decode(password, options)?.0.run())
}

/// Verifies a password against a stored hash: argon2id/argon2i/argon2d PHC strings (parameters in
/// any order, as node-argon2 and @node-rs/argon2 write them, with `data=`) and legacy bcrypt
/// (`$2a$`, `$2b$`, `$2y$`). Resolves `true` or `false`; the comparison is constant-time.
///
/// Rejects with `ERR_INVALID_HASH` for a malformed hash and `ERR_HASH_COST_LIMIT` (before any work)
/// for a stored cost above `maxMemoryCost`, `maxTimeCost` or `maxBcryptCost`. No message contains the
/// hash or the password.
#[napi(ts_args_type = "hash: string, password: string | Uint8Array, options?: VerifyPasswordOptions")]
pub fn verify_password<'env>(
  env: &'env Env,
  hash: JsArg,
  password: JsArg,
  options: JsArg,
) -> napi::Result<PromiseRaw<'env, bool>> {
  spawn(env, || {
    let (job, signal) = VerifyJob::decode(hash, password, options)?;
    Ok(Job::new(move |_| job.run()).abortable(signal))
  })
}

/// `verifyPassword()` on the calling thread. Blocks the event loop for the whole hash: for scripts
/// and CLIs, not servers. `options.signal` is ignored.
#[napi(
  catch_unwind,
  ts_args_type = "hash: string, password: string | Uint8Array, options?: VerifyPasswordOptions"
)]
pub fn verify_password_sync(env: Env, hash: JsArg, password: JsArg, options: JsArg) -> napi::Result<bool> {
  sync(&env, || VerifyJob::decode(hash, password, options)?.0.run())
}

/// True when `hash` was not made with the target parameters (default: `hashPassword()`'s), or is
/// argon2 version 0x10, or is bcrypt. After a successful login, re-hash and store the new string.
/// Synchronous: it only parses the string.
///
/// @throws {Error} `ERR_INVALID_HASH` for a malformed hash.
#[napi(catch_unwind, ts_args_type = "hash: string, options?: RehashOptions")]
pub fn needs_rehash(env: Env, hash: JsArg, options: JsArg) -> napi::Result<bool> {
  sync(&env, || {
    let stored = StoredHash::parse(&stored_hash(hash)?)?;
    let target = RehashOptions::decode(&options.options("options")?)?.params()?;
    Ok(argon2::needs_rehash(&stored, &target))
  })
}

/// The parameters of an argon2 hash, as `parsePasswordHash()` reports them.
#[napi(object, object_from_js = false)]
pub struct Argon2HashInfo {
  #[napi(ts_type = "'argon2id' | 'argon2i' | 'argon2d'")]
  pub algorithm: String,
  /// 19 (0x13) or 16 (0x10).
  pub version: u32,
  pub memory_cost: u32,
  pub time_cost: u32,
  pub parallelism: u32,
  pub salt_length: u32,
  pub output_length: u32,
}

/// The parameters of a bcrypt hash, as `parsePasswordHash()` reports them.
#[napi(object, object_from_js = false)]
pub struct BcryptHashInfo {
  #[napi(ts_type = "'bcrypt'")]
  pub algorithm: String,
  pub cost: u32,
}

/// Reads the algorithm and parameters of a stored hash without verifying anything. Synchronous.
///
/// @throws {Error} `ERR_INVALID_HASH` for a malformed hash.
#[napi(catch_unwind, ts_args_type = "hash: string")]
pub fn parse_password_hash(env: Env, hash: JsArg) -> napi::Result<Either<Argon2HashInfo, BcryptHashInfo>> {
  sync(&env, || {
    Ok(match StoredHash::parse(&stored_hash(hash)?)? {
      StoredHash::Argon2(h) => Either::A(Argon2HashInfo {
        algorithm: h.algorithm.as_str().to_owned(),
        version: h.version.as_u32(),
        memory_cost: h.memory_cost,
        time_cost: h.time_cost,
        parallelism: h.parallelism,
        salt_length: h.salt.len() as u32,
        output_length: h.tag.len() as u32,
      }),
      StoredHash::Bcrypt(h) => Either::B(BcryptHashInfo {
        algorithm: "bcrypt".into(),
        cost: h.cost,
      }),
    })
  })
}
