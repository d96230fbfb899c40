//! The `#[napi]` layer of JSON transformation: decode arguments, hand the work to the pool, and
//! turn results into JS strings (or values, through `JSON.parse`).

use std::path::PathBuf;
use std::ptr;
use std::sync::Arc;

use bytes::Bytes;
use napi::bindgen_prelude::{PromiseRaw, ToNapiValue};
use napi::{sys, Env};
use napi_derive::napi;

use super::canonical;
use super::program::{self, Program};
use super::read::MAX_DEPTH;
use super::run::{self, FileOutput, Format, Globals, Output, RunOptions, Text};
use crate::runtime::abort::Signal;
use crate::runtime::args::{Kind, Options};
use crate::runtime::bytes::ByteView;
use crate::runtime::text::JsText;
use crate::runtime::{spawn, sync, Cancel, Job, JsArg, OffloopError, Result};

/// Default `maxOutputBytes`: 256 MiB, half of the longest string V8 can make.
const DEFAULT_MAX_OUTPUT: usize = 256 << 20;

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
  /// renamed over `outputPath` at the end: the file never exists half written, and on any error no
  /// file is left behind. A new file gets the mode `fs.writeFile` would give it (0o666 less the
  /// umask); a file it replaces keeps its mode.
  pub output_path: Option<String>,
  /// See `JqOptions.maxOutputBytes` (it applies to the file too).
  pub max_output_bytes: Option<f64>,
  /// See `JqOptions.maxDepth`.
  pub max_depth: Option<u32>,
  /// Aborts the call; rejects with an `AbortError`.
  #[napi(ts_type = "AbortSignal")]
  pub signal: Option<Signal<'env>>,
}

/// Options of `canonicalizeJson()`.
#[napi(object, object_to_js = false, object_from_js = false)]
pub struct CanonicalizeOptions<'env> {
  /// Reject input nested deeper than this, 1–254. Default 254 (the parser's own limit).
  pub max_depth: Option<u32>,
  /// Aborts the call while it waits for a thread; rejects with an `AbortError`.
  #[napi(ts_type = "AbortSignal")]
  pub signal: Option<Signal<'env>>,
}

/// Decoded run options, owned, for the pool thread.
struct Settings {
  run: RunOptions,
  vars: Option<String>,
  output_path: Option<PathBuf>,
}

