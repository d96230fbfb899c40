//! Compiling jq programs with jaq, and the pieces of the interpreter that keep a running program
//! in check.
//!
//! A program runs with jaq's standard library, minus what a library embedded in a server must not
//! offer: `env`/`$ENV` (the process environment), `input`/`inputs` (offloop gives each input to the
//! program itself) and module imports (file access). `debug` and `stderr` write nothing. `compat`
//! adds jq builtins jaq lacks or does differently; `value::funs` those that are operations on
//! values.
//!
//! Stopping a running program: jaq has no hook for that, but it clones its evaluation context at
//! nearly every step, and that context holds our `Data`. Its `clone` checks, every step, that
//! enough stack is left, and every 1024 steps whether the call was aborted; when not, it unwinds
//! with `resume_unwind` (a panic without the panic hook, so nothing is printed), which `run`
//! catches. jaq forbids unsafe code, so unwinding out of it is memory-safe, and everything the run
//! built is dropped. `range` is wrapped as well: it counts without cloning the context.

use std::cell::{Cell, RefCell};
use std::ops::Range;
use std::panic::resume_unwind;
use std::sync::{Arc, Mutex, OnceLock, TryLockError};

use jaq_core::box_iter::box_once;
use jaq_core::load::parse::Def;
use jaq_core::load::{self, lex, parse, Arena, File, Loader};
use jaq_core::native::{run, v, Filter as NativeFilter, Fun};
use jaq_core::{compile, data, Bind, Compiler, DataT, Exn, Lut, RunPtr};

use super::compat;
use super::constant;
use super::fast;
use super::math;
use super::nesting;
use super::order;
use super::read::line_column;
use super::regex;
use super::rewrite;
use super::shape::Shape;
use super::value::{self, interrupt, Val};
use crate::runtime::{Cancel, OffloopError, Result};

pub use super::value::Interrupt;

/// The kind of data programs run on: offloop's jq values, with `Data` as their context.
pub struct Kind;

impl DataT for Kind {
  type V<'a> = Val;
  type Data<'a> = Data<'a>;
}

/// What a running program sees of its surroundings.
pub struct Data<'a> {
  pub lut: &'a Lut<Kind>,
  pub guard: &'a Guard,
}

impl Clone for Data<'_> {
  fn clone(&self) -> Self {
    self.guard.tick();
    Data {
      lut: self.lut,
      guard: self.guard,
    }
  }
}

impl<'a> data::HasLut<'a, Kind> for Data<'a> {
  fn lut(&self) -> &'a Lut<Kind> {
    self.lut
  }
}

/// Stack a program may not eat into: what is left for the interpreter's deepest frames, for
/// dropping deeply nested values and for writing them out.
const STACK_RESERVE: usize = 1 << 20;

/// Per-thread state of a running program.
pub struct Guard {
  ticks: Cell<u32>,
  /// The message of `halt_error`, which ends the run as an error.
  pub halt_message: RefCell<Option<String>>,
  /// How deeply `fromjson` may nest (the input's limit).
  pub max_depth: usize,
  /// Lets walks over values (`value::interrupt`) see the abort while the guard lives.
  _running: interrupt::Running,
}

impl Guard {
  pub fn new(cancel: &Cancel, max_depth: usize) -> Self {
    Guard {
      ticks: Cell::new(0),
      halt_message: RefCell::new(None),
      max_depth,
      _running: interrupt::enter(cancel),
    }
  }

  /// Every step: enough stack left, the call not over its memory budget (a step may allocate any
  /// amount: `@base64` of a long string); every 1024 steps: not aborted.
  fn tick(&self) {
    if stacker::remaining_stack().is_some_and(|left| left < STACK_RESERVE) {
      resume_unwind(Box::new(Interrupt::StackExhausted));
    }
    let ticks = self.ticks.get().wrapping_add(1);
    self.ticks.set(ticks);
    if ticks.is_multiple_of(1024) {
      interrupt::poll();
    } else {
      interrupt::check_memory();
    }
  }
}

/// A compiled program, shareable between threads and calls.
pub struct Program {
  pub filter: jaq_core::Filter<Kind>,
  /// The `$name`s the program uses without binding them (without `$`), with the byte offset of
  /// their first use: they must come from the `vars` option.
  pub globals: Vec<(String, usize)>,
  /// What the program reads of each input.
  pub shape: Shape,
  /// The program for the fast evaluator, if it is in its subset.
  pub fast: Option<fast::Expr>,
  /// The source, for locating errors.
  pub code: String,
}

