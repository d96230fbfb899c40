//! offloop: CPU-bound work off the Node.js event loop, on offloop's own Rayon pool.

mod json;
mod password;
mod runtime;
