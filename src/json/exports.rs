//! The `#[napi]` layer of JSON transformation: decode arguments, hand the work to the pool, and
//! turn results into JS strings (or values, through `JSON.parse`).

use std::path::PathBuf;
use std::ptr;
use std::sync::Arc;

use bytes::Bytes;
use napi::bindgen_prelude::{ObjectFinalize, PromiseRaw, ToNapiValue};
use napi::{sys, Env};
use napi_derive::napi;

use super::canonical;
use super::program::{self, Program};
use super::read::MAX_DEPTH;
use super::run::{self, FileOutput, Format, Globals, Output, RunOptions, Text};
use crate::runtime::abort::Signal;
use crate::runtime::args::{Kind, Options};
use crate::runtime::bytes::ByteView;
use crate::runtime::external::ExternalMemory;
use crate::runtime::memory::{self, Budget};
use crate::runtime::text::JsText;
use crate::runtime::{spawn, sync, Cancel, Job, JsArg, OffloopError, Result};

/// Default `maxOutputBytes`: 256 MiB, half of the longest string V8 can make.
const DEFAULT_MAX_OUTPUT: usize = 256 << 20;

/// Default `maxMemoryBytes`: 1 GiB, enough for the benchmark's large calls with room to spare,
/// while one hostile call cannot take a server with a few GB down. Measured (the smallest budget
/// each call passes with, benchmark/jq-memory.mjs): a 45 MB document through a filter 270 MiB, whole
/// through `.` 330 MiB, `group_by` 393 MiB, `canonicalizeJson` 352 MiB (6–9 times the document);
/// 63 MB of NDJSON through a filter 14 MiB, through `.` 179 MiB.
const DEFAULT_MAX_MEMORY: usize = 1 << 30;

/// `Number.MAX_SAFE_INTEGER`: the largest byte count options take.
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Options of `jq()`, `jqValues()` and `JqProgram.run()`/`runValues()`.
#[napi(object, object_to_js = false, object_from_js = false)]
pub struct JqOptions<'env> {
  /// The input is newline-delimited JSON: each non-blank line runs through the program on its
  /// own, lines are spread over the pool, and outputs keep input order. Default `false`: the input
  /// is a sequence of JSON values separated by whitespace (usually one document).
  pub ndjson: Option<bool>,
  /// Write string outputs as their raw text (`jq -r`). Default `false`. Ignored by `jqValues()`.
  pub raw: Option<bool>,
  /// Values of the program's `$variables`, e.g. `{ min: 3 }` for `$min` (like `jq --argjson`).
  /// Must be a plain object that `JSON.stringify` accepts.
  #[napi(ts_type = "Record<string, unknown>")]
  pub vars: Option<String>,
  /// Reject with `ERR_JQ_OUTPUT_LIMIT` when the output text would exceed this many bytes.
  /// Default 268435456 (256 MiB).
  pub max_output_bytes: Option<f64>,
  /// Reject input nested deeper than this, 1–254. Default 254 (the parser's own limit).
  pub max_depth: Option<u32>,
  /// Reject with `ERR_JQ_MEMORY_LIMIT` when the call's work holds more than this many bytes of
  /// memory at once (input copies, parsed values, values the program builds, the output), and
  /// free it all. Default 1073741824 (1 GiB). See README › Guarantees for what is counted.
  pub max_memory_bytes: Option<f64>,
  /// Aborts the call, also while the program runs; rejects with an `AbortError`.
  #[napi(ts_type = "AbortSignal")]
  pub signal: Option<Signal<'env>>,
}

