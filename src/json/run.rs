//! Running a compiled program over JSON text: a sequence of documents in order, or NDJSON lines
//! spread over the pool in chunks and put back in input order.
//!
//! Nothing partial escapes: the outputs of a call are returned only if every input parsed and ran.
//! Each chunk runs with at least 32 MiB of stack (virtual memory, touched only as deep as a
//! program recurses), so how deep a program may recurse hardly depends on which thread runs it,
//! and deeply nested values built by a program can be written and dropped.

use std::borrow::Cow;
use std::fs;
use std::io::{Read, Write};
use std::ops::Range;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use jaq_core::{Ctx, Vars};
use rayon::prelude::*;

use super::fast::{self, Fv};
use super::program::{compile_error, Data, Guard, Interrupt, Kind, Program};
use super::read::{self, line_column, ParseError, ReadOptions, Vals};
use super::shape::Shape;
use super::value::{interrupt, text, Val, MAX_DEPTH};
use crate::runtime::fs::{read_full, Input, SpecialWriter};
use crate::runtime::memory;
use crate::runtime::{Cancel, OffloopError, Result};

/// The stack a chunk needs: pool threads have it (`pool::STACK_SIZE`); other threads (the
/// tests') switch to a stack this large.
const STACK_SIZE: usize = crate::runtime::pool::STACK_SIZE;

/// NDJSON chunk sizes: large enough to amortise a task, small enough to balance the threads.
const MIN_CHUNK: usize = 64 << 10;
const MAX_CHUNK: usize = 1 << 20;

/// NDJSON lines check for an abort (and give way) at most once per this many bytes of input:
/// about 100 µs of work.
const CHECK_EVERY: usize = 16 << 10;

/// `jqFile` reads NDJSON in blocks of about this size, so a file of any size needs bounded memory.
const FILE_BLOCK: usize = 32 << 20;

/// Longest message taken from a jq error (they may quote whole input values).
const MAX_MESSAGE: usize = 1000;

/// How outputs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
  /// Each output as compact JSON followed by a newline (`jq -c`); strings raw if `raw` (`jq -r`).
  Lines { raw: bool },
  /// One JSON array of all outputs.
  Array,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunOptions {
  /// Newline-delimited input: each non-blank line is one input.
  pub ndjson: bool,
  pub format: Format,
  /// `ERR_JQ_OUTPUT_LIMIT` when the output text would exceed this many bytes.
  pub max_output: usize,
  /// Input nesting limit.
  pub max_depth: usize,
}

/// The outputs of a run.
#[derive(Debug, Default)]
pub struct Output {
  pub text: Vec<u8>,
  pub count: usize,
}

/// Values of a program's global variables, as a JSON array in the order of `Program::globals`.
/// Kept as text: jq values are tied to one thread, and each chunk parses its own copy.
pub struct Globals(Bytes);

impl Globals {
  /// Picks the program's variables out of `vars`, the JSON text of an object (the `vars` option).
  /// A variable the program uses but `vars` lacks is the compile error jq reports for it.
  pub fn new(program: &Program, vars: Option<&str>) -> Result<Globals> {
    let vars = match vars {
      Some(text) => {
        let text = Bytes::copy_from_slice(text.as_bytes());
        read::parse_one(Vals(&text), &text, 0..text.len(), &Shape::All, &ReadOptions::default())
          .map_err(|e| OffloopError::invalid_value("options.vars", &format!("is not valid JSON: {}", e.message)))?
      }
      None => Val::object(Default::default()),
    };
    let Val::Obj(vars) = vars else {
      return Err(OffloopError::invalid_type(
        "options.vars",
        "a plain object",
        "another value",
      ));
    };
    let mut text = vec![b'['];
    for (i, (name, offset)) in program.globals.iter().enumerate() {
      let Some(value) = vars.get(name) else {
        return Err(compile_error(
          &program.code,
          &format!("undefined variable ${name}"),
          *offset,
        ));
      };
      if i > 0 {
        text.push(b',');
      }
      text::write(&mut text, value);
    }
    text.push(b']');
    Ok(Globals(text.into()))
  }

  fn values(&self) -> Vec<Val> {
    match read::parse_one(
      Vals(&self.0),
      &self.0,
      0..self.0.len(),
      &Shape::All,
      &ReadOptions::default(),
    ) {
      Ok(Val::Arr(values)) => values.into_vec(),
      _ => unreachable!("globals are a JSON array written by `Globals::new`"),
    }
  }

  /// The same values for the fast evaluator, borrowing from this text.
  fn fast_values(&self) -> Vec<Fv<'_>> {
    match read::parse_one(
      fast::Values,
      &self.0,
      0..self.0.len(),
      &Shape::All,
      &ReadOptions::default(),
    ) {
      Ok(Fv::Arr(values)) => values,
      _ => unreachable!("globals are a JSON array written by `Globals::new`"),
    }
  }
}

/// Input text, and the buffer that owns it if jq values may slice their strings out of it (else
/// they copy them).
#[derive(Clone, Copy)]
pub struct Text<'a> {
  bytes: &'a [u8],
  owner: &'a Bytes,
}

/// The owner of borrowed text: no string lies in it, so every string is copied.
static NO_OWNER: Bytes = Bytes::new();

