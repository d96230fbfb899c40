//! JSON input comes from clients: any bytes, as one document stream or as NDJSON, must give
//! outputs or `ERR_JSON_PARSE` / `ERR_JQ_RUNTIME`, never a panic. Programs the fast evaluator runs
//! are also run through jaq alone: both must produce the same outputs and errors. The strict reader
//! accepts exactly the texts serde_json accepts (`read.rs`'s tests compare the values too).
#![no_main]

use std::sync::OnceLock;

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use offloop::json::program::{compile, Program};
use offloop::json::read::{parse_one, ReadOptions, Vals, MAX_DEPTH};
use offloop::json::shape::Shape;
use offloop::json::run::{run, Format, Globals, RunOptions, Text};
use offloop::runtime::Cancel;

const PROGRAMS: &[&str] = &[
  ".",
  "select(.a > 1 or .b == \"x\") | {a, c: .b.c?, d: (.a + 1)}",
  "[.[]?] | length",
  ".a // .b | tostring",
  "if .a then .b[0]? else \"\\(.c) \\(.d)\" end",
  "keys?",
  "paths?",
];

fn outputs(program: &Program, input: &Bytes, ndjson: bool) -> Result<String, String> {
  let options = RunOptions {
    ndjson,
    format: Format::Lines { raw: ndjson },
    max_output: 1 << 16,
    max_depth: MAX_DEPTH,
  };
  let globals = Globals::new(program, None).unwrap();
  // The compiled program reads the bytes borrowed (as from a shared JS buffer), jaq alone from a
  // shared buffer: both ways of holding the input are exercised.
  let text = if program.fast.is_some() { Text::borrowed(input) } else { Text::shared(input) };
  match run(program, &globals, text, &options, &Cancel::default()) {
    Ok(output) => Ok(String::from_utf8(output.text).expect("outputs are UTF-8")),
    Err(e) => {
      assert!(
        ["ERR_JSON_PARSE", "ERR_JQ_RUNTIME", "ERR_JQ_OUTPUT_LIMIT"].contains(&e.code.as_ref()),
        "{e:?}"
      );
      Err(format!("{} {}", e.code, e.message))
    }
  }
}

/// Each program twice: as compiled, and without its fast evaluator (jaq alone).
fn programs() -> &'static [(Program, Program)] {
  static PROGRAMS_COMPILED: OnceLock<Vec<(Program, Program)>> = OnceLock::new();
  PROGRAMS_COMPILED.get_or_init(|| {
    PROGRAMS
      .iter()
      .map(|code| {
        let mut jaq_only = compile(code).unwrap();
        jaq_only.fast = None;
        (compile(code).unwrap(), jaq_only)
      })
      .collect()
  })
}

fuzz_target!(|data: &[u8]| {
  let input = Bytes::copy_from_slice(data);
  // serde_json stops at 128 levels, the reader at 254: compare where neither limit can apply.
  // Strict RFC 8259 (doubles) reads what serde_json reads; jq's reading (NaN, infinities and
  // numbers beyond the double range, as jq 1.8) takes all of that too.
  if data.iter().filter(|b| matches!(b, b'[' | b'{')).count() <= 128 {
    let strict = ReadOptions {
      doubles: true,
      ..ReadOptions::default()
    };
    let ours = parse_one(Vals(&input), &input, 0..input.len(), &Shape::All, &strict);
    let theirs = serde_json::from_slice::<serde_json::Value>(data);
    assert_eq!(ours.is_ok(), theirs.is_ok(), "ours {ours:?}, serde_json {theirs:?}");
    if ours.is_ok() {
      let jq = parse_one(Vals(&input), &input, 0..input.len(), &Shape::All, &ReadOptions::default());
      assert!(jq.is_ok(), "{jq:?}");
    }
  }
  for (program, jaq_only) in programs() {
    for ndjson in [false, true] {
      let got = outputs(program, &input, ndjson);
      if program.fast.is_some() {
        assert_eq!(got, outputs(jaq_only, &input, ndjson), "{}", program.code);
      }
    }
  }
});
