//! Caller memory crosses to the pool only as a copy made on the JS thread, or in place where JS
//! cannot free it.
//!
//! Why: a pool thread cannot keep a JS `ArrayBuffer`'s memory alive. A napi reference keeps the
//! object, not its memory: `ArrayBuffer.prototype.transfer()`, a `postMessage` or `structuredClone`
//! transfer list, or shrinking a resizable buffer frees or unmaps the memory under a reader while the
//! call is pending (each reproduced as a SIGSEGV on Node 20 and 24), and N-API has no way to pin it.
//! What JS cannot take away is a `SharedArrayBuffer` (it cannot be detached, and a growable one only
//! grows in place): views over one are read in place. Every other view of 1 MiB or more is copied
//! here, on the JS thread, a slice per wake-up between turns of the event loop: a detach or a
//! shrink between two slices is seen (the view is looked up again for each) and rejects the call
//! with `ERR_INVALID_STATE`, and after the last slice the call owns its bytes. The copy's memory
//! is allocated and its pages touched first by a helper thread of its own (`Stager`), so the JS
//! thread pays only the copy itself: faulting fresh pages in cost 4–8 times the copy on this VM
//! (64 MiB: 80 ms against 10–20 ms). Not by the pool: there the allocation would wait behind every
//! queued job, and the job again after the copy.
//!
//! The same way back: a result written into a caller's array (`into`) is computed into memory the
//! job owns and copied into the array on the JS thread, in slices, before the promise resolves.

use std::any::Any;
use std::mem::MaybeUninit;
use std::ptr;
use std::sync::{Arc, OnceLock};

use napi::sys;

use super::bridge;
use super::env::EnvState;
use super::error::{contain, ErrorKind, OffloopError, Result};
use super::inbox::Inbox;
use super::pool;
use super::warm;

/// Views at least this large are staged; smaller ones are copied at once, which costs less than
/// the trip to the pool and back (a few microseconds up to 0.1 ms).
pub const STAGE_MIN: usize = 1 << 20;

/// Bytes copied per wake-up of the JS thread: about 0.1 ms.
const SLICE: usize = 1 << 20;

/// What a staged view's bytes are copied into, owned by the job: made on the JS thread, allocated
/// on the pool, filled on the JS thread, read on the pool.
pub struct StagedCopy<T> {
  copy: OnceLock<Vec<T>>,
}

impl<T> StagedCopy<T> {
  pub(super) fn new() -> Arc<Self> {
    Arc::new(StagedCopy { copy: OnceLock::new() })
  }

  /// The copied elements; `None` only if the job ran before its staging ended (a bug).
  pub(super) fn get(&self) -> Option<&[T]> {
    self.copy.get().map(Vec::as_slice)
  }

  pub(super) fn into_vec(self) -> Option<Vec<T>> {
    self.copy.into_inner()
  }
}

/// How a view is found again, to read its current memory.
#[derive(Clone, Copy)]
pub(super) enum SourceKind {
  TypedArray,
  DataView,
  ArrayBuffer,
}

/// A caller's view or buffer, referenced for as long as it is staged or written back.
pub(super) struct JsMemory {
  reference: sys::napi_ref,
  kind: SourceKind,
  /// Its length in bytes when the call decoded it.
  byte_len: usize,
  /// The argument's name, for errors.
  name: String,
}

impl JsMemory {
  /// # Safety
  /// JS thread of `env`; `value` is live in the current scope and is of `kind`.
  pub(super) unsafe fn new(
    env: sys::napi_env,
    value: sys::napi_value,
    kind: SourceKind,
    byte_len: usize,
    name: &str,
  ) -> Self {
    let mut reference = ptr::null_mut();
    // SAFETY: per this function's contract. Deleted by `release` (or by N-API with the env).
    unsafe { sys::napi_create_reference(env, value, 1, &mut reference) };
    JsMemory {
      reference,
      kind,
      byte_len,
      name: name.to_owned(),
    }
  }