impl<'a> Text<'a> {
  /// Text in a shared buffer, which jq values may slice.
  pub fn shared(bytes: &'a Bytes) -> Self {
    Text { bytes, owner: bytes }
  }

  /// Text borrowed for the run only (memory JavaScript owns): jq values copy their strings.
  pub fn borrowed(bytes: &'a [u8]) -> Self {
    Text {
      bytes,
      owner: &NO_OWNER,
    }
  }

  fn vals(&self) -> Vals<'a> {
    Vals(self.owner)
  }

  /// The text after a UTF-8 byte order mark at its start, which jq skips too.
  fn without_bom(self) -> Self {
    Text {
      bytes: self.bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(self.bytes),
      owner: self.owner,
    }
  }
}

/// Runs `program` over `input` (JSON documents, or NDJSON lines).
pub fn run(program: &Program, globals: &Globals, input: Text, options: &RunOptions, cancel: &Cancel) -> Result<Output> {
  let input = input.without_bom();
  let run = Run::new(program, globals, options, cancel);
  let mut output = Output::default();
  if options.ndjson {
    run.ndjson_block(input, 1, &mut output)?;
  } else {
    output = run.documents(input)?;
  }
  run.finish(output)
}

/// What `run_file` produced.
pub enum FileOutput {
  Text(Output),
  /// Outputs written to the output file (their count).
  Written(usize),
}

/// Runs `program` over the file at `path`. With `output_path` the outputs go to that file: written
/// to a temporary file next to it and renamed over it at the end, so it is never seen half
/// written, and on any error nothing is left behind. As `fs.writeFile`, a symlink there is
/// followed, and a FIFO or device is written to, not replaced. NDJSON is read in blocks.
pub fn run_file(
  program: &Program,
  globals: &Globals,
  path: &Path,
  output_path: Option<&Path>,
  options: &RunOptions,
  cancel: &Cancel,
) -> Result<FileOutput> {
  let Some(output_path) = output_path else {
    let input = read_whole(path, cancel)?;
    return run(program, globals, Text::shared(&Bytes::from(input)), options, cancel).map(FileOutput::Text);
  };
  let resolved;
  let output_path = match fs::symlink_metadata(output_path) {
    Ok(link) if link.file_type().is_symlink() => {
      resolved = fs::canonicalize(output_path).map_err(|e| fs_error(&e, "open", output_path))?;
      resolved.as_path()
    }
    _ => output_path,
  };
  if fs::metadata(output_path).is_ok_and(|m| !m.is_file()) {
    let special = SpecialWriter::open(output_path, cancel).map_err(|e| fs_error(&e, "open", output_path))?;
    let mut writer = std::io::BufWriter::with_capacity(1 << 20, special);
    let written = write_file_outputs(program, globals, path, output_path, options, cancel, &mut writer)?;
    writer.flush().map_err(|e| fs_error(&e, "write", output_path))?;
    return Ok(FileOutput::Written(written));
  }
  let dir = match output_path.parent() {
    Some(dir) if !dir.as_os_str().is_empty() => dir,
    _ => Path::new("."),
  };
  let mut builder = tempfile::Builder::new();
  builder.prefix(".offloop-");
  // Created as `open(…, 'w')` creates a file: 0o666, less the umask (which the kernel applies).
  #[cfg(unix)]
  builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
  let mut temp = builder
    .tempfile_in(dir)
    .map_err(|e| fs_error(&e, "open", output_path))?;
  let count = {
    let mut writer = std::io::BufWriter::with_capacity(1 << 20, temp.as_file_mut());
    let written = write_file_outputs(program, globals, path, output_path, options, cancel, &mut writer)?;
    writer.flush().map_err(|e| fs_error(&e, "write", output_path))?;
    written
  };
  keep_mode_of_replaced(temp.as_file(), output_path)?;
  temp
    .persist(output_path)
    .map_err(|e| fs_error(&e.error, "rename", output_path))?;
  Ok(FileOutput::Written(count))
}

/// The whole file at `path`, its size checked against the call's memory budget before it is read,
/// and the budget and the abort between blocks: a special file (`/dev/zero`) has no size.
fn read_whole(path: &Path, cancel: &Cancel) -> Result<Vec<u8>> {
  let over = |over: memory::OverBudget| memory_limit(over.limit);
  let mut file = Input::open(path, cancel).map_err(|e| fs_error(&e, "open", path))?;
  let size = file
    .metadata()
    .map_or(0, |m| usize::try_from(m.len()).unwrap_or(usize::MAX));
  memory::reserve(size).map_err(over)?;
  let mut input = Vec::with_capacity(size);
  loop {
    let read = (&mut file)
      .take(FILE_BLOCK as u64)
      .read_to_end(&mut input)
      .map_err(|e| fs_error(&e, "read", path))?;
    if read == 0 {
      return Ok(input);
    }
    cancel.check()?;
    memory::check().map_err(over)?;
  }
}

