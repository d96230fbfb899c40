//! Exports that exist only in builds with the `test-hooks` feature: a jq run with the reader's
//! pruning and the fast evaluator each on or off, so the JS tests can compare a program's outputs
//! and errors on pruned input with the same program on fully built values through jaq alone.

use bytes::Bytes;
use napi::Env;
use napi_derive::napi;

use super::program;
use super::read::MAX_DEPTH;
use super::run::{self, Format, Globals, RunOptions, Text};
use super::shape::Shape;
use crate::runtime::{sync, Cancel};

/// Runs `program` over `input` (JSON documents, or NDJSON lines if `ndjson`) on the calling
/// thread with `vars` (JSON text of an object), returning the outputs as `jq()` does. Without
/// `prune` every input is built whole (`Shape::All`); without `fast` every input runs through jaq.
#[napi]
pub fn test_jq_run(
  env: &Env,
  program: String,
  input: String,
  vars: Option<String>,
  ndjson: bool,
  prune: bool,
  fast: bool,
) -> napi::Result<String> {
  sync(env, || {
    let mut program = program::compile(&program)?;
    if !prune {
      program.shape = Shape::All;
    }
    if !fast {
      program.fast = None;
    }
    let globals = Globals::new(&program, vars.as_deref())?;
    let options = RunOptions {
      ndjson,
      format: Format::Lines { raw: false },
      max_output: 1 << 24,
      max_depth: MAX_DEPTH,
    };
    let input = Bytes::from(input);
    let output = run::run(&program, &globals, Text::shared(&input), &options, &Cancel::default())?;
    Ok(String::from_utf8_lossy(&output.text).into_owned())
  })
}
