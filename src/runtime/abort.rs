//! `AbortSignal` support for every async export, done by hand because napi-rs's `AbortSignal`
//! overwrites the signal's `onabort` (the user's own handler is lost), ignores a signal that is
//! already aborted, and only cancels libuv work. Here: `aborted` is read first, the listener is
//! added with `addEventListener(…, { once: true })` next to the user's own, and removed again when
//! the job settles so a long-lived signal does not collect listeners.

use std::ffi::c_void;
use std::ptr;

use napi::sys;

use super::bridge::{self, Cancel};
use super::error::{contain, OffloopError, Result};

/// A caller's `AbortSignal`, valid during the export call on the JS thread (not `Send`).
pub struct Signal<'env> {
  env: sys::napi_env,
  value: sys::napi_value,
  _call: std::marker::PhantomData<&'env ()>,
}

/// The listener of a pending job, kept alive by references until the job settles.
pub(super) struct AbortLink {
  pub(super) cancel: Cancel,
  signal: sys::napi_ref,
  listener: sys::napi_ref,
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
    let signal = Signal {
      env,
      value,
      _call: std::marker::PhantomData,
    };
    let mut has_aborted = false;
    let mut is_object = false;
    // SAFETY: JS thread of `env`; `value` is an argument of the current call.
    unsafe {
      let mut kind = 0;
      sys::napi_typeof(env, value, &mut kind);
      if kind == sys::ValueType::napi_object {
        is_object = true;
        sys::napi_has_named_property(env, value, c"aborted".as_ptr(), &mut has_aborted);
      }
    }
    if !is_object || !has_aborted {
      return Err(OffloopError::invalid_type(
        name,
        "an instance of AbortSignal",
        &received(),
      ));
    }
    Ok(signal)
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
      Err(OffloopError::invalid_type(
        "options.signal",
        "an instance of AbortSignal",
        "an object whose aborted getter throws",
      ))
    }
  }

  /// Adds a once-listener that aborts job `id`.
  pub(super) fn listen(self, id: u64, cancel: Cancel) -> Result<AbortLink> {
    let env = self.env;
    // SAFETY: JS thread. The job id travels as the function's data pointer (an integer, never
    // dereferenced). References keep the signal and listener alive until `unlisten`/`forget`.
    unsafe {
      let mut listener = ptr::null_mut();
      let mut options = ptr::null_mut();
      let mut yes = ptr::null_mut();
      sys::napi_create_function(
        env,
        c"offloopAbort".as_ptr(),
        12,
        Some(on_abort),
        id as usize as *mut c_void,
        &mut listener,
      );
      sys::napi_create_object(env, &mut options);
      sys::napi_get_boolean(env, true, &mut yes);
      sys::napi_set_named_property(env, options, c"once".as_ptr(), yes);
      if !call_method(
        env,
        self.value,
        c"addEventListener",
        &[string(env, "abort"), listener, options],
      ) {
        clear_exception(env);
        return Err(OffloopError::invalid_type(
          "options.signal",
          "an instance of AbortSignal",
          "an object without addEventListener",
        ));
      }
      let mut signal_ref = ptr::null_mut();
      let mut listener_ref = ptr::null_mut();
      sys::napi_create_reference(env, self.value, 1, &mut signal_ref);
      sys::napi_create_reference(env, listener, 1, &mut listener_ref);
      Ok(AbortLink {
        cancel,
        signal: signal_ref,
        listener: listener_ref,
      })
    }
  }
}

impl AbortLink {
  /// The job settled first: take the listener off the signal, then drop the references.
  pub(super) fn unlisten(self, env: sys::napi_env) {
    // SAFETY: JS thread; the references were made in `listen` and are deleted once, here or in
    // `forget`.
    unsafe {
      let mut signal = ptr::null_mut();
      let mut listener = ptr::null_mut();
      sys::napi_get_reference_value(env, self.signal, &mut signal);
      sys::napi_get_reference_value(env, self.listener, &mut listener);
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
  pub(super) fn forget(self, env: sys::napi_env) {
    // SAFETY: JS thread; see `unlisten`.
    unsafe {
      sys::napi_delete_reference(env, self.signal);
      sys::napi_delete_reference(env, self.listener);
    }
  }
}

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
  contain(|| bridge::abort(env, data as usize as u64, reason));
  ptr::null_mut()
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
