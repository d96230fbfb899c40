//! offloop's own process-wide Rayon pool: not Rayon's global pool (a user's own Rayon code keeps its
//! threads) and not libuv's threadpool (fs, dns.lookup and zlib keep theirs).
//!
//! The pool is created on first use, so `configure()` can size it first. Every worker_thread of the
//! process shares it: one pool per process keeps the thread count equal to the cores, however many
//! workers load the addon.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::error::{OffloopError, Result};

/// What `configure()` may set before the pool starts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolConfig {
  /// Worker threads; `None` = `OFFLOOP_THREADS`, else the available parallelism.
  pub threads: Option<usize>,
  /// Jobs allowed to wait for a thread; `None` = unbounded.
  pub max_queue: Option<usize>,
}

pub struct Pool {
  threads: rayon::ThreadPool,
  max_queue: Option<usize>,
  queued: AtomicUsize,
  running: AtomicUsize,
  completed: AtomicU64,
  failed: AtomicU64,
  cancelled: AtomicU64,
}

/// A consistent-enough snapshot for a metrics endpoint: plain atomic loads, no locks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
  pub threads: usize,
  pub queued: usize,
  pub running: usize,
  pub completed: u64,
  pub failed: u64,
  pub cancelled: u64,
}

/// How a job ended, for the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
  Completed,
  Failed,
  /// Skipped before it ran: aborted while queued, or its JS environment is gone.
  Cancelled,
}

static PENDING_CONFIG: Mutex<PoolConfig> = Mutex::new(PoolConfig {
  threads: None,
  max_queue: None,
});
static POOL: OnceLock<Pool> = OnceLock::new();

/// The stack of each pool thread. Virtual memory: pages are touched only as deep as a job
/// recurses. Deep enough for recursive jobs (jq programs, deeply nested values) to run without
/// switching to a stack of their own, which cost an `mmap` and `munmap` per job.
pub const STACK_SIZE: usize = 64 << 20;

/// Upper bound for `threads`; more than this is a typo, not a machine.
pub const MAX_THREADS: usize = 1024;

/// Sets the pool's size and queue bound. Only before the first job: a running pool cannot be
/// resized without dropping or stalling work that other callers already queued.
pub fn configure(config: PoolConfig) -> Result<()> {
  let mut pending = PENDING_CONFIG.lock().unwrap_or_else(|e| e.into_inner());
  if POOL.get().is_some() {
    return Err(OffloopError::error(
      "ERR_OFFLOOP_ALREADY_STARTED",
      "configure() must be called before the first offloop call: the pool is already running",
    ));
  }
  *pending = config;
  Ok(())
}

/// The pool, started on first use with the configured (or default) size.
pub fn pool() -> &'static Pool {
  POOL.get_or_init(|| {
    let config = *PENDING_CONFIG.lock().unwrap_or_else(|e| e.into_inner());
    let threads = config.threads.unwrap_or_else(default_threads);
    Pool::new(threads, config.max_queue)
  })
}

/// `OFFLOOP_THREADS` when it holds a sane number, else the available parallelism.
fn default_threads() -> usize {
  std::env::var("OFFLOOP_THREADS")
    .ok()
    .and_then(|v| v.trim().parse::<usize>().ok())
    .filter(|n| (1..=MAX_THREADS).contains(n))
    .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

impl Pool {
  fn new(threads: usize, max_queue: Option<usize>) -> Self {
    let threads = rayon::ThreadPoolBuilder::new()
      .num_threads(threads)
      .thread_name(|i| format!("offloop-{i}"))
      .stack_size(STACK_SIZE)
      // Jobs catch their own panics (see `submit`); this handler only keeps a panic that escapes
      // anyway from aborting the user's process, which is Rayon's default.
      .panic_handler(|_| {})
      .build()
      .expect("offloop: cannot start the thread pool");
    Pool {
      threads,
      max_queue,
      queued: AtomicUsize::new(0),
      running: AtomicUsize::new(0),
      completed: AtomicU64::new(0),
      failed: AtomicU64::new(0),
      cancelled: AtomicU64::new(0),
    }
  }

  /// Queues `job`, or refuses with `ERR_QUEUE_FULL` when `maxQueue` jobs already wait.
  ///
  /// `job` returns how it ended and a `deliver` step that the pool runs after updating its
  /// counters, so a caller who sees the promise settle also sees `poolStats()` count the job.
  /// Both run inside `catch_unwind`: a panic counts as a failure and never unwinds into Rayon (the
  /// bridge catches the panics of the work itself, to reject promises).
  pub fn submit<J, D>(&'static self, job: J) -> Result<()>
  where
    J: FnOnce() -> (Outcome, D) + Send + 'static,
    D: FnOnce(),
  {
    let queued = self.queued.fetch_add(1, Ordering::AcqRel);
    if let Some(max) = self.max_queue {
      if queued >= max {
        self.queued.fetch_sub(1, Ordering::AcqRel);
        return Err(OffloopError::error(
          "ERR_QUEUE_FULL",
          format!("offloop's queue is full: {max} jobs are already waiting (configure({{ maxQueue }}))"),
        ));
      }
    }
    self.threads.spawn(move || {
      self.queued.fetch_sub(1, Ordering::AcqRel);
      self.running.fetch_add(1, Ordering::AcqRel);
      let finished = catch_unwind(AssertUnwindSafe(job));
      let outcome = finished.as_ref().map_or(Outcome::Failed, |(outcome, _)| *outcome);
      self.running.fetch_sub(1, Ordering::AcqRel);
      match outcome {
        Outcome::Completed => &self.completed,
        Outcome::Failed => &self.failed,
        Outcome::Cancelled => &self.cancelled,
      }
      .fetch_add(1, Ordering::Release);
      if let Ok((_, deliver)) = finished {
        let _ = catch_unwind(AssertUnwindSafe(deliver));
      }
    });
    Ok(())
  }

  /// Drops `value` on a pool thread, uncounted. Freeing a large buffer hands its pages back to the
  /// OS, milliseconds for a few hundred MB: in a GC finalizer on the JS thread that is a stall.
  pub fn drop_later<T: Send + 'static>(&self, value: T) {
    self.threads.spawn(move || drop(value));
  }

  /// Runs `f` inside the pool, so Rayon's parallel iterators in it use offloop's threads.
  /// Used by sync exports and tests; async jobs already run on a pool thread.
  pub fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
    self.threads.install(f)
  }

  pub fn stats(&self) -> PoolStats {
    PoolStats {
      threads: self.threads.current_num_threads(),
      queued: self.queued.load(Ordering::Relaxed),
      running: self.running.load(Ordering::Relaxed),
      completed: self.completed.load(Ordering::Relaxed),
      failed: self.failed.load(Ordering::Relaxed),
      cancelled: self.cancelled.load(Ordering::Relaxed),
    }
  }
}