/// Options of `jqFile()`: those of `jq()` plus `outputPath`.
#[napi(object, object_to_js = false, object_from_js = false)]
pub struct JqFileOptions<'env> {
  /// See `JqOptions.ndjson`. NDJSON files are read in 32 MiB blocks, so their size is not
  /// limited by memory when `outputPath` is set.
  pub ndjson: Option<bool>,
  /// See `JqOptions.raw`.
  pub raw: Option<bool>,
  /// See `JqOptions.vars`.
  #[napi(ts_type = "Record<string, unknown>")]
  pub vars: Option<String>,
  /// Write the outputs (one per line, as `jq()` returns them) to this file instead of returning
  /// them, and resolve with their number. Written to a temporary file in the same directory and
  /// renamed over `outputPath` at the end: the file never exists half written, and on an error no
  /// file is left behind (after an abort, which settles at once, the temporary file goes when the
  /// work stops, milliseconds later). A new file gets the mode `fs.writeFile` would give it (0o666
  /// less the umask); a file it replaces keeps its mode. As with `fs.writeFile`, a symlink is
  /// followed, and a FIFO or device is written to in place (a FIFO with no reader: `ENXIO`).
  pub output_path: Option<String>,
  /// See `JqOptions.maxOutputBytes` (it applies to the file too).
  pub max_output_bytes: Option<f64>,
  /// See `JqOptions.maxDepth`.
  pub max_depth: Option<u32>,
  /// See `JqOptions.maxMemoryBytes`. An NDJSON file written to `outputPath` is read in blocks, so
  /// only one block's work (32 MiB of input) counts at a time.
  pub max_memory_bytes: Option<f64>,
  /// Aborts the call; rejects with an `AbortError`.
  #[napi(ts_type = "AbortSignal")]
  pub signal: Option<Signal<'env>>,
}

/// Options of `canonicalizeJson()` and `canonicalizeJsonSync()`.
#[napi(object, object_to_js = false, object_from_js = false)]
pub struct CanonicalizeOptions<'env> {
  /// Reject input nested deeper than this, 1–254. Default 254 (the parser's own limit).
  pub max_depth: Option<u32>,
  /// Reject with `ERR_JQ_MEMORY_LIMIT` when the call's work holds more than this many bytes of
  /// memory at once (the input's copy, its parsed values, the output). Default 1073741824 (1 GiB).
  pub max_memory_bytes: Option<f64>,
  /// Aborts the call, also while it reads the input; rejects with an `AbortError`.
  #[napi(ts_type = "AbortSignal")]
  pub signal: Option<Signal<'env>>,
}

/// Decoded run options, owned, for the pool thread.
struct Settings {
  run: RunOptions,
  vars: Option<String>,
  output_path: Option<PathBuf>,
  max_memory: usize,
}

fn max_depth(options: &Options) -> Result<Option<u32>> {
  Ok(options.integer("maxDepth", 1, MAX_DEPTH as u64)?.map(|n| n as u32))
}

fn max_memory_bytes(options: &Options) -> Result<Option<f64>> {
  Ok(
    options
      .integer("maxMemoryBytes", 0, MAX_SAFE_INTEGER)?
      .map(|n| n as f64),
  )
}

/// Runs a call's work under a memory budget of `max_memory` bytes: everything it allocates on the
/// threads that work for it is counted (`runtime::memory`), and past the limit it stops at its
/// next check point with `ERR_JQ_MEMORY_LIMIT`, dropping what it built. `held`: bytes the call
/// owns already, its input's copy (`input_held`).
fn budgeted<T>(max_memory: usize, held: usize, work: impl FnOnce() -> Result<T>) -> Result<T> {
  let budget = Budget::holding(max_memory, held);
  let done = {
    let _scope = budget.enter();
    work()
  };
  // Work that passed the limit fails even where no check point noticed before it finished: the
  // limit holds for every call, not only for those that happen to be polled at the right time.
  if budget.is_exceeded() {
    memory::release_free_memory();
  }
  match done {
    Ok(_) if budget.is_exceeded() => Err(run::memory_limit(max_memory)),
    done => done,
  }
}

impl<'env> JqOptions<'env> {
  fn decode(options: &Options) -> Result<Self> {
    let vars = match options.get("vars")? {
      Some((value, path)) => {
        if value.kind() != Kind::Object || value.is_array() {
          return Err(OffloopError::invalid_type(&path, "a plain object", &value.received()));
        }
        Some(value.json(&path)?)
      }
      None => None,
    };
    Ok(JqOptions {
      ndjson: options.boolean("ndjson")?,
      raw: options.boolean("raw")?,
      vars,
      max_output_bytes: options
        .integer("maxOutputBytes", 0, MAX_SAFE_INTEGER)?
        .map(|n| n as f64),
      max_depth: max_depth(options)?,
      max_memory_bytes: max_memory_bytes(options)?,
      signal: options.signal()?,
    })
  }

