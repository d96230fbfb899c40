//! The one error type every export reports through.
//!
//! Errors follow Node core's conventions: wrong argument types are `TypeError`s with code
//! `ERR_INVALID_ARG_TYPE`, out-of-range options are `RangeError`s with `ERR_OUT_OF_RANGE`, and every
//! other failure carries a documented `ERR_*` code. Messages name the argument, never its secret
//! content: callers pass a description of the received value, not the value of a password or key.

use std::borrow::Cow;
use std::fmt;

use napi::sys;

/// Which JS constructor the error is made with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
  Error,
  TypeError,
  RangeError,
  /// An `Error` whose `name` is `AbortError`, like the one `fetch` and `fs.promises` reject with.
  Abort,
}

/// An error bound for JavaScript: a constructor, a Node-style `code` and a message.
///
/// Extra properties (`syscall`, `path`) make file errors look like Node's own fs errors; integer
/// ones (`line`, `column`) locate a parse error.
#[derive(Clone, PartialEq, Eq)]
pub struct OffloopError {
  pub kind: ErrorKind,
  pub code: Cow<'static, str>,
  pub message: String,
  pub properties: Vec<(&'static str, Property)>,
}

/// The value of an extra property of an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Property {
  String(String),
  Integer(i64),
}

impl From<&str> for Property {
  fn from(value: &str) -> Self {
    Property::String(value.to_owned())
  }
}

pub type Result<T> = std::result::Result<T, OffloopError>;

impl OffloopError {
  pub fn new(kind: ErrorKind, code: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
    Self {
      kind,
      code: code.into(),
      message: message.into(),
      properties: Vec::new(),
    }
  }

  /// A plain `Error` with a documented `ERR_*` code.
  pub fn error(code: &'static str, message: impl Into<String>) -> Self {
    Self::new(ErrorKind::Error, code, message)
  }

  /// `ERR_INVALID_ARG_TYPE`, worded like Node's: `The "name" argument must be of type string.
  /// Received type number (42)`. `name` may be a property path such as `options.salt`.
  pub fn invalid_type(name: &str, expected: &str, received: &str) -> Self {
    let what = if name.contains('.') { "property" } else { "argument" };
    Self::new(
      ErrorKind::TypeError,
      "ERR_INVALID_ARG_TYPE",
      format!("The \"{name}\" {what} must be {expected}. Received {received}"),
    )
  }

  /// `ERR_INVALID_ARG_VALUE`: the type is right, the value is not one of the accepted ones.
  pub fn invalid_value(name: &str, reason: &str) -> Self {
    Self::new(
      ErrorKind::TypeError,
      "ERR_INVALID_ARG_VALUE",
      format!(
        "The {} \"{name}\" {reason}",
        if name.contains('.') { "property" } else { "argument" }
      ),
    )
  }

  /// `ERR_OUT_OF_RANGE`, worded like Node's: `The value of "x" is out of range. It must be ...`.
  pub fn out_of_range(name: &str, range: &str, received: &str) -> Self {
    Self::new(
      ErrorKind::RangeError,
      "ERR_OUT_OF_RANGE",
      format!("The value of \"{name}\" is out of range. It must be {range}. Received {received}"),
    )
  }

  /// A panic caught before it could end the process: always a bug in offloop, reported as one.
  pub fn panicked(payload: Box<dyn std::any::Any + Send>) -> Self {
    let detail = payload
      .downcast_ref::<&str>()
      .map(|s| s.to_string())
      .or_else(|| payload.downcast_ref::<String>().cloned())
      .unwrap_or_default();
    Self::error(
      "ERR_OFFLOOP_PANIC",
      format!("offloop: a panic was caught (this is a bug in offloop): {detail}"),
    )
  }

