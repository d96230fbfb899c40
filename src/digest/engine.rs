//! The hash functions behind every digest export, one generic path for all of them.
//!
//! RustCrypto's SHA-2 types and their HMACs share the `digest` traits, so one blanket impl of
//! [`Engine`] covers them all. BLAKE3 has its own type (and its own keyed mode instead of HMAC); its
//! impl adds the one thing the others cannot do: hash one large input on several threads.

use hmac::Hmac;
use sha2::digest::{FixedOutput, KeyInit, Update};
use sha2::{Sha256, Sha384, Sha512, Sha512_256};

use crate::runtime::bytes::ByteView;
use crate::runtime::{Cancel, OffloopError, Result};

/// The hash functions offloop offers, by their node:crypto names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
  Sha256,
  Sha384,
  Sha512,
  Sha512_256,
  Blake3,
}

impl Algorithm {
  /// The names accepted from JavaScript, in the order error messages list them.
  pub const NAMES: &'static [&'static str] = &["sha256", "sha384", "sha512", "sha512-256", "blake3"];

  pub fn from_name(name: &str) -> Option<Self> {
    Some(match name {
      "sha256" => Algorithm::Sha256,
      "sha384" => Algorithm::Sha384,
      "sha512" => Algorithm::Sha512,
      "sha512-256" => Algorithm::Sha512_256,
      "blake3" => Algorithm::Blake3,
      _ => return None,
    })
  }

  /// A fresh hash state.
  pub fn hasher(self) -> Box<dyn Engine> {
    match self {
      Algorithm::Sha256 => Box::new(Sha256::default()),
      Algorithm::Sha384 => Box::new(Sha384::default()),
      Algorithm::Sha512 => Box::new(Sha512::default()),
      Algorithm::Sha512_256 => Box::new(Sha512_256::default()),
      Algorithm::Blake3 => Box::new(Blake3(blake3::Hasher::new())),
    }
  }

  /// A fresh MAC state: HMAC for SHA-2, BLAKE3's keyed mode (which takes exactly 32 key bytes) for
  /// BLAKE3.
  pub fn mac(self, key: &[u8]) -> Result<Box<dyn Engine>> {
    Ok(match self {
      Algorithm::Sha256 => Box::new(hmac::<Sha256>(key)),
      Algorithm::Sha384 => Box::new(hmac::<Sha384>(key)),
      Algorithm::Sha512 => Box::new(hmac::<Sha512>(key)),
      Algorithm::Sha512_256 => Box::new(hmac::<Sha512_256>(key)),
      Algorithm::Blake3 => {
        let key: &[u8; blake3::KEY_LEN] = key.try_into().map_err(|_| {
          OffloopError::out_of_range(
            "key.byteLength",
            "32 for 'blake3' (its keyed mode takes a 32-byte key)",
            &key.len().to_string(),
          )
        })?;
        Box::new(Blake3(blake3::Hasher::new_keyed(key)))
      }
    })
  }
}

fn hmac<D: hmac::EagerHash>(key: &[u8]) -> Hmac<D> {
  // HMAC takes keys of any length (long ones are hashed first), so this cannot fail.
  <Hmac<D> as KeyInit>::new_from_slice(key).expect("HMAC accepts keys of any length")
}

/// A hash or MAC computation in progress.
pub trait Engine: Send {
  /// Hashes `data` on the calling thread.
  fn update(&mut self, data: &[u8]);

  /// Hashes `data`, using the threads of the current Rayon pool where the algorithm can split one
  /// input (BLAKE3). Call it only on a pool thread (or inside `pool().install`), or Rayon would
  /// start its global pool.
  fn update_parallel(&mut self, data: &[u8]) {
    self.update(data);
  }

  fn finish(self: Box<Self>) -> Vec<u8>;
}

impl<D: Update + FixedOutput + Send> Engine for D {
  fn update(&mut self, data: &[u8]) {
    Update::update(self, data);
  }

  fn finish(self: Box<Self>) -> Vec<u8> {
    (*self).finalize_fixed().to_vec()
  }
}

struct Blake3(blake3::Hasher);

/// Below this, splitting a BLAKE3 input over threads costs more than it saves (the blake3 crate's
/// own advice for `update_rayon` is 128 KiB).
const BLAKE3_PARALLEL_MIN: usize = 128 * 1024;

impl Engine for Blake3 {
  fn update(&mut self, data: &[u8]) {
    self.0.update(data);
  }

