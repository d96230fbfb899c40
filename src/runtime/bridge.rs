//! The promise bridge: every async export returns a promise made here, its work runs on the pool,
//! and its result comes back to the JS thread to settle the promise, exactly once, on every path.
//!
//! Why not napi-rs's `JsDeferred`: each one owns a threadsafe function (TSFN), created and released
//! per call, which costs microseconds per call and wakes the loop once per result. Here each JS
//! environment owns long-lived TSFNs; pool threads push completions into a shared queue and call a
//! TSFN only when the queue was empty, so the JS thread drains results in batches. The TSFNs are
//! referenced (keep the process alive) only while promises are pending.
//!
//! Why two TSFNs, used in turn: Node re-runs a TSFN's callback at once, in the same loop turn, when
//! it was called again while its callback (and the microtasks that callback queued) ran, up to 1000
//! times. With one TSFN, a stream of small jobs whose continuations queue more jobs (`for await`,
//! 256 lanes of `await hash()`) kept the loop in that turn for a quarter of a second, starving
//! timers and I/O. A drain therefore arms the *other* channel for the next wake-up. libuv runs each
//! async handle at most once per pass over its handles, so a loop turn drains at most twice, and
//! timers and I/O run between batches.
//!
//! Exactly-once settlement: pending promises live in a table owned by the JS thread, keyed by a
//! job id. Whoever removes the entry first (the drain with a result, or the abort listener) settles
//! it; a later comer finds nothing and drops what it had.
//!
//! Work on the JS thread that must not stall it (copying a caller's large input before its job
//! runs, or a result into a caller's array: see `stage`) runs a slice per wake-up: `later` queues
//! the next slice for the next drain, so the loop turns in between.

use std::any::Any;
use std::cell::{RefCell, RefMut};
use std::collections::VecDeque;
use std::ffi::c_void;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use napi::bindgen_prelude::{PromiseRaw, ToNapiValue};
use napi::{sys, Env};
use nohash_hasher::IntMap;

use super::abort::{AbortLink, Signal};
use super::env::EnvState;
use super::error::{contain, OffloopError, Result};
use super::inbox::Inbox;
use super::pool::{self, pool, Outcome};
use super::stage::{self, Decoded, OutputTarget, WriteBack};

/// What a job reads to learn that its caller aborted. Long jobs check it between chunks.
#[derive(Clone, Default)]
pub struct Cancel(Option<Arc<AtomicBool>>);

impl Cancel {
  /// A flag of its own, set with [`cancel`](Self::cancel): for work an object queues outside a
  /// job's signal (a stream's calls, stopped by its `close()`).
  pub fn new() -> Self {
    Cancel(Some(Arc::new(AtomicBool::new(false))))
  }

  pub fn cancel(&self) {
    if let Some(flag) = &self.0 {
      flag.store(true, Ordering::Release);
    }
  }

  pub fn is_cancelled(&self) -> bool {
    self.0.as_ref().is_some_and(|flag| flag.load(Ordering::Acquire))
  }

  /// A flag that tests and fuzz targets abort by hand (`abort_for_test`).
  #[cfg(any(test, fuzzing))]
  pub fn for_test() -> Self {
    Cancel::new()
  }

  #[cfg(any(test, fuzzing))]
  pub fn abort_for_test(&self) {
    self.cancel()
  }

  /// `Err(AbortError)` once cancelled, for `?` between chunks of work. Also where a long job
  /// gives its core to a waiting JS thread ([`super::pool::give_way`]).
  pub fn check(&self) -> Result<()> {
    super::pool::give_way();
    if self.is_cancelled() {
      Err(OffloopError::aborted())
    } else {
      Ok(())
    }
  }
}

/// Work for the pool: runs off the JS thread, then `T` becomes the promise's value on it.
pub struct Job<'s, F> {
  work: F,
  signal: Option<Signal<'s>>,
}

impl<'s, T, F> Job<'s, F>
where
  F: FnOnce(&Cancel) -> Result<T> + Send + 'static,
  T: JobOutput,
{
  pub fn new(work: F) -> Self {
    Job { work, signal: None }
  }

  /// Ties the job to the caller's `AbortSignal` (the `signal` option of every async export).
  pub fn abortable(mut self, signal: Option<Signal<'s>>) -> Self {
    self.signal = signal;
    self
  }
}