fn write_file_outputs(
  program: &Program,
  globals: &Globals,
  path: &Path,
  output_path: &Path,
  options: &RunOptions,
  cancel: &Cancel,
  writer: &mut impl Write,
) -> Result<usize> {
  let write_error = |e: std::io::Error| fs_error(&e, "write", output_path);
  let run = Run::new(program, globals, options, cancel);
  if !options.ndjson {
    let input = read_whole(path, cancel)?;
    let output = run.finish(run.documents(Text::shared(&Bytes::from(input)).without_bom())?)?;
    writer.write_all(&output.text).map_err(write_error)?;
    return Ok(output.count);
  }
  let mut file = Input::open(path, cancel).map_err(|e| fs_error(&e, "open", path))?;
  let mut pending: Vec<u8> = Vec::new();
  let mut first_line = 1;
  let mut count = 0;
  let mut written = 0;
  let mut at_end = false;
  let over = |over: memory::OverBudget| memory_limit(over.limit);
  while !at_end {
    cancel.check()?;
    // A line that does not end (`/dev/zero`) grows `pending` read after read.
    memory::check().map_err(over)?;
    let before = pending.len();
    pending.resize(before + FILE_BLOCK, 0);
    let got = read_full(&mut file, &mut pending[before..]).map_err(|e| fs_error(&e, "read", path))?;
    pending.truncate(before + got);
    at_end = got == 0;
    let cut = if at_end {
      pending.len()
    } else {
      match memchr::memrchr(b'\n', &pending[before..]) {
        Some(i) => before + i + 1,
        // No line ends in what was read: read on.
        None => continue,
      }
    };
    let rest = pending.split_off(cut);
    let block = Bytes::from(std::mem::replace(&mut pending, rest));
    let mut output = Output::default();
    let text = match first_line {
      1 => Text::shared(&block).without_bom(),
      _ => Text::shared(&block),
    };
    let (halted, lines) = run.ndjson_block(text, first_line, &mut output)?;
    // The block's outputs are all in memory here; past the budget, nothing of them is written (and
    // the file at `output_path` is not replaced).
    memory::check().map_err(over)?;
    first_line += lines;
    written += output.text.len();
    if written > options.max_output {
      return Err(output_limit(options.max_output));
    }
    count += output.count;
    writer.write_all(&output.text).map_err(write_error)?;
    if halted {
      break;
    }
  }
  Ok(count)
}

/// A file that `path` replaces keeps its mode, as it would had it been rewritten in place.
fn keep_mode_of_replaced(file: &fs::File, path: &Path) -> Result<()> {
  match fs::metadata(path) {
    Ok(replaced) => file
      .set_permissions(replaced.permissions())
      .map_err(|e| fs_error(&e, "chmod", path)),
    Err(_) => Ok(()),
  }
}

/// A Node-style fs error for `path`.
fn fs_error(error: &std::io::Error, syscall: &str, path: &Path) -> OffloopError {
  crate::runtime::fs::error(error, syscall, &path.to_string_lossy())
}

fn output_limit(max: usize) -> OffloopError {
  OffloopError::error(
    "ERR_JQ_OUTPUT_LIMIT",
    format!("jq output exceeds maxOutputBytes ({max} bytes)"),
  )
}

/// `ERR_JQ_MEMORY_LIMIT`: the call held more than `maxMemoryBytes` at once.
pub fn memory_limit(max: usize) -> OffloopError {
  OffloopError::error(
    "ERR_JQ_MEMORY_LIMIT",
    format!("jq call exceeded maxMemoryBytes ({max} bytes)"),
  )
}

/// How a run of inputs ended.
enum End {
  Done,
  /// `halt`: no further inputs run.
  Halted,
  Failed(OffloopError),
}

/// The outputs of one chunk, and how it ended.
struct ChunkOutput {
  output: Output,
  end: End,
}

/// Where an NDJSON line is: its number is counted only when an error names it. Counting the lines
/// before every chunk up front took 3 ms of a 130 ms run over 63 MB, on one thread while the
/// others waited for their chunks.
#[derive(Clone, Copy)]
struct Line<'a> {
  /// The text of the block before the line's chunk.
  before: &'a [u8],
  /// The number of the block's first line.
  first_line: usize,
  /// Lines of the chunk before this one.
  in_chunk: usize,
}

impl Line<'_> {
  fn number(self) -> usize {
    self.first_line + memchr::memchr_iter(b'\n', self.before).count() + self.in_chunk
  }
}

struct Run<'a> {
  program: &'a Program,
  globals: &'a Globals,
  options: &'a RunOptions,
  cancel: &'a Cancel,
  read: ReadOptions,
}

impl<'a> Run<'a> {
  fn new(program: &'a Program, globals: &'a Globals, options: &'a RunOptions, cancel: &'a Cancel) -> Self {
    Run {
      program,
      globals,
      options,
      cancel,
      read: ReadOptions {
        max_depth: options.max_depth,
        ..ReadOptions::default()
      },
    }
  }

  /// Closes the array of the `Array` format.
  fn finish(&self, mut output: Output) -> Result<Output> {
    if self.options.format == Format::Array {
      if output.text.last() == Some(&b',') {
        output.text.pop();
      }
      output.text.insert(0, b'[');
      output.text.push(b']');
    }
    Ok(output)
  }

