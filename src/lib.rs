//! offloop: CPU-bound work off the Node.js event loop, on offloop's own Rayon pool.

mod digest;
mod password;
mod runtime;
