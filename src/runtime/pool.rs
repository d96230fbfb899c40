//! offloop's own process-wide Rayon pool: not Rayon's global pool (a user's own Rayon code keeps its
//! threads) and not libuv's threadpool (fs, dns.lookup and zlib keep theirs).
//!
//! The pool is created on first use, so `configure()` can size it first. Every worker_thread of the
//! process shares it: one pool per process keeps the thread count equal to the cores, however many
//! workers load the addon.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::error::{OffloopError, Result};

/// What `configure()` may set before the pool starts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolConfig {
  /// Worker threads; `None` = `OFFLOOP_THREADS`, else the available parallelism.
  pub threads: Option<usize>,
  /// Jobs allowed to wait for a thread; `None` = unbounded.
  pub max_queue: Option<usize>,
  /// `None` = `OFFLOOP_PRIORITY`, else [`Priority::Background`].
  pub priority: Option<Priority>,
}

/// How the pool's threads compete for a core with the JS thread (and everything else).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Priority {
  /// Linux `SCHED_IDLE`: a pool thread runs on what the other threads leave idle and gives its core
  /// up the moment one of them wakes. On the default class the JS thread, woken by a timer or a
  /// socket, can wait for the scheduler tick behind a busy pool thread, and so does a GC pause;
  /// nice values, `SCHED_BATCH` and a shorter slice do not change that (measurements:
  /// benchmark/NOTES.md, "Pool priority"). The price: when the machine's other threads want every
  /// core (several busy cluster workers, say), jobs wait.
  #[default]
  Background,
  /// The default scheduling class, the one the JS thread has: jobs get a fair share of a busy
  /// machine, and the loop waits for the scheduler more often.
  Normal,
}

impl Priority {
  pub const NAMES: [&'static str; 2] = [Priority::Background.name(), Priority::Normal.name()];

  pub fn from_name(name: &str) -> Option<Self> {
    [Priority::Background, Priority::Normal]
      .into_iter()
      .find(|p| p.name() == name)
  }

  pub const fn name(self) -> &'static str {
    match self {
      Priority::Background => "background",
      Priority::Normal => "normal",
    }
  }
}

pub struct Pool {
  threads: rayon::ThreadPool,
  max_queue: Option<usize>,
  priority: Priority,
  /// Set by a thread that could not take the configured priority (every thread, off Linux):
  /// `stats()` reports what holds.
  priority_refused: Arc<AtomicBool>,
  queued: AtomicUsize,
  running: AtomicUsize,
  /// Jobs accepted and not yet ended, queued or running: what `max_queue` bounds, beyond the
  /// threads. (`queued` alone counted a job given to an idle thread until it started, so
  /// `maxQueue: 0` refused every call.)
  in_flight: AtomicUsize,
  completed: AtomicU64,
  failed: AtomicU64,
  cancelled: AtomicU64,
}

/// A consistent-enough snapshot for a metrics endpoint: plain atomic loads, no locks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
  pub threads: usize,
  /// The priority every thread runs at: `Normal` where `Background` is not available.
  pub priority: Priority,
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
  priority: None,
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
///
/// Starting can fail: the process may be at its thread limit (`ulimit -u`, a container's pids
/// limit) or out of address space for the stacks. Every export then ends with
/// `ERR_OFFLOOP_POOL_START`, and the next call tries again.
pub fn pool() -> Result<&'static Pool> {
  if let Some(pool) = POOL.get() {
    return Ok(pool);
  }
  // Held while starting, by JS threads only (pool threads never start the pool); `configure`
  // takes it too, so the configuration cannot change under a start.
  let config = PENDING_CONFIG.lock().unwrap_or_else(|e| e.into_inner());
  if let Some(pool) = POOL.get() {
    return Ok(pool);
  }
  let threads = config.threads.unwrap_or_else(default_threads);
  let priority = config.priority.unwrap_or_else(default_priority);
  super::alloc::keep_freed_pages_a_while();
  let pool = Pool::new(threads, config.max_queue, priority)?;
  Ok(POOL.get_or_init(|| pool))
}