/// Definitions run before jaq's: `range/3` ticks the guard (the other arities call it).
const PRELUDE: &str = "def range($from; $upto; $by): _offloop_range($from; $upto; $by) | _offloop_tick;";

/// Definitions run after jaq's.
const POSTLUDE: &str = "
def halt_error($exit_code): _offloop_halt_error($exit_code);
def halt_error: halt_error(5);
";

/// The definitions every program starts with, parsed once: parsing them took about a third of
/// compiling a small program.
fn defs() -> impl Iterator<Item = load::parse::Def<&'static str>> {
  static DEFS: OnceLock<Vec<load::parse::Def<&'static str>>> = OnceLock::new();
  let defs = DEFS.get_or_init(|| {
    let own = |code| load::parse(code, |p| p.defs()).expect("offloop's jq definitions parse");
    own(PRELUDE)
      .into_iter()
      .chain(
        jaq_core::defs()
          .chain(jaq_std::defs())
          .filter(|def| !value::funs::REPLACED_DEFS.contains(&def.name)),
      )
      .chain(own(value::funs::DEFS))
      .chain(own(POSTLUDE))
      .chain(own(compat::DEFS))
      .chain(own(regex::DEFS))
      .collect()
  });
  defs.iter().cloned()
}

/// The natives: offloop's first, as jaq takes the first of a name (they replace jaq's own
/// `sort`, `implode`, `floor`…).
fn funs() -> impl Iterator<Item = Fun<Kind>> {
  let core = jaq_core::funs::<Kind>().map(|(name, args, native)| {
    let name = if name == "range" { "_offloop_range" } else { name };
    (name, args, native)
  });
  let std = jaq_std::funs::<Kind>().filter(|(name, ..)| *name != "env");
  let own = own_funs()
    .into_vec()
    .into_iter()
    .chain(value::funs::funs().into_vec())
    .chain(compat::funs().into_vec())
    .chain(math::funs())
    .chain(regex::funs().into_vec());
  own.map(run::<Kind>).chain(core).chain(std)
}

/// `builtins`: `name/arity` of every filter a program can call, as jq lists them: without the
/// internal helpers (`_name`, jaq's `name_` and `*_empty`) and the `@formats`.
pub fn builtins() -> Val {
  static NAMES: OnceLock<Vec<String>> = OnceLock::new();
  let names = NAMES.get_or_init(|| {
    let defs = defs().map(|def| (def.name, def.args.len()));
    let natives = funs().map(|(name, args, _)| (name, args.len()));
    let mut names: Vec<String> = defs
      .chain(natives)
      .filter(|(name, _)| {
        name.starts_with(|c: char| c.is_ascii_alphabetic())
          && !name.ends_with('_')
          && !name.ends_with("_empty")
          && !matches!(
            *name,
            "matches" | "split_matches" | "min_by_or_empty" | "max_by_or_empty"
          )
      })
      .map(|(name, arity)| format!("{name}/{arity}"))
      .collect();
    names.sort();
    names.dedup();
    names
  });
  names.iter().map(|name| Val::str(name)).collect()
}

fn own_funs() -> Box<[NativeFilter<RunPtr<Kind>>]> {
  Box::new([
    // jq's `reduce` goes on from the last value of its update, or from null if it yields none:
    // `order.rs` wraps an update that may yield other than one value in this.
    ("_offloop_last", [Bind::Fun(())].into(), |mut cv| {
      let (update, context) = cv.0.pop_fun();
      let mut last = Val::Null;
      for value in update.run((context, cv.1)) {
        match value {
          Ok(value) => last = value,
          Err(e) => return box_once(Err(e)),
        }
      }
      box_once(Ok(last))
    }),
    ("_offloop_tick", v(0), |cv| {
      cv.0.data().guard.tick();
      box_once(Ok(cv.1))
    }),
    ("_offloop_halt_error", v(1), |mut cv| {
      let code = cv.0.pop_var();
      let message = value::text::to_text(&cv.1);
      *cv.0.data().guard.halt_message.borrow_mut() = Some(message);
      let code = match code {
        Val::Num(n) if n.value().fract() == 0.0 => n.as_int(),
        _ => 5,
      };
      box_once(Err(Exn::halt(code)))
    }),
  ])
}

