//! Consuming a JavaScript (async) iterable from Rust, as `for await (const value of source)` does:
//! for Node streams (`req`, `fs.createReadStream`), async generators and arrays of chunks.
//!
//! Why by hand: `index.js` is generated, so an export cannot be a JS `for await` loop, and napi-rs
//! has no consumer of JS async iterables. The loop is a chain of promise callbacks on the JS thread:
//! `next()`, then hand the value to a Rust [`Consumer`] (which queues work on the pool and returns at
//! once), then `next()` again. A consumer can ask to wait for a promise first (backpressure). The
//! JS thread only moves values; the consumer's work runs on the pool.

use std::cell::{Cell, RefCell};
use std::ptr;
use std::rc::Rc;

use napi::bindgen_prelude::{CallbackContext, PromiseRaw};
use napi::{sys, Env};

use super::abort::clear_exception;
use super::args::{JsArg, Kind};
use super::error::{OffloopError, Result};

/// What a loop over an iterable does with its values, on the JS thread.
pub trait Consumer: 'static {
  /// One value. `Ok(Some(promise))` waits for that promise before the next value is asked for.
  /// An error ends the loop: the iterator's `return()` is called (a stream is destroyed) and the
  /// call rejects with it.
  fn item(&mut self, value: JsArg) -> Result<Option<sys::napi_value>>;

  /// The iterable is done: the value (or promise, which is adopted) the call resolves with.
  fn finish(self, env: sys::napi_env) -> Result<sys::napi_value>;
}

/// Consumes `source` (an object with `Symbol.asyncIterator` or `Symbol.iterator`) with `consumer`.
/// Returns at once; the promise settles with `finish`'s value, a consumer error, or whatever the
/// source threw or rejected with (unchanged, as `for await` would). `name` names the argument in a
/// type error.
pub fn for_await<'env, T, C: Consumer>(
  env: &'env Env,
  source: JsArg,
  name: &str,
  consumer: C,
) -> napi::Result<PromiseRaw<'env, T>> {
  let raw = env.raw();
  let mut deferred = ptr::null_mut();
  let mut promise = ptr::null_mut();
  // SAFETY: JS thread of `env` (inside an export).
  if unsafe { sys::napi_create_promise(raw, &mut deferred, &mut promise) } != sys::Status::napi_ok {
    return Err(napi::Error::from_reason("offloop: cannot create a promise"));
  }
  let opened = open(raw, source, name);
  let (iterator, next) = *opened.as_ref().unwrap_or(&(ptr::null_mut(), ptr::null_mut()));
  let drive = Rc::new(Drive {
    env: raw,
    deferred: Cell::new(Some(deferred)),
    consumer: RefCell::new(Some(consumer)),
    iterator,
    next,
  });
  match opened {
    Ok(_) => guarded(drive, pump),
    Err(error) => drive.reject(Rejection::Error(error)),
  }
  Ok(PromiseRaw::new(raw, promise))
}

/// One loop in progress, shared by the callbacks of its pending promise.
struct Drive<C> {
  env: sys::napi_env,
  /// Taken by whichever settles the loop's promise, exactly once.
  deferred: Cell<Option<sys::napi_deferred>>,
  consumer: RefCell<Option<C>>,
  iterator: sys::napi_ref,
  next: sys::napi_ref,
}

enum Rejection {
  Error(OffloopError),
  /// A JS value thrown or rejected with by the source, passed on unchanged.
  Value(sys::napi_value),
}

enum Step {
  Next,
  Wait(sys::napi_value),
  Stop,
}

