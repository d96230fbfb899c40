//! `configure()` and `poolStats()`: the pool, as JavaScript sees it.

use napi::Env;
use napi_derive::napi;

use super::args::JsArg;
use super::pool::{self, PoolConfig, Priority, MAX_THREADS};
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
  /// How pool threads share the CPU. `'background'` (default; the `OFFLOOP_PRIORITY` environment
  /// variable can set either): on Linux they run in the `SCHED_IDLE` class, so the JS thread, GC
  /// and libuv's threads get a core the moment they want one, and jobs use the CPU time those leave.
  /// `'normal'`: the JS thread's own class; jobs get a fair share of a machine whose other threads
  /// want every core (several busy cluster workers, say), and the event loop waits for the
  /// scheduler more often. Elsewhere than Linux both run at normal priority.
  #[napi(ts_type = "'background' | 'normal'")]
  pub priority: Option<String>,
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
      priority: options.one_of("priority", &Priority::NAMES)?.map(str::to_owned),
    };
    pool::configure(PoolConfig {
      threads: options.threads.map(|n| n as usize),
      max_queue: options.max_queue.map(|n| n as usize),
      priority: options.priority.as_deref().and_then(Priority::from_name),
    })
  })
}

/// A snapshot of offloop's pool, cheap enough for a metrics endpoint.
#[napi(object, object_from_js = false)]
pub struct PoolStats {
  /// Worker threads in the pool.
  pub threads: u32,
  /// The priority the threads run at: `'normal'` where `'background'` is not available.
  #[napi(ts_type = "'background' | 'normal'")]
  pub priority: String,
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
///
/// @throws {Error} `ERR_OFFLOOP_POOL_START` when the pool cannot start its threads.
#[napi(catch_unwind)]
pub fn pool_stats(env: Env) -> napi::Result<PoolStats> {
  let stats = sync(&env, || Ok(pool::pool()?.stats()))?;
  Ok(PoolStats {
    threads: stats.threads as u32,
    priority: stats.priority.name().to_owned(),
    queued: stats.queued as u32,
    running: stats.running as u32,
    completed: stats.completed as f64,
    failed: stats.failed as f64,
    cancelled: stats.cancelled as f64,
  })
}
