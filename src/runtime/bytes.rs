//! Bytes from JavaScript for the pool: small inputs copied, large views read in place.
//!
//! A shared view holds a napi reference, which keeps the JS object alive but not its memory once
//! the environment is torn down: when a worker_thread terminates, its isolate frees every
//! ArrayBuffer, referenced or not. A pool thread still hashing such a view would read freed memory
//! (this crashed the process in a test that terminated workers mid-hash). So a shared view is read
//! only through [`ByteView::read`], which registers the reader with its environment, and the
//! environment's cleanup hook waits for the readers still running before teardown goes on; a read
//! that starts after teardown began is refused with an `AbortError` (nobody awaits its result).

use std::cell::RefCell;
use std::ffi::c_void;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use napi::bindgen_prelude::Uint8Array;
use napi::sys;

use super::error::{OffloopError, Result};

pub enum ByteView {
  Copied(Vec<u8>),
  /// Zero-copy: the caller must not write to (or transfer) the memory until its call settles.
  Shared {
    view: Uint8Array,
    readers: Arc<Readers>,
  },
}

impl ByteView {
  /// Below this a copy (a few microseconds at most) is cheaper than a reference, whose release
  /// off the JS thread has to be sent back to it.
  pub const SHARE_MIN: usize = 64 * 1024;

  /// Wraps a view of `env`'s memory. On the JS thread of `env`.
  pub(super) fn shared(env: sys::napi_env, view: Uint8Array) -> Result<Self> {
    Ok(ByteView::Shared {
      view,
      readers: Readers::of(env)?,
    })
  }

  pub(crate) fn len(&self) -> usize {
    match self {
      ByteView::Copied(bytes) => bytes.len(),
      ByteView::Shared { view, .. } => view.len(),
    }
  }

  /// Runs `f` on the bytes. For a shared view, its environment's teardown waits until `f` returns;
  /// once teardown has begun, `f` is not run and the result is an `AbortError`.
  pub fn read<R>(&self, f: impl FnOnce(&[u8]) -> R) -> Result<R> {
    match self {
      ByteView::Copied(bytes) => Ok(f(bytes)),
      ByteView::Shared { view, readers } => {
        let _reading = readers.enter()?;
        Ok(f(view))
      }
    }
  }
}

/// The pool threads reading one environment's memory.
pub struct Readers {
  state: Mutex<ReadersState>,
  idle: Condvar,
}

struct ReadersState {
  alive: bool,
  reading: usize,
}

thread_local! {
  /// This JS thread's environment and its readers (one environment per JS thread at a time).
  static READERS: RefCell<Option<(sys::napi_env, Arc<Readers>)>> = const { RefCell::new(None) };
}

impl Readers {
  fn of(env: sys::napi_env) -> Result<Arc<Readers>> {
    READERS.with(|cell| {
      let mut slot = cell.borrow_mut();
      if let Some((known, readers)) = slot.as_ref() {
        if *known == env {
          return Ok(readers.clone());
        }
      }
      let readers = Arc::new(Readers {
        state: Mutex::new(ReadersState {
          alive: true,
          reading: 0,
        }),
        idle: Condvar::new(),
      });
      let hook_arg = Arc::into_raw(readers.clone()) as *mut c_void;
      // SAFETY: JS thread of `env`. The hook owns one strong count, released in `teardown`; hooks
      // run in reverse order of addition, so this one runs before N-API's own cleanup of the
      // references a `Uint8Array` holds.
      if unsafe { sys::napi_add_env_cleanup_hook(env, Some(teardown), hook_arg) } != sys::Status::napi_ok {
        // SAFETY: the hook was not added, so this count is still ours.
        drop(unsafe { Arc::from_raw(hook_arg as *const Readers) });
        return Err(OffloopError::error(
          "ERR_OFFLOOP_INTERNAL",
          "offloop: cannot watch the environment's teardown",
        ));
      }
      *slot = Some((env, readers.clone()));
      Ok(readers)
    })
  }

  fn lock(&self) -> MutexGuard<'_, ReadersState> {
    self.state.lock().unwrap_or_else(|e| e.into_inner())
  }

  fn enter(&self) -> Result<Reading<'_>> {
    let mut state = self.lock();
    if !state.alive {
      return Err(OffloopError::aborted());
    }
    state.reading += 1;
    Ok(Reading(self))
  }
}

/// One read in progress; ends when dropped (also when the read panics).
struct Reading<'a>(&'a Readers);

impl Drop for Reading<'_> {
  fn drop(&mut self) {
    let mut state = self.0.lock();
    state.reading -= 1;
    if state.reading == 0 {
      self.0.idle.notify_all();
    }
  }
}

/// The environment's cleanup hook: refuses new reads, then waits for the running ones. A read is
/// at most one slice of work (jobs read large inputs slice by slice), so this waits milliseconds.
unsafe extern "C" fn teardown(arg: *mut c_void) {
  // SAFETY: `arg` is the count leaked in `Readers::of` for this hook, which N-API calls once.
  let readers = unsafe { Arc::from_raw(arg as *const Readers) };
  let mut state = readers.lock();
  state.alive = false;
  while state.reading > 0 {
    state = readers.idle.wait(state).unwrap_or_else(|e| e.into_inner());
  }
  drop(state);
  READERS.with(|cell| {
    let mut slot = cell.borrow_mut();
    if slot.as_ref().is_some_and(|(_, known)| Arc::ptr_eq(known, &readers)) {
      *slot = None;
    }
  });
}