/// Programs compiled lately, most recent first: `jq(filter, ...)` called again with the same
/// filter (a server's usual pattern) skips compiling, which costs about half a millisecond.
const CACHED_PROGRAMS: usize = 32;

/// `compile`, through a small cache of recent programs.
///
/// The cache is only tried, never waited for: the JS thread (`compileJq`) and the pool's threads
/// (`jq`) share it, and a pool thread runs in `SCHED_IDLE`, so one preempted while holding the lock
/// kept the JS thread asleep for up to 3.3 s on a saturated machine (benchmark/NOTES.md). When the
/// lock is busy, compiling again (about half a millisecond) is the cheaper wait.
pub fn compile_cached(code: &str) -> Result<Arc<Program>> {
  static CACHE: Mutex<Vec<Arc<Program>>> = Mutex::new(Vec::new());
  let lock = || match CACHE.try_lock() {
    Ok(cache) => Some(cache),
    Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
    Err(TryLockError::WouldBlock) => None,
  };
  if let Some(mut cache) = lock() {
    if let Some(i) = cache.iter().position(|p| p.code == code) {
      let program = cache.remove(i);
      cache.insert(0, program.clone());
      return Ok(program);
    }
  }
  let program = Arc::new(compile(code)?);
  if let Some(mut cache) = lock() {
    cache.insert(0, program.clone());
    cache.truncate(CACHED_PROGRAMS);
  }
  Ok(program)
}

/// Compiles `code`. Variables it uses without binding them become globals (`Program::globals`).
/// The program runs as `rewrite` gives it to jaq (jq syntax jaq lacks, rewritten); offsets in
/// errors and globals are the program's own.
///
/// Safe for any text, on any thread: a program nested deeper than `nesting::MAX_DEPTH` (before or
/// after the rewrite) is rejected before anything recursive reads it, and the rest compile on a
/// stack sized for their depth.
pub fn compile(code: &str) -> Result<Program> {
  let measured = nesting::measure(code).map_err(|e| compile_error(code, &e.message(), e.offset))?;
  let depth = measured.depth;
  // The rewrite recurses as deep as the program nests: it runs on the stack sized for that too.
  nesting::with_stack_for(depth, || {
    let rewritten =
      rewrite::rewrite(code).map_err(|refused| compile_error(code, &refused.message(), refused.offset()))?;
    if measured.code_bytes > MAX_PROGRAM_BYTES {
      let message = format!(
        "program of {} bytes outside strings and comments, more than {MAX_PROGRAM_BYTES}; offloop limits \
         programs so that compiling fits in bounded memory (pass data in vars)",
        measured.code_bytes
      );
      return Err(compile_error(code, &message, 0));
    }
    let depth = if rewritten.code == code {
      depth
    } else {
      let rewritten_depth =
        nesting::depth(&rewritten.code).map_err(|e| compile_error(code, &e.message(), rewritten.original(e.offset)))?;
      depth.max(rewritten_depth)
    };
    nesting::with_stack_for(depth, || compile_rewritten(code, &rewritten, depth))
  })
}

/// The longest program compiled, not counting its string literals and comments (which cost little
/// to compile): 1 MiB. Compiling took up to about 250 bytes of memory per byte of program and a
/// second per MB (fuzzing found a 16 MB program that took 1.8 GB and 11 s), none of it under a
/// call's `maxMemoryBytes`, so a program of a few hundred MB could exhaust a server's memory.
/// Checked after the nesting and escape limits, which name the cause better.
pub const MAX_PROGRAM_BYTES: usize = 1 << 20;