  fn settings(self, format: FormatKind, output_path: Option<String>) -> (Settings, Option<Signal<'env>>) {
    let raw = self.raw.unwrap_or(false);
    let settings = Settings {
      run: RunOptions {
        ndjson: self.ndjson.unwrap_or(false),
        format: match format {
          FormatKind::Lines => Format::Lines { raw },
          FormatKind::Array => Format::Array,
        },
        max_output: self.max_output_bytes.map_or(DEFAULT_MAX_OUTPUT, |n| n as usize),
        max_depth: self.max_depth.map_or(MAX_DEPTH, |n| n as usize),
      },
      vars: self.vars,
      output_path: output_path.map(PathBuf::from),
      max_memory: self.max_memory_bytes.map_or(DEFAULT_MAX_MEMORY, |n| n as usize),
    };
    (settings, self.signal)
  }
}

impl<'env> JqFileOptions<'env> {
  fn decode(options: &Options) -> Result<Self> {
    let JqOptions {
      ndjson,
      raw,
      vars,
      max_output_bytes,
      max_depth,
      max_memory_bytes,
      signal,
    } = JqOptions::decode(options)?;
    Ok(JqFileOptions {
      ndjson,
      raw,
      vars,
      output_path: options.string("outputPath")?,
      max_output_bytes,
      max_depth,
      max_memory_bytes,
      signal,
    })
  }

  fn settings(self) -> (Settings, Option<Signal<'env>>) {
    let JqFileOptions {
      ndjson,
      raw,
      vars,
      output_path,
      max_output_bytes,
      max_depth,
      max_memory_bytes,
      signal,
    } = self;
    let options = JqOptions {
      ndjson,
      raw,
      vars,
      max_output_bytes,
      max_depth,
      max_memory_bytes,
      signal,
    };
    options.settings(FormatKind::Lines, output_path)
  }
}

/// Decodes the options of a `jq()`-like call.
fn settings<'env>(options: JsArg, format: FormatKind) -> Result<(Settings, Option<Signal<'env>>)> {
  Ok(JqOptions::decode(&options.options("options")?)?.settings(format, None))
}

#[derive(Clone, Copy)]
enum FormatKind {
  Lines,
  Array,
}

/// An input for the pool: small ones copied at once, large ones between turns of the loop
/// (`ByteView`).
fn input(value: JsArg) -> Result<ByteView> {
  value.byte_view("input")
}

/// The bytes of the input's copy, which count against the call's budget like the values parsed
/// from it. An input larger than the whole budget is refused here, on the JS thread, before a
/// large view is copied (a string is copied already, and that copy is freed at once).
fn input_held(input: &ByteView, max_memory: usize) -> Result<usize> {
  input_fits(input.len(), max_memory).map(|()| input.copied_bytes())
}

/// `ERR_JQ_MEMORY_LIMIT` for an input of `len` bytes that alone is larger than the budget.
fn input_fits(len: usize, max_memory: usize) -> Result<()> {
  match len > max_memory {
    true => Err(run::memory_limit(max_memory)),
    false => Ok(()),
  }
}

/// The input as `Bytes`, on the pool thread, for jaq, whose strings are slices of these bytes: the
/// view's own copy, taken over without copying it again.
fn input_bytes(input: ByteView) -> Result<Bytes> {
  input.into_vec().map(Bytes::from)
}

fn filter(value: JsArg) -> Result<String> {
  value.string("filter")
}

fn run_program(program: &Program, input: ByteView, settings: &Settings, cancel: &Cancel) -> Result<Output> {
  let globals = Globals::new(program, settings.vars.as_deref())?;
  let run = |text: Text| run::run(program, &globals, text, &settings.run, cancel);
  match input {
    // The fast evaluator reads a shared view in place (its values borrow, jaq's fallbacks copy
    // their strings); for jaq, one copy up front lets its strings slice it.
    shared @ ByteView::Shared { .. } if program.fast.is_some() => shared.read(|bytes| run(Text::borrowed(bytes)))?,
    input => run(Text::shared(&input_bytes(input)?)),
  }
}

/// The output text for JavaScript (see `runtime::text` for how it crosses without a stall).
fn output_text(output: Output) -> Result<JsText> {
  String::from_utf8(output.text)
    .map_err(|_| OffloopError::error("ERR_OFFLOOP_INTERNAL", "jq output is not UTF-8"))
    .and_then(JsText::new)
}