/// What a job ends with: a value for JavaScript, or a result to copy into the caller's array.
pub trait JobOutput: Send + 'static {
  fn into_result(self) -> JobResult;
}

impl<T: ToNapiValue + Send + 'static> JobOutput for T {
  fn into_result(self) -> JobResult {
    JobResult::Value(Box::new(move |env| {
      // SAFETY: the bridge calls settle closures only on the JS thread of `env`.
      unsafe { T::to_napi_value(env, self) }.map_err(|e| OffloopError::error("ERR_OFFLOOP_INTERNAL", e.reason))
    }))
  }
}

impl JobOutput for WriteBack {
  fn into_result(self) -> JobResult {
    JobResult::WriteBack(self)
  }
}

pub enum JobResult {
  /// Builds the promise's value on the JS thread.
  Value(Settle),
  /// Copied into the call's output array (`into`), which then is the promise's value.
  WriteBack(WriteBack),
}

/// Builds the result value on the JS thread.
type Settle = Box<dyn FnOnce(sys::napi_env) -> Result<sys::napi_value> + Send>;

struct Completion {
  id: u64,
  outcome: Result<JobResult>,
}

/// What pool threads hand the JS thread.
enum Delivery {
  Completion(Completion),
  /// Runs on the JS thread: a staging's copy, allocated on the pool, coming back.
  Task(Task),
  /// Only wakes the JS thread, for the slices it queued itself (`later`).
  Tick,
}

/// A closure made off the JS thread to run on it.
pub(crate) struct Task(Box<dyn FnOnce(sys::napi_env) + Send>);

impl Task {
  pub(crate) fn new(run: impl FnOnce(sys::napi_env) + Send + 'static) -> Self {
    Task(Box::new(run))
  }
}

/// The part of an environment's bridge that pool threads touch. No locks: the JS thread must
/// never wait for a pool thread (see `inbox`).
struct Shared {
  completions: Inbox<Delivery>,
  /// Pool threads inside a wake-up call right now, and `CLOSED` once the environment is torn
  /// down (a worker terminated, the process exiting): jobs then skip their work, their results
  /// are dropped, and nobody calls the TSFNs again.
  gate: AtomicUsize,
  channels: [AtomicPtr<sys::napi_threadsafe_function__>; 2],
  /// The channel the next wake-up goes through: the one not drained last.
  next_channel: AtomicUsize,
}

const CLOSED: usize = 1 << (usize::BITS - 1);

/// The two completion TSFNs (see the module comment for why two).
type Channels = [sys::napi_threadsafe_function; 2];

impl Shared {
  fn is_alive(&self) -> bool {
    self.gate.load(Ordering::Acquire) & CLOSED == 0
  }

  fn deliver(&self, delivery: Delivery) {
    if self.is_alive() && self.completions.put(delivery) {
      self.wake();
    }
  }

  /// Calls the next channel's TSFN, unless the environment is closed.
  fn wake(&self) {
    if self.gate.fetch_add(1, Ordering::AcqRel) & CLOSED == 0 {
      let channel = self.next_channel.load(Ordering::Acquire);
      // SAFETY: the gate was open when this call entered it, and `close` waits for the calls in
      // the gate before teardown goes on to finalize the TSFNs. Non-blocking on an unbounded queue
      // cannot fail for lack of room. The data pointer only carries the channel's index to `drain`.
      unsafe {
        sys::napi_call_threadsafe_function(
          self.channels[channel].load(Ordering::Acquire),
          channel as *mut c_void,
          sys::ThreadsafeFunctionCallMode::nonblocking,
        )
      };
    }
    self.gate.fetch_sub(1, Ordering::AcqRel);
  }

  /// Takes every delivery queued so far; wake-ups from now on go through the other channel.
  fn take_completions(&self, drained_channel: usize) -> Vec<Delivery> {
    self.next_channel.store(1 - drained_channel, Ordering::Release);
    self.completions.take()
  }

  /// Closes the gate and waits for the wake-up calls inside it: a few instructions each, so this
  /// only waits when a pool thread was preempted in one.
  fn close(&self) {
    self.gate.fetch_or(CLOSED, Ordering::AcqRel);
    while self.gate.load(Ordering::Acquire) != CLOSED {
      std::thread::yield_now();
    }
  }
}

