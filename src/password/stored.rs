//! Reading stored password hashes: PHC argon2 strings and modular-crypt bcrypt strings.

use argon2_rust::{decode_phc, Algorithm, Version};

use crate::runtime::{OffloopError, Result};

/// The longest hash string we read. A PHC string with a 64-byte salt, a 1 KiB tag and some
/// associated data fits many times over; anything longer is not a hash.
pub const MAX_HASH_LENGTH: usize = 8192;

/// A parsed argon2 PHC string, parameters in any order (node-argon2 writes `m,p,t`), `data=` kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Argon2Hash {
  pub algorithm: Algorithm,
  pub version: Version,
  pub memory_cost: u32,
  pub time_cost: u32,
  pub parallelism: u32,
  pub salt: Vec<u8>,
  pub tag: Vec<u8>,
  pub associated_data: Vec<u8>,
}

/// A parsed `$2a$`, `$2b$` or `$2y$` bcrypt string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BcryptHash {
  pub cost: u32,
  /// The whole string, handed to the bcrypt crate to recompute and compare.
  pub encoded: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoredHash {
  Argon2(Argon2Hash),
  Bcrypt(BcryptHash),
}

/// The most a stored hash may cost before verify refuses to run it (`ERR_HASH_COST_LIMIT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CostLimits {
  /// KiB; default 1 GiB.
  pub max_memory_cost: u32,
  pub max_time_cost: u32,
  pub max_bcrypt_cost: u32,
}

impl Default for CostLimits {
  fn default() -> Self {
    CostLimits {
      max_memory_cost: 1024 * 1024,
      max_time_cost: 64,
      max_bcrypt_cost: 16,
    }
  }
}

fn invalid_hash(why: &str) -> OffloopError {
  // The hash itself is never quoted: it is a credential.
  OffloopError::error(
    "ERR_INVALID_HASH",
    format!("The hash is not a valid argon2 or bcrypt hash: {why}"),
  )
}

fn cost_limit(what: &str, found: u64, limit: u64, option: &str) -> OffloopError {
  OffloopError::error(
    "ERR_HASH_COST_LIMIT",
    format!("The stored hash's {what} ({found}) exceeds the limit ({limit}); raise options.{option} if you trust it"),
  )
}

impl CostLimits {
  pub fn check_argon2(&self, hash: &Argon2Hash) -> Result<()> {
    if hash.memory_cost > self.max_memory_cost {
      return Err(cost_limit(
        "memory cost in KiB",
        hash.memory_cost.into(),
        self.max_memory_cost.into(),
        "maxMemoryCost",
      ));
    }
    if hash.time_cost > self.max_time_cost {
      return Err(cost_limit(
        "time cost",
        hash.time_cost.into(),
        self.max_time_cost.into(),
        "maxTimeCost",
      ));
    }
    Ok(())
  }

  pub fn check_bcrypt(&self, hash: &BcryptHash) -> Result<()> {
    if hash.cost > self.max_bcrypt_cost {
      return Err(cost_limit(
        "bcrypt cost",
        hash.cost.into(),
        self.max_bcrypt_cost.into(),
        "maxBcryptCost",
      ));
    }
    Ok(())
  }
}

impl StoredHash {
  pub fn parse(hash: &str) -> Result<StoredHash> {
    if hash.len() > MAX_HASH_LENGTH {
      return Err(invalid_hash(&format!("longer than {MAX_HASH_LENGTH} characters")));
    }
    if hash.starts_with("$argon2") {
      parse_argon2(hash).map(StoredHash::Argon2)
    } else if hash.starts_with("$2") {
      parse_bcrypt(hash).map(StoredHash::Bcrypt)
    } else {
      Err(invalid_hash("it starts with neither $argon2 nor $2a$/$2b$/$2y$"))
    }
  }
}

fn parse_argon2(hash: &str) -> Result<Argon2Hash> {
  let decoded = decode_phc(hash).map_err(|e| invalid_hash(&format!("{e:?}")))?;
  Ok(Argon2Hash {
    algorithm: decoded.algorithm,
    version: decoded.version,
    memory_cost: decoded.params.memory_kib(),
    time_cost: decoded.params.passes(),
    parallelism: decoded.params.lanes(),
    salt: decoded.salt,
    tag: decoded.hash,
    associated_data: decoded.ad,
  })
}

