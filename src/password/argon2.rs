//! argon2 hashing and verification on argon2-rust, chosen over RustCrypto's `argon2` for its
//! hand-written SIMD compression (AVX-512/AVX2/NEON picked at run time); the benchmark report
//! records the measurement.
//!
//! Each pool thread keeps one `Hasher` whose block arena survives between calls: the mmap and the
//! first-touch page faults of a fresh arena cost about a quarter of a hash at OWASP sizes. Memory is
//! taken when a job runs, never while it waits, so in-flight memory is bounded by the pool's
//! threads, not by the queue. Arenas above `PARKED_ARENA_LIMIT` are released after the call, so an
//! occasional huge verify does not stay resident.

use std::cell::RefCell;

use argon2_rust::params::{Memory, TagLen};
use argon2_rust::{Algorithm, Argon2, Hasher, Params, Version};
use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::stored::{Argon2Hash, StoredHash};
use crate::runtime::{OffloopError, Result};

/// KiB of arena a pool thread keeps between hashes (64 MiB).
const PARKED_ARENA_LIMIT: u32 = 64 * 1024;

/// The parameters of a new hash. Defaults are OWASP's: argon2id, 19 MiB, 2 passes, 1 lane.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HashParams {
  pub algorithm: Algorithm,
  pub memory_cost: u32,
  pub time_cost: u32,
  pub parallelism: u32,
  pub output_length: u32,
}

impl Default for HashParams {
  fn default() -> Self {
    HashParams {
      algorithm: Algorithm::Argon2id,
      memory_cost: 19456,
      time_cost: 2,
      parallelism: 1,
      output_length: 32,
    }
  }
}

/// The salt length drawn from the OS when none is given.
pub const DEFAULT_SALT_LENGTH: usize = 16;

thread_local! {
  static HASHER: RefCell<Option<Hasher>> = const { RefCell::new(None) };
}

fn argon2_error(e: argon2_rust::Error) -> OffloopError {
  match e {
    argon2_rust::Error::MemoryAllocationError => OffloopError::error(
      "ERR_OFFLOOP_OUT_OF_MEMORY",
      "argon2 could not allocate its memory; lower memoryCost",
    ),
    other => OffloopError::error(
      "ERR_INVALID_HASH_PARAMS",
      format!("argon2 refused the parameters: {other:?}"),
    ),
  }
}

/// One argon2 computation on this thread's reusable arena.
fn compute(
  algorithm: Algorithm,
  version: Version,
  params: &HashParams,
  password: &[u8],
  salt: &[u8],
  secret: &[u8],
  associated_data: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
  let built = Params::builder()
    .memory(Memory::kib(params.memory_cost as u64))
    .passes(params.time_cost)
    .lanes(params.parallelism)
    // One thread per hash: the pool's threads are the parallelism; a multi-lane hash spawning its
    // own threads would oversubscribe the cores the pool already fills.
    .threads(1)
    .tag_len(TagLen::bytes(params.output_length as u64))
    .build()
    .map_err(argon2_error)?;
  let argon2 = Argon2::new(algorithm, version, built);
  let mut tag = Zeroizing::new(vec![0u8; params.output_length as usize]);
  HASHER.with(|cell| {
    let mut slot = cell.borrow_mut();
    let hasher = slot.get_or_insert_with(|| argon2.hasher());
    hasher.set_argon2(argon2);
    let result = hasher.hash_into_with_ad(password, salt, secret, associated_data, &mut tag);
    if params.memory_cost > PARKED_ARENA_LIMIT {
      hasher.clear();
    }
    result.map_err(argon2_error)
  })?;
  Ok(tag)
}

/// Hashes a password into a PHC string. `salt` defaults to 16 random bytes from the OS.
pub fn hash(
  password: &[u8],
  params: &HashParams,
  salt: Option<&[u8]>,
  secret: &[u8],
  associated_data: &[u8],
) -> Result<String> {
  let mut random = [0u8; DEFAULT_SALT_LENGTH];
  let salt = match salt {
    Some(salt) => salt,
    None => {
      getrandom::fill(&mut random).map_err(|_| {
        OffloopError::error(
          "ERR_OFFLOOP_RANDOM",
          "the operating system's random number generator failed",
        )
      })?;
      &random
    }
  };
  let tag = compute(
    params.algorithm,
    Version::V0x13,
    params,
    password,
    salt,
    secret,
    associated_data,
  )?;
  Ok(encode(params, salt, &tag, associated_data))
}

/// The PHC string, in the parameter order of the reference implementation (`m,t,p`), with a
/// `data=` parameter for associated data as node-argon2 writes it. Written here because
/// argon2-rust's encoder has no `data=`.
fn encode(params: &HashParams, salt: &[u8], tag: &[u8], associated_data: &[u8]) -> String {
  let data = if associated_data.is_empty() {
    String::new()
  } else {
    format!(",data={}", STANDARD_NO_PAD.encode(associated_data))
  };
  format!(
    "${}$v=19$m={},t={},p={}{data}${}${}",
    params.algorithm.as_str(),
    params.memory_cost,
    params.time_cost,
    params.parallelism,
    STANDARD_NO_PAD.encode(salt),
    STANDARD_NO_PAD.encode(tag)
  )
}

