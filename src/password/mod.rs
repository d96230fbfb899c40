//! Password hashing: argon2 (hash, verify, rehash checks) and legacy bcrypt verification.
//!
//! `stored` reads the hash strings, `argon2` and `bcrypt` compute, `exports` is the thin `#[napi]`
//! layer. Nothing here touches N-API, so `cargo test` covers all of it.

pub mod argon2;
pub mod bcrypt;
// Reached only through napi-rs's registration of its `#[napi]` items, which test builds leave out.
#[cfg_attr(test, allow(dead_code))]
mod exports;
pub mod stored;

use zeroize::Zeroizing;

use crate::runtime::Result;
pub use stored::{CostLimits, StoredHash};

/// Bytes that are wiped when dropped: passwords, secrets.
pub type Secret = Zeroizing<Vec<u8>>;

/// Verifies `password` against a stored argon2 or bcrypt hash.
///
/// The stored cost is checked against `limits` before any work, so a planted hash with a huge
/// memory or time cost cannot exhaust the server. The tag comparison is constant-time.
pub fn verify(hash: &str, password: &[u8], secret: &[u8], limits: &CostLimits) -> Result<bool> {
  match StoredHash::parse(hash)? {
    StoredHash::Argon2(stored) => {
      limits.check_argon2(&stored)?;
      argon2::verify(&stored, password, secret)
    }
    StoredHash::Bcrypt(stored) => {
      limits.check_bcrypt(&stored)?;
      bcrypt::verify(&stored, password)
    }
  }
}
