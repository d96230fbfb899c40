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

use std::cell::RefCell;
use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use napi::bindgen_prelude::{PromiseRaw, ToNapiValue};
use napi::{sys, Env};
use nohash_hasher::IntMap;

use super::abort::{AbortLink, Signal};
use super::error::{OffloopError, Result};
use super::pool::{pool, Outcome};

/// What a job reads to learn that its caller aborted. Long jobs check it between chunks.
#[derive(Clone, Default)]
pub struct Cancel(Option<Arc<AtomicBool>>);

impl Cancel {
  pub(super) fn new() -> Self {
    Cancel(Some(Arc::new(AtomicBool::new(false))))
  }

  pub(super) fn cancel(&self) {
    if let Some(flag) = &self.0 {
      flag.store(true, Ordering::Release);
    }
  }

  pub fn is_cancelled(&self) -> bool {
    self.0.as_ref().is_some_and(|flag| flag.load(Ordering::Acquire))
  }

  /// A flag that tests abort by hand (`abort_for_test`).
  #[cfg(test)]
  pub fn for_test() -> Self {
    Cancel::new()
  }

  #[cfg(test)]
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
  writes_caller_memory: bool,
}

impl<'s, T, F> Job<'s, F>
where
  F: FnOnce(&Cancel) -> Result<T> + Send + 'static,
  T: ToNapiValue + Send + 'static,
{
  pub fn new(work: F) -> Self {
    Job {
      work,
      signal: None,
      writes_caller_memory: false,
    }
  }

  /// Ties the job to the caller's `AbortSignal` (the `signal` option of every async export).
  pub fn abortable(mut self, signal: Option<Signal<'s>>) -> Self {
    self.signal = signal;
    self
  }

  /// Says whether the job writes memory the caller owns (an `into` array). An abort then rejects
  /// the promise only once the job has stopped, not at once: a caller who sees the rejection may
  /// reuse the array, and nothing writes to it any more.
  pub fn writes_caller_memory(mut self, writes: bool) -> Self {
    self.writes_caller_memory = writes;
    self
  }
}

/// Builds the result value on the JS thread.
type Settle = Box<dyn FnOnce(sys::napi_env) -> Result<sys::napi_value> + Send>;

struct Completion {
  id: u64,
  outcome: Result<Settle>,
}

/// The part of an environment's bridge that pool threads touch.
struct Shared {
  state: Mutex<SharedState>,
}

struct SharedState {
  /// False once the environment is torn down (a worker terminated, the process exiting): jobs then
  /// skip their work and their results are dropped, and nobody touches the TSFNs again.
  alive: bool,
  completions: Vec<Completion>,
  channels: Channels,
  /// The channel the next wake-up goes through: the one not drained last.
  next_channel: usize,
}

/// The two completion TSFNs (see the module comment for why two).
type Channels = [sys::napi_threadsafe_function; 2];

// SAFETY: the only non-Send fields are the TSFN handles, which N-API allows any thread to call;
// they are used only under the mutex while `alive`, and `alive` is cleared (under the same mutex)
// by the environment's cleanup hook before N-API finalizes the TSFNs.
unsafe impl Send for SharedState {}

impl Shared {
  fn is_alive(&self) -> bool {
    self.state.lock().unwrap_or_else(|e| e.into_inner()).alive
  }

  fn deliver(&self, completion: Completion) {
    let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
    if !state.alive {
      return;
    }
    let wake = state.completions.is_empty();
    state.completions.push(completion);
    if wake {
      let channel = state.next_channel;
      // SAFETY: `alive` under the lock guarantees the TSFN is not finalized (see SharedState).
      // Non-blocking on an unbounded queue cannot fail for lack of room. The data pointer only
      // carries the channel's index to `drain`; it is never dereferenced.
      unsafe {
        sys::napi_call_threadsafe_function(
          state.channels[channel],
          channel as *mut c_void,
          sys::ThreadsafeFunctionCallMode::nonblocking,
        )
      };
    }
  }

  /// Takes every completion queued so far; wake-ups from now on go through the other channel.
  fn take_completions(&self, drained_channel: usize) -> Vec<Completion> {
    let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
    state.next_channel = 1 - drained_channel;
    std::mem::take(&mut state.completions)
  }
}