/// A promise waiting for its job, owned by the JS thread.
struct Pending {
  deferred: sys::napi_deferred,
  abort: Option<AbortLink>,
  /// Set while caller memory is in use off the JS thread's control (the job reads a
  /// SharedArrayBuffer in place) or half written (a result being copied into `into`): an abort
  /// leaves the promise pending until that ends, so a settled promise means the memory is free.
  holds_abort: bool,
  /// The `AbortError` such a promise rejects with once its job has stopped.
  aborted: Option<sys::napi_ref>,
  /// What keeps memory the job reads in place alive, released when the promise settles.
  holders: Vec<sys::napi_ref>,
  /// The array the job's result is copied into.
  output: Option<OutputTarget>,
}

impl Pending {
  fn new(deferred: sys::napi_deferred) -> Self {
    Pending {
      deferred,
      abort: None,
      holds_abort: false,
      aborted: None,
      holders: Vec::new(),
      output: None,
    }
  }

  /// Leaves the signal and releases what the call held: the promise is about to settle.
  fn release(&mut self, env: sys::napi_env, id: u64) {
    if let Some(link) = self.abort.take() {
      link.unlisten(env, id);
    }
    // SAFETY: JS thread of `env` (the table lives there); each reference is released once.
    unsafe {
      stage::release_holders(env, std::mem::take(&mut self.holders));
      if let Some(output) = self.output.take() {
        output.release(env);
      }
    }
  }
}

/// One environment's bridge (see `env`): the pending promises, owned by its JS thread, and the part
/// its pool threads deliver completions to.
pub(super) struct Bridge {
  shared: Arc<Shared>,
  table: RefCell<Table>,
}

struct Table {
  env: sys::napi_env,
  channels: Channels,
  /// Keyed by sequential job ids, so no hashing is needed.
  pending: IntMap<u64, Pending>,
  next_id: u64,
  referenced: bool,
  /// Slices of JS-thread work for the next wake-up (`later`).
  later: VecDeque<Box<dyn FnOnce(sys::napi_env)>>,
  /// State held between slices (`hold`), by id.
  held: IntMap<u64, Box<dyn Any>>,
}

/// Queues `job` and returns its promise at once. Errors from `prepare` (argument decoding, on the JS
/// thread) reject the returned promise too, so an async export never throws.
///
/// What the arguments decoded besides plain values (views to copy first, memory read in place, an
/// output array: see `stage`) is collected while `prepare` runs and travels with the job.
pub fn spawn<'env, T, F>(
  env: &'env Env,
  prepare: impl FnOnce() -> Result<Job<'env, F>>,
) -> napi::Result<PromiseRaw<'env, T>>
where
  F: FnOnce(&Cancel) -> Result<T> + Send + 'static,
  T: JobOutput,
{
  let raw_env = env.raw();
  let mut deferred = ptr::null_mut();
  let mut promise = ptr::null_mut();
  // SAFETY: on the JS thread of `env` (we are inside a #[napi] call).
  check(unsafe { sys::napi_create_promise(raw_env, &mut deferred, &mut promise) })?;
  let queued = OffloopError::catching(|| {
    // SAFETY: JS thread of `raw_env` (an export call), for this call and the one below.
    let (job, decoded) = unsafe { stage::decoding(raw_env, prepare)? };
    match job {
      Ok(job) => queue(raw_env, deferred, job, decoded),
      Err(error) => {
        // SAFETY: as above.
        unsafe { decoded.discard(raw_env) };
        Err(error)
      }
    }
  });
  if let Err(error) = queued {
    // A caller's getter or trap that threw while its value was decoded must not escape as a throw
    // from an async export: the error reported is offloop's coded one.
    // SAFETY: JS thread of `raw_env`.
    unsafe { super::abort::clear_exception(raw_env) };
    settle(raw_env, deferred, Err(error));
  }
  Ok(PromiseRaw::new(raw_env, promise))
}

