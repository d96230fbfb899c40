//! jq 1.8.2's answers (src/json/testdata/jq-1.8.2.json, filled in by scripts/jq-oracle.py from
//! PyPI's jq), and the test that runs every value case of it through offloop.

use std::sync::OnceLock;

use bytes::Bytes;

use crate::json::program::{compile, Program};
use crate::json::read::MAX_DEPTH;
use crate::json::run::{run, Format, Globals, RunOptions, Text};
use crate::runtime::Cancel;

/// The test data.
pub fn data() -> &'static serde_json::Value {
  static DATA: OnceLock<serde_json::Value> = OnceLock::new();
  DATA.get_or_init(|| serde_json::from_str(include_str!("../testdata/jq-1.8.2.json")).expect("test data is JSON"))
}

/// What a run gives: its outputs as JSON texts, or the message of the error that ends it
/// (offloop returns nothing of a run that fails, so jq's outputs before an error are not
/// compared).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
  Outputs(Vec<String>),
  Error(String),
}

impl Answer {
  /// An answer as the oracle writes it: `"O<json>"` for each output, `"E<message>"` last if the
  /// program fails.
  pub fn from_oracle(answer: &serde_json::Value) -> Answer {
    let items: Vec<&str> = answer
      .as_array()
      .expect("an answer")
      .iter()
      .map(|item| item.as_str().expect("a string"))
      .collect();
    match items.last().and_then(|last| last.strip_prefix('E')) {
      Some(message) => Answer::Error(message.to_owned()),
      None => Answer::Outputs(items.iter().map(|item| item[1..].to_owned()).collect()),
    }
  }
}

/// What offloop gives for `input` (documents, or NDJSON lines) with `program`.
pub fn answer(program: &Program, input: &str, ndjson: bool, vars: Option<&str>) -> Answer {
  let options = RunOptions {
    ndjson,
    format: Format::Lines { raw: false },
    max_output: 1 << 24,
    max_depth: MAX_DEPTH,
  };
  let result = Globals::new(program, vars).and_then(|globals| {
    let input = Bytes::copy_from_slice(input.as_bytes());
    run(program, &globals, Text::shared(&input), &options, &Cancel::default())
  });
  match result {
    Ok(output) => Answer::Outputs(
      String::from_utf8(output.text)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect(),
    ),
    Err(e) => Answer::Error(e.message),
  }
}

fn offloop(code: &str, input: &str) -> Answer {
  match compile(code) {
    Ok(program) => answer(&program, input, false, None),
    Err(e) => Answer::Error(e.message),
  }
}

/// Every value case gives jq 1.8.2's outputs, or its error message; a case marked `differs`
/// (with the reason) still differs, so that one that comes to agree is noticed.
#[test]
fn agrees_with_jq() {
  let mut failures = Vec::new();
  let mut agreeing = Vec::new();
  let cases = data()["values"].as_array().unwrap();
  for case in cases {
    let (code, input) = (case["program"].as_str().unwrap(), case["input"].as_str().unwrap());
    let want = Answer::from_oracle(&case["answer"]);
    let got = offloop(code, input);
    match (case.get("differs"), got == want) {
      (None, false) => failures.push(format!("{code} on {input}\n  jq:      {want:?}\n  offloop: {got:?}")),
      (Some(_), true) => agreeing.push(code),
      _ => {}
    }
  }
  assert!(
    failures.is_empty(),
    "{} of {} cases differ:\n{}",
    failures.len(),
    cases.len(),
    failures.join("\n")
  );
  assert!(
    agreeing.is_empty(),
    "these now agree with jq (remove `differs`): {agreeing:?}"
  );
}
