//! Compute kernels off the event loop: exact vector search, descriptive statistics, histograms and
//! sorting of TypedArrays, on offloop's pool and all its cores.
//!
//! `vector`, `stats`, `histogram` and `sort` compute over plain slices, generic over the element
//! type (`element`); `exports` is the thin `#[napi]` layer.

pub mod element;
// Reached only through napi-rs's registration of its `#[napi]` items, which test builds leave out.
#[cfg_attr(test, allow(dead_code))]
mod exports;
pub mod histogram;
pub mod sort;
pub mod stats;
pub mod vector;