  /// Runs `f`, turning a panic into [`panicked`](Self::panicked). For every entry point from
  /// JavaScript: a panic unwinding out of an N-API callback would abort the process.
  pub fn catching<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|payload| Err(Self::panicked(payload)))
  }

  /// The rejection of an aborted call: `name` is `AbortError`, `code` is `ABORT_ERR` as in Node.
  pub fn aborted() -> Self {
    Self::new(ErrorKind::Abort, "ABORT_ERR", "The operation was aborted")
  }

  pub fn with_property(mut self, name: &'static str, value: impl Into<String>) -> Self {
    self.properties.push((name, Property::String(value.into())));
    self
  }

  /// A number property, such as the `line` and `column` of a parse error.
  pub fn with_integer_property(mut self, name: &'static str, value: i64) -> Self {
    self.properties.push((name, Property::Integer(value)));
    self
  }

  /// Builds the JS error object. Returns null only when the environment is tearing down.
  ///
  /// # Safety
  /// On the JS thread of `env`, which is live.
  pub unsafe fn to_js(&self, env: sys::napi_env) -> sys::napi_value {
    // SAFETY: on the JS thread of `env` (this function's contract). Each napi call checks its own
    // arguments; a failure leaves `error` null, which callers treat as "the environment is gone".
    unsafe {
      let mut code = std::ptr::null_mut();
      let mut message = std::ptr::null_mut();
      let mut error = std::ptr::null_mut();
      sys::napi_create_string_utf8(env, self.code.as_ptr().cast(), self.code.len() as isize, &mut code);
      sys::napi_create_string_utf8(
        env,
        self.message.as_ptr().cast(),
        self.message.len() as isize,
        &mut message,
      );
      match self.kind {
        ErrorKind::TypeError => sys::napi_create_type_error(env, code, message, &mut error),
        ErrorKind::RangeError => sys::napi_create_range_error(env, code, message, &mut error),
        ErrorKind::Error | ErrorKind::Abort => sys::napi_create_error(env, code, message, &mut error),
      };
      if error.is_null() {
        return error;
      }
      if self.kind == ErrorKind::Abort {
        set_string_property(env, error, "name", "AbortError");
      }
      for (name, value) in &self.properties {
        match value {
          Property::String(value) => set_string_property(env, error, name, value),
          Property::Integer(value) => set_integer_property(env, error, name, *value),
        }
      }
      error
    }
  }

  /// Throws this error into JS and returns the napi-rs error that tells the binding layer an
  /// exception is already pending (so napi-rs does not throw a second, generic one).
  ///
  /// # Safety
  /// On the JS thread of `env`, which is live.
  pub unsafe fn throw(&self, env: sys::napi_env) -> napi::Error {
    // SAFETY: this function's contract; `error` is a live value made just above.
    unsafe {
      let error = self.to_js(env);
      if !error.is_null() {
        sys::napi_throw(env, error);
      }
    }
    napi::Error::new(napi::Status::PendingException, self.message.clone())
  }
}

/// Runs `f` where a panic has nowhere to go (an N-API callback with no promise left to reject): the
/// panic is dropped rather than unwinding into C, which would abort the process.
pub(crate) fn contain(f: impl FnOnce()) {
  let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
}

/// # Safety
/// `env` must be the current JS thread's environment and `object` a live object in it.
unsafe fn set_string_property(env: sys::napi_env, object: sys::napi_value, name: &str, value: &str) {
  let mut key = std::ptr::null_mut();
  let mut js_value = std::ptr::null_mut();
  // SAFETY: per this function's contract.
  unsafe {
    sys::napi_create_string_utf8(env, name.as_ptr().cast(), name.len() as isize, &mut key);
    sys::napi_create_string_utf8(env, value.as_ptr().cast(), value.len() as isize, &mut js_value);
    sys::napi_set_property(env, object, key, js_value);
  }
}

/// # Safety
/// `env` must be the current JS thread's environment and `object` a live object in it.
unsafe fn set_integer_property(env: sys::napi_env, object: sys::napi_value, name: &str, value: i64) {
  let mut key = std::ptr::null_mut();
  let mut js_value = std::ptr::null_mut();
  // SAFETY: per this function's contract.
  unsafe {
    sys::napi_create_string_utf8(env, name.as_ptr().cast(), name.len() as isize, &mut key);
    sys::napi_create_int64(env, value, &mut js_value);
    sys::napi_set_property(env, object, key, js_value);
  }
}

/// Debug shows code and message only; neither ever holds a secret.
impl fmt::Debug for OffloopError {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    write!(f, "{:?} [{}]: {}", self.kind, self.code, self.message)
  }
}

impl fmt::Display for OffloopError {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    write!(f, "{} [{}]", self.message, self.code)
  }
}

impl std::error::Error for OffloopError {}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn messages_follow_node_wording() {
    let e = OffloopError::invalid_type(
      "password",
      "of type string or an instance of Uint8Array",
      "type number (42)",
    );
    assert_eq!(e.kind, ErrorKind::TypeError);
    assert_eq!(e.code, "ERR_INVALID_ARG_TYPE");
    assert_eq!(
      e.message,
      "The \"password\" argument must be of type string or an instance of Uint8Array. Received type number (42)"
    );
    let e = OffloopError::out_of_range("options.timeCost", ">= 1 && <= 4294967295", "0");
    assert_eq!(e.kind, ErrorKind::RangeError);
    assert_eq!(
      e.message,
      "The value of \"options.timeCost\" is out of range. It must be >= 1 && <= 4294967295. Received 0"
    );
    assert!(OffloopError::invalid_type("options.salt", "x", "y")
      .message
      .contains("property"));
  }
}