/// A promise already rejected with `error`: for async exports that fail before any job exists.
pub fn rejected<'env, T>(env: &'env Env, error: OffloopError) -> napi::Result<PromiseRaw<'env, T>> {
  let raw_env = env.raw();
  let mut deferred = ptr::null_mut();
  let mut promise = ptr::null_mut();
  // SAFETY: on the JS thread of `env` (inside a #[napi] call).
  check(unsafe { sys::napi_create_promise(raw_env, &mut deferred, &mut promise) })?;
  settle(raw_env, deferred, Err(error));
  Ok(PromiseRaw::new(raw_env, promise))
}

/// Enters the promise in the table, then copies the job's staged views (if any) and submits it.
/// An error before the promise is in the table is returned (the caller rejects it); after, the
/// promise is settled only from the table.
fn queue<T, F>(env: sys::napi_env, deferred: sys::napi_deferred, job: Job<'_, F>, decoded: Decoded) -> Result<()>
where
  F: FnOnce(&Cancel) -> Result<T> + Send + 'static,
  T: JobOutput,
{
  let id = next_id(env)?;
  // The listener goes on outside any table borrow (addEventListener runs JS).
  let listened = match job.signal {
    Some(signal) if signal.aborted()? => {
      // Rejected here rather than by the caller, to give the error the signal's `reason` as its
      // `cause`, as a signal aborted later does (and as Node's own APIs do either way).
      // SAFETY: JS thread of `env`; the signal is live for the call.
      let error = unsafe { abort_error(env, signal.reason()) };
      if error.is_null() {
        Err(OffloopError::aborted())
      } else {
        // SAFETY: JS thread of `env`; the deferred never entered the table, so it is settled only
        // here, and the caller settles it only on an `Err`.
        unsafe {
          decoded.discard(env);
          sys::napi_reject_deferred(env, deferred, error);
        }
        return Ok(());
      }
    }
    Some(signal) => {
      let cancel = Cancel::new();
      signal.listen(id, cancel.clone()).map(|link| (cancel, Some(link)))
    }
    None => Ok((Cancel::default(), None)),
  };
  let (cancel, abort) = match listened {
    Ok(listened) => listened,
    Err(error) => {
      // SAFETY: JS thread of `env`.
      unsafe { decoded.discard(env) };
      return Err(error);
    }
  };
  let Decoded {
    stages,
    holders,
    output,
  } = decoded;
  let holds_abort = !holders.is_empty();
  {
    let mut table = table(env)?;
    let mut pending = Pending::new(deferred);
    pending.abort = abort;
    pending.holds_abort = holds_abort;
    pending.holders = holders;
    pending.output = output;
    table.pending.insert(id, pending);
    table.update_ref();
  }
  let work = job.work;
  let submit = move |env: sys::napi_env| {
    let submitted = with_bridge(env, |_, shared| {
      let shared = shared.clone();
      pool()?.submit(move || {
        let (outcome, completion) = run(&shared, id, &cancel, holds_abort, work);
        let deliver = move || {
          completion
            .into_iter()
            .for_each(|c| shared.deliver(Delivery::Completion(c)))
        };
        (outcome, deliver)
      })
    });
    if let Err(error) = submitted {
      fail(env, id, error);
    }
  };
  if stages.is_empty() {
    submit(env);
  } else {
    let still_pending = move |env| table(env).is_ok_and(|table| table.pending.contains_key(&id));
    let ready: stage::Ready = Box::new(move |env, staged| match staged {
      Ok(()) => submit(env),
      Err(error) => fail(env, id, error),
    });
    stage::stage(env, stages, Box::new(still_pending), ready);
  }
  Ok(())
}

/// An `AbortError` with `reason` as its `cause` (none when `reason` is null); null only when the
/// environment is tearing down.
///
/// # Safety
/// JS thread of `env`; `reason` is null or live in the current scope.
unsafe fn abort_error(env: sys::napi_env, reason: sys::napi_value) -> sys::napi_value {
  // SAFETY: per this function's contract.
  let error = unsafe { OffloopError::aborted().to_js(env) };
  if !error.is_null() && !reason.is_null() {
    // SAFETY: as above; both values are live. A throwing `cause` setter on Error.prototype leaves
    // the error without it.
    unsafe {
      if sys::napi_set_named_property(env, error, c"cause".as_ptr(), reason) != sys::Status::napi_ok {
        super::abort::clear_exception(env);
      }
    }
  }
  error
}

/// Rejects pending call `id` with `error`, if it is still pending.
fn fail(env: sys::napi_env, id: u64, error: OffloopError) {
  if let Some(mut pending) = take_pending(env, id) {
    pending.release(env, id);
    settle(env, pending.deferred, Err(error));
  }
}

fn next_id(env: sys::napi_env) -> Result<u64> {
  let mut table = table(env)?;
  table.next_id += 1;
  Ok(table.next_id)
}

/// The pool-thread side of a job: runs the work unless it was aborted or its environment is gone.
/// A job aborted before it ran completes only if its promise holds the abort (an `AbortError`
/// settles it); any other promise the abort already settled, and the JS thread is not woken for it.
fn run<T, F>(shared: &Shared, id: u64, cancel: &Cancel, holds_abort: bool, work: F) -> (Outcome, Option<Completion>)
where
  F: FnOnce(&Cancel) -> Result<T>,
  T: JobOutput,
{
  if !shared.is_alive() {
    return (Outcome::Cancelled, None);
  }
  if cancel.is_cancelled() {
    let completion = holds_abort.then(|| Completion {
      id,
      outcome: Err(OffloopError::aborted()),
    });
    return (Outcome::Cancelled, completion);
  }
  let result = OffloopError::catching(|| work(cancel));
  let outcome = if result.is_ok() {
    Outcome::Completed
  } else {
    Outcome::Failed
  };
  (
    outcome,
    Some(Completion {
      id,
      outcome: result.map(JobOutput::into_result),
    }),
  )
}

/// Settles a promise made by [`promise`], from any thread.
///
/// For work that is not one pool job: the last of a sequence of tasks (a stream's chunks hashed in
/// order) settles it. Exactly once, like every bridge promise: `settle` consumes the settler, and
/// one dropped unsettled rejects its promise with `ERR_OFFLOOP_INTERNAL` instead of leaving it
/// pending forever.
pub struct Settler<T> {
  shared: Arc<Shared>,
  id: u64,
  settled: bool,
  _value: std::marker::PhantomData<fn(T)>,
}

/// A pending promise and the settler for it. The process stays alive while it is pending, as it
/// does for a job.
pub(crate) fn promise<T: ToNapiValue + Send + 'static>(env: sys::napi_env) -> Result<(sys::napi_value, Settler<T>)> {
  let mut deferred = ptr::null_mut();
  let mut promise = ptr::null_mut();
  // SAFETY: callers are on the JS thread of `env` (an export or a JS callback).
  if unsafe { sys::napi_create_promise(env, &mut deferred, &mut promise) } != sys::Status::napi_ok {
    return Err(OffloopError::error(
      "ERR_OFFLOOP_INTERNAL",
      "offloop: cannot create a promise",
    ));
  }
  with_bridge(env, |table, shared| {
    // The same id sequence as jobs (`queue`), so a settler and a job never share an id.
    table.next_id += 1;
    let id = table.next_id;
    table.pending.insert(id, Pending::new(deferred));
    table.update_ref();
    Ok((
      promise,
      Settler {
        shared: shared.clone(),
        id,
        settled: false,
        _value: std::marker::PhantomData,
      },
    ))
  })
}