/// Recomputes the tag of a stored hash and compares it in constant time.
pub fn verify(stored: &Argon2Hash, password: &[u8], secret: &[u8]) -> Result<bool> {
  let params = HashParams {
    algorithm: stored.algorithm,
    memory_cost: stored.memory_cost,
    time_cost: stored.time_cost,
    parallelism: stored.parallelism,
    output_length: stored.tag.len() as u32,
  };
  let tag = compute(
    stored.algorithm,
    stored.version,
    &params,
    password,
    &stored.salt,
    secret,
    &stored.associated_data,
  )?;
  Ok(tag.ct_eq(&stored.tag).into())
}

/// True when the stored hash was not made with `target`: another algorithm, version or cost, or
/// bcrypt. A login that verified then re-hashes with `target` and stores the new string.
pub fn needs_rehash(stored: &StoredHash, target: &HashParams) -> bool {
  match stored {
    StoredHash::Bcrypt(_) => true,
    StoredHash::Argon2(h) => {
      h.algorithm != target.algorithm
        || h.version != Version::V0x13
        || h.memory_cost != target.memory_cost
        || h.time_cost != target.time_cost
        || h.parallelism != target.parallelism
        || h.tag.len() != target.output_length as usize
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
  }

  #[test]
  fn rfc9106_argon2id_test_vector() {
    // RFC 9106 §5.3: password 32 x 0x01, salt 16 x 0x02, secret 8 x 0x03, ad 12 x 0x04,
    // m=32, t=3, p=4, tag 32 bytes.
    let params = HashParams {
      algorithm: Algorithm::Argon2id,
      memory_cost: 32,
      time_cost: 3,
      parallelism: 4,
      output_length: 32,
    };
    let tag = compute(
      Algorithm::Argon2id,
      Version::V0x13,
      &params,
      &[1; 32],
      &[2; 16],
      &[3; 8],
      &[4; 12],
    )
    .unwrap();
    assert_eq!(
      hex(&tag),
      "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659"
    );
  }

  #[test]
  fn hash_then_verify_round_trips_with_secret_and_data() {
    let params = HashParams {
      memory_cost: 64,
      time_cost: 1,
      ..HashParams::default()
    };
    let phc = hash(b"hunter2", &params, None, b"pepper", b"user-42").unwrap();
    assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1,data=dXNlci00Mg$"), "{phc}");
    let StoredHash::Argon2(stored) = StoredHash::parse(&phc).unwrap() else {
      panic!()
    };
    assert_eq!(stored.salt.len(), DEFAULT_SALT_LENGTH);
    assert!(verify(&stored, b"hunter2", b"pepper").unwrap());
    assert!(!verify(&stored, b"hunter3", b"pepper").unwrap());
    assert!(!verify(&stored, b"hunter2", b"other pepper").unwrap());
  }

  #[test]
  fn known_phc_from_the_reference_implementation_verifies() {
    // The example of phc-winner-argon2's README:
    // `echo -n "password" | ./argon2 "somesalt" -t 2 -m 16 -p 4 -l 24`.
    let phc = "$argon2i$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG";
    let StoredHash::Argon2(stored) = StoredHash::parse(phc).unwrap() else {
      panic!()
    };
    assert!(verify(&stored, b"password", b"").unwrap());
    assert!(!verify(&stored, b"passwore", b"").unwrap());
  }

  #[test]
  fn needs_rehash_compares_every_parameter() {
    let target = HashParams::default();
    let current = StoredHash::parse(&hash(b"x", &target, None, b"", b"").unwrap()).unwrap();
    assert!(!needs_rehash(&current, &target));
    for changed in [
      HashParams {
        memory_cost: 19457,
        ..target.clone()
      },
      HashParams {
        time_cost: 3,
        ..target.clone()
      },
      HashParams {
        parallelism: 2,
        ..target.clone()
      },
      HashParams {
        output_length: 16,
        ..target.clone()
      },
      HashParams {
        algorithm: Algorithm::Argon2i,
        ..target.clone()
      },
    ] {
      assert!(needs_rehash(&current, &changed), "{changed:?}");
    }
    let v10 =
      StoredHash::parse("$argon2id$v=16$m=64,t=1,p=1$c29tZXNhbHQ$cpx6VEQbwTVZvcpxNIxOVUWZ5xnAipUmAe1cg2GMG70").unwrap();
    assert!(needs_rehash(
      &v10,
      &HashParams {
        memory_cost: 64,
        time_cost: 1,
        ..target.clone()
      }
    ));
  }
}
