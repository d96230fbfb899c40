//! The zlib that node:zlib itself runs, called on offloop's pool, so that gzip and deflate output
//! is node:zlib's byte for byte at every level, window, hash size and strategy.
//!
//! Why not a bundled library: node:zlib runs Chromium's fork of zlib (Node 20-22) or its successor
//! (Node 24+), whose matching and block splitting no other library reproduces. libdeflate and
//! zlib-rs, tuned level by level, still came out up to 1.25% larger than node:zlib on some inputs
//! (benchmark/NOTES.md), and a response that changes bytes when a server moves to offloop changes
//! its ETag. Node's own binaries export zlib's functions for addons (`nm -D node`), so offloop looks
//! them up at run time. The lookup is the one the dynamic linker made for node itself: the
//! executable's own zlib, or the system's libz when Node was built with `--shared-zlib` (as distro
//! packages are). What it finds is used only if its `zlibVersion()` is the version node reports
//! for node:zlib (`process.versions.zlib`, which adds a commit to it: "1.3.1" for "1.3.1-e00f703"):
//! an embedder that renames its zlib's symbols (Electron's are `Cr_z_`-prefixed) may still have a
//! system libz loaded, which would compress correctly but not as its node:zlib does. Where nothing
//! fitting is found (such an embedder, Windows, a test binary) the bundled libraries in `deflate`
//! compress instead.
//!
//! Only compression comes from here: decompression is the same answer from any correct inflater,
//! and zlib-rs's also enforces `maxOutputLength` as it goes.

use std::ffi::{c_char, c_int, c_uint, c_ulong, c_void, CStr};
use std::ptr;
use std::sync::OnceLock;

use napi::sys;

use super::codec::{internal, Codec, Flush, Output, Step};
use super::deflate::compressor_memory;
use super::settings::DeflateSettings;
use crate::runtime::abort::clear_exception;
use crate::runtime::args::JsArg;
use crate::runtime::{OffloopError, Result};

/// zlib's `z_stream` (zlib.h), which every zlib since 1.0 lays out this way; `deflateInit2_` checks
/// the size passed to it, so a host whose layout differed would refuse, not misread it.
#[repr(C)]
struct ZStream {
  next_in: *const u8,
  avail_in: c_uint,
  total_in: c_ulong,
  next_out: *mut u8,
  avail_out: c_uint,
  total_out: c_ulong,
  msg: *const c_char,
  state: *mut c_void,
  // Null: zlib's own malloc and free.
  zalloc: *const c_void,
  zfree: *const c_void,
  opaque: *mut c_void,
  data_type: c_int,
  adler: c_ulong,
  reserved: c_ulong,
}

type DeflateInit2 =
  unsafe extern "C" fn(*mut ZStream, c_int, c_int, c_int, c_int, c_int, *const c_char, c_int) -> c_int;
type DeflateStep = unsafe extern "C" fn(*mut ZStream, c_int) -> c_int;
type DeflateEnd = unsafe extern "C" fn(*mut ZStream) -> c_int;
type ZlibVersion = unsafe extern "C" fn() -> *const c_char;

const Z_OK: c_int = 0;
const Z_STREAM_END: c_int = 1;
const Z_BUF_ERROR: c_int = -5;
const Z_MEM_ERROR: c_int = -4;
const Z_DEFLATED: c_int = 8;

/// At level 0 zlib stores the input in blocks as large as the output room allows, so node:zlib's
/// one-shot output depends on its `chunkSize` (16 KiB by default, one call per chunk): level 0 gets
/// that much room per call, which matches one-shot calls at node:zlib's default `chunkSize`; its
/// streams leave varying room, so their level-0 blocks can fall elsewhere. Other levels' output
/// does not depend on the room, but for a flush that fills it exactly (zlib then writes a second
/// marker when called again, as node:zlib also does with its own room).
const STORED_ROOM: usize = 16 << 10;

/// The host's deflate functions.
struct Api {
  init: DeflateInit2,
  deflate: DeflateStep,
  end: DeflateEnd,
  /// The host's own version string, which `deflateInit2_` compares with the one it is given.
  version: &'static CStr,
}

static API: OnceLock<Option<Api>> = OnceLock::new();

/// The host's zlib, once `bind` found it.
fn api() -> Option<&'static Api> {
  API.get().and_then(Option::as_ref)
}

