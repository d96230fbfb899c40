//! `AbortSignal` support for every async export, done by hand because napi-rs's `AbortSignal`
//! overwrites the signal's `onabort` (the user's own handler is lost), ignores a signal that is
//! already aborted, and only cancels libuv work. Here: `aborted` is read first, and the listener is
//! added with `addEventListener` next to the user's own.
//!
//! One listener per signal, however many calls share it: the README recommends one long-lived
//! signal, and a listener per call printed `MaxListenersExceededWarning` from the 11th pending call
//! and cost 10,000 listeners for 10,000 calls. Each environment keeps a registry of the signals its
//! pending calls listen to (found from the signal through a `WeakMap`), with the calls of each; the
//! listener goes on with a signal's first call and comes off with its last, or fires once for all.
//!
//! A signal is the caller's object: its getters, traps and methods may throw. Every such throw is
//! cleared and reported as a coded error (or ignored when the call is already settled), so a call
//! never throws and its promise always settles.

use std::cell::RefCell;
use std::ffi::c_void;
use std::ptr;

use napi::sys;
use nohash_hasher::IntMap;

use super::bridge::{self, Cancel};
use super::env::EnvState;
use super::error::{contain, OffloopError, Result};

/// A caller's `AbortSignal`, valid during the export call on the JS thread (not `Send`).
pub struct Signal<'env> {
  env: sys::napi_env,
  value: sys::napi_value,
  _call: std::marker::PhantomData<&'env ()>,
}

/// A pending call's place in the registry: the slot of its signal's entry.
pub(super) struct AbortLink {
  slot: usize,
}

impl<'env> Signal<'env> {
  /// Accepts what Node's `validateAbortSignal` accepts: an object with an `aborted` property.
  /// `name` is the option's path for the error message.
  pub(super) fn from_value(
    env: sys::napi_env,
    value: sys::napi_value,
    name: &str,
    received: impl FnOnce() -> String,
  ) -> Result<Self> {
    let mut has_aborted = false;
    let mut kind = 0;
    // SAFETY: JS thread of `env`; `value` is an argument of the current call. A Proxy's `has` trap
    // may throw: the exception is cleared and the value refused.
    let is_object = unsafe {
      sys::napi_typeof(env, value, &mut kind) == sys::Status::napi_ok
        && kind == sys::ValueType::napi_object
        && sys::napi_has_named_property(env, value, c"aborted".as_ptr(), &mut has_aborted) == sys::Status::napi_ok
    };
    if !is_object || !has_aborted {
      // SAFETY: JS thread, as above.
      unsafe { clear_exception(env) };
      return Err(OffloopError::invalid_type(
        name,
        "an instance of AbortSignal",
        &received(),
      ));
    }
    Ok(Signal {
      env,
      value,
      _call: std::marker::PhantomData,
    })
  }

  pub(super) fn aborted(&self) -> Result<bool> {
    let mut aborted = false;
    // SAFETY: JS thread; `self.value` is live for the call. A getter that throws leaves an
    // exception pending, reported as a failed status.
    let ok = unsafe {
      let mut value = ptr::null_mut();
      sys::napi_get_named_property(self.env, self.value, c"aborted".as_ptr(), &mut value) == sys::Status::napi_ok
        && sys::napi_coerce_to_bool(self.env, value, &mut value) == sys::Status::napi_ok
        && sys::napi_get_value_bool(self.env, value, &mut aborted) == sys::Status::napi_ok
    };
    if ok {
      Ok(aborted)
    } else {
      // SAFETY: JS thread, as the calls above.
      unsafe { clear_exception(self.env) };
      Err(not_a_signal("an object whose aborted getter throws"))
    }
  }

  /// The signal's `reason`, for the `cause` of its `AbortError`; null when reading it throws.
  pub(super) fn reason(&self) -> sys::napi_value {
    let mut reason = ptr::null_mut();
    // SAFETY: JS thread; `self.value` is live for the call. A throwing getter leaves an exception
    // pending, cleared here.
    unsafe {
      if sys::napi_get_named_property(self.env, self.value, c"reason".as_ptr(), &mut reason) != sys::Status::napi_ok {
        clear_exception(self.env);
        reason = ptr::null_mut();
      }
    }
    reason
  }

