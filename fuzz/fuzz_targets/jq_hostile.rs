//! Any program over any input (structure-aware, `generate`: nesting and chains up to 10^6, huge
//! literals, inputs 10^6 deep) ends in outputs or a coded error — never a panic, a crash or an
//! abort of the process — within the call's memory budget, and stops soon after it is aborted:
//! every run is aborted after one second and must stop within three more (ASan's slowness
//! included). All the memory a run built is freed when it ends.
#![no_main]

mod generate;

use std::sync::{mpsc, Once};
use std::time::Duration;

use bytes::Bytes;
use libfuzzer_sys::arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use offloop::json::program::compile;
use offloop::json::run::{run, Format, Globals, RunOptions, Text};
use offloop::runtime::memory::{Budget, FLUSH};
use offloop::runtime::Cancel;

/// The budget of each run: far below libFuzzer's 2 GiB RSS limit, which a run that escaped its
/// budget would reach.
const BUDGET: usize = 256 << 20;

const CODES: [&str; 6] = [
  "ERR_JQ_COMPILE",
  "ERR_JSON_PARSE",
  "ERR_JQ_RUNTIME",
  "ERR_JQ_OUTPUT_LIMIT",
  "ERR_JQ_MEMORY_LIMIT",
  "ABORT_ERR",
];

/// Allocations made once per process (the standard library's parsed definitions, Rayon's
/// threads), made before any run so that no run's budget is charged for them.
fn warm_up() {
  static WARM: Once = Once::new();
  WARM.call_once(|| {
    let program = compile(".").expect("compiles");
    let globals = Globals::new(&program, None).expect("no globals");
    let options = RunOptions {
      ndjson: true,
      format: Format::Lines { raw: false },
      max_output: 1 << 20,
      max_depth: 254,
    };
    let input = Bytes::from("1\n".repeat(100_000));
    run(&program, &globals, Text::shared(&input), &options, &Cancel::default()).expect("runs");
  });
}

fuzz_target!(|data: &[u8]| {
  warm_up();
  let mut u = Unstructured::new(data);
  let code = generate::program(&mut u);
  let input = Bytes::from(generate::json(&mut u));
  let options = RunOptions {
    ndjson: u.arbitrary().unwrap_or(false),
    format: match u.int_in_range(0..=2).unwrap_or(0) {
      0 => Format::Lines { raw: false },
      1 => Format::Lines { raw: true },
      _ => Format::Array,
    },
    max_output: *u.choose(&[0, 1 << 10, 1 << 20, 64 << 20]).unwrap_or(&(1 << 20)),
    max_depth: u.int_in_range(1..=254).unwrap_or(254),
  };
  let budget = Budget::new(BUDGET);
  // For the watchdog's message, made outside the budget: memory another thread frees is not the
  // run's to give back.
  let head: String = code.chars().take(300).collect();
  {
    let _scope = budget.enter();
    // Compiling takes time linear in the program and is not aborted (jq_compile covers it): the
    // deadline starts with the run.
    let outcome = compile(&code).and_then(|program| {
      let globals = Globals::new(&program, Some(r#"{"x": [1, {"a": "b"}], "a": 2}"#))?;
      let cancel = Cancel::for_test();
      let (done, finished) = mpsc::channel::<()>();
      let watchdog = {
        let cancel = cancel.clone();
        let head = head.clone();
        std::thread::spawn(move || {
          if finished.recv_timeout(Duration::from_secs(1)).is_err() {
            cancel.abort_for_test();
            if finished.recv_timeout(Duration::from_secs(3)).is_err() {
              eprintln!("the run went on for 3 s after its abort: {head}");
              std::process::abort();
            }
          }
        })
      };
      let ran = run(&program, &globals, Text::shared(&input), &options, &cancel);
      let _ = done.send(());
      watchdog.join().expect("the watchdog does not panic");
      ran
    });
    if let Err(e) = outcome {
      assert!(CODES.contains(&e.code.as_ref()), "{e:?}");
    }
  }
  // Memory is freed: what the run still holds is at most what the threads had not yet charged.
  let threads = rayon::current_num_threads() as isize + 1;
  assert!(
    budget.used() < threads * FLUSH as isize,
    "{} bytes still held after the run of {head}",
    budget.used()
  );
});