  /// Runs every document of `input` in order, on this thread.
  fn documents(&self, input: Text) -> Result<Output> {
    let shape = &self.program.shape;
    let error = |e: ParseError| parse_error(input.bytes, &e, None);
    let chunk = self.guarded(|eval| {
      if let Some(expr) = &self.program.fast {
        for value in read::parse_many(fast::Values, input.bytes, shape, &self.read) {
          let value = value.map_err(error)?;
          if !eval.fast(expr, &value)? {
            if let Some(end) = eval.jaq(fast::to_val(value, input.vals()), None)? {
              return Ok(end);
            }
          }
        }
      } else {
        for value in read::parse_many(input.vals(), input.bytes, shape, &self.read) {
          if let Some(end) = eval.jaq(value.map_err(error)?, None)? {
            return Ok(end);
          }
        }
      }
      Ok(End::Done)
    });
    match chunk.end {
      End::Done | End::Halted => Ok(chunk.output),
      End::Failed(error) => Err(error),
    }
  }

  /// Runs the NDJSON lines of `block` (whose first line is line `first_line` of the input) over
  /// the pool, appending outputs in order to `output`. Whether the program halted, and the lines
  /// read (all of the block's if it did not).
  fn ndjson_block(&self, block: Text, first_line: usize, output: &mut Output) -> Result<(bool, usize)> {
    let chunks = split_lines(block.bytes);
    // The first chunk that failed or halted: later chunks need not run.
    let stop = AtomicUsize::new(usize::MAX);
    // Chunks run on whichever pool threads take them, each charging this call's memory budget.
    let budget = memory::current_budget();
    let results: Vec<Option<(ChunkOutput, usize)>> = chunks
      .par_iter()
      .enumerate()
      .map(|(i, range)| {
        if stop.load(Ordering::Relaxed) < i {
          return None;
        }
        let _scope = budget.as_ref().map(|budget| budget.enter());
        // For jaq, each chunk parses its own copy: strings of jq values hold a reference count on
        // the buffer they slice, and one buffer shared by all threads made every string's count a
        // contended cache line. The fast evaluator borrows instead (jaq sees only its fallbacks).
        let copy;
        let text = match self.program.fast {
          Some(_) => Text {
            bytes: &block.bytes[range.clone()],
            owner: block.owner,
          },
          None => {
            copy = Bytes::copy_from_slice(&block.bytes[range.clone()]);
            Text::shared(&copy)
          }
        };
        let first = Line {
          before: &block.bytes[..range.start],
          first_line,
          in_chunk: 0,
        };
        let mut lines = 0;
        let chunk = self.guarded(|eval| self.lines(eval, text, first, &mut lines));
        if !matches!(chunk.end, End::Done) {
          stop.fetch_min(i, Ordering::Relaxed);
        }
        Some((chunk, lines))
      })
      .collect();
    output
      .text
      .reserve(results.iter().flatten().map(|(c, _)| c.output.text.len()).sum());
    let mut lines = 0;
    for chunk in results {
      let (chunk, read) = chunk.expect("chunks before the first stop all ran");
      lines += read;
      output.text.extend_from_slice(&chunk.output.text);
      output.count += chunk.output.count;
      if output.text.len() > self.options.max_output {
        return Err(output_limit(self.options.max_output));
      }
      match chunk.end {
        End::Done => {}
        End::Halted => return Ok((true, lines)),
        End::Failed(error) => return Err(error),
      }
    }
    Ok((false, lines))
  }

  /// Runs the lines of a chunk, `first` the chunk's first; `read` is set to their count when all ran.
  fn lines(&self, eval: &mut Eval, input: Text, first: Line, read: &mut usize) -> Result<End> {
    let text = input.bytes;
    let mut line = first;
    let mut start = 0;
    let mut next_check = 0;
    while start < text.len() {
      let end = memchr::memchr(b'\n', &text[start..]).map_or(text.len(), |i| start + i);
      if !text[start..end].iter().all(|b| matches!(b, b' ' | b'\t' | b'\r')) {
        // Every CHECK_EVERY bytes, not every line: the check reads the clock (to give way), which
        // cost 2% of a run over short log records.
        if start >= next_check {
          self.cancel.check()?;
          interrupt::poll();
          next_check = start + CHECK_EVERY;
        }
        let error = |e: ParseError| {
          let relative = ParseError {
            offset: e.offset - start,
            ..e
          };
          parse_error(&text[start..end], &relative, Some(line.number()))
        };
        let shape = &self.program.shape;
        let value = match &self.program.fast {
          Some(expr) => {
            let value = read::parse_one(fast::Values, text, start..end, shape, &self.read).map_err(error)?;
            if eval.fast(expr, &value)? {
              None
            } else {
              Some(fast::to_val(value, input.vals()))
            }
          }
          None => Some(read::parse_one(input.vals(), text, start..end, shape, &self.read).map_err(error)?),
        };
        if let Some(value) = value {
          if let Some(end) = eval.jaq(value, Some(line))? {
            return Ok(end);
          }
        }
      }
      start = end + 1;
      line.in_chunk += 1;
    }
    *read = line.in_chunk;
    Ok(End::Done)
  }

