//! Hashing: SHA-2, BLAKE3 and HMAC, one-shot, in batches, of files and of streams.
//!
//! `engine` holds the hash functions behind one trait, `encoding` the output forms, `file` reads
//! files, `incremental` feeds a hash chunk by chunk in order; `exports` is the thin `#[napi]` layer.

pub mod encoding;
pub mod engine;
// Reached only through napi-rs's registration of its `#[napi]` items, which test builds leave out.
#[cfg_attr(test, allow(dead_code))]
mod exports;
pub mod file;
pub mod incremental;