impl<T: ToNapiValue + Send + 'static> Settler<T> {
  pub fn settle(mut self, result: Result<T>) {
    self.settled = true;
    self.shared.deliver(Delivery::Completion(Completion {
      id: self.id,
      outcome: result.map(JobOutput::into_result),
    }));
  }

  /// Hands a settle function to `queue`, which moves it into the work it queues. If `queue` fails
  /// (the pool refused the work), the promise rejects with that error: without this, the settler
  /// would die with the refused work and reject with `ERR_OFFLOOP_INTERNAL` instead.
  pub fn settle_from<Q>(self, queue: Q)
  where
    Q: FnOnce(Box<dyn FnOnce(Result<T>) + Send>) -> Result<()>,
  {
    let slot = Arc::new(Mutex::new(Some(self)));
    let in_work = slot.clone();
    let settle = Box::new(move |result: Result<T>| {
      if let Some(settler) = in_work.lock().unwrap_or_else(|e| e.into_inner()).take() {
        settler.settle(result);
      }
    });
    if let Err(error) = queue(settle) {
      if let Some(settler) = slot.lock().unwrap_or_else(|e| e.into_inner()).take() {
        settler.settle(Err(error));
      }
    }
  }
}

impl<T> Drop for Settler<T> {
  fn drop(&mut self) {
    if !self.settled {
      self.shared.deliver(Delivery::Completion(Completion {
        id: self.id,
        outcome: Err(OffloopError::error(
          "ERR_OFFLOOP_INTERNAL",
          "offloop: a promise was dropped before it settled (this is a bug in offloop)",
        )),
      }));
    }
  }
}