/// In test-hooks builds, `OFFLOOP_TEST_SPAWN_FAILS_AFTER=n` makes the pool's thread n + 1 fail to
/// start, as at a thread limit: the tests reach that path without privileges.
#[cfg(feature = "test-hooks")]
fn test_spawn(thread: rayon::ThreadBuilder) -> std::io::Result<()> {
  let fails_after = std::env::var("OFFLOOP_TEST_SPAWN_FAILS_AFTER").ok();
  if fails_after
    .and_then(|v| v.parse::<usize>().ok())
    .is_some_and(|n| thread.index() >= n)
  {
    return Err(std::io::Error::from_raw_os_error(libc::EAGAIN));
  }
  let mut spawn = std::thread::Builder::new().stack_size(STACK_SIZE);
  if let Some(name) = thread.name() {
    spawn = spawn.name(name.to_owned());
  }
  spawn.spawn(|| thread.run()).map(drop)
}

/// Drops `value` on a pool thread, uncounted. Freeing a large buffer hands its pages back to the
/// OS, milliseconds for a few hundred MB: in a GC finalizer on the JS thread that is a stall. Where
/// the pool cannot start, here and now.
pub fn drop_later<T: Send + 'static>(value: T) {
  if let Ok(pool) = pool() {
    pool.threads.spawn(move || drop(value));
  }
}

/// `OFFLOOP_PRIORITY` when it names a priority, else the background one.
fn default_priority() -> Priority {
  std::env::var("OFFLOOP_PRIORITY")
    .ok()
    .and_then(|v| Priority::from_name(v.trim()))
    .unwrap_or_default()
}

thread_local! {
  /// Set on a pool thread that runs in the background class.
  static IN_BACKGROUND: Cell<bool> = const { Cell::new(false) };
}

/// Gives the calling thread (a helper of the runtime's own) the pool's priority.
pub(crate) fn take_pool_priority() {
  if pool().is_ok_and(|pool| pool.priority == Priority::Background) {
    run_in_background();
  }
}