  /// Runs `body` with an evaluator on a fresh stack, turning interrupts into errors. The outputs
  /// of a run that failed are dropped: nothing partial is returned.
  fn guarded(&self, body: impl FnOnce(&mut Eval) -> Result<End>) -> ChunkOutput {
    stacker::maybe_grow(STACK_SIZE / 2, STACK_SIZE, || {
      let guard = Guard::new(self.cancel, self.options.max_depth);
      // Everything that builds values while the guard may interrupt runs inside: the values of
      // `$vars` too, which can go over the memory budget.
      let ran = catch_unwind(AssertUnwindSafe(|| {
        let mut eval = Eval {
          ctx: Ctx::new(
            Data {
              lut: &self.program.filter.lut,
              guard: &guard,
            },
            Vars::new(self.globals.values()),
          ),
          program: self.program,
          guard: &guard,
          vars: self.globals.fast_values(),
          output: Output::default(),
          format: self.options.format,
          max_output: self.options.max_output,
          cancel: self.cancel,
        };
        let end = body(&mut eval);
        (end, std::mem::take(&mut eval.output))
      }));
      let failed = |error| ChunkOutput {
        output: Output::default(),
        end: End::Failed(error),
      };
      match ran {
        Ok((Ok(end), output)) => ChunkOutput { output, end },
        Ok((Err(error), _)) => failed(error),
        Err(payload) => match payload.downcast::<Interrupt>() {
          Ok(interrupt) => failed(interrupted(*interrupt)),
          Err(payload) => resume_unwind(payload),
        },
      }
    })
  }
}

/// Runs `work` where value code may stop it (`value::interrupt`: an abort, the memory budget, a
/// value too deep), its interrupts turned into the call's errors.
pub fn interruptible<T>(cancel: &Cancel, work: impl FnOnce() -> Result<T>) -> Result<T> {
  let _running = interrupt::enter(cancel);
  match catch_unwind(AssertUnwindSafe(work)) {
    Ok(done) => done,
    Err(payload) => match payload.downcast::<Interrupt>() {
      Ok(interrupt) => Err(interrupted(*interrupt)),
      Err(payload) => resume_unwind(payload),
    },
  }
}

/// The error for a run that was unwound.
fn interrupted(interrupt: Interrupt) -> OffloopError {
  match interrupt {
    Interrupt::Aborted => OffloopError::aborted(),
    Interrupt::StackExhausted => {
      OffloopError::error("ERR_JQ_RUNTIME", "jq program recursed too deeply (stack exhausted)")
    }
    Interrupt::MemoryLimit(limit) => memory_limit(limit),
    Interrupt::TooDeep(depth) => OffloopError::error(
      "ERR_JQ_RUNTIME",
      format!("jq value too deep: arrays and objects nest at most {MAX_DEPTH} levels, this one {depth}"),
    )
    .with_integer_property("depth", i64::from(depth)),
  }
}

/// Splits NDJSON text into chunks of whole lines (their byte ranges).
fn split_lines(text: &[u8]) -> Vec<Range<usize>> {
  let threads = rayon::current_num_threads().max(1);
  let target = (text.len() / (threads * 8)).clamp(MIN_CHUNK, MAX_CHUNK);
  let mut chunks = Vec::new();
  let mut start = 0;
  while start < text.len() {
    let end = match text.get(start + target..) {
      Some(rest) => memchr::memchr(b'\n', rest).map_or(text.len(), |i| start + target + i + 1),
      None => text.len(),
    };
    chunks.push(start..end);
    start = end;
  }
  chunks
}

/// `ERR_JSON_PARSE` for an error in `text`; `line` is the NDJSON line `text` is.
pub fn parse_error(text: &[u8], error: &ParseError, line: Option<usize>) -> OffloopError {
  let (line, column, place) = match line {
    Some(line) => (line, line_column(text, error.offset).1, "NDJSON line"),
    None => {
      let (line, column) = line_column(text, error.offset);
      (line, column, "line")
    }
  };
  OffloopError::error(
    "ERR_JSON_PARSE",
    format!("Invalid JSON at {place} {line}, column {column}: {}", error.message),
  )
  .with_integer_property("line", line as i64)
  .with_integer_property("column", column as i64)
}

/// Evaluates inputs on one thread and collects their outputs.
struct Eval<'a> {
  ctx: Ctx<'a, Kind>,
  program: &'a Program,
  guard: &'a Guard,
  /// The global variables for the fast evaluator.
  vars: Vec<Fv<'a>>,
  output: Output,
  format: Format,
  max_output: usize,
  cancel: &'a Cancel,
}