  fn update_parallel(&mut self, data: &[u8]) {
    if data.len() >= BLAKE3_PARALLEL_MIN {
      self.0.update_rayon(data);
    } else {
      self.0.update(data);
    }
  }

  fn finish(self: Box<Self>) -> Vec<u8> {
    self.0.finalize().as_bytes().to_vec()
  }
}

/// Large enough that the checks cost nothing, small enough that an abort (or a worker's teardown,
/// which waits for the slice being read) is seen within ~10 ms.
const SLICE: usize = 16 << 20;

/// Feeds `data` to `engine` on the pool, a slice at a time: `cancel` is checked between slices,
/// and each slice is one [`ByteView::read`].
pub fn update_view(engine: &mut dyn Engine, data: &ByteView, cancel: &Cancel) -> Result<()> {
  for start in (0..data.len()).step_by(SLICE) {
    cancel.check()?;
    data.read(|bytes| engine.update_parallel(&bytes[start..bytes.len().min(start + SLICE)]))?;
  }
  Ok(())
}

/// Hashes (or MACs) one input on the pool; see [`update_view`].
pub fn digest_view(mut engine: Box<dyn Engine>, data: &ByteView, cancel: &Cancel) -> Result<Vec<u8>> {
  update_view(engine.as_mut(), data, cancel)?;
  Ok(engine.finish())
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::runtime::pool::pool;

  fn hex_of(engine: Box<dyn Engine>) -> String {
    hex::encode(engine.finish())
  }

  fn hash_hex(algorithm: Algorithm, data: &[u8]) -> String {
    let mut engine = algorithm.hasher();
    engine.update(data);
    hex_of(engine)
  }

  #[test]
  fn names_round_trip() {
    for name in Algorithm::NAMES {
      assert!(Algorithm::from_name(name).is_some(), "{name}");
    }
    assert_eq!(Algorithm::from_name("SHA256"), None);
    assert_eq!(Algorithm::from_name("md5"), None);
  }

  /// FIPS 180-4 example values ("abc" and the empty string).
  #[test]
  fn sha2_known_answers() {
    assert_eq!(
      hash_hex(Algorithm::Sha256, b"abc"),
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(
      hash_hex(Algorithm::Sha256, b""),
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(
      hash_hex(Algorithm::Sha384, b"abc"),
      "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"
    );
    assert_eq!(
      hash_hex(Algorithm::Sha512, b"abc"),
      "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
    );
    assert_eq!(
      hash_hex(Algorithm::Sha512_256, b"abc"),
      "53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23"
    );
  }

  /// BLAKE3's official vector for the empty input, hash and keyed_hash modes.
  #[test]
  fn blake3_known_answers() {
    assert_eq!(
      hash_hex(Algorithm::Blake3, b""),
      "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
    );
    let keyed = Algorithm::Blake3.mac(b"whats the Elvish word for friend").unwrap();
    assert_eq!(
      hex_of(keyed),
      "92b2b75604ed3c761f9d6f62392c8a9227ad0ea3f09573e783f1498a4ed60d26"
    );
  }

  /// RFC 4231 test case 2 (a key shorter than the block).
  #[test]
  fn hmac_known_answer() {
    let mut mac = Algorithm::Sha256.mac(b"Jefe").unwrap();
    mac.update(b"what do ya want for nothing?");
    assert_eq!(
      hex_of(mac),
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
  }

  #[test]
  fn blake3_keyed_mode_wants_32_bytes() {
    let err = Algorithm::Blake3.mac(&[0; 16]).err().unwrap();
    assert_eq!(err.code, "ERR_OUT_OF_RANGE");
    assert!(err.message.contains("Received 16"), "{}", err.message);
  }

  /// The parallel path and the slicing give the same bytes as one serial update.
  #[test]
  fn parallel_and_sliced_updates_agree_with_serial() {
    let data: Vec<u8> = (0..SLICE + (3 << 20) + 12345).map(|i| (i % 251) as u8).collect();
    for algorithm in [Algorithm::Blake3, Algorithm::Sha256] {
      let serial = hash_hex(algorithm, &data);
      let view = ByteView::Copied(data.clone());
      let sliced = pool()
        .unwrap()
        .install(|| digest_view(algorithm.hasher(), &view, &Cancel::default()).unwrap());
      assert_eq!(hex::encode(sliced), serial);
    }
  }
}
