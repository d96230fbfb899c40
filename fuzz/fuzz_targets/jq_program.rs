//! jq programs may come from users: compiling any text (and analysing it for the reader and the
//! fast evaluator) must give a program or `ERR_JQ_COMPILE`, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use offloop::json::program::compile;

fuzz_target!(|data: &[u8]| {
  let Ok(code) = std::str::from_utf8(data) else { return };
  if let Err(e) = compile(code) {
    assert_eq!(e.code, "ERR_JQ_COMPILE", "{e:?}");
  }
});