/// Whether gzip and deflate compress through node:zlib's own zlib in this process.
pub fn available() -> bool {
  api().is_some()
}

/// Looks the host's zlib up, once per process, before the first compression: the compressing
/// exports call this first.
///
/// # Safety
/// On the JS thread of `env`.
pub unsafe fn bind(env: sys::napi_env) {
  if API.get().is_some() {
    return;
  }
  // Read before `get_or_init`: reading a property may run JS, which may compress.
  // SAFETY: the caller's contract.
  let reported = unsafe { node_zlib_version(env) };
  API.get_or_init(|| resolve(reported.as_deref()?));
}

/// `process.versions.zlib`, or `None` (and no exception left pending) if it cannot be read.
///
/// # Safety
/// On the JS thread of `env`.
unsafe fn node_zlib_version(env: sys::napi_env) -> Option<String> {
  let mut value = ptr::null_mut();
  // SAFETY: JS thread of `env`; every value used lives in the current call's scope.
  let ok = unsafe {
    let (mut global, mut process, mut versions) = (ptr::null_mut(), ptr::null_mut(), ptr::null_mut());
    sys::napi_get_global(env, &mut global) == sys::Status::napi_ok
      && sys::napi_get_named_property(env, global, c"process".as_ptr(), &mut process) == sys::Status::napi_ok
      && sys::napi_get_named_property(env, process, c"versions".as_ptr(), &mut versions) == sys::Status::napi_ok
      && sys::napi_get_named_property(env, versions, c"zlib".as_ptr(), &mut value) == sys::Status::napi_ok
  };
  if !ok {
    // SAFETY: JS thread, as above.
    unsafe { clear_exception(env) };
    return None;
  }
  JsArg::from_raw(env, value).string("process.versions.zlib").ok()
}

#[cfg(unix)]
fn resolve(node_reports: &str) -> Option<Api> {
  // The JS tests' way to run the bundled libraries in a real Node process.
  #[cfg(feature = "test-hooks")]
  if std::env::var_os("OFFLOOP_TEST_BUNDLED_ZLIB").is_some() {
    return None;
  }
  fn symbol(name: &CStr) -> Option<*mut c_void> {
    // SAFETY: `name` is NUL-terminated; RTLD_DEFAULT searches the global scope (the executable,
    // then the libraries it was linked with), which is where node's own references to zlib were
    // bound.
    let address = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
    (!address.is_null()).then_some(address)
  }
  let (init, deflate, end, version) = (
    symbol(c"deflateInit2_")?,
    symbol(c"deflate")?,
    symbol(c"deflateEnd")?,
    symbol(c"zlibVersion")?,
  );
  // SAFETY: these are zlib's exported functions under their documented names, whose C signatures
  // the types above spell out (zlib.h); a symbol's address is its function's.
  let (init, deflate, end, version) = unsafe {
    (
      std::mem::transmute::<*mut c_void, DeflateInit2>(init),
      std::mem::transmute::<*mut c_void, DeflateStep>(deflate),
      std::mem::transmute::<*mut c_void, DeflateEnd>(end),
      std::mem::transmute::<*mut c_void, ZlibVersion>(version),
    )
  };
  // SAFETY: zlibVersion() takes nothing and returns a pointer to a static NUL-terminated string.
  let version = unsafe { CStr::from_ptr(version()) };
  // node:zlib's zlib, and not another loaded in the process (see the module's comment).
  let text = version.to_str().ok()?;
  let same = node_reports == text || node_reports.strip_prefix(text)?.starts_with('-');
  same.then_some(Api {
    init,
    deflate,
    end,
    version,
  })
}

#[cfg(not(unix))]
fn resolve(_: &str) -> Option<Api> {
  None
}

/// A compressor running the host's zlib: node:zlib's `Gzip`, `Deflate` or `DeflateRaw` handle, with
/// the arguments node passes to `deflateInit2`.
pub struct Deflater {
  api: &'static Api,
  /// Output room per call: see `STORED_ROOM`.
  room_limit: usize,
  memory: usize,
  // Boxed: zlib's state points back at its stream, so the stream must not move.
  stream: Box<ZStream>,
}