/// Compiles the rewrite of `code`, `depth` levels deep at most.
fn compile_rewritten(code: &str, rewritten: &rewrite::Rewritten, depth: usize) -> Result<Program> {
  let jaq_code = rewritten.code.as_str();
  // The shape analysis and the fast evaluator keep trees as deep as the program (dropped wherever
  // the program is, the JS thread included) and the evaluator recurses on them unchecked: deep
  // programs go without them.
  let analysed = depth <= nesting::ANALYSED_DEPTH;
  // Before jaq's compiler, which refuses every import before looking at its metadata.
  constant::check(jaq_code).map_err(|refused| {
    let span = rewritten.original(refused.span.start)..rewritten.original(refused.span.end);
    compile_error_spanning(code, &refused.message, span)
  })?;
  let mut globals: Vec<(String, usize)> = Vec::new();
  loop {
    let names: Vec<String> = globals.iter().map(|(name, _)| format!("${name}")).collect();
    match try_compile(jaq_code, &names) {
      Ok(filter) => {
        let names: Vec<String> = globals.iter().map(|(name, _)| name.clone()).collect();
        return Ok(Program {
          filter,
          fast: analysed.then(|| fast::compile(jaq_code, &names)).flatten(),
          globals,
          shape: if analysed {
            Shape::of_program(jaq_code)
          } else {
            Shape::All
          },
          code: code.to_owned(),
        });
      }
      Err(Failure::Undefined(vars)) if !vars.is_empty() => {
        for (name, offset) in vars {
          if !globals.iter().any(|(n, _)| *n == name) {
            globals.push((name, rewritten.original(offset)));
          }
        }
      }
      Err(Failure::Undefined(_)) => unreachable!("a failure names its cause"),
      Err(Failure::Error(message, span)) => {
        let span = rewritten.original(span.start)..rewritten.original(span.end);
        return Err(compile_error_spanning(code, &message, span));
      }
    }
  }
}

enum Failure {
  /// Only undefined variables (name without `$`, offset).
  Undefined(Vec<(String, usize)>),
  /// Anything else: the first message and the bytes it is about.
  Error(String, Range<usize>),
}

/// The definition that holds the program, in jq's order of evaluation, when it parses alone.
const MAIN: &str = "_offloop_main";

/// `code` compiled in jq's order of evaluation. A program that fails to compile is compiled again
/// as it is written, for its errors: jaq reports the first it meets, and in jq's order that would
/// be the right operand's undefined name rather than the leftmost, which jq names first.
fn try_compile(code: &str, globals: &[String]) -> std::result::Result<jaq_core::Filter<Kind>, Failure> {
  compile_in(code, globals, true).or_else(|_| compile_in(code, globals, false))
}

fn compile_in(code: &str, globals: &[String], jq_order: bool) -> std::result::Result<jaq_core::Filter<Kind>, Failure> {
  let arena = Arena::default();
  let offset = |part: &str| load::span(code, part).start;
  let at = |part: &str| offset(part)..offset(part);
  // The program, in jq's order (`order`), becomes the last definition of the prelude, and the
  // main module only calls it: jaq's loader takes no syntax tree but the prelude's. A program that
  // does not parse as one term (a syntax error, a module directive) is loaded as it is, for the
  // loader's errors. Names in the tree still point into `code`, for the compiler's errors.
  let main = jq_order
    .then(|| load::parse(code, |p| p.term()))
    .flatten()
    .map(|term| Def {
      name: MAIN,
      args: Vec::new(),
      body: order::jq_order(term),
    });
  let main_code = if main.is_some() { MAIN } else { code };
  let prelude = defs().map(|def| -> Def<&str> { def }).chain(main);
  let modules = Loader::new(prelude)
    .load(
      &arena,
      File {
        code: main_code,
        path: (),
      },
    )
    .map_err(|errors| {
      let (_, error) = errors.into_iter().next().expect("a failed load has an error");
      let (message, span) = match error {
        load::Error::Lex(mut e) => match e.remove(0) {
          // jq's lexer hands the escape to its JSON parser, as a string of its own.
          (lex::Expect::Escape, found) if !found.is_empty() && code[..offset(found)].ends_with('\\') => {
            let escape = &code[offset(found) - 1..offset(found) + found.chars().next().map_or(0, char::len_utf8)];
            let message = format!("Invalid escape at line 1, column 4 (while parsing '\"{escape}\"')");
            (message, load::span(code, escape))
          }
          (expected, found) => (expected_message(expected.as_str(), found), at(found)),
        },
        load::Error::Parse(mut e) => match e.remove(0) {
          (parse::Expect::Key, found) if unparenthesized_key(&code[offset(found)..]).is_some() => {
            let key = unparenthesized_key(&code[offset(found)..]).expect("a key");
            let message = "May need parentheses around object key expression".to_owned();
            (message, load::span(code, key))
          }
          (expected, found) => (expected_message(expected.as_str(), found), at(found)),
        },
        load::Error::Io(mut e) => {
          let (path, _) = e.remove(0);
          ("modules cannot be imported".to_owned(), at(path))
        }
      };
      Failure::Error(message, span)
    })?;
  load::import(&modules, |_| Err("modules cannot be imported".into()))
    .map_err(|_| Failure::Error("modules cannot be imported".to_owned(), 0..0))?;
  Compiler::default()
    .with_funs(funs())
    .with_global_vars(globals.iter().map(String::as_str))
    .compile(modules)
    .map_err(|errors| {
      let errors: Vec<(&str, compile::Undefined)> = errors.into_iter().flat_map(|(_, e)| e).collect();
      if errors.iter().all(|(_, kind)| matches!(kind, compile::Undefined::Var)) {
        return Failure::Undefined(
          errors
            .iter()
            .map(|(name, _)| (name.trim_start_matches('$').to_owned(), offset(name)))
            .collect(),
        );
      }
      let (name, kind) = errors
        .into_iter()
        .find(|(_, kind)| !matches!(kind, compile::Undefined::Var))
        .expect("a non-variable error exists");
      match kind {
        compile::Undefined::Filter(arity) => Failure::Error(format!("undefined filter {name}/{arity}"), at(name)),
        // jq's words, and its span: the whole `break $name`.
        compile::Undefined::Label => {
          let before = code[..offset(name)].trim_end();
          let start = before.strip_suffix("break").map_or(offset(name), str::len);
          let message = format!("$*label-{} is not defined", name.trim_start_matches('$'));
          Failure::Error(message, start..load::span(code, name).end)
        }
        other => Failure::Error(format!("undefined {} {name}", other.as_str()), at(name)),
      }
    })
}

