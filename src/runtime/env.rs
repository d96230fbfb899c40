//! What offloop keeps per JS environment, in the environment's own instance data.
//!
//! Node gives every load of the addon its own `napi_env`: one per worker_thread, and one more each
//! time the same environment loads it again (a test runner or a hot-reload tool that clears
//! `require.cache`). Two such envs share one thread, so state kept in thread-locals keyed by the
//! env thrashed between them, and a cleanup hook registered twice with the same (function,
//! argument) pair aborted the process in Node's `CleanupQueue::Add`. Here each env's state lives
//! in its instance data (`napi_set_instance_data`), found from the env alone, and its one cleanup
//! hook takes that state as its argument, which no other env shares.

use std::cell::RefCell;
use std::ffi::c_void;
use std::ptr;
use std::sync::Arc;

use napi::sys;

use super::abort::Signals;
use super::bridge::Bridge;
use super::bytes::Readers;
use super::error::{contain, OffloopError, Result};
use super::stage::Decoded;

/// One environment's state. Created on the env's first offloop call, on its JS thread.
pub(crate) struct EnvState {
  pub(super) bridge: Bridge,
  pub(super) readers: Arc<Readers>,
  pub(super) signals: RefCell<Signals>,
  /// What the call being decoded needs besides its values (see `stage::record`).
  pub(super) decoding: RefCell<Decoded>,
}

impl EnvState {
  /// The state of `env`, made on first use.
  ///
  /// # Safety
  /// On the JS thread of `env`. The reference is valid until the env is torn down: callers use it
  /// within the current call or callback and do not keep it.
  pub(crate) unsafe fn of<'a>(env: sys::napi_env) -> Result<&'a EnvState> {
    let mut data = ptr::null_mut();
    // SAFETY: JS thread of `env` (this function's contract).
    unsafe { sys::napi_get_instance_data(env, &mut data) };
    if !data.is_null() {
      // SAFETY: only this function sets the instance data, to a leaked `EnvState` that lives until
      // the env's finalizer (`free`) runs, after its last callback.
      return Ok(unsafe { &*(data as *const EnvState) });
    }
    let state = Box::into_raw(Box::new(EnvState {
      bridge: Bridge::new(env)?,
      readers: Arc::new(Readers::default()),
      signals: RefCell::default(),
      decoding: RefCell::default(),
    }));
    // SAFETY: JS thread of `env`. The cleanup hook is added after the bridge made its threadsafe
    // functions, so it runs before N-API's own hooks finalize them (hooks run in reverse order of
    // addition), and before the references a shared view holds are freed. Its argument is this
    // env's own state. Then the instance data takes the box over; `free` drops it with the env.
    unsafe {
      if sys::napi_add_env_cleanup_hook(env, Some(teardown), state.cast()) != sys::Status::napi_ok {
        drop(Box::from_raw(state));
        return Err(internal());
      }
      if sys::napi_set_instance_data(env, state.cast(), Some(free), ptr::null_mut()) != sys::Status::napi_ok {
        sys::napi_remove_env_cleanup_hook(env, Some(teardown), state.cast());
        drop(Box::from_raw(state));
        return Err(internal());
      }
      Ok(&*state)
    }
  }
}

fn internal() -> OffloopError {
  OffloopError::error(
    "ERR_OFFLOOP_INTERNAL",
    "offloop: cannot attach its state to this JavaScript environment",
  )
}

/// The env's cleanup hook: from here on no job runs or delivers for this env, and the env waits
/// for pool threads still reading its memory. Other envs (other copies, other workers) go on.
unsafe extern "C" fn teardown(state: *mut c_void) {
  // SAFETY: `state` is this env's `EnvState`, alive until `free`, which runs after the hooks.
  let state = unsafe { &*(state as *const EnvState) };
  contain(|| {
    state.bridge.close();
    state.readers.close();
  });
}

/// The instance data's finalizer, when N-API deletes the env.
unsafe extern "C" fn free(_env: sys::napi_env, state: *mut c_void, _hint: *mut c_void) {
  // SAFETY: the box leaked in `EnvState::of`; N-API calls this once.
  contain(|| drop(unsafe { Box::from_raw(state as *mut EnvState) }));
}
