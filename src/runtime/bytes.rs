//! TypedArrays and bytes from JavaScript for the pool: small inputs copied at once, large ones
//! copied on the JS thread before the job runs (`stage`), and views over a SharedArrayBuffer read
//! in place.
//!
//! A view read in place holds a napi reference, which keeps the SharedArrayBuffer alive but not its
//! memory once the environment is torn down: when a worker_thread terminates, its isolate frees
//! every buffer it alone holds, referenced or not. So such a view is read only through
//! [`View::read`], which registers the reader with its environment, and the environment's cleanup
//! hook waits for the readers still running before teardown goes on; a read that starts after
//! teardown began is refused with an `AbortError` (nobody awaits its result).

use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use napi::bindgen_prelude::Uint8Array;
use napi::sys;

use super::args::TypedArrayArg;
use super::env::EnvState;
use super::error::{OffloopError, Result};
use super::stage::{StagedCopy, WriteBack};

/// A caller's TypedArray on its way to the pool (generic over the element type).
pub enum View<A: TypedArrayArg> {
  /// Copied while the call was decoded (small inputs, strings).
  Copied(Vec<A::Element>),
  /// Not copied while the call was decoded: copied on the JS thread before the job runs, or a
  /// SharedArrayBuffer's memory read in place. `len` elements either way.
  Shared { len: usize, memory: Memory<A::Element> },
}

/// Bytes: a string's UTF-8, or the bytes of any view or ArrayBuffer.
pub type ByteView = View<Uint8Array>;

/// Where a [`View::Shared`] finds its elements.
pub enum Memory<T> {
  Staged(Arc<StagedCopy<T>>),
  InPlace(InPlace<T>),
}

/// A SharedArrayBuffer's elements, read in place.
pub struct InPlace<T> {
  data: *const T,
  len: usize,
  readers: Arc<Readers>,
}

// SAFETY: the memory is a SharedArrayBuffer's, which is made to be shared between threads; the
// call holds a reference to it until its promise settles, and its environment's teardown waits
// for the readers (`Readers`).
unsafe impl<T: Sync> Send for InPlace<T> {}
// SAFETY: as above; `read` hands out shared slices only.
unsafe impl<T: Sync> Sync for InPlace<T> {}

impl<T> InPlace<T> {
  /// # Safety
  /// `data` points at `len` elements of a SharedArrayBuffer of `env` that the call keeps alive (a
  /// reference recorded with its job, see `stage::Decoded::holders`); on the JS thread of `env`.
  pub(super) unsafe fn new(env: sys::napi_env, data: *const T, len: usize) -> Result<Self> {
    Ok(InPlace {
      data,
      len,
      readers: Readers::of(env)?,
    })
  }
}

impl<A: TypedArrayArg> View<A> {
  /// Elements (bytes for a `ByteView`).
  pub(crate) fn len(&self) -> usize {
    match self {
      View::Copied(elements) => elements.len(),
      View::Shared { len, .. } => *len,
    }
  }

  /// Bytes of the call's own copy, made while decoding or staged on the JS thread, outside any
  /// memory budget; 0 for memory read in place.
  pub fn copied_bytes(&self) -> usize {
    match self {
      View::Shared {
        memory: Memory::InPlace(_),
        ..
      } => 0,
      view => view.len() * std::mem::size_of::<A::Element>(),
    }
  }

  /// Runs `f` on the elements. For memory read in place, its environment's teardown waits until
  /// `f` returns; once teardown has begun, `f` is not run and the result is an `AbortError`.
  pub fn read<R>(&self, f: impl FnOnce(&[A::Element]) -> R) -> Result<R> {
    match self {
      View::Copied(elements) => Ok(f(elements)),
      View::Shared {
        memory: Memory::Staged(copy),
        ..
      } => copy.get().map(f).ok_or_else(not_staged),
      View::Shared {
        memory: Memory::InPlace(memory),
        ..
      } => {
        let _reading = memory.readers.enter()?;
        // SAFETY: see `InPlace`: the memory is alive while `_reading` is held, and JS can neither
        // detach nor shrink a SharedArrayBuffer.
        Ok(f(unsafe { std::slice::from_raw_parts(memory.data, memory.len) }))
      }
    }
  }

  /// The elements as a vector the caller owns: without a copy when the view was copied already.
  pub fn into_vec(self) -> Result<Vec<A::Element>> {
    match self {
      View::Copied(elements) => Ok(elements),
      View::Shared {
        memory: Memory::Staged(copy),
        ..
      } => match Arc::try_unwrap(copy) {
        Ok(copy) => copy.into_vec().ok_or_else(not_staged),
        Err(copy) => copy.get().map(<[A::Element]>::to_vec).ok_or_else(not_staged),
      },
      in_place => in_place.read(<[A::Element]>::to_vec),
    }
  }
}

fn not_staged() -> OffloopError {
  OffloopError::error(
    "ERR_OFFLOOP_INTERNAL",
    "offloop: a job ran before its input was copied (this is a bug in offloop)",
  )
}

/// The caller's TypedArray that a job's result goes into (`options.into`), `len` elements long.
/// The job makes its result in memory of its own; the bridge copies it into the array on the JS
/// thread and resolves with the array (see `stage::write_back`).
pub struct Output<A: TypedArrayArg> {
  len: usize,
  _array: std::marker::PhantomData<fn() -> A>,
}

impl<A: TypedArrayArg> Output<A> {
  pub(super) fn new(len: usize) -> Self {
    Output {
      len,
      _array: std::marker::PhantomData,
    }
  }

  pub fn len(&self) -> usize {
    self.len
  }

  /// The job's result, to be copied into the array: exactly `len` elements.
  pub fn fill(self, result: Vec<A::Element>) -> Result<WriteBack> {
    if result.len() != self.len {
      return Err(OffloopError::error(
        "ERR_OFFLOOP_INTERNAL",
        "offloop: a result does not fit its array (this is a bug in offloop)",
      ));
    }
    Ok(WriteBack::new(result))
  }
}

/// The pool threads reading one environment's memory in place.
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