/// Gets the iterator and its `next` method, held by references for the loop's lifetime.
fn open(env: sys::napi_env, source: JsArg, name: &str) -> Result<(sys::napi_ref, sys::napi_ref)> {
  let not_iterable = || {
    OffloopError::invalid_type(
      name,
      "an async iterable (a stream, an async generator) or an iterable",
      &source.received(),
    )
  };
  if source.kind() != Kind::Object {
    return Err(not_iterable());
  }
  // SAFETY: JS thread; every value is live in the current call's scope. Getters and the iterator
  // method run user JS: a throw is cleared and reported as a typed error.
  unsafe {
    let method = [c"asyncIterator", c"iterator"]
      .into_iter()
      .find_map(|symbol| {
        let method = get(env, source.raw(), well_known_symbol(env, symbol)?)?;
        is_function(env, method).then_some(method)
      })
      .ok_or_else(not_iterable)?;
    let mut iterator = ptr::null_mut();
    let called = sys::napi_call_function(env, source.raw(), method, 0, ptr::null(), &mut iterator);
    let mut next = ptr::null_mut();
    if called != sys::Status::napi_ok
      || JsArg::from_raw(env, iterator).kind() != Kind::Object
      || sys::napi_get_named_property(env, iterator, c"next".as_ptr(), &mut next) != sys::Status::napi_ok
      || !is_function(env, next)
    {
      clear_exception(env);
      return Err(not_iterable());
    }
    let (mut iterator_ref, mut next_ref) = (ptr::null_mut(), ptr::null_mut());
    sys::napi_create_reference(env, iterator, 1, &mut iterator_ref);
    sys::napi_create_reference(env, next, 1, &mut next_ref);
    Ok((iterator_ref, next_ref))
  }
}

/// Asks for values until one is a promise (then continues in its callback) or the loop ends.
fn pump<C: Consumer>(drive: Rc<Drive<C>>) {
  loop {
    let env = drive.env;
    let mut scope = ptr::null_mut();
    // SAFETY: JS thread. A scope per value keeps a long synchronous iterable from piling up handles.
    unsafe { sys::napi_open_handle_scope(env, &mut scope) };
    let step = match drive.call_next() {
      Err(exception) => {
        drive.reject(Rejection::Value(exception));
        Step::Stop
      }
      Ok(result) if is_promise(env, result) => {
        after(&drive, result, Awaited::Next, |drive, value| {
          match drive.on_result(value.raw()) {
            Step::Next => pump(drive),
            Step::Wait(promise) => after(&drive, promise, Awaited::Wait, |drive, _| pump(drive)),
            Step::Stop => {}
          }
        });
        Step::Stop
      }
      Ok(result) => drive.on_result(result),
    };
    let go_on = match step {
      Step::Next => true,
      Step::Wait(promise) => {
        after(&drive, promise, Awaited::Wait, |drive, _| pump(drive));
        false
      }
      Step::Stop => false,
    };
    // SAFETY: closes the scope opened above.
    unsafe { sys::napi_close_handle_scope(env, scope) };
    if !go_on {
      return;
    }
  }
}

/// What the loop waits for, which decides what a rejection means.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Awaited {
  /// A `next()` promise: a rejection is the source failing; it is not closed (as with `for await`).
  Next,
  /// The consumer's wait: a rejection is the consumer failing; the source is closed via `return()`.
  Wait,
}

/// Runs a step of the loop; a panic in it rejects the loop (`ERR_OFFLOOP_PANIC`) instead of
/// unwinding into the JS engine.
fn guarded<C: Consumer>(drive: Rc<Drive<C>>, step: impl FnOnce(Rc<Drive<C>>)) {
  let on_panic = drive.clone();
  if let Err(error) = OffloopError::catching(|| {
    step(drive);
    Ok(())
  }) {
    on_panic.reject(Rejection::Error(error));
  }
}

/// Runs `then` with the value of `promise`, or rejects the loop with its rejection.
fn after<C: Consumer>(
  drive: &Rc<Drive<C>>,
  promise: sys::napi_value,
  awaited: Awaited,
  then: impl FnOnce(Rc<Drive<C>>, JsArg) + 'static,
) {
  let on_value = drive.clone();
  let on_error = drive.clone();
  let attached = PromiseRaw::<JsArg>::new(drive.env, promise)
    .then(move |ctx: CallbackContext<JsArg>| {
      guarded(on_value, |drive| then(drive, ctx.value));
      Ok(())
    })
    .and_then(|chained| {
      chained.catch(move |ctx: CallbackContext<JsArg>| {
        if awaited == Awaited::Wait {
          on_error.close();
        }
        on_error.reject(Rejection::Value(ctx.value.raw()));
        Ok(())
      })
    });
  if attached.is_err() {
    // SAFETY: JS thread (the iteration is driven from JS callbacks).
    unsafe { clear_exception(drive.env) };
    drive.reject(Rejection::Error(OffloopError::error(
      "ERR_OFFLOOP_INTERNAL",
      "offloop: cannot wait for a promise of the iterable",
    )));
  }
}

