//! jq's math builtins computed by the C library's functions, as jq computes them.
//!
//! jaq computes them with the `libm` crate (a Rust port of musl's), whose last digit differs from
//! glibc's for some inputs: `1 | exp` was 2.7182818284590455 where jq says 2.718281828459045,
//! `2.5 | cbrt`, `3 | log`… likewise. jq calls the C library, so these builtins call the C library
//! of the process: the functions node itself was linked with, looked up by name at run time.
//! Declaring them `extern "C"` would not do: the linker binds those names to the Rust toolchain's
//! own weak copies inside the addon before it looks at the C library. Where a function is not
//! found (Windows, where nothing is looked up) the `libm` crate's computes it, as before. A value
//! that is not a number fails in jq's words (`null (null) number required`). Builtins whose
//! arguments are not all doubles (`frexp`, `ldexp`, `jn`…) and those exact in any library
//! (`floor`, `sqrt`…) stay jaq's or offloop's own.

use std::ffi::{c_int, c_void, CStr};
use std::sync::OnceLock;

use jaq_core::native::{bome, v, Filter};
use jaq_core::RunPtr;

use super::program::Kind;
use super::value::ops::type_error;
use super::value::{Error, Val};

type Unary = unsafe extern "C" fn(f64) -> f64;
type Binary = unsafe extern "C" fn(f64, f64) -> f64;
type Gamma = unsafe extern "C" fn(f64, *mut c_int) -> f64;

/// The C library's function `name`, if the process has it.
#[cfg(unix)]
fn c_function(name: &CStr) -> Option<*mut c_void> {
  // SAFETY: `name` is NUL-terminated; RTLD_DEFAULT searches the process's global scope, where
  // node's own references to the C library's math functions were bound.
  let address = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
  (!address.is_null()).then_some(address)
}

#[cfg(not(unix))]
fn c_function(_: &CStr) -> Option<*mut c_void> {
  None
}

/// Resolves a function pointer once: `$ty` is its C signature.
macro_rules! resolved {
  ($name:expr, $ty:ty) => {{
    // `usize`: a pointer is not `Sync`; the address of a C function is valid for the process.
    static ADDRESS: OnceLock<Option<usize>> = OnceLock::new();
    ADDRESS
      .get_or_init(|| c_function($name).map(|a| a as usize))
      .map(|address| {
        // SAFETY: the address is the C library's function of this name, whose C signature (C99,
        // POSIX, or glibc's for `exp10`) is `$ty`.
        unsafe { std::mem::transmute::<usize, $ty>(address) }
      })
  }};
}

/// `name` as a C string.
macro_rules! c_name {
  ($name:ident) => {
    CStr::from_bytes_with_nul(concat!(stringify!($name), "\0").as_bytes()).unwrap_or_default()
  };
}

/// Builtins of one double: each `name` computed by the C library's `name`, else `libm::name`.
macro_rules! unary {
  ($($name:ident),* $(,)?) => {
    [$({
      let run: RunPtr<Kind> = |cv| {
        bome(number(&cv.1).map(|x| {
          Val::float(match resolved!(c_name!($name), Unary) {
            // SAFETY: a C math function of a double: no memory of ours is touched.
            Some(f) => unsafe { f(x) },
            None => libm::$name(x),
          })
        }))
      };
      (stringify!($name), v(0), run)
    }),*]
  };
}

/// Builtins of two doubles, `name(x; y)` (`.` is not used), as `unary`.
macro_rules! binary {
  ($($name:ident),* $(,)?) => {
    [$({
      let run: RunPtr<Kind> = |mut cv| {
        let y = cv.0.pop_var();
        let x = cv.0.pop_var();
        bome(number(&x).and_then(|x| {
          let y = number(&y)?;
          Ok(Val::float(match resolved!(c_name!($name), Binary) {
            // SAFETY: as in `unary`.
            Some(f) => unsafe { f(x, y) },
            None => libm::$name(x, y),
          }))
        }))
      };
      (stringify!($name), v(2), run)
    }),*]
  };
}

/// The math builtins computed here.
pub fn funs() -> Vec<Filter<RunPtr<Kind>>> {
  let mut funs = Vec::new();
  funs.extend(unary![
    acos, acosh, asin, asinh, atan, atanh, cbrt, cos, cosh, erf, erfc, exp, exp10, exp2, expm1, j0, j1, log, log10,
    log1p, log2, sin, sinh, tan, tanh, tgamma, y0, y1,
  ]);
  funs.extend(binary![atan2, hypot, pow]);
  let lgamma: RunPtr<Kind> = |cv| bome(number(&cv.1).map(|x| Val::float(lgamma(x))));
  funs.push(("lgamma", v(0), lgamma));
  funs
}

/// `lgamma` through the reentrant `lgamma_r`: plain `lgamma` writes the C library's global
/// `signgam`, which pool threads would race on.
fn lgamma(x: f64) -> f64 {
  match resolved!(c"lgamma_r", Gamma) {
    Some(f) => {
      let mut sign = 0;
      // SAFETY: `sign` is a live, writable int for the call; nothing else is touched.
      unsafe { f(x, &mut sign) }
    }
    None => libm::lgamma_r(x).0,
  }
}

/// A number's double, or jq's error for anything else.
fn number(v: &Val) -> Result<f64, Error> {
  match v {
    Val::Num(n) => Ok(n.value()),
    other => Err(type_error(other, "number required")),
  }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
  use super::*;

  #[test]
  fn computes_as_the_c_library_does() {
    // glibc's (and jq's) answers, where the `libm` crate's last digit differs.
    let cbrt = resolved!(c"cbrt", Unary).expect("the C library's cbrt");
    // SAFETY: as in `unary`.
    assert_eq!(unsafe { cbrt(2.5) }.to_bits(), 1.3572088082974532f64.to_bits());
    assert_ne!(libm::cbrt(2.5).to_bits(), 1.3572088082974532f64.to_bits());
    assert!((lgamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-15);
    let names: Vec<&str> = funs().iter().map(|(name, ..)| *name).collect();
    assert!(names.contains(&"pow") && names.contains(&"exp") && !names.contains(&"floor"));
  }
}