impl Eval<'_> {
  /// Runs one input with the fast evaluator. False when it gave up: nothing was written, and the
  /// input must run through jaq.
  fn fast(&mut self, expr: &fast::Expr, input: &Fv) -> Result<bool> {
    let text = &mut self.output.text;
    let mark = text.len();
    let mut count = 0;
    let format = self.format;
    let limit = self.max_output;
    let ran = expr.run(Cow::Borrowed(input), &self.vars, &mut |value| {
      count += 1;
      match format {
        Format::Lines { raw: true } => fast::write_raw(text, &value)?,
        Format::Lines { raw: false } | Format::Array => fast::write_value(text, &value)?,
      }
      text.push(if format == Format::Array { b',' } else { b'\n' });
      // Past the limit, jaq runs the input again and stops it while writing.
      if text.len() > limit {
        return Err(fast::Fallback);
      }
      Ok(())
    });
    if ran.is_err() {
      text.truncate(mark);
      return Ok(false);
    }
    self.output.count += count;
    if text.len() > self.max_output {
      return Err(output_limit(self.max_output));
    }
    Ok(true)
  }

  /// Runs one input through jaq. `Some(end)` when the program halted; `line` locates errors in
  /// NDJSON.
  fn jaq(&mut self, input: Val, line: Option<Line>) -> Result<Option<End>> {
    let line = || line.map(Line::number);
    let outputs = self.program.filter.id.run((self.ctx.clone(), input));
    for output in outputs {
      match output {
        Ok(value) => self.push(&value)?,
        Err(exception) => {
          let exception = match exception.get_err() {
            Ok(error) => return Err(runtime_error(error.into_val(), line())),
            Err(exception) => exception,
          };
          let code = exception.get_halt().unwrap_or(5);
          if let Some(message) = self.guard.halt_message.borrow_mut().take() {
            return Err(runtime_error(Val::from(message), line()).with_integer_property("exitCode", code.into()));
          }
          if code != 0 {
            return Err(
              runtime_error(Val::from(format!("halted with exit code {code}")), line())
                .with_integer_property("exitCode", code.into()),
            );
          }
          return Ok(Some(End::Halted));
        }
      }
    }
    Ok(None)
  }

  /// Writes an output, stopping as soon as the output text passes `maxOutputBytes`.
  fn push(&mut self, value: &Val) -> Result<()> {
    let out = &mut self.output.text;
    let written = match self.format {
      Format::Lines { raw: true } => text::write_raw_limited(out, value, self.max_output),
      Format::Lines { raw: false } | Format::Array => text::write_limited(out, value, self.max_output),
    };
    out.push(if self.format == Format::Array { b',' } else { b'\n' });
    self.output.count += 1;
    if written.is_err() || out.len() > self.max_output {
      return Err(output_limit(self.max_output));
    }
    self.cancel.check()
  }
}

/// `ERR_JQ_RUNTIME` for the value a jq error carries: its text if a string, else (the start of)
/// its JSON.
fn runtime_error(value: Val, line: Option<usize>) -> OffloopError {
  let mut message = match &value {
    Val::Str(s) => s.as_str().to_owned(),
    other => {
      let mut json = Vec::new();
      let _ = text::write_limited(&mut json, other, 4 * MAX_MESSAGE);
      String::from_utf8_lossy(&json).into_owned()
    }
  };
  if let Some((cut, _)) = message.char_indices().nth(MAX_MESSAGE) {
    message.truncate(cut);
    message.push_str("...");
  }
  match line {
    Some(line) => OffloopError::error("ERR_JQ_RUNTIME", format!("{message} (NDJSON line {line})"))
      .with_integer_property("line", line as i64),
    None => OffloopError::error("ERR_JQ_RUNTIME", message),
  }
}

#[cfg(test)]
mod tests {
  use super::super::program::compile;
  use super::*;

  fn options(ndjson: bool) -> RunOptions {
    RunOptions {
      ndjson,
      format: Format::Lines { raw: false },
      max_output: 1 << 20,
      max_depth: read::MAX_DEPTH,
    }
  }