// SAFETY: the stream and the state zlib allocated for it are owned by this value alone and used
// through `&mut self`; zlib keeps no per-thread state, so a stream may move between threads.
unsafe impl Send for Deflater {}

impl Deflater {
  /// `None` when the host has no zlib of its own. `window_bits` is zlib's argument for the format
  /// (+16 for gzip, negative for raw deflate); the settings were range-checked when decoded.
  pub fn new(settings: &DeflateSettings, window_bits: i32) -> Option<Result<Self>> {
    let api = api()?;
    let mut stream = Box::new(ZStream {
      next_in: ptr::null(),
      avail_in: 0,
      total_in: 0,
      next_out: ptr::null_mut(),
      avail_out: 0,
      total_out: 0,
      msg: ptr::null(),
      state: ptr::null_mut(),
      zalloc: ptr::null(),
      zfree: ptr::null(),
      opaque: ptr::null_mut(),
      data_type: 0,
      adler: 0,
      reserved: 0,
    });
    // SAFETY: `stream` is a zeroed z_stream whose allocator fields are null (zlib's defaults);
    // the version string is the host's own and the size is this layout's.
    let status = unsafe {
      (api.init)(
        &mut *stream,
        c_int::from(settings.level),
        Z_DEFLATED,
        window_bits,
        c_int::from(settings.mem_level),
        c_int::from(settings.strategy),
        api.version.as_ptr(),
        std::mem::size_of::<ZStream>() as c_int,
      )
    };
    Some(match status {
      Z_OK => Ok(Deflater {
        api,
        room_limit: if settings.level == 0 { STORED_ROOM } else { usize::MAX },
        memory: compressor_memory(settings.window_bits, settings.mem_level),
        stream,
      }),
      Z_MEM_ERROR => Err(OffloopError::error(
        "ERR_MEMORY_ALLOCATION_FAILED",
        "Failed to allocate memory for the compressor",
      )),
      _ => Err(internal("the host's zlib refused its settings")),
    })
  }
}

impl Codec for Deflater {
  fn step(&mut self, input: &[u8], output: &mut Output, flush: Flush) -> Result<Step> {
    let mode = match flush {
      Flush::None => 0,
      Flush::Partial => 1,
      Flush::Sync => 2,
      Flush::Full => 3,
      Flush::Finish => 4,
      Flush::Block => 5,
    };
    let spare = output.spare();
    // zlib counts in `uInt`s; what does not fit is left for the next step.
    let room = spare.len().min(self.room_limit).min(c_uint::MAX as usize);
    let offered = input.len().min(c_uint::MAX as usize);
    let stream = &mut *self.stream;
    stream.next_in = input.as_ptr();
    stream.avail_in = offered as c_uint;
    stream.next_out = spare.as_mut_ptr().cast();
    stream.avail_out = room as c_uint;
    // SAFETY: the stream was initialized by `deflateInit2_` and is ended only on drop; `next_in`
    // has `avail_in` readable bytes and `next_out` `avail_out` writable ones, both borrowed for
    // this call only.
    let status = unsafe { (self.api.deflate)(stream, mode) };
    let consumed = offered - stream.avail_in as usize;
    let written = room - stream.avail_out as usize;
    stream.next_in = ptr::null();
    stream.next_out = ptr::null_mut();
    // SAFETY: zlib wrote `written` bytes at the start of the spare room it was given.
    unsafe { output.advance(written) };
    let done = match (status, flush) {
      // Z_BUF_ERROR: no progress was possible (nothing to consume, no room): not an error.
      (Z_OK | Z_BUF_ERROR, Flush::None) => consumed == input.len(),
      // zlib's rule: a flush is complete when it returns with output room to spare.
      (Z_OK | Z_BUF_ERROR, flush) if flush.outputs_all() => consumed == input.len() && written < room,
      (Z_OK | Z_BUF_ERROR, Flush::Finish) => false,
      (Z_STREAM_END, _) => true,
      _ => return Err(internal("the host's zlib failed")),
    };
    Ok(Step { consumed, done })
  }

  fn held(&self) -> usize {
    self.memory
  }
}

impl Drop for Deflater {
  fn drop(&mut self) {
    // SAFETY: the stream was initialized by `deflateInit2_` and is ended once, here.
    unsafe { (self.api.end)(&mut *self.stream) };
  }
}