  /// The memory as it is now: its start, or an `ERR_INVALID_STATE` when it was detached
  /// (transferred) or shrunk below the length it had when the call began.
  ///
  /// # Safety
  /// JS thread of `env`. The pointer is valid until JS runs again.
  unsafe fn current(&self, env: sys::napi_env) -> Result<*mut u8> {
    let mut value = ptr::null_mut();
    let mut data: *mut std::ffi::c_void = ptr::null_mut();
    let mut len = 0usize;
    // SAFETY: per this function's contract; the reference is live until `release`.
    unsafe {
      sys::napi_get_reference_value(env, self.reference, &mut value);
      match self.kind {
        SourceKind::TypedArray => {
          // The element type was known when the call decoded the view, and a view keeps its type.
          (data, len, _) = super::args::typed_array_bytes(env, value).unwrap_or((ptr::null_mut(), 0, ptr::null_mut()));
        }
        SourceKind::DataView => {
          sys::napi_get_dataview_info(env, value, &mut len, &mut data, ptr::null_mut(), ptr::null_mut());
        }
        SourceKind::ArrayBuffer => {
          sys::napi_get_arraybuffer_info(env, value, &mut data, &mut len);
        }
      }
    }
    if self.byte_len > 0 && (data.is_null() || len < self.byte_len) {
      return Err(OffloopError::new(
        ErrorKind::TypeError,
        "ERR_INVALID_STATE",
        format!(
          "Invalid state: the memory of \"{}\" was detached (transferred) or shrunk while offloop \
           used it; do not transfer or resize it until the promise settles",
          self.name
        ),
      ));
    }
    Ok(data.cast())
  }

  /// # Safety
  /// JS thread of `env`, which is live.
  pub(super) unsafe fn value(&self, env: sys::napi_env) -> sys::napi_value {
    let mut value = ptr::null_mut();
    // SAFETY: per this function's contract.
    unsafe { sys::napi_get_reference_value(env, self.reference, &mut value) };
    value
  }

  /// # Safety
  /// JS thread of `env`, which is live.
  pub(super) unsafe fn release(self, env: sys::napi_env) {
    // SAFETY: per this function's contract; made in `new`, deleted once.
    unsafe { sys::napi_delete_reference(env, self.reference) };
  }
}

/// The pool-side half of a staged view: allocates the copy, then takes the bytes in.
pub(super) trait Sink: Send {
  /// On the pool: allocates the copy and touches its pages.
  fn allocate(&mut self);
  /// The copy's bytes, not yet initialised.
  fn bytes(&mut self) -> &mut [MaybeUninit<u8>];
  /// Every byte was written: the copy becomes the view's.
  fn fill(self: Box<Self>);
}

struct TypedSink<T> {
  target: Arc<StagedCopy<T>>,
  len: usize,
  copy: Vec<T>,
}

impl<T: Copy + Send + Sync + 'static> Sink for TypedSink<T> {
  fn allocate(&mut self) {
    self.copy = Vec::with_capacity(self.len);
    let bytes = self.bytes();
    prefer_huge_pages(bytes);
    // Touching one byte per page faults the pages in here, on the staging thread, rather than
    // during the copy on the JS thread (a block `warm` kept has them in already).
    for page in bytes.chunks_mut(4096) {
      page[0] = MaybeUninit::new(0);
    }
  }

  fn bytes(&mut self) -> &mut [MaybeUninit<u8>] {
    let spare = self.copy.spare_capacity_mut();
    let len = self.len * std::mem::size_of::<T>();
    // SAFETY: the spare capacity holds at least `self.len` elements (allocated with that
    // capacity); viewing uninitialised elements as uninitialised bytes is always valid.
    unsafe { std::slice::from_raw_parts_mut(spare.as_mut_ptr().cast::<MaybeUninit<u8>>(), len) }
  }

  fn fill(mut self: Box<Self>) {
    // SAFETY: `Staging` wrote all `len * size_of::<T>()` bytes, and `T` is a plain number type, any
    // bit pattern of which is a valid value.
    unsafe { self.copy.set_len(self.len) };
    let copy = std::mem::take(&mut self.copy);
    let _ = self.target.copy.set(copy);
  }
}

/// Asks Linux to back the copy with 2 MiB pages (transparent huge pages, which this kernel setting
/// `madvise` grants only where asked): a fresh block of a staged view is faulted in 4 KiB at a time
/// otherwise, 15,000 faults for a 63 MB NDJSON input (33-53 ms on this VM, against 6-12 ms in huge
/// pages), and the job waits for them (benchmark/NOTES.md). Only a hint: where the kernel
/// declines, the pages fault in as before.
fn prefer_huge_pages(bytes: &mut [MaybeUninit<u8>]) {
  #[cfg(target_os = "linux")]
  {
    const HUGE: usize = 2 << 20;
    let start = (bytes.as_ptr() as usize).next_multiple_of(HUGE);
    let end = (bytes.as_ptr() as usize + bytes.len()) & !(HUGE - 1);
    if end > start {
      // SAFETY: the range lies inside `bytes`, memory this sink owns; MADV_HUGEPAGE changes only
      // how the kernel backs the pages, never their contents.
      unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE) };
    }
  }
  #[cfg(not(target_os = "linux"))]
  let _ = bytes;
}

