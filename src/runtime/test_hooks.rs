//! Exports that exist only in builds with the `test-hooks` feature, which the JS tests load to
//! drive the runtime into states no real export reaches on demand: a job that panics, and a job
//! that holds a pool thread for a set time (to fill the queue, or abort a running job).

use std::time::{Duration, Instant};

use napi::bindgen_prelude::PromiseRaw;
use napi::Env;
use napi_derive::napi;

use super::{spawn, Job, JsArg};

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
