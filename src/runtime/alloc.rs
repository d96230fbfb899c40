//! The allocator under offloop's Rust code (`memory::Counting` forwards to it): mimalloc for blocks
//! under 1 MiB, the system's for larger.
//!
//! Why not the system allocator alone: a JS thread and the pool's threads free each other's blocks
//! all the time (a job's arguments are made on the JS thread and dropped on the pool; small results
//! go the other way). glibc's `free` takes the lock of the arena a block came from, and `malloc`
//! the calling thread's arena lock, so a pool thread preempted inside either held a lock the JS
//! thread then waited for. Pool threads run in `SCHED_IDLE`: on a saturated machine such waits
//! lasted up to 0.5 s, on the main arena's lock (benchmark/NOTES.md). mimalloc frees another
//! thread's block with one atomic push onto that thread's list and keeps a heap per thread: no lock
//! is shared, and those waits were gone.
//!
//! Why not mimalloc alone: it hands a large block freed by another thread back only when the
//! thread that allocated it allocates again, so the large results and copies that pool threads
//! make and free among themselves were kept: a test of 20 sorts of 2M float64 grew by 456 MiB, all
//! of it. Blocks of 1 MiB and more are few, made and freed on pool threads, and glibc maps them
//! from and returns them to the OS itself.
//!
//! Built as mimalloc v2 with local-dynamic TLS: v3 crashed when a worker_thread loaded the addon
//! after another worker had exited, and initial-exec TLS is the wrong model for a library loaded
//! with `dlopen`. Not under the fuzzers (`cfg(fuzzing)`): AddressSanitizer checks the allocations
//! it intercepts, which are the system allocator's.

use std::alloc::{GlobalAlloc, Layout, System};

use mimalloc::MiMalloc;

/// What the global allocator (`memory::Counting`, which counts per-call budgets) forwards to.
#[cfg(not(fuzzing))]
pub(crate) const BACKING: Split = Split;
#[cfg(fuzzing)]
pub(crate) const BACKING: System = System;

/// Hands the free pages of the calling thread's mimalloc heap back to the system at once (mimalloc
/// otherwise keeps them for the thread's next allocations, and an idle pool thread makes none).
pub(crate) fn release_free_pages() {
  #[cfg(not(fuzzing))]
  {
    extern "C" {
      // From the mimalloc library the `mimalloc` crate links (libmimalloc-sys declares the same).
      fn mi_collect(force: bool);
    }
    // SAFETY: `mi_collect` only frees pages of the calling thread's heap that hold no live block.
    unsafe { mi_collect(true) };
  }
}

/// Blocks of this size and more go to the system allocator.
const LARGE: usize = 1 << 20;

/// Picks the allocator by the block's size, which the caller repeats on every later call for the
/// block (`GlobalAlloc`'s contract), so a block always goes back where it came from.
pub(crate) struct Split;

// SAFETY: every call is forwarded to one of two correct allocators, chosen by `layout.size()`,
// which the caller passes unchanged for the block's later calls; `realloc` moves a block whose new
// size changes sides with the other allocator's `alloc`, a copy and this one's `dealloc`.
unsafe impl GlobalAlloc for Split {
  unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
    // SAFETY: forwarded with the caller's contract.
    unsafe {
      match layout.size() < LARGE {
        true => MiMalloc.alloc(layout),
        false => System.alloc(layout),
      }
    }
  }

  unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
    // SAFETY: as in `alloc`.
    unsafe {
      match layout.size() < LARGE {
        true => MiMalloc.alloc_zeroed(layout),
        false => System.alloc_zeroed(layout),
      }
    }
  }

  unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
    // SAFETY: `layout` is the one the block was allocated with, so this picks that allocator.
    unsafe {
      match layout.size() < LARGE {
        true => MiMalloc.dealloc(block, layout),
        false => System.dealloc(block, layout),
      }
    }
  }

  unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
    let (was_small, is_small) = (layout.size() < LARGE, new_size < LARGE);
    // SAFETY: the caller's contract for `realloc`; a move between the allocators allocates with the
    // new layout (valid: same alignment, non-zero size), copies the smaller of the two sizes and
    // frees the old block with its own layout.
    unsafe {
      if was_small == is_small {
        return match is_small {
          true => MiMalloc.realloc(block, layout, new_size),
          false => System.realloc(block, layout, new_size),
        };
      }
      let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
      let moved = self.alloc(new_layout);
      if !moved.is_null() {
        std::ptr::copy_nonoverlapping(block, moved, layout.size().min(new_size));
        self.dealloc(block, layout);
      }
      moved
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn blocks_that_grow_or_shrink_across_the_split_keep_their_bytes() {
    let mut v: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
    v.reserve_exact(2 * LARGE);
    assert!(v.iter().enumerate().all(|(i, b)| *b == i as u8));
    v.truncate(1000);
    v.shrink_to_fit();
    assert!(v.iter().enumerate().all(|(i, b)| *b == i as u8));
  }
}