/// A view to copy before its job runs.
pub(super) struct StageSource {
  memory: JsMemory,
  sink: Box<dyn Sink>,
}

impl StageSource {
  /// # Safety
  /// JS thread of `env`; `value` is live in the current scope and is of `kind`, `len` elements of
  /// `T` long.
  pub(super) unsafe fn new<T: Copy + Send + Sync + 'static>(
    env: sys::napi_env,
    value: sys::napi_value,
    kind: SourceKind,
    len: usize,
    name: &str,
    target: Arc<StagedCopy<T>>,
  ) -> Self {
    StageSource {
      // SAFETY: per this function's contract.
      memory: unsafe { JsMemory::new(env, value, kind, len * std::mem::size_of::<T>(), name) },
      sink: Box::new(TypedSink {
        target,
        len,
        copy: Vec::new(),
      }),
    }
  }
}

/// Called once a staging ends: `Ok` when every byte was copied.
pub(crate) type Ready = Box<dyn FnOnce(sys::napi_env, Result<()>)>;

/// Copies `sources` and then calls `ready`; `wanted` is asked before every slice whether anyone
/// still waits (an aborted call stops its copy).
pub(super) fn stage(
  env: sys::napi_env,
  sources: Vec<StageSource>,
  wanted: Box<dyn Fn(sys::napi_env) -> bool>,
  ready: Ready,
) {
  let (memories, mut sinks): (Vec<JsMemory>, Vec<Box<dyn Sink>>) =
    sources.into_iter().map(|s| (s.memory, s.sink)).unzip();
  let staging = Staging {
    memories,
    wanted,
    ready,
  };
  let id = match bridge::hold(env, Box::new(staging)) {
    Ok(id) => id,
    Err(_) => return, // the environment is gone, and with it everyone who waited
  };
  let courier = match bridge::Courier::of(env) {
    Ok(courier) => courier,
    Err(error) => {
      if let Some(staging) = bridge::release::<Staging>(env, id) {
        staging.end(env, Err(error));
      }
      return;
    }
  };
  Stager::run(Box::new(move || {
    if courier.is_alive() {
      sinks.iter_mut().for_each(|sink| sink.allocate());
      courier.send(bridge::Task::new(move |env| copy_slices(env, id, sinks, 0, 0)));
    }
  }));
}

/// The helper thread that allocates staged copies and faults their pages in, for every
/// environment of the process, and frees the large block `warm` keeps once its second is up. It
/// runs at the pool's priority, and started on first use; where it cannot start (a thread limit),
/// the calling thread does the work (and no block is kept).
struct Stager {
  requests: Inbox<Box<dyn FnOnce() + Send>>,
  thread: std::thread::Thread,
}

impl Stager {
  fn run(request: Box<dyn FnOnce() + Send>) {
    static STAGER: OnceLock<Option<Stager>> = OnceLock::new();
    let stager = STAGER.get_or_init(|| {
      std::thread::Builder::new()
        .name("offloop-stage".into())
        .spawn(|| {
          pool::take_pool_priority();
          // The copies this thread allocates are the large blocks worth reusing; it frees the
          // one kept when its time is up (`warm`).
          warm::set_reaper(std::thread::current());
          loop {
            let stager = loop {
              match STAGER.get() {
                Some(Some(stager)) => break stager,
                _ => std::thread::park(),
              }
            };
            for request in stager.requests.take() {
              contain(request);
            }
            // `park` returns at once when a request came in (or a block was kept) after the take
            // and the reap: no wake-up is lost.
            match warm::reap(false) {
              Some(left) => std::thread::park_timeout(left),
              None => std::thread::park(),
            }
          }
        })
        .ok()
        .map(|handle| Stager {
          requests: Inbox::default(),
          thread: handle.thread().clone(),
        })
    });
    match stager {
      Some(stager) => {
        if stager.requests.put(request) {
          stager.thread.unpark();
        }
      }
      None => contain(request),
    }
  }
}

/// The JS-side half of a staging, held by the bridge between wake-ups.
struct Staging {
  memories: Vec<JsMemory>,
  wanted: Box<dyn Fn(sys::napi_env) -> bool>,
  ready: Ready,
}

impl Staging {
  fn end(self, env: sys::napi_env, result: Result<()>) {
    for memory in self.memories {
      // SAFETY: JS thread of `env` (stagings run there).
      unsafe { memory.release(env) };
    }
    (self.ready)(env, result);
  }
}