/// Moves the calling thread to `SCHED_IDLE`; false where that is not available.
fn run_in_background() -> bool {
  #[cfg(target_os = "linux")]
  {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: plain syscall wrapper; pid 0 is the calling thread, `param` outlives the call.
    // Lowering a thread's own class needs no privilege.
    unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) == 0 }
  }
  #[cfg(not(target_os = "linux"))]
  false
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
  fn new(threads: usize, max_queue: Option<usize>, priority: Priority) -> Result<Self> {
    let priority_refused = Arc::new(AtomicBool::new(false));
    let refused = Arc::clone(&priority_refused);
    // Rayon starts its threads without waiting for them: wait below until each has taken its
    // priority, so the first `stats()` already reports what holds. Counted, not a barrier: when a
    // later thread cannot start, Rayon ends the ones that did, which must not be left waiting.
    let started = Arc::new((Mutex::new(0usize), Condvar::new()));
    let thread_started = Arc::clone(&started);
    let builder = rayon::ThreadPoolBuilder::new()
      .num_threads(threads)
      .thread_name(|i| format!("offloop-{i}"))
      .stack_size(STACK_SIZE)
      .start_handler(move |_| {
        if priority == Priority::Background {
          let lowered = run_in_background();
          IN_BACKGROUND.set(lowered);
          if !lowered {
            refused.store(true, Ordering::Relaxed);
          }
        }
        let (count, all) = &*thread_started;
        *count.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        all.notify_all();
      })
      // Jobs catch their own panics (see `submit`); this handler only keeps a panic that escapes
      // anyway from aborting the user's process, which is Rayon's default.
      .panic_handler(|_| {});
    #[cfg(feature = "test-hooks")]
    let builder = builder.spawn_handler(test_spawn);
    let threads = builder.build().map_err(|error| {
      OffloopError::error(
        "ERR_OFFLOOP_POOL_START",
        format!(
          "offloop cannot start its thread pool ({error}); the process may be at its thread limit \
           (ulimit -u, a container's pids limit). The next call tries again"
        ),
      )
    })?;
    let (count, all) = &*started;
    let mut count = count.lock().unwrap_or_else(|e| e.into_inner());
    while *count < threads.current_num_threads() {
      count = all.wait(count).unwrap_or_else(|e| e.into_inner());
    }
    Ok(Pool {
      threads,
      max_queue,
      priority,
      priority_refused,
      queued: AtomicUsize::new(0),
      running: AtomicUsize::new(0),
      in_flight: AtomicUsize::new(0),
      completed: AtomicU64::new(0),
      failed: AtomicU64::new(0),
      cancelled: AtomicU64::new(0),
    })
  }

  /// Queues `job`, or refuses with `ERR_QUEUE_FULL` when every thread has a job and `maxQueue`
  /// more already wait.
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
    let in_flight = self.in_flight.fetch_add(1, Ordering::AcqRel);
    if let Some(max) = self.max_queue {
      if in_flight >= self.threads.current_num_threads().saturating_add(max) {
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
        return Err(OffloopError::error(
          "ERR_QUEUE_FULL",
          format!("offloop's queue is full: {max} jobs are already waiting (configure({{ maxQueue }}))"),
        ));
      }
    }
    self.queued.fetch_add(1, Ordering::AcqRel);
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
      // Before delivery: a caller told the job ended may submit the next one at once.
      self.in_flight.fetch_sub(1, Ordering::AcqRel);
      if let Ok((_, deliver)) = finished {
        let _ = catch_unwind(AssertUnwindSafe(deliver));
      }
    });
    Ok(())
  }

  /// Runs `f` inside the pool, so Rayon's parallel iterators in it use offloop's threads.
  /// Used by sync exports and tests; async jobs already run on a pool thread.
  pub fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
    self.threads.install(f)
  }

  pub fn stats(&self) -> PoolStats {
    PoolStats {
      threads: self.threads.current_num_threads(),
      priority: match self.priority_refused.load(Ordering::Relaxed) {
        true => Priority::Normal,
        false => self.priority,
      },
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
/// the run queue until the scheduler preempts a pool thread, each wait an event-loop stall.
/// Yielding costs nothing when no thread waits (the call returns at once) and takes no CPU share
/// away: the scheduler keeps fairness in virtual runtime, which a yield does not spend
/// (measurements: benchmark/NOTES.md, "Giving way between chunks").
///
/// A thread in the background class has nothing to offer: the scheduler preempts it the moment
/// another thread wakes. It returns at once, without reading the clock.
pub fn give_way() {
  thread_local!(static NEXT: Cell<Option<Instant>> = const { Cell::new(None) });
  if IN_BACKGROUND.get() {
    return;
  }
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
    Box::leak(Box::new(Pool::new(threads, max_queue, Priority::Background).unwrap()))
  }

  /// The scheduling class the calling thread runs in.
  #[cfg(target_os = "linux")]
  fn scheduling_class() -> i32 {
    // SAFETY: plain syscall wrapper; pid 0 is the calling thread.
    unsafe { libc::sched_getscheduler(0) }
  }

  #[test]
  #[cfg(target_os = "linux")]
  fn background_threads_run_in_sched_idle_and_normal_ones_do_not() {
    for (priority, class) in [
      (Priority::Background, libc::SCHED_IDLE),
      (Priority::Normal, libc::SCHED_OTHER),
    ] {
      let pool = Box::leak(Box::new(Pool::new(2, None, priority).unwrap()));
      let classes = pool.install(|| rayon::broadcast(|_| scheduling_class()));
      assert_eq!(classes, [class, class], "{priority:?}");
      assert_eq!(pool.stats().priority, priority);
    }
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

  #[test]
  fn max_queue_zero_runs_a_job_per_thread_and_queues_none() {
    let pool = leaked(1, Some(0));
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let (ended_tx, ended_rx) = mpsc::channel::<()>();
    pool
      .submit(move || {
        release_rx.recv().unwrap();
        (Outcome::Completed, move || ended_tx.send(()).unwrap())
      })
      .unwrap();
    let done = || (Outcome::Completed, || ());
    assert_eq!(pool.submit(done).unwrap_err().code, "ERR_QUEUE_FULL");
    release_tx.send(()).unwrap();
    ended_rx.recv().unwrap();
    pool.submit(done).unwrap();
  }
}
