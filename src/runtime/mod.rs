//! The runtime every export goes through: offloop's thread pool, the promise bridge that settles
//! promises from it, `AbortSignal` support, the error type, and argument decoding (with zero-copy
//! views of large inputs, `bytes`); for streams, in-order work on the pool (`serial`) and a consumer
//! of JS async iterables (`iterate`); Node-style file errors (`fs`); large text handed to JS without a
//! stall (`text`); per-call memory budgets, counted in the global allocator (`memory`); native
//! memory an object holds, told to V8 (`external`).

pub mod abort;
mod alloc;
pub mod args;
pub mod bridge;
pub mod bytes;
mod env;
pub mod error;
pub mod external;
// Reached only through napi-rs's registration of its `#[napi]` items, which test builds leave out.
#[cfg_attr(test, allow(dead_code))]
mod exports;
pub mod fs;
mod inbox;
pub mod iterate;
pub mod memory;
#[cfg(test)]
pub mod mutate;
pub mod pool;
pub mod serial;
pub mod stage;
#[cfg(feature = "test-hooks")]
mod test_hooks;
pub mod text;
mod warm;

pub(crate) use alloc::worth_shrinking;
pub use args::JsArg;
pub(crate) use bridge::promise;
pub use bridge::{rejected, spawn, Cancel, Job, JobOutput, JobResult};
pub use error::{ErrorKind, OffloopError, Result};

/// Runs a sync export's body, turning an `OffloopError` (or a panic, `ERR_OFFLOOP_PANIC`) into a
/// thrown JS error of the right class.
pub fn sync<T>(env: &napi::Env, body: impl FnOnce() -> Result<T>) -> napi::Result<T> {
  // SAFETY: napi-rs hands a `&Env` to #[napi] functions only, on their JS thread.
  OffloopError::catching(body).map_err(|e| unsafe { e.throw(env.raw()) })
}
