//! Legacy bcrypt verification, the migration path off bcrypt, bcryptjs and PHP's `password_hash`.
//! offloop does not create bcrypt hashes: `needsRehash` is true for every one of them.

use super::stored::BcryptHash;
use crate::runtime::{OffloopError, Result};

/// Recomputes the hash with the stored salt and cost and compares in constant time (the bcrypt
/// crate uses `subtle`). Like every bcrypt, only the first 72 bytes of the password count.
pub fn verify(hash: &BcryptHash, password: &[u8]) -> Result<bool> {
  // `$2y$` (PHP) and `$2a$` differ from `$2b$` only in name for valid UTF-8 passwords; the crate
  // accepts all three. Its error text quotes the hash, so it is replaced, not passed on.
  ::bcrypt::verify(password, &hash.encoded)
    .map_err(|_| OffloopError::error("ERR_INVALID_HASH", "The hash is not a valid bcrypt hash"))
}

#[cfg(test)]
mod tests {
  use super::super::stored::StoredHash;
  use super::*;

  fn parse(h: &str) -> BcryptHash {
    match StoredHash::parse(h).unwrap() {
      StoredHash::Bcrypt(b) => b,
      _ => panic!(),
    }
  }

  #[test]
  fn verifies_known_hashes_of_every_prefix() {
    // OpenBSD's test vector: "U*U" at cost 5, and the same with the $2y$ and $2a$ prefixes.
    for prefix in ["$2a$", "$2b$", "$2y$"] {
      let h = parse(&format!(
        "{prefix}05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"
      ));
      assert!(verify(&h, b"U*U").unwrap(), "{prefix}");
      assert!(!verify(&h, b"U*V").unwrap(), "{prefix}");
    }
  }
}