  fn jq_with(code: &str, input: &str, options: &RunOptions) -> Result<String> {
    let program = compile(code)?;
    let globals = Globals::new(&program, Some(r#"{"x": 10, "name": "n"}"#))?;
    let input = Bytes::copy_from_slice(input.as_bytes());
    let output = run(&program, &globals, Text::shared(&input), options, &Cancel::default())?;
    Ok(String::from_utf8(output.text).unwrap())
  }

  fn jq(code: &str, input: &str) -> Result<String> {
    jq_with(code, input, &options(false))
  }

  #[test]
  fn runs_documents() {
    assert_eq!(jq(".a", r#"{"a":[1,2]} {"a":"x"}"#).unwrap(), "[1,2]\n\"x\"\n");
    assert_eq!(jq(".[] | . * 2", "[1, 2.5]").unwrap(), "2\n5\n");
    assert_eq!(jq("$x + 1, $name", "null").unwrap(), "11\n\"n\"\n");
    assert_eq!(jq(".", "  ").unwrap(), "");
    assert_eq!(
      jq("[.[] | @csv]", r#"[[1,"a\"b",null,true]]"#).unwrap(),
      "[\"1,\\\"a\\\"\\\"b\\\",,true\"]\n"
    );
    assert_eq!(jq("1, halt, 2", "null null").unwrap(), "1\n");
  }

  #[test]
  fn runs_ndjson_in_order() {
    let input: String = (0..20000).map(|i| format!("{{\"i\":{i}}}\n\n")).collect();
    let out = jq_with("select(.i % 1000 == 0) | .i", &input, &options(true)).unwrap();
    let expected: String = (0..20).map(|i| format!("{}\n", i * 1000)).collect();
    assert_eq!(out, expected);
  }

  #[test]
  fn ndjson_errors_name_the_line() {
    let mut input: String = (0..10000).map(|i| format!("{{\"i\":{i}}}\n")).collect();
    input.push_str("{\"i\": oops}\n");
    let e = jq_with(".i", &input, &options(true)).unwrap_err();
    assert_eq!(e.code, "ERR_JSON_PARSE");
    assert!(e.message.contains("NDJSON line 10001, column 7"), "{}", e.message);
    let e = jq_with(".i.x", "{\"i\":{}}\n{\"i\":1}\n", &options(true)).unwrap_err();
    assert_eq!(e.code, "ERR_JQ_RUNTIME");
    assert!(e.message.contains("line 2"), "{}", e.message);
  }

  #[test]
  fn a_block_counts_its_lines_across_chunks() {
    // Blank and whitespace-only lines count too; jqFile numbers the next block's lines from this.
    let text: String = (0..30000)
      .map(|i| match i % 5 {
        0 => "\n".to_owned(),
        1 => " \t\n".to_owned(),
        _ => format!("{{\"i\":{i}}}\n"),
      })
      .collect();
    assert!(text.len() > 2 * MIN_CHUNK, "more than one chunk");
    let program = compile(".i").unwrap();
    let globals = Globals::new(&program, None).unwrap();
    let options = options(true);
    let cancel = Cancel::default();
    let run = Run::new(&program, &globals, &options, &cancel);
    let bytes = Bytes::from(text.clone());
    let mut output = Output::default();
    let (halted, lines) = run.ndjson_block(Text::shared(&bytes), 7, &mut output).unwrap();
    assert!(!halted);
    assert_eq!(lines, text.bytes().filter(|&b| b == b'\n').count());
  }

  #[test]
  fn errors() {
    let e = jq("error(\"boom\")", "null").unwrap_err();
    assert_eq!((e.code.as_ref(), e.message.as_str()), ("ERR_JQ_RUNTIME", "boom"));
    let e = jq("error({a: 1})", "null").unwrap_err();
    assert_eq!(e.message, r#"{"a":1}"#);
    let e = jq(".", "[1,\n 2,,]").unwrap_err();
    assert_eq!(e.code, "ERR_JSON_PARSE");
    assert!(e.message.contains("line 2, column 4"), "{}", e.message);
    let e = jq("\"x\" | halt_error(3)", "null").unwrap_err();
    assert_eq!(e.message, "x");
    let e = jq("$missing", "null").unwrap_err();
    assert_eq!(e.code, "ERR_JQ_COMPILE");
  }

  #[test]
  fn limits() {
    let small = RunOptions {
      max_output: 1000,
      ..options(false)
    };
    for program in ["repeat(.)", "range(1e12)", "[range(1e5)]"] {
      let e = jq_with(program, "1", &small).unwrap_err();
      assert_eq!(e.code, "ERR_JQ_OUTPUT_LIMIT", "{program}");
    }
    let e = jq("def f: 1 + f; f", "null").unwrap_err();
    assert!(e.message.contains("recursed too deeply"), "{}", e.message);
    let e = jq("def f: [f]; f", "null").unwrap_err();
    assert!(e.message.contains("recursed too deeply"), "{}", e.message);
    // Values nest at most MAX_DEPTH levels, as deep as jq compares and prints them: building
    // one deeper stops the run.
    assert_eq!(
      jq(
        "reduce range(10000) as $i ([]; [.]) as $x | ($x == $x), ($x < $x), ($x | contains($x)), ($x | tojson | length)",
        "null"
      )
      .unwrap(),
      "true\nfalse\ntrue\n20002\n"
    );
    assert_eq!(jq(".", "\u{feff}[1]").unwrap(), "[1]\n", "a byte order mark is skipped");
    let e = jq("reduce range(1000000) as $i (null; [.]) | length", "null").unwrap_err();
    assert_eq!(e.code, "ERR_JQ_RUNTIME");
    assert!(e.message.contains("10001 levels, this one 10002"), "{}", e.message);
  }

  /// Runs `code` until `cancel` is aborted from another thread after a moment; the run must
  /// notice (if a walk never polled, the test would hang).
  fn aborted(code: &str, input: &str) -> OffloopError {
    let cancel = Cancel::for_test();
    let trigger = cancel.clone();
    let aborter = std::thread::spawn(move || {
      std::thread::sleep(std::time::Duration::from_millis(200));
      trigger.abort_for_test();
    });
    let program = compile(code).unwrap();
    let globals = Globals::new(&program, None).unwrap();
    let input = Bytes::copy_from_slice(input.as_bytes());
    let result = run(&program, &globals, Text::shared(&input), &options(false), &cancel);
    aborter.join().unwrap();
    result.expect_err(code)
  }

  /// Values that share their children: walks over them (printing, comparing, containment,
  /// merging) and the fast evaluator's exponential programs poll for aborts. Under a memory
  /// budget, as calls run.
  #[test]
  fn long_walks_abort() {
    let budget = crate::runtime::memory::Budget::new(2 << 30);
    let _scope = budget.enter();
    let dag = "reduce range(60) as $i (0; [., .])";
    let objects = "reduce range(60) as $i (0; {a: ., b: .})";
    for code in [
      format!("{dag} | tojson"),
      format!("{dag} | tostring | length"),
      format!("{dag} as $a | {dag} | . == $a"),
      format!("{dag} as $a | {dag} | . < $a"),
      format!("{dag} as $a | [{dag}, $a] | sort"),
      format!("{dag} | contains(.)"),
      format!("{objects} | . * ."),
      "[range(100000)] - [range(100000)]".to_owned(),
      "[range(3000000)] | sort | length".to_owned(),
      format!("{dag} | [paths] | length"),
      // Runs in the fast evaluator entirely.
      ".[], .[] | [.[], .[]] | [.[], .[]] | [.[], .[]] | [.[], .[]] | [.[], .[]] | [.[], .[]] | [.[], .[]] | [.[], .[]] | [.[], .[]] | [.[], .[]] | [.[], .[]] | [.[], .[]] | [.[], .[]] | [.[], .[]] | [.[], .[]] | [.[], .[]] | [.[], .[]] | [.[], .[]] | [.[], .[]] | [.[], .[]] | [.[], .[]] | [.[], .[]] | [.[], .[]] | [.[], .[]] | [.[], .[]] | [.[], .[]] | [.[], .[]] | [.[], .[]] | [.[], .[]] | [.[], .[]] | [.[], .[]] | [.[], .[]] | [.[], .[]] | [.[], .[]] | [.[], .[]] | [.[], .[]] | [.[], .[]] | [.[], .[]] | [.[], .[]] | [.[], .[]] | length".to_owned(),
    ] {
      let e = aborted(&code, "[[1, 2]]");
      assert_eq!(e.code, "ABORT_ERR", "{code}: {e}");
    }
    assert!(compile(".[], .[] | [.[], .[]] | [.[], .[]] | length")
      .unwrap()
      .fast
      .is_some());
  }

  /// One long string operation stops soon after an abort, not when it is done: each step here
  /// doubles the string (its escapes, quotes or backslashes), and escaping the last ones took
  /// 1.2 s (`tojson`) and 0.8 s (`@csv`) after the abort before anything polled for it (found by
  /// the `jq_hostile` fuzz target).
  #[test]
  fn long_strings_abort() {
    let budget = crate::runtime::memory::Budget::new(2 << 30);
    let _scope = budget.enter();
    for (code, input) in [
      ("tojson", r#""a""#),
      ("tojson", r#"{"a": "\\"}"#),
      ("[.] | @csv", r#""a"b""#),
      ("[.] | @tsv", r#""a\\b""#),
    ] {
      let cancel = Cancel::for_test();
      let trigger = cancel.clone();
      let aborter = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(200));
        trigger.abort_for_test();
        std::time::Instant::now()
      });
      let program = compile(&format!("reduce range(254) as $i (.; {code})")).unwrap();
      let globals = Globals::new(&program, None).unwrap();
      let input = Bytes::copy_from_slice(input.as_bytes());
      let result = run(&program, &globals, Text::shared(&input), &options(false), &cancel);
      let ended = std::time::Instant::now();
      let aborted = aborter.join().unwrap();
      assert_eq!(result.map(|_| ()).unwrap_err().code, "ABORT_ERR", "{code}");
      let late = ended.saturating_duration_since(aborted);
      assert!(
        late < std::time::Duration::from_secs(1),
        "{code} ran on for {late:?} after the abort"
      );
    }
  }

  /// Sizes that come from values are checked against the call's memory budget before they are
  /// allocated, and memory a program builds up is noticed while it runs.
  #[test]
  fn memory_budget() {
    let budget = crate::runtime::memory::Budget::new(64 << 20);
    let _scope = budget.enter();
    for code in [
      "\"ab\" * 500000000",
      "null | setpath([500000000]; 0)",
      "[] | .[500000000] = 1",
      "\"x\" | until(length > 1e12; . + .)",
      "[range(1e9)] | length",
      "reduce range(1e8) as $i ([]; . + [$i]) | length",
      "[range(500000000)] | implode",
      "[limit(1e8; repeat(\"abcdefgh\"))] | add | length",
    ] {
      let e = jq(code, "null").unwrap_err();
      assert_eq!(e.code, "ERR_JQ_MEMORY_LIMIT", "{code}: {e}");
      assert_eq!(e.message, "jq call exceeded maxMemoryBytes (67108864 bytes)");
    }
  }

  /// jq's own limits stay jq's catchable errors.
  #[test]
  fn jq_size_limits() {
    for (code, message) in [
      ("\"ab\" * 1e15", "Repeat string result too long"),
      ("null | setpath([1e15]; 0)", "Array index too large"),
      ("[] | .[1e9] = 1", "Array index too large"),
    ] {
      assert_eq!(
        jq(&format!("try ({code}) catch ."), "null").unwrap(),
        format!("\"{message}\"\n")
      );
    }
  }

  #[test]
  fn formats() {
    let array = RunOptions {
      format: Format::Array,
      ..options(false)
    };
    assert_eq!(jq_with(".[]", "[1,\"a\"]", &array).unwrap(), "[1,\"a\"]");
    assert_eq!(jq_with("empty", "1", &array).unwrap(), "[]");
    let raw = RunOptions {
      format: Format::Lines { raw: true },
      ..options(false)
    };
    assert_eq!(jq_with(".[]", "[\"a\\nb\",1]", &raw).unwrap(), "a\nb\n1\n");
  }
}
