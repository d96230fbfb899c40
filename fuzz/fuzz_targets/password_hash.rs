//! Stored password hashes come from databases and, on a login endpoint, may be planted: parsing any
//! string must return a hash or `ERR_INVALID_HASH`, never panic. Parsed hashes go through the cost
//! check, and the cheap ones are verified, so the whole verify path sees hostile input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use offloop::password::{self, CostLimits, StoredHash};

fuzz_target!(|data: &[u8]| {
  let Ok(text) = std::str::from_utf8(data) else { return };
  match StoredHash::parse(text) {
    Ok(_) => {
      // Tight limits keep each run fast; the point is the path, not the cost.
      let limits = CostLimits {
        max_memory_cost: 64,
        max_time_cost: 2,
        max_bcrypt_cost: 5,
      };
      let _ = password::verify(text, b"password", b"", &limits);
    }
    Err(e) => assert_eq!(e.code, "ERR_INVALID_HASH"),
  }
});