/// How long a pool thread runs before it offers its core to a waiting thread.
const GIVE_WAY_EVERY: Duration = Duration::from_micros(500);

/// Offers this thread's core to a runnable thread that waits for it, at most every
/// [`GIVE_WAY_EVERY`]; long jobs call it between chunks (through `Cancel::check`).
///
/// Why: with as many pool threads as cores, the JS thread, woken by a timer or a socket, waits in
/// the run queue until the scheduler preempts a pool thread: 4–6 ms seen on 2 cores (Linux 6.18,
/// EEVDF) during a 200 ms jq call, each one an event-loop stall. Yielding costs nothing when no
/// thread waits (the call returns at once) and takes no CPU share away: the scheduler keeps
/// fairness in virtual runtime, which a yield does not spend. Measured on the same call: the
/// longest stall went from 4–6 ms to 2.5–3.6 ms, throughput unchanged within noise.
pub fn give_way() {
  thread_local!(static NEXT: Cell<Option<Instant>> = const { Cell::new(None) });
  NEXT.with(|next| {
    let now = Instant::now();
    if next.get().is_some_and(|at| now < at) {
      return;
    }
    if next.get().is_some() {
      std::thread::yield_now();
    }
    next.set(Some(now + GIVE_WAY_EVERY));
  });
}

#[cfg(test)]
mod tests {
  use super::*;
  use std::sync::mpsc;

  fn leaked(threads: usize, max_queue: Option<usize>) -> &'static Pool {
    Box::leak(Box::new(Pool::new(threads, max_queue)))
  }

  #[test]
  fn runs_jobs_on_named_threads_and_counts_them() {
    let pool = leaked(2, None);
    let (tx, rx) = mpsc::channel();
    for _ in 0..10 {
      let tx = tx.clone();
      pool
        .submit(move || {
          tx.send(std::thread::current().name().unwrap().to_owned()).unwrap();
          (Outcome::Completed, || ())
        })
        .unwrap();
    }
    let names: Vec<String> = (0..10).map(|_| rx.recv().unwrap()).collect();
    assert!(names.iter().all(|n| n == "offloop-0" || n == "offloop-1"), "{names:?}");
    while pool.stats().completed < 10 {
      std::thread::yield_now();
    }
    assert_eq!(pool.stats().threads, 2);
  }

  #[test]
  fn a_panicking_job_counts_as_failed_and_the_pool_lives_on() {
    let pool = leaked(1, None);
    pool.submit(|| -> (Outcome, fn()) { panic!("boom") }).unwrap();
    let (tx, rx) = mpsc::channel();
    pool
      .submit(move || (Outcome::Completed, move || tx.send(()).unwrap()))
      .unwrap();
    rx.recv().unwrap();
    // Delivery runs after the counters: whoever is told the job ended sees it counted.
    assert_eq!(pool.stats().completed, 1);
    assert_eq!(pool.stats().failed, 1);
  }

  #[test]
  fn max_queue_refuses_beyond_the_bound() {
    let pool = leaked(1, Some(2));
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let (started_tx, started_rx) = mpsc::channel::<()>();
    pool
      .submit(move || {
        started_tx.send(()).unwrap();
        release_rx.recv().unwrap();
        (Outcome::Completed, || ())
      })
      .unwrap();
    started_rx.recv().unwrap();
    let done = || (Outcome::Completed, || ());
    pool.submit(done).unwrap();
    pool.submit(done).unwrap();
    let err = pool.submit(done).unwrap_err();
    assert_eq!(err.code, "ERR_QUEUE_FULL");
    release_tx.send(()).unwrap();
  }
}
