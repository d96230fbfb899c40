//! TypedArrays and bytes from JavaScript for the pool: small inputs copied, large views read in place.
//!
//! A shared view holds a napi reference, which keeps the JS object alive but not its memory once
//! the environment is torn down: when a worker_thread terminates, its isolate frees every
//! ArrayBuffer, referenced or not. A pool thread still hashing such a view would read freed memory
//! (this crashed the process in a test that terminated workers mid-hash). So a shared view is read
//! only through [`View::read`], which registers the reader with its environment, and the
//! environment's cleanup hook waits for the readers still running before teardown goes on; a read
//! that starts after teardown began is refused with an `AbortError` (nobody awaits its result).

use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use napi::bindgen_prelude::Uint8Array;
use napi::sys;

use super::args::TypedArrayArg;
use super::env::EnvState;
use super::error::{OffloopError, Result};

/// A caller's TypedArray on its way to the pool (generic over the element type).
pub enum View<A: TypedArrayArg> {
  Copied(Vec<A::Element>),
  /// Zero-copy: the caller must not write to (or transfer) the memory until its call settles.
  Shared {
    view: A,
    readers: Arc<Readers>,
  },
}

/// Bytes: a string's UTF-8, or the bytes of any view or ArrayBuffer seen as a Uint8Array.
pub type ByteView = View<Uint8Array>;

impl<A: TypedArrayArg> View<A> {
  /// Below this many bytes a copy (a few microseconds at most) is cheaper than a reference, whose
  /// release off the JS thread has to be sent back to it.
  pub const SHARE_MIN: usize = 64 * 1024;

  /// Wraps a view of `env`'s memory. On the JS thread of `env`.
  pub(super) fn shared(env: sys::napi_env, view: A) -> Result<Self> {
    Ok(View::Shared {
      view,
      readers: Readers::of(env)?,
    })
  }

  /// Copies `view` when it is small, else shares it. On the JS thread of `env`.
  pub(super) fn of(env: sys::napi_env, view: A) -> Result<Self> {
    match view.len() * std::mem::size_of::<A::Element>() < Self::SHARE_MIN {
      true => Ok(View::Copied(view.to_vec())),
      false => Self::shared(env, view),
    }
  }

  /// Elements (bytes for a `ByteView`).
  pub(crate) fn len(&self) -> usize {
    match self {
      View::Copied(elements) => elements.len(),
      View::Shared { view, .. } => view.len(),
    }
  }

  /// Runs `f` on the elements. For a shared view, its environment's teardown waits until `f`
  /// returns; once teardown has begun, `f` is not run and the result is an `AbortError`.
  pub fn read<R>(&self, f: impl FnOnce(&[A::Element]) -> R) -> Result<R> {
    match self {
      View::Copied(elements) => Ok(f(elements)),
      View::Shared { view, readers } => {
        let _reading = readers.enter()?;
        Ok(f(view))
      }
    }
  }
}

/// A caller's TypedArray that a job fills with its result (`options.into`), then resolves with.
/// Never copied, however small: the point is to write the caller's own memory. Registered with its
/// environment like a shared [`View`], so a terminating worker_thread waits for the write.
pub struct Output<A: TypedArrayArg> {
  array: A,
  readers: Arc<Readers>,
}

impl<A: TypedArrayArg> Output<A> {
  /// On the JS thread of `env`.
  pub(super) fn of(env: sys::napi_env, array: A) -> Result<Self> {
    Ok(Output {
      array,
      readers: Readers::of(env)?,
    })
  }

  pub fn len(&self) -> usize {
    self.array.len()
  }

  /// Runs `f` on the elements, writable, and gives the array back to resolve with. Once its
  /// environment's teardown has begun, `f` is not run and the result is an `AbortError`.
  ///
  /// # Safety
  /// No Rust reference to the array's memory may be alive: not inside a [`View::read`] of the
  /// same array (`into` may be the input itself).
  pub unsafe fn write(self, f: impl FnOnce(&mut [A::Element])) -> Result<A> {
    let Output { mut array, readers } = self;
    {
      let _writing = readers.enter()?;
      // SAFETY: `array` holds a reference that keeps the JS object alive, and `_writing` keeps its
      // environment from freeing the memory. No Rust reference to the memory is alive (this
      // function's contract). JS leaves the array alone until the promise settles: the documented
      // contract of `into`, and an abort settles it only once this job has stopped
      // (`Job::writes_caller_memory`).
      f(unsafe { array.elements_mut() });
    }
    Ok(array)
  }
}

/// The pool threads reading one environment's memory.
#[derive(Default)]
pub struct Readers {
  state: Mutex<ReadersState>,
  idle: Condvar,
}

#[derive(Default)]
struct ReadersState {
  closed: bool,
  reading: usize,
}

impl Readers {
  /// The readers of `env`. On the JS thread of `env`.
  fn of(env: sys::napi_env) -> Result<Arc<Readers>> {
    // SAFETY: every caller runs on the JS thread of `env`.
    Ok(unsafe { EnvState::of(env)? }.readers.clone())
  }

  fn lock(&self) -> MutexGuard<'_, ReadersState> {
    self.state.lock().unwrap_or_else(|e| e.into_inner())
  }

  fn enter(&self) -> Result<Reading<'_>> {
    let mut state = self.lock();
    if state.closed {
      return Err(OffloopError::aborted());
    }
    state.reading += 1;
    Ok(Reading(self))
  }

  /// The environment is being torn down: refuses new reads, then waits for the running ones.
  /// Hashing reads large inputs slice by slice; a kernel reads its input for one pass (its whole
  /// job for a sort or `describe`: about 0.1 s per 80 MB), so this waits milliseconds to a fraction
  /// of a second.
  pub(super) fn close(&self) {
    let mut state = self.lock();
    state.closed = true;
    while state.reading > 0 {
      state = self.idle.wait(state).unwrap_or_else(|e| e.into_inner());
    }
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