impl<C: Consumer> Drive<C> {
  fn call_next(&self) -> std::result::Result<sys::napi_value, sys::napi_value> {
    let mut result = ptr::null_mut();
    // SAFETY: JS thread; the references live as long as `self`.
    let status = unsafe {
      sys::napi_call_function(
        self.env,
        self.value(self.iterator),
        self.value(self.next),
        0,
        ptr::null(),
        &mut result,
      )
    };
    if status == sys::Status::napi_ok {
      Ok(result)
    } else {
      Err(take_exception(self.env))
    }
  }

  /// Handles one `{ done, value }` result.
  fn on_result(&self, result: sys::napi_value) -> Step {
    if self.deferred_taken() {
      return Step::Stop;
    }
    let env = self.env;
    if JsArg::from_raw(env, result).kind() != Kind::Object {
      self.reject(Rejection::Error(OffloopError::new(
        super::ErrorKind::TypeError,
        "ERR_INVALID_RETURN_VALUE",
        "The iterator's next() must return an object ({ done, value })",
      )));
      return Step::Stop;
    }
    // SAFETY: JS thread; `result` is live in the current scope. Getters may throw: passed on.
    let (done, value) = unsafe {
      let mut done = ptr::null_mut();
      let mut is_done = false;
      let mut value = ptr::null_mut();
      if sys::napi_get_named_property(env, result, c"done".as_ptr(), &mut done) != sys::Status::napi_ok
        || sys::napi_coerce_to_bool(env, done, &mut done) != sys::Status::napi_ok
        || sys::napi_get_value_bool(env, done, &mut is_done) != sys::Status::napi_ok
        || (!is_done
          && sys::napi_get_named_property(env, result, c"value".as_ptr(), &mut value) != sys::Status::napi_ok)
      {
        self.reject(Rejection::Value(take_exception(env)));
        return Step::Stop;
      }
      (is_done, value)
    };
    let Some(mut consumer) = self.consumer.borrow_mut().take() else {
      return Step::Stop;
    };
    if done {
      match OffloopError::catching(|| consumer.finish(env)) {
        Ok(value) => self.resolve(value),
        Err(error) => self.reject(Rejection::Error(error)),
      }
      return Step::Stop;
    }
    match OffloopError::catching(|| consumer.item(JsArg::from_raw(env, value))) {
      Ok(wait) => {
        *self.consumer.borrow_mut() = Some(consumer);
        wait.map_or(Step::Next, Step::Wait)
      }
      Err(error) => {
        self.close();
        self.reject(Rejection::Error(error));
        Step::Stop
      }
    }
  }

  /// Calls the iterator's `return()` when the loop stops early, as `for await` does on a `break`
  /// or a throw in its body: a Node stream is destroyed (its file closed). Its result is ignored.
  fn close(&self) {
    let env = self.env;
    // SAFETY: JS thread; the reference lives as long as `self`.
    unsafe {
      let iterator = self.value(self.iterator);
      let mut method = ptr::null_mut();
      let mut result = ptr::null_mut();
      if sys::napi_get_named_property(env, iterator, c"return".as_ptr(), &mut method) == sys::Status::napi_ok
        && is_function(env, method)
        && sys::napi_call_function(env, iterator, method, 0, ptr::null(), &mut result) == sys::Status::napi_ok
        && is_promise(env, result)
      {
        // A rejection of `return()` must not surface as an unhandled rejection.
        let _ = PromiseRaw::<JsArg>::new(env, result).catch(|_: CallbackContext<JsArg>| Ok(()));
      }
      clear_exception(env);
    }
  }