/// A JSON text that becomes a JS value through `JSON.parse` on the JS thread: far faster than
/// building objects through N-API, but still JS-thread work, so only for small outputs.
pub struct ParsedJson(JsText);

impl ToNapiValue for ParsedJson {
  unsafe fn to_napi_value(env: sys::napi_env, value: Self) -> napi::Result<sys::napi_value> {
    // SAFETY: JS thread of `env`, per the caller's contract.
    unsafe {
      let text = JsText::to_napi_value(env, value.0)?;
      let mut global = ptr::null_mut();
      let mut json = ptr::null_mut();
      let mut parse = ptr::null_mut();
      let mut result = ptr::null_mut();
      let ok = sys::napi_get_global(env, &mut global) == sys::Status::napi_ok
        && sys::napi_get_named_property(env, global, c"JSON".as_ptr(), &mut json) == sys::Status::napi_ok
        && sys::napi_get_named_property(env, json, c"parse".as_ptr(), &mut parse) == sys::Status::napi_ok
        && sys::napi_call_function(env, json, parse, 1, &text, &mut result) == sys::Status::napi_ok;
      if !ok {
        crate::runtime::abort::clear_exception(env);
        return Err(napi::Error::new(
          napi::Status::GenericFailure,
          "offloop: JSON.parse failed",
        ));
      }
      Ok(result)
    }
  }
}

/// What `jqFile()` resolves with: the output text, or the number of outputs written.
pub enum FileResult {
  Text(JsText),
  Count(f64),
}

impl ToNapiValue for FileResult {
  unsafe fn to_napi_value(env: sys::napi_env, value: Self) -> napi::Result<sys::napi_value> {
    // SAFETY: forwarded; same contract.
    unsafe {
      match value {
        FileResult::Text(text) => JsText::to_napi_value(env, text),
        FileResult::Count(count) => f64::to_napi_value(env, count),
      }
    }
  }
}

/// Runs a jq program over JSON on offloop's pool and resolves with every output as compact JSON
/// followed by a newline (like `jq -c`; an empty string when there are none).
///
/// `input` is a string or a `Buffer`/`Uint8Array` of UTF-8 JSON. Strings are copied (UTF-8
/// encoded) on the calling thread in one go; a `Buffer` of 1 MiB or more is copied in slices
/// between turns of the event loop, so pass large inputs as a `Buffer` (e.g. from `fs.readFile`)
/// and do not modify it until the promise settles. The program is compiled on the pool too; the last 32 programs stay compiled,
/// so calling `jq()` again with the same filter skips that.
///
/// Rejects with `ERR_JSON_PARSE` (with `line` and `column`; for NDJSON the line of the bad
/// record) for malformed input, `ERR_JQ_COMPILE` (with `line` and `column`) for a program that
/// does not compile or uses a `$variable` missing from `vars`, `ERR_JQ_RUNTIME` with jq's message
/// for a runtime error (`error("x")`, indexing a number...), `ERR_JQ_OUTPUT_LIMIT` past
/// `maxOutputBytes`, `ERR_JQ_MEMORY_LIMIT` past `maxMemoryBytes`, an `AbortError` when `signal`
/// aborts (also mid-program), and TypeErrors for bad arguments. Nothing partial is ever returned.
#[napi(
  ts_args_type = "filter: string, input: string | Uint8Array, options?: JqOptions",
  ts_return_type = "Promise<string>"
)]
pub fn jq<'env>(env: &'env Env, filter: JsArg, input: JsArg, options: JsArg) -> napi::Result<PromiseRaw<'env, JsText>> {
  spawn(env, || {
    let code = self::filter(filter)?;
    let input = self::input(input)?;
    let (settings, signal) = settings(options, FormatKind::Lines)?;
    let held = input_held(&input, settings.max_memory)?;
    Ok(
      Job::new(move |cancel| {
        budgeted(settings.max_memory, held, || {
          let program = program::compile_cached(&code)?;
          output_text(run_program(&program, input, &settings, cancel)?)
        })
      })
      .abortable(signal),
    )
  })
}

