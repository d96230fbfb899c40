//! JSON transformation off the event loop: jq programs (on jaq) over JSON documents and NDJSON,
//! and RFC 8785 canonical JSON.
//!
//! `value` is the jq value programs compute with (jq 1.8's semantics, bounded walks); `read`
//! parses JSON text into values (a reader of its own), skipping what `shape` proves a program
//! never reads; `program` compiles programs and keeps running ones in check; `run` runs them over
//! documents, NDJSON lines (in parallel) and files; `fast` evaluates common programs without
//! jaq; `compat` adds jq builtins jaq lacks; `math` computes jq's math builtins as
//! the C library does; `constant` refuses at compile time what jq refuses
//! there and jaq does not; `order` gives operators and interpolations jq's order of evaluation;
//! `time` is jq's UTC calendar and `strftime`; `canonical` is RFC 8785; `exports` is the thin
//! `#[napi]` layer.
//! Nothing but `exports` touches N-API.

pub mod canonical;
pub mod compat;
mod constant;
// Reached only through napi-rs's registration of its `#[napi]` items, which test builds leave out.
#[cfg_attr(test, allow(dead_code))]
mod exports;
pub mod fast;
mod math;
pub mod nesting;
mod order;
pub mod program;
pub mod read;
mod regex;
mod rewrite;
pub mod run;
pub mod shape;
#[cfg(feature = "test-hooks")]
mod test_hooks;
mod time;
pub mod value;