/// A promise waiting for its job, owned by the JS thread.
struct Pending {
  deferred: sys::napi_deferred,
  abort: Option<AbortLink>,
  /// The job writes caller memory: an abort leaves the promise pending until the job stops.
  holds_abort: bool,
  /// The `AbortError` such a promise rejects with once its job has stopped.
  aborted: Option<sys::napi_ref>,
}

impl Pending {
  fn new(deferred: sys::napi_deferred, abort: Option<AbortLink>, holds_abort: bool) -> Self {
    Pending {
      deferred,
      abort,
      holds_abort,
      aborted: None,
    }
  }
}

/// One environment's bridge, living on its JS thread (each worker_thread has its own).
struct EnvBridge {
  env: sys::napi_env,
  shared: Arc<Shared>,
  channels: Channels,
  /// Keyed by sequential job ids, so no hashing is needed.
  pending: IntMap<u64, Pending>,
  next_id: u64,
  referenced: bool,
}

thread_local! {
  static BRIDGE: RefCell<Option<EnvBridge>> = const { RefCell::new(None) };
}

/// Queues `job` and returns its promise at once. Errors from `prepare` (argument decoding, on the JS
/// thread) reject the returned promise too, so an async export never throws.
pub fn spawn<'env, T, F>(
  env: &'env Env,
  prepare: impl FnOnce() -> Result<Job<'env, F>>,
) -> napi::Result<PromiseRaw<'env, T>>
where
  F: FnOnce(&Cancel) -> Result<T> + Send + 'static,
  T: ToNapiValue + Send + 'static,
{
  let raw_env = env.raw();
  let mut deferred = ptr::null_mut();
  let mut promise = ptr::null_mut();
  // SAFETY: on the JS thread of `env` (we are inside a #[napi] call).
  check(unsafe { sys::napi_create_promise(raw_env, &mut deferred, &mut promise) })?;
  if let Err(error) = prepare().and_then(|job| queue(raw_env, deferred, job)) {
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

fn queue<T, F>(env: sys::napi_env, deferred: sys::napi_deferred, job: Job<'_, F>) -> Result<()>
where
  F: FnOnce(&Cancel) -> Result<T> + Send + 'static,
  T: ToNapiValue + Send + 'static,
{
  let id = with_bridge(env, |bridge| {
    bridge.next_id += 1;
    Ok(bridge.next_id)
  })?;
  // The listener goes on before the job is queued, outside any bridge borrow (addEventListener
  // runs JS): if that fails, nothing was queued and the caller rejects the promise; once queued,
  // the promise belongs to the table and is settled only from there.
  let (cancel, abort) = match job.signal {
    Some(signal) if signal.aborted()? => return Err(OffloopError::aborted()),
    Some(signal) => {
      let cancel = Cancel::new();
      (cancel.clone(), Some(signal.listen(id, cancel)?))
    }
    None => (Cancel::default(), None),
  };
  let (work, holds_abort) = (job.work, job.writes_caller_memory);
  let queued = with_bridge(env, |bridge| {
    let shared = bridge.shared.clone();
    let job_cancel = cancel.clone();
    pool().submit(move || {
      let (outcome, completion) = run(&shared, id, &job_cancel, holds_abort, work);
      (outcome, move || completion.into_iter().for_each(|c| shared.deliver(c)))
    })
  });
  match queued {
    Ok(()) => with_bridge(env, |bridge| {
      bridge.pending.insert(id, Pending::new(deferred, abort, holds_abort));
      bridge.update_ref();
      Ok(())
    }),
    Err(error) => {
      if let Some(link) = abort {
        link.unlisten(env);
      }
      Err(error)
    }
  }
}

/// The pool-thread side of a job: runs the work unless it was aborted or its environment is gone.
/// A job aborted before it ran completes only if its promise holds the abort (an `AbortError`
/// settles it); any other promise the abort already settled, and the JS thread is not woken for it.
fn run<T, F>(shared: &Shared, id: u64, cancel: &Cancel, holds_abort: bool, work: F) -> (Outcome, Option<Completion>)
where
  F: FnOnce(&Cancel) -> Result<T>,
  T: ToNapiValue + Send + 'static,
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
  let result = catch_unwind(AssertUnwindSafe(|| work(cancel))).unwrap_or_else(|payload| Err(panic_error(payload)));
  let outcome = if result.is_ok() {
    Outcome::Completed
  } else {
    Outcome::Failed
  };
  (
    outcome,
    Some(Completion {
      id,
      outcome: result.map(settle_with),
    }),
  )
}

/// Turns a job's value into the closure that builds it on the JS thread.
fn settle_with<T: ToNapiValue + Send + 'static>(value: T) -> Settle {
  Box::new(move |env| {
    // SAFETY: the bridge calls settle closures only on the JS thread of `env`.
    unsafe { T::to_napi_value(env, value) }.map_err(|e| OffloopError::error("ERR_OFFLOOP_INTERNAL", e.reason))
  })
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
  with_bridge(env, |bridge| {
    // The same id sequence as jobs (`queue`), so a settler and a job never share an id.
    bridge.next_id += 1;
    let id = bridge.next_id;
    bridge.pending.insert(id, Pending::new(deferred, None, false));
    bridge.update_ref();
    Ok((
      promise,
      Settler {
        shared: bridge.shared.clone(),
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
    self.shared.deliver(Completion {
      id: self.id,
      outcome: result.map(settle_with),
    });
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
      self.shared.deliver(Completion {
        id: self.id,
        outcome: Err(OffloopError::error(
          "ERR_OFFLOOP_INTERNAL",
          "offloop: a promise was dropped before it settled (this is a bug in offloop)",
        )),
      });
    }
  }
}

fn panic_error(payload: Box<dyn std::any::Any + Send>) -> OffloopError {
  let detail = payload
    .downcast_ref::<&str>()
    .map(|s| s.to_string())
    .or_else(|| payload.downcast_ref::<String>().cloned())
    .unwrap_or_default();
  OffloopError::error(
    "ERR_OFFLOOP_PANIC",
    format!("offloop: a job panicked (this is a bug in offloop): {detail}"),
  )
}

/// Called by the abort listener: tells the job to stop and rejects its promise with an `AbortError`
/// if it is still pending: at once, or, for a job that writes caller memory, when the job stops.
pub(super) fn abort(env: sys::napi_env, id: u64, reason: sys::napi_value) {
  // Made before the table is borrowed: setting `cause` can run JS (a setter on Error.prototype).
  // SAFETY: the abort listener runs on the JS thread of `env`.
  let error = unsafe { OffloopError::aborted().to_js(env) };
  if !error.is_null() && !reason.is_null() {
    // SAFETY: JS thread; both values are live in this callback's scope.
    unsafe { sys::napi_set_named_property(env, error, c"cause".as_ptr(), reason) };
  }
  let found = BRIDGE.with(|cell| {
    let mut slot = cell.borrow_mut();
    let bridge = slot.as_mut().filter(|b| b.env == env)?;
    let pending = bridge.pending.get_mut(&id)?;
    let link = pending.abort.take();
    if pending.holds_abort {
      let mut error_ref = ptr::null_mut();
      // SAFETY: JS thread; the reference is deleted when the promise settles (`drain`), or by
      // N-API with the environment.
      unsafe { sys::napi_create_reference(env, error, 1, &mut error_ref) };
      pending.aborted = Some(error_ref);
      return Some((link, None));
    }
    let pending = bridge.pending.remove(&id);
    bridge.update_ref();
    Some((link, pending))
  });
  let Some((link, settle_now)) = found else { return };
  if let Some(link) = link {
    link.cancel.cancel();
    link.forget(env);
  }
  if let Some(pending) = settle_now {
    // SAFETY: JS thread; the deferred was taken out of the table, so it is settled only here.
    unsafe { sys::napi_reject_deferred(env, pending.deferred, error) };
  }
}

fn take_pending(env: sys::napi_env, id: u64) -> Option<Pending> {
  BRIDGE.with(|cell| {
    let mut slot = cell.borrow_mut();
    let bridge = slot.as_mut().filter(|b| b.env == env)?;
    let pending = bridge.pending.remove(&id);
    bridge.update_ref();
    pending
  })
}

/// Settles a deferred with a result built on the JS thread. Never throws into JS.
fn settle(env: sys::napi_env, deferred: sys::napi_deferred, outcome: Result<Settle>) {
  let value = outcome.and_then(|build| build(env));
  // SAFETY: JS thread of `env`; each deferred reaches here once (it was removed from the table or
  // never entered it).
  unsafe {
    match value {
      Ok(value) => sys::napi_resolve_deferred(env, deferred, value),
      Err(error) => sys::napi_reject_deferred(env, deferred, error.to_js(env)),
    };
  }
}

/// A completion TSFN's callback: drains every completion queued since the last drain.
unsafe extern "C" fn drain(
  env: sys::napi_env,
  _js_callback: sys::napi_value,
  context: *mut c_void,
  channel: *mut c_void,
) {
  if env.is_null() {
    return; // the TSFN is being finalized; nothing can be settled any more
  }
  // SAFETY: `context` is an `Arc<Shared>` leaked in `EnvBridge::new`, freed only by the TSFN's
  // finalizer, which runs after the last call of this callback.
  let shared = unsafe { &*(context as *const Shared) };
  for completion in shared.take_completions(channel as usize) {
    let Some(pending) = take_pending(env, completion.id) else {
      continue;
    };
    let mut scope = ptr::null_mut();
    // SAFETY: JS thread. A scope per result keeps a large batch from piling up handles.
    unsafe { sys::napi_open_handle_scope(env, &mut scope) };
    if let Some(link) = pending.abort {
      link.unlisten(env);
    }
    match pending.aborted {
      // SAFETY: JS thread; the reference was made in `abort` and is deleted once, here.
      Some(error_ref) => unsafe {
        let mut error = ptr::null_mut();
        sys::napi_get_reference_value(env, error_ref, &mut error);
        sys::napi_delete_reference(env, error_ref);
        sys::napi_reject_deferred(env, pending.deferred, error);
      },
      None => settle(env, pending.deferred, completion.outcome),
    }
    // SAFETY: closes the scope opened above.
    unsafe { sys::napi_close_handle_scope(env, scope) };
  }
}

unsafe extern "C" fn finalize_shared(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
  // SAFETY: `data` is the pointer from `Arc::into_raw` in `EnvBridge::new`; N-API calls this once.
  drop(unsafe { Arc::from_raw(data as *const Shared) });
}

/// The environment's cleanup hook: from here on no job runs or delivers for it.
unsafe extern "C" fn env_teardown(_arg: *mut c_void) {
  BRIDGE.with(|cell| {
    if let Some(bridge) = cell.borrow_mut().take() {
      // The pending deferreds and abort references die with the environment; N-API frees them.
      bridge.shared.state.lock().unwrap_or_else(|e| e.into_inner()).alive = false;
    }
  });
}

fn with_bridge<R>(env: sys::napi_env, f: impl FnOnce(&mut EnvBridge) -> Result<R>) -> Result<R> {
  BRIDGE.with(|cell| {
    let mut slot = cell.borrow_mut();
    if slot.as_ref().is_none_or(|b| b.env != env) {
      *slot = Some(EnvBridge::new(env)?);
    }
    f(slot.as_mut().expect("bridge was just created"))
  })
}

impl EnvBridge {
  fn new(env: sys::napi_env) -> Result<Self> {
    let shared = Arc::new(Shared {
      state: Mutex::new(SharedState {
        alive: true,
        completions: Vec::new(),
        channels: [ptr::null_mut(); 2],
        next_channel: 0,
      }),
    });
    let channels = [new_channel(env, &shared)?, new_channel(env, &shared)?];
    // SAFETY: JS thread of `env`. The cleanup hook is added after the TSFNs so it runs before
    // N-API's own hooks finalize them (hooks run in reverse order of addition).
    unsafe { sys::napi_add_env_cleanup_hook(env, Some(env_teardown), ptr::null_mut()) };
    shared.state.lock().unwrap_or_else(|e| e.into_inner()).channels = channels;
    Ok(EnvBridge {
      env,
      shared,
      channels,
      pending: IntMap::default(),
      next_id: 0,
      referenced: false,
    })
  }

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