/// Called by the abort listener for each pending call of the signal (whose job it already told to
/// stop): rejects the call's promise with an `AbortError` if it is still pending: at once, or, for
/// a call that holds its abort (see `Pending::holds_abort`), once that ends.
pub(super) fn abort(env: sys::napi_env, id: u64, reason: sys::napi_value) {
  // Made before the table is borrowed: setting `cause` can run JS (a setter on Error.prototype).
  // SAFETY: the abort listener runs on the JS thread of `env`; `reason` is live in its scope.
  let error = unsafe { abort_error(env, reason) };
  let settle_now = table(env).ok().and_then(|mut table| {
    let pending = table.pending.get_mut(&id)?;
    // The listener fired and its signal's entry is gone: nothing to leave when the call settles.
    pending.abort = None;
    if pending.holds_abort {
      let mut error_ref = ptr::null_mut();
      // SAFETY: JS thread; the reference is deleted when the promise settles (`drain`), or by
      // N-API with the environment.
      unsafe { sys::napi_create_reference(env, error, 1, &mut error_ref) };
      pending.aborted = Some(error_ref);
      return None;
    }
    let pending = table.pending.remove(&id);
    table.update_ref();
    pending
  });
  if let Some(mut pending) = settle_now {
    pending.release(env, id);
    // SAFETY: JS thread; the deferred was taken out of the table, so it is settled only here.
    unsafe { sys::napi_reject_deferred(env, pending.deferred, error) };
  }
}

fn take_pending(env: sys::napi_env, id: u64) -> Option<Pending> {
  let mut table = table(env).ok()?;
  let pending = table.pending.remove(&id);
  table.update_ref();
  pending
}

/// Settles a deferred with a result built on the JS thread. Never throws into JS, never panics.
fn settle(env: sys::napi_env, deferred: sys::napi_deferred, outcome: Result<Settle>) {
  resolve(
    env,
    deferred,
    outcome.and_then(|build| OffloopError::catching(|| build(env))),
  );
}

/// Settles a deferred with a value, or rejects it with an error.
fn resolve(env: sys::napi_env, deferred: sys::napi_deferred, value: Result<sys::napi_value>) {
  // SAFETY: JS thread of `env`; each deferred reaches here once (it was removed from the table or
  // never entered it).
  unsafe {
    match value {
      Ok(value) => sys::napi_resolve_deferred(env, deferred, value),
      Err(error) => sys::napi_reject_deferred(env, deferred, error.to_js(env)),
    };
  }
}

/// A completion TSFN's callback: drains every delivery queued since the last drain, then runs the
/// slices of JS-thread work queued before it began (those queued now wait for the next wake-up).
unsafe extern "C" fn drain(
  env: sys::napi_env,
  _js_callback: sys::napi_value,
  context: *mut c_void,
  channel: *mut c_void,
) {
  if env.is_null() {
    return; // the TSFN is being finalized; nothing can be settled any more
  }
  // SAFETY: `context` is an `Arc<Shared>` leaked in `new_channel`, freed only by the TSFN's
  // finalizer, which runs after the last call of this callback.
  let shared = unsafe { &*(context as *const Shared) };
  let slices = table(env)
    .map(|mut table| std::mem::take(&mut table.later))
    .unwrap_or_default();
  for delivery in shared.take_completions(channel as usize) {
    contain(|| match delivery {
      Delivery::Completion(completion) => settle_completion(env, completion),
      Delivery::Task(Task(run)) => run(env),
      Delivery::Tick => {}
    });
  }
  for slice in slices {
    contain(|| slice(env));
  }
}

