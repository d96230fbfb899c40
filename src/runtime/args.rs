//! Argument decoding shared by every export, on the JS thread, with Node-style errors.
//!
//! Why not napi-rs's typed parameters: their errors carry napi status codes (`InvalidArg`) instead of
//! Node's `ERR_INVALID_ARG_TYPE`, and numbers convert with wrap-around (`-1` becomes 4294967295 for a
//! `u32`), which would turn a typo into a 4 TiB memory cost. Exports take raw values and decode them
//! here; their TypeScript types are spelled in `ts_args_type`.

use std::ops::{Deref, RangeInclusive};
use std::ptr;

use napi::bindgen_prelude::{
  BigInt64Array, BigUint64Array, Float32Array, Float64Array, FromNapiValue, Int16Array, Int32Array, Int8Array,
  ToNapiValue, TypeName, Uint16Array, Uint32Array, Uint8Array, Uint8ClampedArray, ValidateNapiValue,
};
use napi::{sys, ValueType};
use zeroize::Zeroizing;

use super::abort::{clear_exception, Signal};
use super::bytes::{ByteView, InPlace, Memory, Output, View};
use super::error::{OffloopError, Result};
use super::stage::{self, OutputTarget, SourceKind, StageSource, StagedCopy, STAGE_MIN};

/// A JS value received by an export: `undefined` when the caller passed fewer arguments.
#[derive(Clone, Copy)]
pub struct JsArg {
  env: sys::napi_env,
  value: sys::napi_value,
}

impl TypeName for JsArg {
  fn type_name() -> &'static str {
    "unknown"
  }
  fn value_type() -> ValueType {
    ValueType::Unknown
  }
}

impl ValidateNapiValue for JsArg {}

impl FromNapiValue for JsArg {
  unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
    Ok(JsArg { env, value })
  }
}

impl ToNapiValue for JsArg {
  unsafe fn to_napi_value(_env: sys::napi_env, value: Self) -> napi::Result<sys::napi_value> {
    Ok(value.value)
  }
}

/// The JS type of a value, as `typeof` would say, with `null` apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
  Undefined,
  Null,
  Boolean,
  Number,
  String,
  Symbol,
  Object,
  Function,
  BigInt,
  External,
}

impl JsArg {
  /// A value received in a callback rather than as an export's argument.
  pub(crate) fn from_raw(env: sys::napi_env, value: sys::napi_value) -> Self {
    JsArg { env, value }
  }

  pub fn kind(&self) -> Kind {
    #[cfg(feature = "test-hooks")]
    super::test_hooks::decode_hook();
    let mut t = 0;
    // SAFETY: JS thread of `self.env`; `self.value` is live for the current call.
    unsafe { sys::napi_typeof(self.env, self.value, &mut t) };
    match t {
      sys::ValueType::napi_undefined => Kind::Undefined,
      sys::ValueType::napi_null => Kind::Null,
      sys::ValueType::napi_boolean => Kind::Boolean,
      sys::ValueType::napi_number => Kind::Number,
      sys::ValueType::napi_string => Kind::String,
      sys::ValueType::napi_symbol => Kind::Symbol,
      sys::ValueType::napi_function => Kind::Function,
      sys::ValueType::napi_bigint => Kind::BigInt,
      sys::ValueType::napi_external => Kind::External,
      _ => Kind::Object,
    }
  }

  pub fn is_nullish(&self) -> bool {
    matches!(self.kind(), Kind::Undefined | Kind::Null)
  }

  /// Describes the value for an error message the way Node does, except that string contents are
  /// never shown: the value may be a password or key passed in the wrong place.
  pub fn received(&self) -> String {
    match self.kind() {
      Kind::Undefined => "undefined".into(),
      Kind::Null => "null".into(),
      Kind::Boolean => format!("type boolean ({})", self.get_bool()),
      Kind::Number => format!("type number ({})", format_number(self.get_f64())),
      Kind::String => "type string".into(),
      Kind::Symbol => "type symbol".into(),
      Kind::BigInt => "type bigint".into(),
      Kind::Function => "function".into(),
      Kind::External => "type external".into(),
      Kind::Object => match self.typed_array_type() {
        Some(name) => format!("an instance of {name}"),
        None if self.is_array() => "an instance of Array".into(),
        None => "an instance of Object".into(),
      },
    }
  }

  /// [`received`](Self::received) without the value, for a secret: a password or key passed as a
  /// number is still the password or key.
  fn received_type(&self) -> String {
    match self.kind() {
      Kind::Boolean => "type boolean".into(),
      Kind::Number => "type number".into(),
      _ => self.received(),
    }
  }

  fn get_bool(&self) -> bool {
    let mut b = false;
    // SAFETY: JS thread; the caller checked the kind.
    unsafe { sys::napi_get_value_bool(self.env, self.value, &mut b) };
    b
  }