/// Strict modular-crypt form: `$2a$`, `$2b$` or `$2y$` (PHP), a two-digit cost 04–31, then 22 salt
/// and 31 hash characters of bcrypt's base64 alphabet. `$2x$` (a buggy-implementation marker) is
/// refused rather than silently verified with the fixed algorithm.
fn parse_bcrypt(hash: &str) -> Result<BcryptHash> {
  let bytes = hash.as_bytes();
  if bytes.len() != 60 || !matches!(&bytes[..4], b"$2a$" | b"$2b$" | b"$2y$") || bytes[6] != b'$' {
    return Err(invalid_hash(
      "a bcrypt hash is 60 characters: $2a$, $2b$ or $2y$, a two-digit cost, $, 53 characters",
    ));
  }
  let cost = std::str::from_utf8(&bytes[4..6])
    .ok()
    .filter(|c| c.bytes().all(|b| b.is_ascii_digit()))
    .and_then(|c| c.parse::<u32>().ok())
    .filter(|c| (4..=31).contains(c))
    .ok_or_else(|| invalid_hash("the bcrypt cost must be two digits from 04 to 31"))?;
  if !bytes[7..]
    .iter()
    .all(|b| b.is_ascii_alphanumeric() || *b == b'.' || *b == b'/')
  {
    return Err(invalid_hash(
      "the bcrypt salt and hash use characters outside bcrypt's base64 alphabet",
    ));
  }
  Ok(BcryptHash {
    cost,
    encoded: hash.to_owned(),
  })
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn reads_node_argon2_parameter_order_and_data() {
    // node-argon2 / @phc/format write m,p,t and may carry data=.
    let h = "$argon2id$v=19$m=64,p=1,t=1$c29tZXNhbHQ$cpx6VEQbwTVZvcpxNIxOVUWZ5xnAipUmAe1cg2GMG70";
    let StoredHash::Argon2(a) = StoredHash::parse(h).unwrap() else {
      panic!()
    };
    assert_eq!((a.memory_cost, a.time_cost, a.parallelism), (64, 1, 1));
    assert_eq!(a.salt, b"somesalt");
    assert_eq!(a.version, Version::V0x13);
  }

  #[test]
  fn reads_bcrypt_variants_and_refuses_malformed_ones() {
    for prefix in ["$2a$", "$2b$", "$2y$"] {
      let h = format!("{prefix}10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy");
      let StoredHash::Bcrypt(b) = StoredHash::parse(&h).unwrap() else {
        panic!()
      };
      assert_eq!(b.cost, 10);
    }
    for bad in [
      "",
      "$2x$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
      "$2b$1$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWyy",
      "$2b$99$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
      "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhW",
      "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lh!y",
      "$argon2id$v=19$m=64,t=1$c29tZXNhbHQ$cpx6VEQbwTVZvcpxNIxOVUWZ5xnAipUmAe1cg2GMG70",
      "$argon2id$v=19$m=64,t=1,p=1$!!!$cpx6VEQbwTVZvcpxNIxOVUWZ5xnAipUmAe1cg2GMG70",
      "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ",
      "plain text",
    ] {
      let err = StoredHash::parse(bad).unwrap_err();
      assert_eq!(err.code, "ERR_INVALID_HASH", "{bad}");
      assert!(
        bad.len() < 8 || !err.message.contains(&bad[8..]),
        "message quotes the hash: {}",
        err.message
      );
    }
    assert_eq!(
      StoredHash::parse(&"$".repeat(MAX_HASH_LENGTH + 1)).unwrap_err().code,
      "ERR_INVALID_HASH"
    );
  }

  /// The always-on short version of `fuzz/fuzz_targets/password_hash.rs` (no coverage guidance):
  /// byte-level mutations of valid hashes only ever parse or fail with `ERR_INVALID_HASH`.
  #[test]
  fn mutated_hashes_never_panic() {
    let seeds = [
      "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$cpx6VEQbwTVZvcpxNIxOVUWZ5xnAipUmAe1cg2GMG70",
      "$argon2i$v=19$m=64,p=1,t=2,data=dXNlcg$c29tZXNhbHQ$cpx6VEQbwTVZvcpxNIxOVUWZ5xnA",
      "$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
    ];
    let seeds = seeds.map(str::as_bytes);
    for bytes in crate::runtime::mutate::mutations(&seeds, b"$,=0123456789abmptvdyz+/.", 4, 30_000) {
      let text = String::from_utf8(bytes).unwrap();
      if let Err(e) = StoredHash::parse(&text) {
        assert_eq!(e.code, "ERR_INVALID_HASH", "{text}");
      }
    }
  }

  #[test]
  fn cost_limits_refuse_before_work() {
    let h = "$argon2id$v=19$m=4194304,t=1,p=1$c29tZXNhbHQ$cpx6VEQbwTVZvcpxNIxOVUWZ5xnAipUmAe1cg2GMG70";
    let StoredHash::Argon2(a) = StoredHash::parse(h).unwrap() else {
      panic!()
    };
    let err = CostLimits::default().check_argon2(&a).unwrap_err();
    assert_eq!(err.code, "ERR_HASH_COST_LIMIT");
    assert!(err.message.contains("maxMemoryCost"));
    let b = BcryptHash {
      cost: 31,
      encoded: String::new(),
    };
    assert_eq!(
      CostLimits::default().check_bcrypt(&b).unwrap_err().code,
      "ERR_HASH_COST_LIMIT"
    );
  }
}