  fn deferred_taken(&self) -> bool {
    let deferred = self.deferred.take();
    self.deferred.set(deferred);
    deferred.is_none()
  }

  fn resolve(&self, value: sys::napi_value) {
    if let Some(deferred) = self.deferred.take() {
      // SAFETY: JS thread; the deferred is taken, so it is settled once.
      unsafe { sys::napi_resolve_deferred(self.env, deferred, value) };
    }
  }

  fn reject(&self, rejection: Rejection) {
    let Some(deferred) = self.deferred.take() else { return };
    // The loop is over: drop the consumer (and what it holds) now rather than at garbage collection.
    self.consumer.borrow_mut().take();
    let error = match rejection {
      // SAFETY: JS thread (the iteration is driven from JS callbacks).
      Rejection::Error(error) => unsafe { error.to_js(self.env) },
      Rejection::Value(value) => value,
    };
    // SAFETY: JS thread; the deferred is taken, so it is settled once.
    unsafe { sys::napi_reject_deferred(self.env, deferred, error) };
  }

  /// # Safety
  /// JS thread; `reference` is one of this loop's references.
  unsafe fn value(&self, reference: sys::napi_ref) -> sys::napi_value {
    let mut value = ptr::null_mut();
    // SAFETY: per this function's contract.
    unsafe { sys::napi_get_reference_value(self.env, reference, &mut value) };
    value
  }
}

impl<C> Drop for Drive<C> {
  fn drop(&mut self) {
    // SAFETY: a Drive lives in `Rc`s held by JS callbacks and `pump`, so it is dropped on the JS
    // thread; the references were made in `open` (null when opening failed).
    unsafe {
      for reference in [self.iterator, self.next] {
        if !reference.is_null() {
          sys::napi_delete_reference(self.env, reference);
        }
      }
    }
  }
}

/// # Safety
/// JS thread of `env`; `object` and `key` live in the current scope.
unsafe fn get(env: sys::napi_env, object: sys::napi_value, key: sys::napi_value) -> Option<sys::napi_value> {
  let mut value = ptr::null_mut();
  // SAFETY: per this function's contract.
  if unsafe { sys::napi_get_property(env, object, key, &mut value) } == sys::Status::napi_ok {
    Some(value)
  } else {
    clear_exception(env);
    None
  }
}

/// `Symbol[name]`, e.g. `Symbol.asyncIterator`.
///
/// # Safety
/// JS thread of `env`.
unsafe fn well_known_symbol(env: sys::napi_env, name: &std::ffi::CStr) -> Option<sys::napi_value> {
  let mut global = ptr::null_mut();
  let mut symbol_ctor = ptr::null_mut();
  let mut symbol = ptr::null_mut();
  // SAFETY: per this function's contract.
  unsafe {
    (sys::napi_get_global(env, &mut global) == sys::Status::napi_ok
      && sys::napi_get_named_property(env, global, c"Symbol".as_ptr(), &mut symbol_ctor) == sys::Status::napi_ok
      && sys::napi_get_named_property(env, symbol_ctor, name.as_ptr(), &mut symbol) == sys::Status::napi_ok)
      .then_some(symbol)
  }
}

fn is_function(env: sys::napi_env, value: sys::napi_value) -> bool {
  JsArg::from_raw(env, value).kind() == Kind::Function
}

fn is_promise(env: sys::napi_env, value: sys::napi_value) -> bool {
  let mut yes = false;
  // SAFETY: JS thread of `env`; `value` is live in the current scope.
  unsafe { sys::napi_is_promise(env, value, &mut yes) };
  yes
}

/// The pending exception (what the source threw), cleared so it can reject the loop's promise.
fn take_exception(env: sys::napi_env) -> sys::napi_value {
  let mut exception = ptr::null_mut();
  // SAFETY: JS thread of `env`.
  unsafe { sys::napi_get_and_clear_last_exception(env, &mut exception) };
  if exception.is_null() {
    // No exception was pending (an N-API failure): reject with `undefined` rather than nothing.
    // SAFETY: JS thread of `env`.
    unsafe { sys::napi_get_undefined(env, &mut exception) };
  }
  exception
}