  /// Registers job `id` with this signal, adding the signal's listener if it is the first.
  pub(super) fn listen(self, id: u64, cancel: Cancel) -> Result<AbortLink> {
    // SAFETY: JS thread of `self.env` (an export call).
    let signals = &unsafe { EnvState::of(self.env)? }.signals;
    let found = signals.borrow_mut().find(self.env, self.value)?;
    let slot = match found {
      Some(slot) => slot,
      // Outside any borrow: adding the listener runs the caller's code.
      None => Signals::add(signals, self.env, self.value)?,
    };
    let mut registry = signals.borrow_mut();
    let entry = registry.entries[slot]
      .as_mut()
      .expect("a found or added slot holds an entry");
    entry.calls.insert(id, cancel);
    Ok(AbortLink { slot })
  }
}

fn not_a_signal(received: &str) -> OffloopError {
  OffloopError::invalid_type("options.signal", "an instance of AbortSignal", received)
}

impl AbortLink {
  /// The call settled: it leaves its signal's entry, and the last one out removes the listener.
  pub(super) fn unlisten(self, env: sys::napi_env, id: u64) {
    // SAFETY: JS thread of `env` (the bridge settles there).
    let Ok(state) = (unsafe { EnvState::of(env) }) else {
      return;
    };
    let emptied = {
      let mut registry = state.signals.borrow_mut();
      let Some(entry) = registry.entries.get_mut(self.slot).and_then(Option::as_mut) else {
        return;
      };
      entry.calls.remove(&id);
      entry.calls.is_empty().then(|| registry.free(env, self.slot))
    };
    // Outside the borrow: removing the listener runs the caller's code.
    if let Some(entry) = emptied {
      entry.remove(env);
    }
  }
}

/// The signals one environment's pending calls listen to.
#[derive(Default)]
pub(super) struct Signals {
  /// A JS `WeakMap` from a signal to its slot, and the `WeakMap.prototype` methods it is used
  /// with (taken when it is made, so a later change to the prototype cannot break them).
  map: Option<WeakMapRefs>,
  entries: Vec<Option<Entry>>,
  free_slots: Vec<usize>,
}

struct WeakMapRefs {
  map: sys::napi_ref,
  get: sys::napi_ref,
  set: sys::napi_ref,
  delete: sys::napi_ref,
}

/// One signal with pending calls: references to it and its listener, and the calls.
struct Entry {
  signal: sys::napi_ref,
  listener: sys::napi_ref,
  calls: IntMap<u64, Cancel>,
}

impl Signals {
  /// The slot of `signal`'s entry, if it has one.
  fn find(&mut self, env: sys::napi_env, signal: sys::napi_value) -> Result<Option<usize>> {
    let refs = self.weak_map(env)?;
    // SAFETY: JS thread of `env`; the references were made in `weak_map`.
    let found = unsafe { call(env, refs.map, refs.get, &[signal]) }?;
    let mut slot = 0i64;
    // SAFETY: JS thread; a number only ever set by `add`.
    let is_slot = unsafe { sys::napi_get_value_int64(env, found, &mut slot) } == sys::Status::napi_ok;
    Ok(is_slot.then_some(slot as usize))
  }

  /// Adds `signal`'s listener and entry; returns its slot.
  fn add(signals: &RefCell<Signals>, env: sys::napi_env, signal: sys::napi_value) -> Result<usize> {
    let slot = {
      let mut registry = signals.borrow_mut();
      registry.free_slots.pop().unwrap_or_else(|| {
        registry.entries.push(None);
        registry.entries.len() - 1
      })
    };
    // SAFETY: JS thread of `env`. The slot travels as the function's data pointer (an integer,
    // never dereferenced). References keep the signal and listener alive until the entry goes.
    let entry = unsafe {
      let mut listener = ptr::null_mut();
      sys::napi_create_function(
        env,
        c"offloopAbort".as_ptr(),
        12,
        Some(on_abort),
        slot as *mut c_void,
        &mut listener,
      );
      let mut options = ptr::null_mut();
      let mut yes = ptr::null_mut();
      sys::napi_create_object(env, &mut options);
      sys::napi_get_boolean(env, true, &mut yes);
      sys::napi_set_named_property(env, options, c"once".as_ptr(), yes);
      if !call_method(
        env,
        signal,
        c"addEventListener",
        &[string(env, "abort"), listener, options],
      ) {
        clear_exception(env);
        signals.borrow_mut().free_slots.push(slot);
        return Err(not_a_signal("an object whose addEventListener is missing or throws"));
      }
      let (mut signal_ref, mut listener_ref) = (ptr::null_mut(), ptr::null_mut());
      sys::napi_create_reference(env, signal, 1, &mut signal_ref);
      sys::napi_create_reference(env, listener, 1, &mut listener_ref);
      Entry {
        signal: signal_ref,
        listener: listener_ref,
        calls: IntMap::default(),
      }
    };
    let mut registry = signals.borrow_mut();
    let refs = registry.weak_map(env)?;
    let mut number = ptr::null_mut();
    // SAFETY: JS thread; WeakMap.prototype.set on our own WeakMap with an object key cannot throw.
    unsafe {
      sys::napi_create_int64(env, slot as i64, &mut number);
      call(env, refs.map, refs.set, &[signal, number])?;
    }
    registry.entries[slot] = Some(entry);
    Ok(slot)
  }