/// Settles the promise of one completion, if it is still pending. A result for the caller's array
/// is copied into it first (see `stage::write_back`).
fn settle_completion(env: sys::napi_env, completion: Completion) {
  let id = completion.id;
  let outcome = match completion.outcome {
    Ok(JobResult::WriteBack(result)) => return start_write_back(env, id, result),
    Ok(JobResult::Value(settle)) => Ok(settle),
    Err(error) => Err(error),
  };
  let Some(mut pending) = take_pending(env, id) else {
    return;
  };
  let mut scope = ptr::null_mut();
  // SAFETY: JS thread. A scope per result keeps a large batch from piling up handles.
  unsafe { sys::napi_open_handle_scope(env, &mut scope) };
  pending.release(env, id);
  match pending.aborted {
    Some(error_ref) => reject_aborted(env, pending.deferred, error_ref),
    None => settle(env, pending.deferred, outcome),
  }
  // SAFETY: closes the scope opened above.
  unsafe { sys::napi_close_handle_scope(env, scope) };
}

/// Rejects with the `AbortError` an abort left while the promise held it.
fn reject_aborted(env: sys::napi_env, deferred: sys::napi_deferred, error_ref: sys::napi_ref) {
  // SAFETY: JS thread; the reference was made in `abort` and is deleted once, here.
  unsafe {
    let mut error = ptr::null_mut();
    sys::napi_get_reference_value(env, error_ref, &mut error);
    sys::napi_delete_reference(env, error_ref);
    sys::napi_reject_deferred(env, deferred, error);
  }
}

/// Copies a job's result into its call's output array, then resolves with the array. From the
/// first slice on the call holds its abort: an abort meanwhile rejects once the array holds the
/// whole result, never a torn mix.
fn start_write_back(env: sys::napi_env, id: u64, result: WriteBack) {
  let target = table(env).ok().and_then(|mut table| {
    let pending = table.pending.get_mut(&id)?;
    pending.holds_abort = true;
    pending.output.take()
  });
  let Some(target) = target else {
    pool::drop_later(result);
    // A call without an output (a bug) or already settled: settle what is left.
    return fail(
      env,
      id,
      OffloopError::error("ERR_OFFLOOP_INTERNAL", "offloop: a result has no array to go into"),
    );
  };
  let done = Box::new(move |env: sys::napi_env, written: Result<sys::napi_value>| {
    let Some(mut pending) = take_pending(env, id) else {
      return;
    };
    pending.release(env, id);
    match (pending.aborted, written) {
      (Some(error_ref), _) => reject_aborted(env, pending.deferred, error_ref),
      (None, written) => resolve(env, pending.deferred, written),
    }
  });
  stage::write_back(env, target, result, done);
}

/// Keeps `state` on the JS thread until `release` takes it back, between slices of work.
pub(super) fn hold(env: sys::napi_env, state: Box<dyn Any>) -> Result<u64> {
  let mut table = table(env)?;
  table.next_id += 1;
  let id = table.next_id;
  table.held.insert(id, state);
  Ok(id)
}

/// Takes back what `hold` kept under `id`; `None` once the environment is gone.
pub(super) fn release<T: 'static>(env: sys::napi_env, id: u64) -> Option<T> {
  let state = table(env).ok()?.held.remove(&id)?;
  state.downcast::<T>().ok().map(|state| *state)
}

/// Runs `slice` on the JS thread at its next wake-up, after the loop has turned.
pub(super) fn later(env: sys::napi_env, slice: impl FnOnce(sys::napi_env) + 'static) {
  // SAFETY: callers are on the JS thread of `env`.
  let Ok(state) = (unsafe { EnvState::of(env) }) else {
    return;
  };
  state.bridge.table.borrow_mut().later.push_back(Box::new(slice));
  state.bridge.shared.deliver(Delivery::Tick);
}

/// Hands tasks from any thread to one environment's JS thread.
pub(super) struct Courier(Arc<Shared>);

impl Courier {
  /// The courier of `env`. On its JS thread.
  pub(super) fn of(env: sys::napi_env) -> Result<Self> {
    // SAFETY: callers are on the JS thread of `env`.
    Ok(Courier(unsafe { EnvState::of(env)? }.bridge.shared.clone()))
  }

  /// False once the environment is torn down: nothing sent would run.
  pub(super) fn is_alive(&self) -> bool {
    self.0.is_alive()
  }

