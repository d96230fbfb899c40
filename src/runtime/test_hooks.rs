//! Exports that exist only in builds with the `test-hooks` feature, which the JS tests load to
//! drive the runtime into states no real export reaches on demand: a job that panics, a panic in
//! argument decoding or while a result is made on the JS thread, and a job that holds a pool thread
//! for a set time (to fill the queue, or abort a running job). `OFFLOOP_TEST_SPAWN_FAILS_AFTER`
//! (see `pool`) makes the pool fail to start.

use std::cell::Cell;
use std::time::{Duration, Instant};

use napi::bindgen_prelude::{PromiseRaw, ToNapiValue};
use napi::{sys, Env};
use napi_derive::napi;

use super::{spawn, Job, JsArg};

thread_local! {
  static PANIC_ON_DECODE: Cell<bool> = const { Cell::new(false) };
}

/// While on, the first argument decoding on this thread panics (and turns it off).
#[napi]
pub fn test_panic_on_decode(on: bool) {
  PANIC_ON_DECODE.set(on);
}

/// Called by `JsArg::kind` and `JsArg::typed_array_kind`, which every decoder goes through.
pub(super) fn decode_hook() {
  if PANIC_ON_DECODE.replace(false) {
    panic!("injected decoding panic");
  }
}

/// A value whose conversion to JS panics, on the JS thread, in the bridge's drain.
pub struct PanicsOnSettle;

impl ToNapiValue for PanicsOnSettle {
  unsafe fn to_napi_value(_env: sys::napi_env, _value: Self) -> napi::Result<sys::napi_value> {
    panic!("injected panic while settling")
  }
}

#[napi(ts_return_type = "Promise<void>")]
pub fn test_panic_in_settle<'env>(env: &'env Env) -> napi::Result<PromiseRaw<'env, PanicsOnSettle>> {
  spawn(env, || Ok(Job::new(|_| Ok(PanicsOnSettle))))
}

#[napi]
pub fn test_panic_in_job<'env>(env: &'env Env) -> napi::Result<PromiseRaw<'env, ()>> {
  spawn(env, || {
    Ok(Job::new(|_| -> super::Result<()> { panic!("injected test panic") }))
  })
}

/// Holds a pool thread for `ms` milliseconds, checking for an abort every millisecond; resolves
/// with the milliseconds it really ran.
#[napi]
pub fn test_sleep<'env>(env: &'env Env, ms: JsArg, options: JsArg) -> napi::Result<PromiseRaw<'env, f64>> {
  spawn(env, || {
    let ms = ms.integer("ms", 0, 60_000)?;
    let signal = options.options("options")?.signal()?;
    Ok(
      Job::new(move |cancel| {
        let start = Instant::now();
        while start.elapsed() < Duration::from_millis(ms) {
          cancel.check()?;
          std::thread::sleep(Duration::from_millis(1));
        }
        Ok(start.elapsed().as_secs_f64() * 1000.0)
      })
      .abortable(signal),
    )
  })
}