  fn get_f64(&self) -> f64 {
    let mut n = 0.0;
    // SAFETY: JS thread; the caller checked the kind.
    unsafe { sys::napi_get_value_double(self.env, self.value, &mut n) };
    n
  }

  pub fn is_array(&self) -> bool {
    let mut yes = false;
    // SAFETY: JS thread.
    unsafe { sys::napi_is_array(self.env, self.value, &mut yes) };
    yes
  }

  fn typed_array_type(&self) -> Option<&'static str> {
    if let Some(kind) = self.typed_array_kind() {
      return Some(typed_array_name(kind));
    }
    let mut yes = false;
    // SAFETY: JS thread.
    unsafe { sys::napi_is_dataview(self.env, self.value, &mut yes) };
    if yes {
      return Some("DataView");
    }
    // SAFETY: JS thread.
    unsafe { sys::napi_is_arraybuffer(self.env, self.value, &mut yes) };
    yes.then_some("ArrayBuffer")
  }

  /// The element type of a TypedArray (a Buffer is a Uint8Array); `None` for anything else.
  fn typed_array_kind(&self) -> Option<sys::napi_typedarray_type> {
    #[cfg(feature = "test-hooks")]
    super::test_hooks::decode_hook();
    let mut yes = false;
    let mut kind = 0;
    // SAFETY: JS thread; the info call only runs on a typed array.
    unsafe {
      sys::napi_is_typedarray(self.env, self.value, &mut yes);
      if !yes {
        return None;
      }
      sys::napi_get_typedarray_info(
        self.env,
        self.value,
        &mut kind,
        ptr::null_mut(),
        ptr::null_mut(),
        ptr::null_mut(),
        ptr::null_mut(),
      );
    }
    Some(kind)
  }

  /// The bytes of a TypedArray, DataView or ArrayBuffer view, borrowed for the current call; `None`
  /// for anything else (and a TypedArray of an element type this build does not know).
  fn view_bytes(&self) -> Option<&[u8]> {
    let mut data: *mut std::ffi::c_void = ptr::null_mut();
    let mut len = 0usize;
    let mut yes = false;
    // SAFETY: JS thread. The returned slice points into the view's backing store, which the value
    // (live for this call) keeps alive; callers copy before the call returns. A detached buffer
    // reports length 0.
    unsafe {
      sys::napi_is_typedarray(self.env, self.value, &mut yes);
      if yes {
        let mut t = 0;
        let mut count = 0usize;
        let mut offset = 0usize;
        sys::napi_get_typedarray_info(
          self.env,
          self.value,
          &mut t,
          &mut count,
          &mut data,
          ptr::null_mut(),
          &mut offset,
        );
        len = count * typed_array_element_size(t)?;
      } else {
        sys::napi_is_dataview(self.env, self.value, &mut yes);
        if yes {
          sys::napi_get_dataview_info(
            self.env,
            self.value,
            &mut len,
            &mut data,
            ptr::null_mut(),
            ptr::null_mut(),
          );
        } else {
          sys::napi_is_arraybuffer(self.env, self.value, &mut yes);
          if !yes {
            return None;
          }
          sys::napi_get_arraybuffer_info(self.env, self.value, &mut data, &mut len);
        }
      }
      if data.is_null() || len == 0 {
        return Some(&[]);
      }
      Some(std::slice::from_raw_parts(data as *const u8, len))
    }
  }

  fn get_string(&self) -> String {
    let mut len = 0usize;
    // SAFETY: JS thread; the caller checked the kind. First call measures, second copies.
    unsafe {
      sys::napi_get_value_string_utf8(self.env, self.value, ptr::null_mut(), 0, &mut len);
      let mut buf = vec![0u8; len + 1];
      sys::napi_get_value_string_utf8(self.env, self.value, buf.as_mut_ptr().cast(), buf.len(), &mut len);
      buf.truncate(len);
      // N-API writes valid UTF-8 (lone surrogates become U+FFFD).
      String::from_utf8(buf).unwrap_or_default()
    }
  }

  /// A `string` (UTF-8 encoded) or any `ArrayBufferView`/`ArrayBuffer` (its bytes, copied).
  pub fn bytes(&self, name: &str) -> Result<Vec<u8>> {
    self.bytes_or(name, Self::received)
  }

  /// Like [`bytes`](Self::bytes) for a secret (a password, pepper or key): wiped when dropped, and
  /// a value of the wrong type is described by its type alone.
  pub fn secret(&self, name: &str) -> Result<Zeroizing<Vec<u8>>> {
    self.bytes_or(name, Self::received_type).map(Zeroizing::new)
  }

  fn bytes_or(&self, name: &str, received: fn(&Self) -> String) -> Result<Vec<u8>> {
    if self.kind() == Kind::String {
      return Ok(self.get_string().into_bytes());
    }
    match self.view_bytes() {
      Some(bytes) => Ok(bytes.to_vec()),
      None => Err(not_bytes(name, &received(self))),
    }
  }

  /// Like [`bytes`](Self::bytes), borrowed for the current call where possible: a view's bytes are
  /// read in place, a string is encoded to UTF-8. For sync exports, which finish before returning.
  pub fn with_bytes<R>(&self, name: &str, f: impl FnOnce(&[u8]) -> R) -> Result<R> {
    if self.kind() == Kind::String {
      return Ok(f(self.get_string().as_bytes()));
    }
    match self.view_bytes() {
      Some(bytes) => Ok(f(bytes)),
      None => Err(not_bytes(name, &self.received())),
    }
  }

  /// Like [`bytes`](Self::bytes), owned and `Send` for the pool: small inputs are copied at once,
  /// large ones on the JS thread before the job runs (see [`ByteView`], `stage`).
  ///
  /// Never read in place, not even over a SharedArrayBuffer: bytes are parsed (JSON) by code that
  /// trusts what it validated once, which memory another thread may write meanwhile would break.
  pub fn byte_view(&self, name: &str) -> Result<ByteView> {
    if self.kind() == Kind::String {
      return Ok(ByteView::Copied(self.get_string().into_bytes()));
    }
    match self.locate() {
      Some(located) => self.pooled(located, name, false),
      None => Err(not_bytes(name, &self.received())),
    }
  }

  /// Where the memory of this TypedArray, DataView or ArrayBuffer is now; `None` for anything else.
  fn locate(&self) -> Option<Located> {
    let (env, value) = (self.env, self.value);
    let mut located = Located {
      value,
      kind: SourceKind::TypedArray,
      data: ptr::null_mut(),
      byte_len: 0,
      shared: false,
    };
    let mut buffer = ptr::null_mut();
    let mut yes = false;
    // SAFETY: JS thread; `value` is live for the call, and each info call runs on a value of its
    // type. A detached buffer reports no data and length 0.
    unsafe {
      sys::napi_is_typedarray(env, value, &mut yes);
      if yes {
        (located.data, located.byte_len, buffer) = typed_array_bytes(env, value)?;
      } else {
        sys::napi_is_dataview(env, value, &mut yes);
        if yes {
          located.kind = SourceKind::DataView;
          sys::napi_get_dataview_info(
            env,
            value,
            &mut located.byte_len,
            &mut located.data,
            &mut buffer,
            ptr::null_mut(),
          );
        } else {
          sys::napi_is_arraybuffer(env, value, &mut yes);
          if !yes {
            return None;
          }
          located.kind = SourceKind::ArrayBuffer;
          sys::napi_get_arraybuffer_info(env, value, &mut located.data, &mut located.byte_len);
        }
      }
      if !buffer.is_null() {
        // A view's buffer that is not an ArrayBuffer is a SharedArrayBuffer.
        sys::napi_is_arraybuffer(env, buffer, &mut yes);
        located.shared = !yes;
      }
    }
    Some(located)
  }

  /// A view of `located` for the pool, as elements of `A`: copied now when small, read in place
  /// over a SharedArrayBuffer when `in_place`, else staged.
  fn pooled<A: TypedArrayArg>(&self, located: Located, name: &str, in_place: bool) -> Result<View<A>> {
    let env = self.env;
    let len = located.byte_len / std::mem::size_of::<A::Element>();
    let data = located.data as *const A::Element;
    if located.byte_len < STAGE_MIN || data.is_null() {
      // SAFETY: JS thread; the memory is live and unchanged for the rest of this call, and a
      // typed array's data is aligned for its element type (the callers checked it is `A`'s).
      return Ok(View::Copied(match data.is_null() {
        true => Vec::new(),
        false => unsafe { std::slice::from_raw_parts(data, len) }.to_vec(),
      }));
    }
    if located.shared && in_place {
      let mut holder = ptr::null_mut();
      // SAFETY: JS thread; the reference is recorded with the call and released when it settles.
      unsafe { sys::napi_create_reference(env, located.value, 1, &mut holder) };
      // SAFETY: JS thread (this and the next call). `holder` keeps the SharedArrayBuffer alive
      // for the call, which JS can neither detach nor shrink.
      unsafe { stage::record(env, |decoded| decoded.holders.push(holder))? };
      let memory = unsafe { InPlace::new(env, data, len)? };
      return Ok(View::Shared {
        len,
        memory: Memory::InPlace(memory),
      });
    }
    let copy = StagedCopy::new();
    // SAFETY: JS thread; `located.value` is live and of `located.kind`, `len` elements of `A`.
    let source = unsafe { StageSource::new::<A::Element>(env, located.value, located.kind, len, name, copy.clone()) };
    // SAFETY: JS thread.
    unsafe { stage::record(env, |decoded| decoded.stages.push(source))? };
    Ok(View::Shared {
      len,
      memory: Memory::Staged(copy),
    })
  }

  /// Decodes each element of an `Array` of `lengths` elements with `decode(element, name)` as it is
  /// read. The length is the caller's claim, free to make (`a.length = 2 ** 32 - 1`): nothing is
  /// sized by it, and a hole stops the walk where it is rather than after billions of reads. An
  /// error names the element (`inputs[3]`), built only for a failing element (decoding runs again
  /// with it): formatting it for each element of a 10,000-element batch cost more than the decoding.
  pub fn array_of<T>(
    &self,
    name: &str,
    lengths: RangeInclusive<u32>,
    decode: impl Fn(JsArg, &str) -> Result<T>,
  ) -> Result<Vec<T>> {
    if !self.is_array() {
      return Err(OffloopError::invalid_type(
        name,
        "an instance of Array",
        &self.received(),
      ));
    }
    let mut len = 0u32;
    // SAFETY: JS thread; it is an array.
    unsafe { sys::napi_get_array_length(self.env, self.value, &mut len) };
    if !lengths.contains(&len) {
      return Err(OffloopError::out_of_range(
        &format!("{name}.length"),
        &format!(">= {} && <= {}", lengths.start(), lengths.end()),
        &len.to_string(),
      ));
    }
    let mut decoded = Vec::new();
    for i in 0..len {
      let mut value = ptr::null_mut();
      // SAFETY: JS thread; it is an array. A getter on an element may throw: that is reported.
      let status = unsafe { sys::napi_get_element(self.env, self.value, i, &mut value) };
      if status != sys::Status::napi_ok {
        // SAFETY: as above.
        unsafe { clear_exception(self.env) };
        return Err(OffloopError::invalid_value(
          &format!("{name}[{i}]"),
          "could not be read: its getter threw",
        ));
      }
      let element = JsArg { env: self.env, value };
      decoded
        .push(decode(element, name).map_err(|error| decode(element, &format!("{name}[{i}]")).err().unwrap_or(error))?);
    }
    Ok(decoded)
  }

  /// Only an `ArrayBufferView`/`ArrayBuffer`, copied (salts, keys given as bytes).
  pub fn binary(&self, name: &str) -> Result<Vec<u8>> {
    match self.view_bytes() {
      Some(bytes) if self.kind() == Kind::Object => Ok(bytes.to_vec()),
      _ => Err(OffloopError::invalid_type(
        name,
        "an instance of Buffer, TypedArray, DataView or ArrayBuffer",
        &self.received(),
      )),
    }
  }

  /// `JSON.stringify(value)`, run on the JS thread: small structured arguments (a plain object of
  /// variables) cross into Rust as JSON text rather than value by value.
  pub fn json(&self, name: &str) -> Result<String> {
    let env = self.env;
    let mut text = ptr::null_mut();
    // SAFETY: JS thread of `env`; every value used lives in the current call's scope. A throwing
    // stringify (a BigInt, a cycle) leaves an exception pending, which is cleared below.
    let ok = unsafe {
      let mut global = ptr::null_mut();
      let mut json = ptr::null_mut();
      let mut stringify = ptr::null_mut();
      sys::napi_get_global(env, &mut global) == sys::Status::napi_ok
        && sys::napi_get_named_property(env, global, c"JSON".as_ptr(), &mut json) == sys::Status::napi_ok
        && sys::napi_get_named_property(env, json, c"stringify".as_ptr(), &mut stringify) == sys::Status::napi_ok
        && sys::napi_call_function(env, json, stringify, 1, &self.value, &mut text) == sys::Status::napi_ok
    };
    if !ok {
      // SAFETY: JS thread, as the calls above.
      unsafe { clear_exception(env) };
      return Err(OffloopError::invalid_value(name, "cannot be serialized to JSON"));
    }
    let text = JsArg { env, value: text };
    match text.kind() {
      Kind::String => Ok(text.get_string()),
      _ => Err(OffloopError::invalid_type(
        name,
        "a value that JSON.stringify accepts",
        &self.received(),
      )),
    }
  }

  pub fn string(&self, name: &str) -> Result<String> {
    self.string_or(name, Self::received)
  }

  /// Like [`string`](Self::string) for a string a secret may stand in for: a stored password hash,
  /// where a caller who swapped the arguments passes the password. A wrong type is described by
  /// its type alone.
  pub fn string_near_secret(&self, name: &str) -> Result<String> {
    self.string_or(name, Self::received_type)
  }

  fn string_or(&self, name: &str, received: fn(&Self) -> String) -> Result<String> {
    if self.kind() == Kind::String {
      Ok(self.get_string())
    } else {
      Err(OffloopError::invalid_type(name, "of type string", &received(self)))
    }
  }

  /// A string out of a fixed set, like node:crypto's algorithm names.
  ///
  /// Allocation-free when the value is allowed: sync exports such as `hashSync()` decode their
  /// algorithm on every call of a few hundred nanoseconds.
  pub fn one_of(&self, name: &str, allowed: &[&'static str]) -> Result<&'static str> {
    let list = || allowed.iter().map(|a| format!("'{a}'")).collect::<Vec<_>>().join(", ");
    if self.kind() != Kind::String {
      return Err(OffloopError::invalid_type(
        name,
        &format!("one of {}", list()),
        &self.received(),
      ));
    }
    // Every allowed name is short: read into a stack buffer; a longer value cannot match.
    let mut buf = [0u8; 64];
    let mut len = 0usize;
    // SAFETY: JS thread; it is a string. N-API writes at most `buf.len() - 1` bytes plus a NUL.
    unsafe { sys::napi_get_value_string_utf8(self.env, self.value, buf.as_mut_ptr().cast(), buf.len(), &mut len) };
    let value = &buf[..len];
    allowed
      .iter()
      .copied()
      .find(|a| len < buf.len() - 1 && a.as_bytes() == value)
      .ok_or_else(|| {
        OffloopError::invalid_value(
          name,
          &format!(
            "must be one of {}. Received another string (not shown: a misplaced argument may be a secret)",
            list()
          ),
        )
      })
  }

  pub fn boolean(&self, name: &str) -> Result<bool> {
    if self.kind() == Kind::Boolean {
      Ok(self.get_bool())
    } else {
      Err(OffloopError::invalid_type(name, "of type boolean", &self.received()))
    }
  }

  /// An integer in `min..=max`; fractions, NaN and infinities are `ERR_OUT_OF_RANGE`.
  pub fn integer(&self, name: &str, min: u64, max: u64) -> Result<u64> {
    if self.kind() != Kind::Number {
      return Err(OffloopError::invalid_type(name, "of type number", &self.received()));
    }
    let n = self.get_f64();
    if n.fract() != 0.0 || !n.is_finite() {
      return Err(OffloopError::out_of_range(name, "an integer", &format_number(n)));
    }
    if n < min as f64 || n > max as f64 {
      return Err(OffloopError::out_of_range(
        name,
        &format!(">= {min} && <= {max}"),
        &out_of_range_received(n),
      ));
    }
    Ok(n as u64)
  }

  pub fn number(&self, name: &str) -> Result<f64> {
    if self.kind() == Kind::Number {
      Ok(self.get_f64())
    } else {
      Err(OffloopError::invalid_type(name, "of type number", &self.received()))
    }
  }

  /// A number in `range` (NaN never is); the full `f64::MIN..=f64::MAX` means "any finite number".
  pub fn number_in(&self, name: &str, range: std::ops::RangeInclusive<f64>) -> Result<f64> {
    let n = self.number(name)?;
    if range.contains(&n) {
      return Ok(n);
    }
    let expected = match (*range.start(), *range.end()) {
      (f64::MIN, f64::MAX) => "a finite number".to_owned(),
      (min, max) => format!(">= {} && <= {}", format_number(min), format_number(max)),
    };
    Err(OffloopError::out_of_range(name, &expected, &out_of_range_received(n)))
  }

  /// A TypedArray of exactly type `A`, for use before the call returns (a sync export, or a copy
  /// made on the JS thread). For the pool, use [`typed_view`](Self::typed_view).
  pub fn typed_array<A: TypedArrayArg>(&self, name: &str) -> Result<A> {
    self.check_typed_array::<A>(name)?;
    // SAFETY: JS thread; the value is a typed array of `A`'s kind (checked above).
    unsafe { A::from_napi_value(self.env, self.value) }.map_err(internal)
  }

  /// A TypedArray of exactly type `A` for the pool, copied like [`byte_view`](Self::byte_view)'s
  /// bytes, or over a SharedArrayBuffer read in place: numbers, whose every bit pattern is valid,
  /// so a caller writing them meanwhile gets a wrong answer, never memory unsafety (the kernels
  /// clamp every index they compute from a value).
  pub fn typed_view<A: TypedArrayArg>(&self, name: &str) -> Result<View<A>> {
    self.check_typed_array::<A>(name)?;
    let located = self.locate().expect("a typed array has memory to locate");
    self.pooled(located, name, true)
  }

  /// A TypedArray of exactly type `A` that the job's result is copied into, on the JS thread,
  /// before the promise resolves with it (see [`Output`]). One per call.
  pub fn typed_output<A: TypedArrayArg>(&self, name: &str) -> Result<Output<A>> {
    self.check_typed_array::<A>(name)?;
    let located = self.locate().expect("a typed array has memory to locate");
    // SAFETY: JS thread; the value is a live typed array of `located.byte_len` bytes.
    let target = unsafe { OutputTarget::new(self.env, self.value, located.byte_len, name) };
    // SAFETY: JS thread.
    unsafe { stage::record(self.env, |decoded| decoded.output.replace(target))? }.map_or(Ok(()), |_| {
      Err(OffloopError::error(
        "ERR_OFFLOOP_INTERNAL",
        "offloop: a call has two output arrays (this is a bug in offloop)",
      ))
    })?;
    Ok(Output::new(located.byte_len / std::mem::size_of::<A::Element>()))
  }

  fn check_typed_array<A: TypedArrayArg>(&self, name: &str) -> Result<()> {
    match self.typed_array_kind() == Some(A::KIND) {
      true => Ok(()),
      false => Err(OffloopError::invalid_type(
        name,
        &format!("an instance of {}", typed_array_name(A::KIND)),
        &self.received(),
      )),
    }
  }

  /// Any numeric TypedArray for the pool, like [`typed_view`](Self::typed_view). `expected` words
  /// the TypeError (`"an instance of ..."`).
  pub fn any_typed_view(&self, name: &str, expected: &str) -> Result<AnyTypedView> {
    match self.typed_array_kind() {
      Some(kind) => AnyTypedView::decode(*self, kind, name),
      None => Err(OffloopError::invalid_type(name, expected, &self.received())),
    }
  }

  /// The options object of an export: `undefined`/`null` means none.
  pub fn options(&self, name: &'static str) -> Result<Options> {
    match self.kind() {
      Kind::Undefined | Kind::Null => Ok(Options { object: None, name }),
      Kind::Object => Ok(Options {
        object: Some(*self),
        name,
      }),
      _ => Err(OffloopError::invalid_type(name, "of type object", &self.received())),
    }
  }

  pub fn raw(&self) -> sys::napi_value {
    self.value
  }

  pub fn env(&self) -> sys::napi_env {
    self.env
  }
}

/// An options object being read, one property at a time, each checked like Node checks options.
pub struct Options {
  object: Option<JsArg>,
  name: &'static str,
}

impl Options {
  /// A property, or `None` when absent or `undefined`. A throwing getter is a typed error.
  pub fn get(&self, key: &str) -> Result<Option<(JsArg, String)>> {
    let Some(object) = self.object else { return Ok(None) };
    let path = format!("{}.{key}", self.name);
    let mut value = ptr::null_mut();
    let key_c = std::ffi::CString::new(key).expect("option names have no NUL");
    // SAFETY: JS thread; `object` is live for the call.
    let status = unsafe { sys::napi_get_named_property(object.env, object.value, key_c.as_ptr(), &mut value) };
    if status != sys::Status::napi_ok {
      // SAFETY: JS thread, as above.
      unsafe { clear_exception(object.env) };
      return Err(OffloopError::invalid_value(
        &path,
        "could not be read: its getter threw",
      ));
    }
    let arg = JsArg { env: object.env, value };
    Ok((arg.kind() != Kind::Undefined).then_some((arg, path)))
  }

  pub fn integer(&self, key: &str, min: u64, max: u64) -> Result<Option<u64>> {
    self.get(key)?.map(|(v, path)| v.integer(&path, min, max)).transpose()
  }

  pub fn boolean(&self, key: &str) -> Result<Option<bool>> {
    self.get(key)?.map(|(v, path)| v.boolean(&path)).transpose()
  }

  pub fn one_of(&self, key: &str, allowed: &[&'static str]) -> Result<Option<&'static str>> {
    self.get(key)?.map(|(v, path)| v.one_of(&path, allowed)).transpose()
  }

  pub fn bytes(&self, key: &str) -> Result<Option<Vec<u8>>> {
    self.get(key)?.map(|(v, path)| v.bytes(&path)).transpose()
  }

  pub fn secret(&self, key: &str) -> Result<Option<Zeroizing<Vec<u8>>>> {
    self.get(key)?.map(|(v, path)| v.secret(&path)).transpose()
  }

  pub fn binary(&self, key: &str) -> Result<Option<Vec<u8>>> {
    self.get(key)?.map(|(v, path)| v.binary(&path)).transpose()
  }

  pub fn string(&self, key: &str) -> Result<Option<String>> {
    self.get(key)?.map(|(v, path)| v.string(&path)).transpose()
  }

  pub fn json(&self, key: &str) -> Result<Option<String>> {
    self.get(key)?.map(|(v, path)| v.json(&path)).transpose()
  }

  /// The `signal` option every async export takes.
  pub fn signal<'env>(&self) -> Result<Option<Signal<'env>>> {
    self
      .get("signal")?
      .map(|(v, path)| Signal::from_value(v.env, v.value, &path, || v.received()))
      .transpose()
  }
}

/// Results of at least this many bytes are freed on a pool thread, not in the JS thread's GC.
const LARGE_RESULT: usize = 1 << 20;

/// One napi-rs TypedArray type, naming an element type. Sync exports read a caller's array through
/// it before they return; the pool gets a [`View`] of it instead (see `stage`); results made in
/// Rust reach JS through `from_vec`.
pub trait TypedArrayArg:
  FromNapiValue + ToNapiValue + Deref<Target = [Self::Element]> + Into<AnyTypedArray> + Send + Sync + 'static
{
  type Element: bytemuck::Pod + Send + Sync;
  const KIND: sys::napi_typedarray_type;
  /// A new JS array of this type that takes `data` over without copying it. A large one's memory is
  /// freed on a pool thread when JS collects it: unmapping hundreds of MB inside a GC finalizer
  /// would stall the event loop for milliseconds.
  fn from_vec(data: Vec<Self::Element>) -> Self;
}

macro_rules! typed_arrays {
  ($($variant:ident($array:ident, $element:ty, $kind:ident)),* $(,)?) => {
    /// Any numeric TypedArray made in Rust, on its way to JS (a result).
    pub enum AnyTypedArray {
      $($variant($array)),*
    }

    /// Any numeric TypedArray of the caller, on its way to the pool. `with_typed_view!` runs
    /// generic code on the concrete view inside.
    pub enum AnyTypedView {
      $($variant(View<$array>)),*
    }

    $(
      impl TypedArrayArg for $array {
        type Element = $element;
        const KIND: sys::napi_typedarray_type = sys::TypedarrayType::$kind;
        fn from_vec(mut data: Vec<$element>) -> Self {
          if data.len() * std::mem::size_of::<$element>() < LARGE_RESULT {
            return $array::new(data);
          }
          let (ptr, len, capacity) = (data.as_mut_ptr(), data.len(), data.capacity());
          std::mem::forget(data);
          // SAFETY: the parts come from a Vec that was forgotten; napi-rs passes them back to the
          // closure exactly once, when JS collects the array (or Rust drops it unconverted).
          unsafe {
            $array::with_external_data(ptr, len, move |ptr, len| {
              super::pool::drop_later(Vec::from_raw_parts(ptr, len, capacity))
            })
          }
        }
      }

      impl From<$array> for AnyTypedArray {
        fn from(array: $array) -> Self {
          AnyTypedArray::$variant(array)
        }
      }
    )*

    impl AnyTypedView {
      /// `value`, a typed array whose element type is `kind`, as a view of that type.
      fn decode(value: JsArg, kind: sys::napi_typedarray_type, name: &str) -> Result<Self> {
        match kind {
          $(sys::TypedarrayType::$kind => value.typed_view::<$array>(name).map(Self::$variant),)*
          _ => Err(OffloopError::invalid_type(name, "a numeric TypedArray", &value.received())),
        }
      }
    }

    impl ToNapiValue for AnyTypedArray {
      unsafe fn to_napi_value(env: sys::napi_env, value: Self) -> napi::Result<sys::napi_value> {
        match value {
          // SAFETY: the caller's contract, passed on.
          $(AnyTypedArray::$variant(array) => unsafe { $array::to_napi_value(env, array) },)*
        }
      }
    }
  };
}

typed_arrays! {
  Int8(Int8Array, i8, int8_array),
  Uint8(Uint8Array, u8, uint8_array),
  Uint8Clamped(Uint8ClampedArray, u8, uint8_clamped_array),
  Int16(Int16Array, i16, int16_array),
  Uint16(Uint16Array, u16, uint16_array),
  Int32(Int32Array, i32, int32_array),
  Uint32(Uint32Array, u32, uint32_array),
  Float32(Float32Array, f32, float32_array),
  Float64(Float64Array, f64, float64_array),
  BigInt64(BigInt64Array, i64, bigint64_array),
  BigUint64(BigUint64Array, u64, biguint64_array),
}

/// Runs `$body` with `$view` bound to the concrete [`View`] inside an [`AnyTypedView`]: the body is
/// written once and compiled for each element type.
macro_rules! with_typed_view {
  ($any:expr, |$view:ident| $body:expr) => {{
    use $crate::runtime::args::AnyTypedView as Any;
    match $any {
      Any::Int8($view) => $body,
      Any::Uint8($view) => $body,
      Any::Uint8Clamped($view) => $body,
      Any::Int16($view) => $body,
      Any::Uint16($view) => $body,
      Any::Int32($view) => $body,
      Any::Uint32($view) => $body,
      Any::Float32($view) => $body,
      Any::Float64($view) => $body,
      Any::BigInt64($view) => $body,
      Any::BigUint64($view) => $body,
    }
  }};
}
pub(crate) use with_typed_view;

fn typed_array_name(kind: sys::napi_typedarray_type) -> &'static str {
  match kind {
    sys::TypedarrayType::int8_array => "Int8Array",
    sys::TypedarrayType::uint8_array => "Uint8Array",
    sys::TypedarrayType::uint8_clamped_array => "Uint8ClampedArray",
    sys::TypedarrayType::int16_array => "Int16Array",
    sys::TypedarrayType::uint16_array => "Uint16Array",
    sys::TypedarrayType::int32_array => "Int32Array",
    sys::TypedarrayType::uint32_array => "Uint32Array",
    sys::TypedarrayType::float32_array => "Float32Array",
    sys::TypedarrayType::float64_array => "Float64Array",
    sys::TypedarrayType::bigint64_array => "BigInt64Array",
    sys::TypedarrayType::biguint64_array => "BigUint64Array",
    FLOAT16_ARRAY => "Float16Array",
    _ => "TypedArray",
  }
}

fn not_bytes(name: &str, received: &str) -> OffloopError {
  OffloopError::invalid_type(
    name,
    "of type string or an instance of Buffer, TypedArray, DataView or ArrayBuffer",
    received,
  )
}

fn internal(error: napi::Error) -> OffloopError {
  OffloopError::error("ERR_OFFLOOP_INTERNAL", format!("offloop: {}", error.reason))
}

/// Where a TypedArray's, DataView's or ArrayBuffer's memory is while a call is decoded.
struct Located {
  value: sys::napi_value,
  kind: SourceKind,
  data: *mut std::ffi::c_void,
  byte_len: usize,
  /// Over a SharedArrayBuffer: memory JS cannot take away.
  shared: bool,
}

/// The data, byte length and ArrayBuffer of the typed array `value` (null and 0 when detached);
/// `None` for an element type this build does not know the size of.
///
/// # Safety
/// JS thread of `env`; `value` is a live typed array.
pub(super) unsafe fn typed_array_bytes(
  env: sys::napi_env,
  value: sys::napi_value,
) -> Option<(*mut std::ffi::c_void, usize, sys::napi_value)> {
  let (mut kind, mut count) = (0, 0usize);
  let (mut data, mut buffer) = (ptr::null_mut(), ptr::null_mut());
  // SAFETY: per this function's contract.
  unsafe {
    sys::napi_get_typedarray_info(
      env,
      value,
      &mut kind,
      &mut count,
      &mut data,
      &mut buffer,
      ptr::null_mut(),
    )
  };
  Some((data, count * typed_array_element_size(kind)?, buffer))
}

/// `napi_float16_array` in Node's js_native_api_types.h (Node 24+), which napi-sys does not name.
const FLOAT16_ARRAY: sys::napi_typedarray_type = 11;

/// Bytes per element, or `None` for an element type N-API may add later: N-API reports a view's
/// length in elements only, and guessing one byte per element read half of a Float16Array.
fn typed_array_element_size(t: sys::napi_typedarray_type) -> Option<usize> {
  match t {
    sys::TypedarrayType::int8_array | sys::TypedarrayType::uint8_array | sys::TypedarrayType::uint8_clamped_array => {
      Some(1)
    }
    sys::TypedarrayType::int16_array | sys::TypedarrayType::uint16_array | FLOAT16_ARRAY => Some(2),
    sys::TypedarrayType::int32_array | sys::TypedarrayType::uint32_array | sys::TypedarrayType::float32_array => {
      Some(4)
    }
    sys::TypedarrayType::float64_array | sys::TypedarrayType::bigint64_array | sys::TypedarrayType::biguint64_array => {
      Some(8)
    }
    _ => None,
  }
}

/// A number as Node's errors show it: JavaScript's text, `-0` kept (`util.inspect`'s).
pub fn format_number(n: f64) -> String {
  match n == 0.0 && n.is_sign_negative() {
    true => "-0".into(),
    false => ryu_js::Buffer::new().format(n).to_owned(),
  }
}

/// The number an `ERR_OUT_OF_RANGE` received, as Node words it: `format_number`'s text, and for
/// an integer beyond 2^32 that text with `_` between groups of three characters from the right
/// (Node's `addNumericalSeparator`, which groups an exponent's characters too: `1e_+21`).
pub fn out_of_range_received(n: f64) -> String {
  let text = format_number(n);
  if n.fract() != 0.0 || n.abs() <= 4_294_967_296.0 {
    return text;
  }
  let sign = usize::from(text.starts_with('-'));
  let mut end = text.len();
  let mut groups = Vec::new();
  while end >= sign + 4 {
    groups.push(&text[end - 3..end]);
    end -= 3;
  }
  groups.push(&text[..end]);
  groups.reverse();
  groups.join("_")
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn numbers_print_like_js() {
    assert_eq!(format_number(42.0), "42");
    assert_eq!(format_number(-1.0), "-1");
    assert_eq!(format_number(1.5), "1.5");
    assert_eq!(format_number(f64::NAN), "NaN");
    assert_eq!(format_number(f64::NEG_INFINITY), "-Infinity");
    assert_eq!(format_number(-0.0), "-0");
    assert_eq!(format_number(1e21), "1e+21");
    assert_eq!(format_number(0.1 + 0.2), "0.30000000000000004");
  }

  /// Node's own texts (`Buffer.alloc(1).readUInt8(n)`'s messages, Node 20).
  #[test]
  fn out_of_range_numbers_are_grouped_as_node_groups_them() {
    for (n, text) in [
      (4_294_967_296.0, "4294967296"),
      (4_294_967_297.0, "4_294_967_297"),
      (-1_099_511_627_776.0, "-1_099_511_627_776"),
      (9_007_199_254_740_992.0, "9_007_199_254_740_992"),
      (1e21, "1e_+21"),
      (1.5e300, "1._5e+_300"),
      (0.5, "0.5"),
      (f64::INFINITY, "Infinity"),
      (f64::NAN, "NaN"),
    ] {
      assert_eq!(out_of_range_received(n), text, "{n}");
    }
  }
}
