//! `configure()` and `poolStats()`: the pool, as JavaScript sees it.

use napi::Env;
use napi_derive::napi;

use super::args::JsArg;
use super::pool::{self, PoolConfig, MAX_THREADS};
use super::sync;

/// Options of `configure()`.
#[napi(object, object_to_js = false, object_from_js = false)]
pub struct PoolOptions {
  /// Worker threads of offloop's pool. Default: the `OFFLOOP_THREADS` environment variable, else
  /// the number of CPU cores (`os.availableParallelism()`). 1–1024.
  pub threads: Option<u32>,
  /// How many jobs may wait for a thread before calls reject with `ERR_QUEUE_FULL`.
  /// Default: unbounded. 0 means no job may wait.
  pub max_queue: Option<u32>,
}

/// Sizes offloop's thread pool. Call it once, before the first offloop call (for example at the
/// top of your entry file): the pool starts on first use and cannot be resized after.
///
/// @throws {Error} `ERR_OFFLOOP_ALREADY_STARTED` when the pool is already running.
/// @throws {RangeError} `ERR_OUT_OF_RANGE` for `threads` outside 1–1024 or a negative `maxQueue`.
#[napi(catch_unwind, ts_args_type = "options: PoolOptions")]
pub fn configure(env: Env, options: JsArg) -> napi::Result<()> {
  sync(&env, || {
    let options = options.options("options")?;
    let options = PoolOptions {
      threads: options.integer("threads", 1, MAX_THREADS as u64)?.map(|n| n as u32),
      max_queue: options.integer("maxQueue", 0, u32::MAX as u64)?.map(|n| n as u32),
    };
    pool::configure(PoolConfig {
      threads: options.threads.map(|n| n as usize),
      max_queue: options.max_queue.map(|n| n as usize),
    })
  })
}

/// A snapshot of offloop's pool, cheap enough for a metrics endpoint.
#[napi(object, object_from_js = false)]
pub struct PoolStats {
  /// Worker threads in the pool.
  pub threads: u32,
  /// Jobs waiting for a thread.
  pub queued: u32,
  /// Jobs running now.
  pub running: u32,
  /// Jobs that finished and resolved their promise.
  pub completed: f64,
  /// Jobs that finished with an error (including panics, `ERR_OFFLOOP_PANIC`).
  pub failed: f64,
  /// Jobs skipped before they ran: aborted while queued, or their worker_thread was gone.
  pub cancelled: f64,
}

/// Returns the pool's counters; starts the pool if it is not running yet.
#[napi(catch_unwind)]
pub fn pool_stats() -> PoolStats {
  let stats = pool::pool().stats();
  PoolStats {
    threads: stats.threads as u32,
    queued: stats.queued as u32,
    running: stats.running as u32,
    completed: stats.completed as f64,
    failed: stats.failed as f64,
    cancelled: stats.cancelled as f64,
  }
}