/// One slice of a staging, on the JS thread; the next one is queued for the next wake-up.
fn copy_slices(env: sys::napi_env, id: u64, mut sinks: Vec<Box<dyn Sink>>, mut index: usize, mut offset: usize) {
  let Some(staging) = bridge::release::<Staging>(env, id) else {
    pool::drop_later(sinks);
    return;
  };
  if !(staging.wanted)(env) {
    pool::drop_later(sinks);
    staging.end(env, Err(OffloopError::aborted()));
    return;
  }
  let mut budget = SLICE;
  while index < sinks.len() && budget > 0 {
    let memory = &staging.memories[index];
    // SAFETY: JS thread; the pointer is used before JS runs again.
    let start = match unsafe { memory.current(env) } {
      Ok(start) => start,
      Err(error) => {
        pool::drop_later(sinks);
        staging.end(env, Err(error));
        return;
      }
    };
    let bytes = sinks[index].bytes();
    let n = budget.min(bytes.len() - offset);
    // SAFETY: `current` checked that the memory still holds `byte_len` bytes (= `bytes.len()`),
    // and nothing else runs on this thread meanwhile. Source and copy are distinct allocations.
    unsafe { ptr::copy_nonoverlapping(start.add(offset), bytes[offset..].as_mut_ptr().cast::<u8>(), n) };
    offset += n;
    budget -= n;
    if offset == bytes.len() {
      index += 1;
      offset = 0;
    }
  }
  if index < sinks.len() {
    if let Ok(id) = bridge::hold(env, Box::new(staging)) {
      bridge::later(env, move |env| copy_slices(env, id, sinks, index, offset));
    }
    return;
  }
  sinks.into_iter().for_each(|sink| sink.fill());
  staging.end(env, Ok(()));
}

/// A caller's array that a job's result is copied into (`into`), on the JS thread.
pub(crate) struct OutputTarget {
  memory: JsMemory,
}

impl OutputTarget {
  /// # Safety
  /// JS thread of `env`; `value` is a live typed array of `byte_len` bytes.
  pub(super) unsafe fn new(env: sys::napi_env, value: sys::napi_value, byte_len: usize, name: &str) -> Self {
    OutputTarget {
      // SAFETY: per this function's contract.
      memory: unsafe { JsMemory::new(env, value, SourceKind::TypedArray, byte_len, name) },
    }
  }

  /// # Safety
  /// JS thread of `env`, which is live.
  pub(super) unsafe fn release(self, env: sys::napi_env) {
    // SAFETY: forwarded.
    unsafe { self.memory.release(env) }
  }
}

/// A job's result on its way into the caller's array: plain bytes the job owns.
pub struct WriteBack {
  bytes: Box<dyn AsBytes>,
}

impl WriteBack {
  pub(crate) fn new<T: bytemuck::Pod + Send>(result: Vec<T>) -> Self {
    WriteBack {
      bytes: Box::new(result),
    }
  }
}

trait AsBytes: Send + Any {
  fn as_bytes(&self) -> &[u8];
}

impl<T: bytemuck::Pod + Send> AsBytes for Vec<T> {
  fn as_bytes(&self) -> &[u8] {
    bytemuck::cast_slice(self)
  }
}

/// Copies `result` into `target` a slice per wake-up, then `done` gets the array (or the error
/// of a target detached or shrunk meanwhile).
pub(super) fn write_back(
  env: sys::napi_env,
  target: OutputTarget,
  result: WriteBack,
  done: Box<dyn FnOnce(sys::napi_env, Result<sys::napi_value>)>,
) {
  write_slices(env, target, result, 0, done)
}

fn write_slices(
  env: sys::napi_env,
  target: OutputTarget,
  result: WriteBack,
  offset: usize,
  done: Box<dyn FnOnce(sys::napi_env, Result<sys::napi_value>)>,
) {
  let bytes = result.bytes.as_bytes();
  // SAFETY: JS thread; the pointer is used before JS runs again.
  let start = match unsafe { target.memory.current(env) } {
    Ok(start) => start,
    Err(error) => {
      pool::drop_later(result);
      // SAFETY: JS thread.
      unsafe { target.release(env) };
      return done(env, Err(error));
    }
  };
  let n = SLICE.min(bytes.len() - offset);
  // SAFETY: `current` checked the array still holds `byte_len` bytes, which is `bytes.len()` (the
  // job's result has the array's length); distinct allocations.
  unsafe { ptr::copy_nonoverlapping(bytes[offset..].as_ptr(), start.add(offset), n) };
  let offset = offset + n;
  if offset < bytes.len() {
    return bridge::later(env, move |env| write_slices(env, target, result, offset, done));
  }
  pool::drop_later(result);
  // SAFETY: JS thread; the reference is live until released just after.
  let value = unsafe { target.memory.value(env) };
  // SAFETY: JS thread.
  unsafe { target.release(env) };
  done(env, Ok(value))
}