  /// Takes the entry out of `slot`, and its signal out of the map, for the caller to finish.
  fn free(&mut self, env: sys::napi_env, slot: usize) -> Entry {
    let entry = self.entries[slot].take().expect("a slot in use holds an entry");
    self.free_slots.push(slot);
    if let Some(refs) = &self.map {
      // SAFETY: JS thread of `env`; the entry's references live until `Entry::remove` or
      // `Entry::forget`. WeakMap.prototype.delete on our own WeakMap cannot throw.
      unsafe {
        let signal = value(env, entry.signal);
        if !signal.is_null() {
          let _ = call(env, refs.map, refs.delete, &[signal]);
        }
      }
    }
    entry
  }

  fn weak_map(&mut self, env: sys::napi_env) -> Result<&WeakMapRefs> {
    if self.map.is_none() {
      // SAFETY: JS thread of `env`.
      self.map = Some(unsafe { new_weak_map(env) }.ok_or_else(internal)?);
    }
    Ok(self.map.as_ref().expect("just made"))
  }
}

impl Entry {
  /// The last call left: take the listener off the signal, then drop the references.
  fn remove(self, env: sys::napi_env) {
    // SAFETY: JS thread of `env`; the references are live until `forget`. A throwing
    // removeEventListener is ignored: every call of this signal has settled already.
    unsafe {
      let (signal, listener) = (value(env, self.signal), value(env, self.listener));
      if !signal.is_null()
        && !listener.is_null()
        && !call_method(env, signal, c"removeEventListener", &[string(env, "abort"), listener])
      {
        clear_exception(env);
      }
    }
    self.forget(env);
  }

  /// Drops the references without touching the signal (its once-listener already ran).
  fn forget(self, env: sys::napi_env) {
    // SAFETY: JS thread; the references were made in `Signals::add` and are deleted once, here.
    unsafe {
      sys::napi_delete_reference(env, self.signal);
      sys::napi_delete_reference(env, self.listener);
    }
  }
}

/// The listener: every pending call of the signal is aborted, with the signal's `reason` as the
/// `cause` of its `AbortError`.
unsafe extern "C" fn on_abort(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  let mut data = ptr::null_mut();
  let mut this = ptr::null_mut();
  let mut argc = 0;
  let mut reason = ptr::null_mut();
  // SAFETY: called by V8 on the JS thread with this callback's info; `this` is the signal
  // (EventTarget calls listeners with the target as `this`).
  unsafe {
    sys::napi_get_cb_info(env, info, &mut argc, ptr::null_mut(), &mut this, &mut data);
    if !this.is_null()
      && sys::napi_get_named_property(env, this, c"reason".as_ptr(), &mut reason) != sys::Status::napi_ok
    {
      clear_exception(env);
      reason = ptr::null_mut();
    }
  }
  contain(|| {
    // SAFETY: JS thread of `env`, in its listener.
    let Ok(state) = (unsafe { EnvState::of(env) }) else {
      return;
    };
    let slot = data as usize;
    let entry = {
      let mut registry = state.signals.borrow_mut();
      if registry.entries.get(slot).is_none_or(Option::is_none) {
        return;
      }
      registry.free(env, slot)
    };
    let calls: Vec<(u64, Cancel)> = entry.calls.iter().map(|(id, cancel)| (*id, cancel.clone())).collect();
    entry.forget(env);
    for (id, cancel) in calls {
      cancel.cancel();
      bridge::abort(env, id, reason);
    }
  });
  ptr::null_mut()
}

