//! Compiling any jq program, however deeply nested, long or large its literals (structure-aware,
//! `generate`), gives a program or `ERR_JQ_COMPILE`, never a crash, on a stack as small as a
//! thread's may be: compiling switches to a stack sized for the program's depth.
#![no_main]

mod generate;

use libfuzzer_sys::arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use offloop::json::program::compile;

fuzz_target!(|data: &[u8]| {
  let code = generate::program(&mut Unstructured::new(data));
  let compiled = std::thread::Builder::new()
    .stack_size(256 << 10)
    .spawn(move || compile(&code))
    .expect("a thread")
    .join()
    .expect("compiling does not panic");
  if let Err(e) = compiled {
    assert_eq!(e.code, "ERR_JQ_COMPILE", "{e:?}");
  }
});
