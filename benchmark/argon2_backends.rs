//! Which argon2 implementation offloop builds on, decided by measurement: one thread, OWASP
//! parameters (argon2id, m=19456 KiB, t=2, p=1), argon2-rust (hand-written SIMD) against RustCrypto's
//! `argon2` (what @node-rs/argon2 uses), each with a fresh and with a reused block arena.
//! Run by `npm run bench -- --only password`; prints one JSON line per backend.

use std::time::{Duration, Instant};

const PASSWORD: &[u8] = b"correct horse battery staple";
const SALT: &[u8] = b"0123456789abcdef";

fn measure(name: &str, mut hash: impl FnMut(&mut [u8; 32])) {
  let mut tag = [0u8; 32];
  for _ in 0..5 {
    hash(&mut tag); // warm-up
  }
  let start = Instant::now();
  let mut count = 0u32;
  while start.elapsed() < Duration::from_secs(3) {
    hash(&mut tag);
    count += 1;
  }
  let per_sec = f64::from(count) / start.elapsed().as_secs_f64();
  println!(
    "{{\"backend\":\"{name}\",\"hashesPerSec\":{per_sec:.2},\"tag\":\"{:02x}{:02x}{:02x}{:02x}\"}}",
    tag[0], tag[1], tag[2], tag[3]
  );
}

fn main() {
  use argon2_rust::params::{Memory, TagLen};
  let params = argon2_rust::Params::builder()
    .memory(Memory::kib(19456))
    .passes(2)
    .lanes(1)
    .threads(1)
    .tag_len(TagLen::bytes(32))
    .build()
    .unwrap();
  let fast = argon2_rust::Argon2::new(argon2_rust::Algorithm::Argon2id, argon2_rust::Version::V0x13, params);
  measure("argon2-rust, fresh arena per hash", |tag| {
    fast.hash_into(PASSWORD, SALT, tag).unwrap()
  });
  let mut hasher = fast.hasher();
  measure("offloop: argon2-rust, reused arena", |tag| {
    hasher.hash_into(PASSWORD, SALT, tag).unwrap()
  });

  let rc_params = argon2::Params::new(19456, 2, 1, Some(32)).unwrap();
  let rc = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, rc_params.clone());
  measure("RustCrypto argon2 (as @node-rs/argon2 uses it)", |tag| {
    rc.hash_password_into(PASSWORD, SALT, tag).unwrap()
  });
  let mut blocks = vec![argon2::Block::default(); rc_params.block_count()];
  measure("RustCrypto argon2, reused memory", |tag| {
    rc.hash_password_into_with_memory(PASSWORD, SALT, tag, &mut blocks)
      .unwrap()
  });
}
