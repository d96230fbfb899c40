//! Compression off the event loop: gzip, deflate (zlib), raw deflate, brotli and zstd, one-shot and
//! as streams, with node:zlib's options, errors and limits.
//!
//! `codec` holds the trait every format implements in both directions, the bounded output buffer
//! (`maxOutputLength`) and the one-shot driver; `deflate`, `brotli` and `zstd` are the formats
//! (`host_zlib`: node:zlib's own zlib, which `deflate` compresses with where Node exports it), and
//! `members` the walk over concatenated gzip members and zstd frames that two of them share;
//! `settings` the validated options; `stream` the state behind a stream, fed in order on the pool;
//! `exports` is the thin `#[napi]` layer. Nothing but `exports` touches N-API.

pub mod brotli;
pub mod codec;
pub mod deflate;
// Reached only through napi-rs's registration of its `#[napi]` items, which test builds leave out.
#[cfg_attr(test, allow(dead_code))]
mod exports;
pub mod host_zlib;
pub mod members;
pub mod settings;
pub mod stream;
pub mod zstd;

pub use codec::{compress, decompress, Direction, Format};
