//! Text made on the pool, handed to JavaScript as a string without blocking the event loop on it.
//!
//! Why: creating a 10 MB string through N-API copies (and for UTF-8, decodes) it on the JS thread,
//! one event-loop stall of milliseconds at the moment the promise settles (benchmark/NOTES.md). ASCII text (JSON output mostly is: `JSON.stringify`-style escaping) can instead become
//! an external one-byte string that points at the Rust buffer: O(1) on the JS thread, the buffer
//! freed by V8's garbage collector. Node-API 10 has the call (Node 18.18+/20.4+ export it); where it
//! is missing or declines, the text is copied as Latin-1, which is still faster than UTF-8.

use std::ffi::c_void;
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};

use napi::bindgen_prelude::ToNapiValue;
use napi::sys;

use super::OffloopError;

/// Below this size a copy costs less than an external string's bookkeeping (a finalizer, a GC
/// callback).
const EXTERNAL_MIN_BYTES: usize = 256 << 10;

/// Set once the runtime turned down an external string (an old Node without the call): from then
/// on, copies only.
static EXTERNAL_UNAVAILABLE: AtomicBool = AtomicBool::new(false);

/// A string for JavaScript, with its ASCII-ness found on the pool thread that made it.
pub struct JsText {
  text: String,
  ascii: bool,
}

/// The longest string V8 makes (`buffer.constants.MAX_STRING_LENGTH` on 64-bit Node 20 to 26).
const MAX_STRING_LENGTH: usize = (1 << 29) - 24;

impl JsText {
  /// Fails, on the pool thread, with Node's `ERR_STRING_TOO_LONG` for text longer than a string
  /// can be: on the JS thread that failed as an `ERR_OFFLOOP_INTERNAL`, and a declined external
  /// string turned external strings off for the rest of the process.
  pub fn new(text: String) -> super::Result<Self> {
    // By bytes: V8 refuses UTF-8 longer than the limit even where fewer code units would fit.
    if text.len() > MAX_STRING_LENGTH {
      return Err(OffloopError::error(
        "ERR_STRING_TOO_LONG",
        format!("Cannot create a string longer than 0x{MAX_STRING_LENGTH:x} characters"),
      ));
    }
    let ascii = text.is_ascii();
    Ok(JsText { text, ascii })
  }
}

impl ToNapiValue for JsText {
  unsafe fn to_napi_value(env: sys::napi_env, value: Self) -> napi::Result<sys::napi_value> {
    let JsText { mut text, ascii } = value;
    if !ascii {
      // SAFETY: forwarded; same contract (JS thread of `env`).
      return unsafe { String::to_napi_value(env, text) };
    }
    if text.len() >= EXTERNAL_MIN_BYTES && !EXTERNAL_UNAVAILABLE.load(Ordering::Relaxed) {
      // SAFETY: JS thread of `env` (the caller's contract).
      match unsafe { external_latin1(env, text) } {
        Ok(string) => return Ok(string),
        Err(declined) => {
          EXTERNAL_UNAVAILABLE.store(true, Ordering::Relaxed);
          text = declined;
        }
      }
    }
    let mut string = ptr::null_mut();
    // SAFETY: JS thread of `env`; ASCII is valid Latin-1 and `text` outlives the call.
    let status = unsafe { sys::napi_create_string_latin1(env, text.as_ptr().cast(), text.len() as isize, &mut string) };
    if status != sys::Status::napi_ok {
      return Err(napi::Error::new(
        napi::Status::GenericFailure,
        "offloop: the output is too large for a JavaScript string",
      ));
    }
    Ok(string)
  }
}

/// An external one-byte string over `text`'s buffer, or `text` back if the runtime declined.
unsafe fn external_latin1(env: sys::napi_env, text: String) -> Result<sys::napi_value, String> {
  let boxed = Box::new(text);
  let (data, len) = (boxed.as_ptr(), boxed.len());
  let hint = Box::into_raw(boxed);
  let mut string = ptr::null_mut();
  let mut copied = false;
  // SAFETY: JS thread of `env`. `data` is ASCII (valid Latin-1) and lives in the boxed String,
  // which only `free_text` frees: V8 calls it when the string dies, or at once if it copied.
  let status = unsafe {
    sys::node_api_create_external_string_latin1(
      env,
      data.cast(),
      len as isize,
      Some(free_text),
      hint.cast(),
      &mut string,
      &mut copied,
    )
  };
  if status == sys::Status::napi_ok {
    Ok(string)
  } else {
    // SAFETY: the call failed, so the finalizer was not and will not be called: the box is ours.
    Err(*unsafe { Box::from_raw(hint) })
  }
}

/// V8's finalizer for an external string, on the JS thread: the buffer is freed on the pool, since
/// handing megabytes back to the OS there would be the stall this module avoids.
unsafe extern "C" fn free_text(_env: sys::node_api_basic_env, _data: *mut c_void, hint: *mut c_void) {
  // SAFETY: `hint` is the boxed String from `external_latin1`; V8 calls this once.
  let text = unsafe { Box::from_raw(hint.cast::<String>()) };
  super::pool::drop_later(text);
}