/// # Safety
/// JS thread of `env`; `reference` is live.
unsafe fn value(env: sys::napi_env, reference: sys::napi_ref) -> sys::napi_value {
  let mut value = ptr::null_mut();
  // SAFETY: per this function's contract.
  unsafe { sys::napi_get_reference_value(env, reference, &mut value) };
  value
}

/// Calls `function` (a reference) on `this` (a reference); a throw is cleared and reported.
///
/// # Safety
/// JS thread of `env`; the references are live and `args` live in the current scope.
unsafe fn call(
  env: sys::napi_env,
  this: sys::napi_ref,
  function: sys::napi_ref,
  args: &[sys::napi_value],
) -> Result<sys::napi_value> {
  let mut result = ptr::null_mut();
  // SAFETY: per this function's contract.
  unsafe {
    if sys::napi_call_function(
      env,
      value(env, this),
      value(env, function),
      args.len(),
      args.as_ptr(),
      &mut result,
    ) == sys::Status::napi_ok
    {
      Ok(result)
    } else {
      clear_exception(env);
      Err(internal())
    }
  }
}

/// A new `WeakMap` and its prototype's `get`, `set` and `delete`, referenced for the env's life.
///
/// # Safety
/// JS thread of `env`.
unsafe fn new_weak_map(env: sys::napi_env) -> Option<WeakMapRefs> {
  // SAFETY: per this function's contract; every value lives in the current scope until referenced.
  unsafe {
    let mut global = ptr::null_mut();
    let mut constructor = ptr::null_mut();
    let mut prototype = ptr::null_mut();
    let mut map = ptr::null_mut();
    let ok = sys::napi_get_global(env, &mut global) == sys::Status::napi_ok
      && sys::napi_get_named_property(env, global, c"WeakMap".as_ptr(), &mut constructor) == sys::Status::napi_ok
      && sys::napi_get_named_property(env, constructor, c"prototype".as_ptr(), &mut prototype) == sys::Status::napi_ok
      && sys::napi_new_instance(env, constructor, 0, ptr::null(), &mut map) == sys::Status::napi_ok;
    let mut methods = [ptr::null_mut(); 3];
    let ok = ok
      && [c"get", c"set", c"delete"]
        .iter()
        .zip(methods.iter_mut())
        .all(|(name, method)| {
          sys::napi_get_named_property(env, prototype, name.as_ptr(), method) == sys::Status::napi_ok
        });
    if !ok {
      clear_exception(env);
      return None;
    }
    let reference = |v: sys::napi_value| {
      let mut r = ptr::null_mut();
      sys::napi_create_reference(env, v, 1, &mut r);
      r
    };
    Some(WeakMapRefs {
      map: reference(map),
      get: reference(methods[0]),
      set: reference(methods[1]),
      delete: reference(methods[2]),
    })
  }
}

/// # Safety
/// JS thread of `env`; `object` and `args` live in the current scope.
unsafe fn call_method(
  env: sys::napi_env,
  object: sys::napi_value,
  name: &std::ffi::CStr,
  args: &[sys::napi_value],
) -> bool {
  let mut method = ptr::null_mut();
  let mut kind = 0;
  let mut result = ptr::null_mut();
  // SAFETY: per this function's contract.
  unsafe {
    sys::napi_get_named_property(env, object, name.as_ptr(), &mut method) == sys::Status::napi_ok
      && sys::napi_typeof(env, method, &mut kind) == sys::Status::napi_ok
      && kind == sys::ValueType::napi_function
      && sys::napi_call_function(env, object, method, args.len(), args.as_ptr(), &mut result) == sys::Status::napi_ok
  }
}

fn string(env: sys::napi_env, s: &str) -> sys::napi_value {
  let mut value = ptr::null_mut();
  // SAFETY: JS thread of `env` (all callers are).
  unsafe { sys::napi_create_string_utf8(env, s.as_ptr().cast(), s.len() as isize, &mut value) };
  value
}

/// Drops a pending JS exception: the caller reports its own typed error instead.
///
/// # Safety
/// On the JS thread of `env`, which is live.
pub unsafe fn clear_exception(env: sys::napi_env) {
  let mut pending = false;
  let mut exception = ptr::null_mut();
  // SAFETY: this function's contract.
  unsafe {
    sys::napi_is_exception_pending(env, &mut pending);
    if pending {
      sys::napi_get_and_clear_last_exception(env, &mut exception);
    }
  }
}

fn internal() -> OffloopError {
  OffloopError::error("ERR_OFFLOOP_INTERNAL", "offloop: cannot keep track of abort signals")
}