  pub(super) fn send(&self, task: Task) {
    self.0.deliver(Delivery::Task(task));
  }
}

unsafe extern "C" fn finalize_shared(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
  // SAFETY: `data` is the pointer from `Arc::into_raw` in `new_channel`; N-API calls this once.
  drop(unsafe { Arc::from_raw(data as *const Shared) });
}

/// The pending-promise table of `env`'s bridge, made on the env's first call.
fn table<'a>(env: sys::napi_env) -> Result<RefMut<'a, Table>> {
  // SAFETY: every caller runs on the JS thread of `env` (an export or a callback of it).
  let state = unsafe { EnvState::of(env)? };
  Ok(state.bridge.table.borrow_mut())
}

fn with_bridge<R>(env: sys::napi_env, f: impl FnOnce(&mut Table, &Arc<Shared>) -> Result<R>) -> Result<R> {
  // SAFETY: as in `table`.
  let state = unsafe { EnvState::of(env)? };
  f(&mut state.bridge.table.borrow_mut(), &state.bridge.shared)
}

impl Bridge {
  pub(super) fn new(env: sys::napi_env) -> Result<Self> {
    let shared = Arc::new(Shared {
      completions: Inbox::default(),
      gate: AtomicUsize::new(0),
      channels: Default::default(),
      next_channel: AtomicUsize::new(0),
    });
    let channels = [new_channel(env, &shared)?, new_channel(env, &shared)?];
    for (slot, tsfn) in shared.channels.iter().zip(channels) {
      slot.store(tsfn, Ordering::Release);
    }
    Ok(Bridge {
      shared,
      table: RefCell::new(Table {
        env,
        channels,
        pending: IntMap::default(),
        next_id: 0,
        referenced: false,
        later: VecDeque::new(),
        held: IntMap::default(),
      }),
    })
  }

  /// The environment is being torn down: from here on no job runs or delivers for it. The pending
  /// deferreds and abort references die with the environment; N-API frees them.
  pub(super) fn close(&self) {
    self.shared.close();
  }
}

impl Table {
  /// Keeps the process alive exactly while promises are pending, as libuv work would.
  fn update_ref(&mut self) {
    let want = !self.pending.is_empty();
    if want != self.referenced {
      for tsfn in self.channels {
        // SAFETY: JS thread of `self.env`; the TSFNs live as long as the environment.
        unsafe {
          if want {
            sys::napi_ref_threadsafe_function(self.env, tsfn)
          } else {
            sys::napi_unref_threadsafe_function(self.env, tsfn)
          }
        };
      }
      self.referenced = want;
    }
  }
}

/// One completion TSFN, unreferenced until a promise is pending. It holds a reference to `shared`,
/// released by its finalizer.
fn new_channel(env: sys::napi_env, shared: &Arc<Shared>) -> Result<sys::napi_threadsafe_function> {
  let context = Arc::into_raw(shared.clone()) as *mut c_void;
  let mut tsfn = ptr::null_mut();
  let mut name = ptr::null_mut();
  // SAFETY: JS thread of `env`. The TSFN has no JS function; `drain` does the work. The leaked Arc
  // is freed by `finalize_shared`, or here if the TSFN could not be made.
  unsafe {
    sys::napi_create_string_utf8(env, c"offloop".as_ptr(), 7, &mut name);
    let status = sys::napi_create_threadsafe_function(
      env,
      ptr::null_mut(),
      ptr::null_mut(),
      name,
      0,
      1,
      context,
      Some(finalize_shared),
      context,
      Some(drain),
      &mut tsfn,
    );
    if status != sys::Status::napi_ok {
      drop(Arc::from_raw(context as *const Shared));
      return Err(OffloopError::error(
        "ERR_OFFLOOP_INTERNAL",
        "offloop: cannot create its completion channel",
      ));
    }
    sys::napi_unref_threadsafe_function(env, tsfn);
  }
  Ok(tsfn)
}

fn check(status: sys::napi_status) -> napi::Result<()> {
  if status == sys::Status::napi_ok {
    Ok(())
  } else {
    Err(napi::Error::new(
      napi::Status::GenericFailure,
      "offloop: N-API call failed",
    ))
  }
}