fn max_depth(options: &Options) -> Result<Option<u32>> {
  Ok(options.integer("maxDepth", 1, MAX_DEPTH as u64)?.map(|n| n as u32))
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
        .integer("maxOutputBytes", 0, (1u64 << 53) - 1)?
        .map(|n| n as f64),
      max_depth: max_depth(options)?,
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
      signal,
    } = JqOptions::decode(options)?;
    Ok(JqFileOptions {
      ndjson,
      raw,
      vars,
      output_path: options.string("outputPath")?,
      max_output_bytes,
      max_depth,
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
      signal,
    } = self;
    let options = JqOptions {
      ndjson,
      raw,
      vars,
      max_output_bytes,
      max_depth,
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
    .map(JsText::new)
    .map_err(|_| OffloopError::error("ERR_OFFLOOP_INTERNAL", "jq output is not UTF-8"))
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
/// `maxOutputBytes`, an `AbortError` when `signal` aborts (also mid-program), and TypeErrors for
/// bad arguments. Nothing partial is ever returned.
#[napi(
  ts_args_type = "filter: string, input: string | Uint8Array, options?: JqOptions",
  ts_return_type = "Promise<string>"
)]
pub fn jq<'env>(env: &'env Env, filter: JsArg, input: JsArg, options: JsArg) -> napi::Result<PromiseRaw<'env, JsText>> {
  spawn(env, || {
    let code = self::filter(filter)?;
    let input = self::input(input)?;
    let (settings, signal) = settings(options, FormatKind::Lines)?;
    Ok(
      Job::new(move |cancel| {
        let program = program::compile_cached(&code)?;
        output_text(run_program(&program, input, &settings, cancel)?)
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
    Ok(
      Job::new(move |cancel| {
        let program = program::compile_cached(&code)?;
        Ok(ParsedJson(output_text(run_program(
          &program, input, &settings, cancel,
        )?)?))
      })
      .abortable(signal),
    )
  })
}

/// A compiled jq program (from `compileJq()`), reusable for any number of runs, concurrently.
#[napi]
pub struct JqProgram {
  program: Arc<Program>,
}

#[napi]
impl JqProgram {
  /// `new JqProgram(filter)` is `compileJq(filter)`.
  ///
  /// @throws {Error} `ERR_JQ_COMPILE` (with `line` and `column`) when the program does not compile.
  /// @throws {TypeError} `ERR_INVALID_ARG_TYPE` when `filter` is not a string.
  #[napi(constructor, catch_unwind, ts_args_type = "filter: string")]
  pub fn new(env: Env, filter: JsArg) -> napi::Result<Self> {
    sync(&env, || JqProgram::compile(filter))
  }

  fn compile(filter: JsArg) -> Result<Self> {
    Ok(JqProgram {
      program: program::compile_cached(&self::filter(filter)?)?,
    })
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
      Ok(Job::new(move |cancel| output_text(run_program(&program, input, &settings, cancel)?)).abortable(signal))
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
      Ok(
        Job::new(move |cancel| {
          Ok(ParsedJson(output_text(run_program(
            &program, input, &settings, cancel,
          )?)?))
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
  sync(&env, || JqProgram::compile(filter))
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
        let program = program::compile_cached(&code)?;
        let globals = Globals::new(&program, settings.vars.as_deref())?;
        let output = settings.output_path.as_deref();
        match run::run_file(&program, &globals, &path, output, &settings.run, cancel)? {
          FileOutput::Text(output) => Ok(FileResult::Text(output_text(output)?)),
          FileOutput::Written(count) => Ok(FileResult::Count(count as f64)),
        }
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
      signal: options.signal()?,
    })
  }

  fn depth(&self) -> usize {
    self.max_depth.map_or(MAX_DEPTH, |n| n as usize)
  }
}

fn canonicalize(input: &Bytes, max_depth: usize) -> Result<String> {
  canonical::canonicalize(input, max_depth).map_err(|e| run::parse_error(input, &e, None))
}

/// The RFC 8785 (JCS) canonical form of a JSON text, for signing, hashing and ETags: numbers as
/// ECMAScript prints them, object keys sorted by UTF-16 code units, no whitespace.
///
/// Rejects with `ERR_JSON_PARSE` (with `line` and `column`) for malformed JSON, a repeated object
/// key (RFC 8785 requires I-JSON) or numbers beyond the double range; TypeErrors for bad arguments.
#[napi(
  ts_args_type = "input: string | Uint8Array, options?: CanonicalizeOptions",
  ts_return_type = "Promise<string>"
)]
pub fn canonicalize_json<'env>(env: &'env Env, input: JsArg, options: JsArg) -> napi::Result<PromiseRaw<'env, JsText>> {
  spawn(env, || {
    let input = self::input(input)?;
    let options = CanonicalizeOptions::decode(options)?;
    let depth = options.depth();
    Ok(Job::new(move |_| canonicalize(&input_bytes(input)?, depth).map(JsText::new)).abortable(options.signal))
  })
}

/// `canonicalizeJson()` on the calling thread, for small documents (it blocks the event loop).
/// `options.signal` is ignored.
///
/// @throws {Error} `ERR_JSON_PARSE` as `canonicalizeJson()` rejects.
#[napi(
  catch_unwind,
  ts_args_type = "input: string | Uint8Array, options?: CanonicalizeOptions"
)]
pub fn canonicalize_json_sync(env: Env, input: JsArg, options: JsArg) -> napi::Result<String> {
  sync(&env, || {
    let depth = CanonicalizeOptions::decode(options)?.depth();
    let input = input.with_bytes("input", Bytes::copy_from_slice)?;
    canonicalize(&input, depth)
  })
}