/// An object key jq's grammar takes for an expression that needs parentheses (`{1+2: 3}`): the
/// text of `rest` up to a `:`, when it holds no other part of the object.
fn unparenthesized_key(rest: &str) -> Option<&str> {
  let key = &rest[..rest.find(':')?];
  let key = key.trim_end();
  (!key.is_empty() && !key.contains([',', '{', '}', '(', ')', '"', '|', ';'])).then_some(key)
}

fn expected_message(expected: &str, found: &str) -> String {
  match found.chars().next() {
    None => format!("expected {expected}, found end of program"),
    Some(c) => format!("expected {expected}, found {c:?}"),
  }
}

/// `ERR_JQ_COMPILE` at a byte offset of the program.
pub fn compile_error(code: &str, message: &str, offset: usize) -> OffloopError {
  compile_error_spanning(code, message, offset..offset)
}

/// Lines of a program longer than this are left out of compile errors.
const MAX_QUOTED_LINE: usize = 1024;

/// `ERR_JQ_COMPILE` about the bytes `span` of the program, laid out as jq 1.8 prints compile
/// errors: `jq: error: MESSAGE at <top-level>, line L, column C:`, then the line of the program
/// with the span underlined by carets (at least one).
pub fn compile_error_spanning(code: &str, message: &str, span: Range<usize>) -> OffloopError {
  let mut start = span.start.min(code.len());
  while !code.is_char_boundary(start) {
    start -= 1;
  }
  let (line, column) = line_column(code.as_bytes(), start);
  let mut text = format!("jq: error: {message} at <top-level>, line {line}, column {column}:");
  let line_start = code[..start].rfind('\n').map_or(0, |i| i + 1);
  let line_end = code[start..].find('\n').map_or(code.len(), |i| start + i);
  let quoted = &code[line_start..line_end];
  if quoted.len() <= MAX_QUOTED_LINE {
    let end = span.end.clamp(start, line_end);
    let underlined = code.get(start..end).map_or(0, |s| s.chars().count()).max(1);
    let indent = code[line_start..start].chars().count();
    text.push_str(&format!(
      "\n    {quoted}\n    {}{}",
      " ".repeat(indent),
      "^".repeat(underlined)
    ));
  }
  OffloopError::error("ERR_JQ_COMPILE", text)
    .with_integer_property("line", line as i64)
    .with_integer_property("column", column as i64)
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn compiles_and_finds_globals() {
    let program = compile(".a + $x | . + $y | [$x]").unwrap();
    let names: Vec<&str> = program.globals.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["x", "y"]);
    assert_eq!(program.globals[0].1, 5);
    assert!(compile(". as $x | $x").unwrap().globals.is_empty());
  }

  fn error(code: &str) -> OffloopError {
    compile(code).err().expect("a compile error")
  }

  /// Messages as jq 1.8.2 prints them (its test suite, tests/jq.test, expects these).
  #[test]
  fn lays_out_messages_as_jq() {
    for (program, message) in [
      ("{(0):1}", "Cannot use number (0) as object key at <top-level>, line 1, column 3:\n    {(0):1}\n      ^"),
      (
        ". as {(true):$foo} | $foo",
        "Cannot use boolean (true) as object key at <top-level>, line 1, column 8:\n    . as {(true):$foo} | $foo\n           ^^^^",
      ),
      (
        ". as $foo | break $foo",
        "$*label-foo is not defined at <top-level>, line 1, column 13:\n    . as $foo | break $foo\n                ^^^^^^^^^^",
      ),
      (
        r#""u\vw""#,
        "Invalid escape at line 1, column 4 (while parsing '\"\\v\"') at <top-level>, line 1, column 3:\n    \"u\\vw\"\n      ^^",
      ),
      (
        "{1+2:3}",
        "May need parentheses around object key expression at <top-level>, line 1, column 2:\n    {1+2:3}\n     ^^^",
      ),
      (
        "module (.+1); 0",
        "Module metadata must be constant at <top-level>, line 1, column 8:\n    module (.+1); 0\n           ^^^^^",
      ),
      (
        r#"include "a" []; 0"#,
        "Module metadata must be an object at <top-level>, line 1, column 13:\n    include \"a\" []; 0\n                ^^",
      ),
      (
        r#"include "\(a)"; 0"#,
        "Import path must be constant at <top-level>, line 1, column 9:\n    include \"\\(a)\"; 0\n            ^^^^^^",
      ),
      ("1 as $x | 2 |\n{(0):1}", "Cannot use number (0) as object key at <top-level>, line 2, column 3:\n    {(0):1}\n      ^"),
    ] {
      assert_eq!(error(program).message, format!("jq: error: {message}"), "{program}");
    }
    // After characters of several bytes: columns and carets count characters, as `line` and
    // `column` do (jq 1.8.2 counts bytes: column 4 and column 10 here).
    assert_eq!(
      error(r#""é\q""#).message,
      "jq: error: Invalid escape at line 1, column 4 (while parsing '\"\\q\"') at <top-level>, line 1, column 3:\n    \"é\\q\"\n      ^^"
    );
    assert_eq!(
      error("\"é\" | {(0):1}").message,
      "jq: error: Cannot use number (0) as object key at <top-level>, line 1, column 9:\n    \"é\" | {(0):1}\n            ^"
    );
    // A long line is left out.
    let long = format!("{} | {{(0):1}}", ". | ".repeat(1000));
    assert!(!error(&long).message.contains('\n'));
  }

  /// jq names the leftmost undefined name first; compiled in jq's order, jaq met the right
  /// operand's first.
  #[test]
  fn names_the_leftmost_undefined_name() {
    for (program, first) in [
      ("[foo - bar]", "undefined filter foo/0 at <top-level>, line 1, column 2"),
      (r#""\(foo)\(bar)""#, "undefined filter foo/0"),
      (".[foo] + .[bar]", "undefined filter foo/0"),
      ("[break $a] + [break $b]", "$*label-a is not defined"),
    ] {
      let message = error(program).message;
      assert!(message.contains(first), "{program}: {message}");
    }
  }

  #[test]
  fn reports_positions() {
    let e = error(".a |\n  (1 + ");
    assert_eq!(e.code, "ERR_JQ_COMPILE");
    assert!(e.message.contains("line 2"), "{}", e.message);
    let e = error("nosuchfilter(1)");
    assert!(e.message.contains("undefined filter nosuchfilter/1"), "{}", e.message);
    assert!(e.message.contains("column 1"), "{}", e.message);
    for program in [
      "env",
      "$ENV | 1 | env",
      "input",
      "inputs",
      "import \"a\" as a; 1",
      "include \"a\"; 1",
    ] {
      error(program);
    }
  }
}