/// What a call decoded besides its plain values, collected while its arguments are decoded (see
/// `EnvState::decoding`) and handed to its job.
#[derive(Default)]
pub(crate) struct Decoded {
  /// Views to copy before the job runs.
  pub(super) stages: Vec<StageSource>,
  /// References that keep memory read in place alive: views over a SharedArrayBuffer.
  pub(super) holders: Vec<sys::napi_ref>,
  /// The array the job's result is written into.
  pub(super) output: Option<OutputTarget>,
}

impl Decoded {
  /// Nothing to copy, hold or write back: the views decoded are plain copies.
  pub(crate) fn is_empty(&self) -> bool {
    self.stages.is_empty() && self.holders.is_empty() && self.output.is_none()
  }

  /// Copies the views to stage, then calls `ready` on the JS thread: for values decoded outside a
  /// job (a stream's chunk), whose next value must wait for the copy. Copies only (see
  /// `JsArg::byte_view`): nothing read in place, no output array.
  pub(crate) fn stage(self, env: sys::napi_env, ready: Ready) {
    debug_assert!(self.holders.is_empty() && self.output.is_none());
    stage(env, self.stages, Box::new(|_| true), ready);
  }

  /// Releases everything, for a call that will not run.
  ///
  /// # Safety
  /// JS thread of `env`, which is live.
  pub(crate) unsafe fn discard(self, env: sys::napi_env) {
    // SAFETY: per this function's contract.
    unsafe {
      for source in self.stages {
        source.memory.release(env);
      }
      release_holders(env, self.holders);
      if let Some(output) = self.output {
        output.release(env);
      }
    }
  }
}

/// # Safety
/// JS thread of `env`, which is live; each reference is live and deleted once, here.
pub(super) unsafe fn release_holders(env: sys::napi_env, holders: Vec<sys::napi_ref>) {
  for holder in holders {
    // SAFETY: per this function's contract.
    unsafe { sys::napi_delete_reference(env, holder) };
  }
}

/// The decoding record of `env`: what the arguments decoded so far need besides their values.
///
/// # Safety
/// JS thread of `env`.
pub(crate) unsafe fn record<R>(env: sys::napi_env, f: impl FnOnce(&mut Decoded) -> R) -> Result<R> {
  // SAFETY: per this function's contract.
  let state = unsafe { EnvState::of(env)? };
  Ok(f(&mut state.decoding.borrow_mut()))
}

/// Takes what the arguments decoded since the last take recorded.
///
/// # Safety
/// JS thread of `env`.
unsafe fn take_decoded(env: sys::napi_env) -> Result<Decoded> {
  // SAFETY: per this function's contract.
  unsafe { record(env, std::mem::take) }
}

/// Runs `decode`, which decodes one call's arguments, and returns its value with what it recorded.
///
/// Decoding runs the caller's getters and traps, and they may call offloop: that call decodes in
/// turn and must neither take nor release what the call whose getter it is recorded so far (it
/// did: the outer call's views went unstaged, and the reference keeping its SharedArrayBuffer
/// alive was deleted, so a collected buffer was read freed). So the enclosing call's record is set
/// aside while `decode` runs and put back after. What `decode` recorded before a panic is
/// released.
///
/// # Safety
/// JS thread of `env`, which is live.
pub(crate) unsafe fn decoding<R>(env: sys::napi_env, decode: impl FnOnce() -> R) -> Result<(R, Decoded)> {
  /// Puts the enclosing call's record back, also when `decode` panics.
  struct Enclosing {
    env: sys::napi_env,
    record: Option<Decoded>,
  }
  impl Drop for Enclosing {
    fn drop(&mut self) {
      // SAFETY: JS thread of a live `env` (the contract of `decoding`, whose frame this is).
      unsafe {
        if let Ok(left) = take_decoded(self.env) {
          left.discard(self.env);
        }
        if let Some(enclosing) = self.record.take() {
          let _ = record(self.env, |decoded| *decoded = enclosing);
        }
      }
    }
  }
  // SAFETY: per this function's contract.
  let enclosing = Enclosing {
    env,
    record: Some(unsafe { take_decoded(env)? }),
  };
  let value = decode();
  // SAFETY: as above.
  let decoded = unsafe { take_decoded(env)? };
  drop(enclosing);
  Ok((value, decoded))
}