/// `jq()`, resolving with the outputs as an array of JS values. The outputs are parsed with
/// `JSON.parse` on the JS thread, which blocks the event loop for about as long as `JSON.parse`
/// takes on the output text: for small outputs. Large ones are cheaper as text from `jq()`.
#[napi(
  ts_args_type = "filter: string, input: string | Uint8Array, options?: JqOptions",
  ts_return_type = "Promise<unknown[]>"
)]
pub fn jq_values<'env>(
  env: &'env Env,
  filter: JsArg,
  input: JsArg,
  options: JsArg,
) -> napi::Result<PromiseRaw<'env, ParsedJson>> {
  spawn(env, || {
    let code = self::filter(filter)?;
    let input = self::input(input)?;
    let (settings, signal) = settings(options, FormatKind::Array)?;
    let held = input_held(&input, settings.max_memory)?;
    Ok(
      Job::new(move |cancel| {
        budgeted(settings.max_memory, held, || {
          let program = program::compile_cached(&code)?;
          Ok(ParsedJson(output_text(run_program(
            &program, input, &settings, cancel,
          )?)?))
        })
      })
      .abortable(signal),
    )
  })
}

/// A compiled jq program (from `compileJq()`), reusable for any number of runs, concurrently.
#[napi(custom_finalize)]
pub struct JqProgram {
  program: Arc<Program>,
  /// What compiling it held (nothing when it came from the cache), as V8 was told.
  external: ExternalMemory,
}

impl ObjectFinalize for JqProgram {
  fn finalize(self, env: Env) -> napi::Result<()> {
    // SAFETY: finalizers run on the object's JS thread.
    unsafe { self.external.finalize(env.raw()) };
    Ok(())
  }
}

#[napi]
impl JqProgram {
  /// `new JqProgram(filter)` is `compileJq(filter)`.
  ///
  /// @throws {Error} `ERR_JQ_COMPILE` (with `line` and `column`) when the program does not compile.
  /// @throws {TypeError} `ERR_INVALID_ARG_TYPE` when `filter` is not a string.
  #[napi(constructor, catch_unwind, ts_args_type = "filter: string")]
  pub fn new(env: Env, filter: JsArg) -> napi::Result<Self> {
    sync(&env, || JqProgram::compile(&env, filter))
  }

  /// V8 sees a small object, while a compiled program holds about 170 KB (`.a`, with the standard
  /// library it was compiled with): that is told to V8 as external memory, so that programs no
  /// longer referenced are collected before thousands of them pile up (3.5 GB for 20,000).
  fn compile(env: &Env, filter: JsArg) -> Result<Self> {
    let filter = self::filter(filter)?;
    let counted = Budget::new(usize::MAX);
    let program = {
      let _charged = counted.enter();
      program::compile_cached(&filter)?
    };
    let external = ExternalMemory::default();
    // SAFETY: a constructor's JS thread.
    unsafe { external.set(env.raw(), counted.used().max(0) as usize) };
    Ok(JqProgram { program, external })
  }

  /// `jq()` with this program: resolves with the outputs as compact JSON lines.
  #[napi(
    ts_args_type = "input: string | Uint8Array, options?: JqOptions",
    ts_return_type = "Promise<string>"
  )]
  pub fn run<'env>(&self, env: &'env Env, input: JsArg, options: JsArg) -> napi::Result<PromiseRaw<'env, JsText>> {
    let program = self.program.clone();
    spawn(env, || {
      let input = self::input(input)?;
      let (settings, signal) = settings(options, FormatKind::Lines)?;
      let held = input_held(&input, settings.max_memory)?;
      Ok(
        Job::new(move |cancel| {
          budgeted(settings.max_memory, held, || {
            output_text(run_program(&program, input, &settings, cancel)?)
          })
        })
        .abortable(signal),
      )
    })
  }

  /// `jqValues()` with this program: resolves with the outputs parsed into JS values (on the JS
  /// thread: for small outputs).
  #[napi(
    ts_args_type = "input: string | Uint8Array, options?: JqOptions",
    ts_return_type = "Promise<unknown[]>"
  )]
  pub fn run_values<'env>(
    &self,
    env: &'env Env,
    input: JsArg,
    options: JsArg,
  ) -> napi::Result<PromiseRaw<'env, ParsedJson>> {
    let program = self.program.clone();
    spawn(env, || {
      let input = self::input(input)?;
      let (settings, signal) = settings(options, FormatKind::Array)?;
      let held = input_held(&input, settings.max_memory)?;
      Ok(
        Job::new(move |cancel| {
          budgeted(settings.max_memory, held, || {
            Ok(ParsedJson(output_text(run_program(
              &program, input, &settings, cancel,
            )?)?))
          })
        })
        .abortable(signal),
      )
    })
  }
}

