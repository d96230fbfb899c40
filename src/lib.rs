//! offloop: CPU-bound work off the Node.js event loop, on offloop's own Rayon pool.

pub mod compress;
pub mod digest;
pub mod json;
pub mod kernels;
pub mod password;
pub mod runtime;
