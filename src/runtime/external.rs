//! Native memory an object holds, told to V8 as external memory. V8 schedules garbage collection
//! by its own heap and by what it is told: an object that looks small to it while holding native
//! memory (a compiled jq program, some 170 KB; a stream's codec, 40 KB to several MB) would
//! otherwise be collected only after thousands had piled up.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use napi::sys;

/// What V8 was told one object holds. Clones share it with work that settles on the object's JS
/// thread; every method runs on that thread, so the calls never interleave.
#[derive(Clone, Default)]
pub struct ExternalMemory(Arc<AtomicI64>);

/// Held once the object is finalized: later reports are ignored.
const FINALIZED: i64 = i64::MIN;

impl ExternalMemory {
  /// Tells V8 the object now holds `bytes` (only the change), unless it was finalized. Only a hint
  /// to the GC: a refused one changes nothing else.
  ///
  /// # Safety
  /// JS thread of `env`.
  pub unsafe fn set(&self, env: sys::napi_env, bytes: usize) {
    let bytes = bytes.min(i64::MAX as usize) as i64;
    let told = self.0.load(Ordering::Relaxed);
    if told == FINALIZED || told == bytes {
      return;
    }
    let mut total = 0;
    // SAFETY: the caller's contract.
    if unsafe { sys::napi_adjust_external_memory(env, bytes - told, &mut total) } == sys::Status::napi_ok {
      self.0.store(bytes, Ordering::Relaxed);
    }
  }

  /// At the object's finalization: what it held is freed, and later reports are ignored (work that
  /// settles after the object is gone).
  ///
  /// # Safety
  /// JS thread of `env`.
  pub unsafe fn finalize(&self, env: sys::napi_env) {
    let told = self.0.swap(FINALIZED, Ordering::Relaxed);
    if told > 0 {
      let mut total = 0;
      // SAFETY: the caller's contract. Nothing to do on a refusal: a finalizer must not throw.
      unsafe { sys::napi_adjust_external_memory(env, -told, &mut total) };
    }
  }
}