/// Compiles a jq program once for many runs. Synchronous (about 0.3 ms for usual programs; the
/// last 32 programs compiled are kept, and compiling one of them again is free).
///
/// @throws {Error} `ERR_JQ_COMPILE` (with `line` and `column`) when the program does not compile.
/// @throws {TypeError} `ERR_INVALID_ARG_TYPE` when `filter` is not a string.
#[napi(catch_unwind, ts_args_type = "filter: string")]
pub fn compile_jq(env: Env, filter: JsArg) -> napi::Result<JqProgram> {
  sync(&env, || JqProgram::compile(&env, filter))
}

/// Runs a jq program over a file, reading it in Rust so its contents never cross into
/// JavaScript. Resolves with the output text as `jq()` does, or, with `outputPath`, writes the
/// outputs to that file (atomically, see `JqFileOptions.outputPath`) and resolves with their
/// number.
///
/// Rejects as `jq()` does, and with Node-style file errors (`ENOENT`, `EACCES`, ... with `path`
/// and `syscall`).
#[napi(
  ts_args_type = "filter: string, path: string, options?: JqFileOptions",
  ts_return_type = "Promise<string | number>"
)]
pub fn jq_file<'env>(
  env: &'env Env,
  filter: JsArg,
  path: JsArg,
  options: JsArg,
) -> napi::Result<PromiseRaw<'env, FileResult>> {
  spawn(env, || {
    let code = self::filter(filter)?;
    let path = PathBuf::from(path.string("path")?);
    let (settings, signal) = JqFileOptions::decode(&options.options("options")?)?.settings();
    Ok(
      Job::new(move |cancel| {
        budgeted(settings.max_memory, 0, || {
          let program = program::compile_cached(&code)?;
          let globals = Globals::new(&program, settings.vars.as_deref())?;
          let output = settings.output_path.as_deref();
          match run::run_file(&program, &globals, &path, output, &settings.run, cancel)? {
            FileOutput::Text(output) => Ok(FileResult::Text(output_text(output)?)),
            FileOutput::Written(count) => Ok(FileResult::Count(count as f64)),
          }
        })
      })
      .abortable(signal),
    )
  })
}

impl<'env> CanonicalizeOptions<'env> {
  fn decode(options: JsArg) -> Result<Self> {
    let options = options.options("options")?;
    Ok(CanonicalizeOptions {
      max_depth: max_depth(&options)?,
      max_memory_bytes: max_memory_bytes(&options)?,
      signal: options.signal()?,
    })
  }

  fn depth(&self) -> usize {
    self.max_depth.map_or(MAX_DEPTH, |n| n as usize)
  }

  fn max_memory(&self) -> usize {
    self.max_memory_bytes.map_or(DEFAULT_MAX_MEMORY, |n| n as usize)
  }
}

/// Canonicalizes where the reader's polls (every 64 KiB read) and the writer's checks of long
/// strings can stop it for an abort or the memory budget.
fn canonicalize(input: &Bytes, max_depth: usize, cancel: &Cancel) -> Result<String> {
  run::interruptible(cancel, || {
    canonical::canonicalize(input, max_depth).map_err(|e| run::parse_error(input, &e, None))
  })
}

/// The RFC 8785 (JCS) canonical form of a JSON text, for signing, hashing and ETags: numbers as
/// ECMAScript prints them, object keys sorted by UTF-16 code units, no whitespace.
///
/// Rejects with `ERR_JSON_PARSE` (with `line` and `column`) for malformed JSON, a repeated object
/// key (RFC 8785 requires I-JSON) or numbers beyond the double range; `ERR_JQ_MEMORY_LIMIT` past
/// `maxMemoryBytes`; TypeErrors for bad arguments.
#[napi(
  ts_args_type = "input: string | Uint8Array, options?: CanonicalizeOptions",
  ts_return_type = "Promise<string>"
)]
pub fn canonicalize_json<'env>(env: &'env Env, input: JsArg, options: JsArg) -> napi::Result<PromiseRaw<'env, JsText>> {
  spawn(env, || {
    let input = self::input(input)?;
    let options = CanonicalizeOptions::decode(options)?;
    let (depth, max_memory) = (options.depth(), options.max_memory());
    let held = input_held(&input, max_memory)?;
    Ok(
      Job::new(move |cancel| {
        budgeted(max_memory, held, || {
          canonicalize(&input_bytes(input)?, depth, cancel).and_then(JsText::new)
        })
      })
      .abortable(options.signal),
    )
  })
}

/// `canonicalizeJson()` on the calling thread, for small documents (it blocks the event loop).
/// `options.signal` is ignored; `options.maxMemoryBytes` applies.
///
/// @throws {Error} `ERR_JSON_PARSE` as `canonicalizeJson()` rejects.
#[napi(
  catch_unwind,
  ts_args_type = "input: string | Uint8Array, options?: CanonicalizeOptions",
  ts_return_type = "string"
)]
pub fn canonicalize_json_sync(env: Env, input: JsArg, options: JsArg) -> napi::Result<JsText> {
  sync(&env, || {
    let options = CanonicalizeOptions::decode(options)?;
    let max_memory = options.max_memory();
    budgeted(max_memory, 0, || {
      // Refused before the copy when the input alone is larger than the budget, as for the async
      // calls.
      let input = input.with_bytes("input", |bytes| {
        input_fits(bytes.len(), max_memory).map(|()| Bytes::copy_from_slice(bytes))
      })??;
      // As the async form: an output longer than a JS string fails with ERR_STRING_TOO_LONG here,
      // not in napi-rs's conversion after the body (its GenericFailure has no Node-style code).
      canonicalize(&input, options.depth(), &Cancel::default()).and_then(JsText::new)
    })
  })
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::runtime::memory::{self, FLUSH};

  /// `budgeted` around a jq run, as the jobs call it, returning the budget's final count too.
  fn run_within(max_memory: usize, code: &str, input: &'static [u8], ndjson: bool) -> (Result<Output>, isize) {
    let budget_seen = std::cell::Cell::new(None);
    let result = budgeted(max_memory, 0, || {
      budget_seen.set(memory::current_budget());
      let program = program::compile(code)?;
      let globals = Globals::new(&program, None)?;
      let options = RunOptions {
        ndjson,
        format: Format::Lines { raw: false },
        max_output: DEFAULT_MAX_OUTPUT,
        max_depth: MAX_DEPTH,
      };
      run::run(
        &program,
        &globals,
        Text::shared(&Bytes::from_static(input)),
        &options,
        &Cancel::default(),
      )
    });
    (result, budget_seen.take().expect("the work ran under a budget").used())
  }

  #[test]
  fn a_call_past_its_budget_rejects_and_frees_what_it_built() {
    // What the first run in a process initialises once and keeps (the standard library's
    // definitions) is not the run's to free: made here first, so the test does not depend on
    // another test having run before it.
    run_within(usize::MAX, "[range(1000)] | length", b"1\n2\n", true)
      .0
      .unwrap();
    for (code, input, ndjson) in [
      ("[range(1e7)] | length", &b"null"[..], false),
      ("[range(1e6)] | length", &b"1\n2\n3\n4\n5\n6\n7\n8\n"[..], true),
      ("\"x\" * 100000000 | length", &b"null"[..], false),
    ] {
      let (result, used) = run_within(16 << 20, code, input, ndjson);
      let error = result.expect_err(code);
      assert_eq!(error.code, "ERR_JQ_MEMORY_LIMIT", "{code}: {error:?}");
      assert!(error.message.contains("16777216 bytes"), "{}", error.message);
      // Everything the run built was freed: what is left is what threads had not yet charged.
      let threads = rayon::current_num_threads() as isize + 1;
      assert!(used.abs() < threads * FLUSH as isize, "{code}: {used} bytes held");
    }
    let (result, _) = run_within(16 << 20, "[range(1000)] | length", b"null", false);
    assert_eq!(String::from_utf8(result.unwrap().text).unwrap(), "1000\n");
  }
}
