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
//! from and returns them to the OS itself (one of 8 MiB or more is kept a second first, `warm`).
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

/// mimalloc v2's option numbers (`mi_option_purge_delay` and `mi_option_arena_purge_mult` in its
/// `mimalloc.h`; libmimalloc-sys does not export them). The test below pins them by their defaults.
#[cfg(not(fuzzing))]
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;
#[cfg(not(fuzzing))]
const MI_OPTION_ARENA_PURGE_MULT: std::ffi::c_int = 24;

/// How long mimalloc keeps freed pages before handing them back to the OS: 1 s, mimalloc v3's own
/// defaults (`purge_delay` 1000 ms, `arena_purge_mult` 1), instead of v2's 10 ms (100 ms for whole
/// segments). Why: a jq call builds and frees hundreds of MB of small values, and the pages it
/// freed were handed back before the next call, or later in the same call, faulted them in again:
/// 50-70k page faults and 120-200 ms of system time per call over a 45 MB document, which made it
/// 1.6x slower than on glibc's malloc (benchmark/NOTES.md). An idle thread hands its pages back only
/// when it next allocates, whatever the delay, and `release_free_pages` still purges at once.
/// `MIMALLOC_PURGE_DELAY` in the environment wins, as mimalloc documents.
pub(crate) fn keep_freed_pages_a_while() {
  #[cfg(not(fuzzing))]
  if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() && std::env::var_os("MIMALLOC_RESET_DELAY").is_none() {
    extern "C" {
      fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
    }
    // SAFETY: sets two integer options; mimalloc reads them at each purge it schedules.
    unsafe {
      mi_option_set(MI_OPTION_PURGE_DELAY, 1000);
      mi_option_set(MI_OPTION_ARENA_PURGE_MULT, 1);
    }
  }
}

/// Blocks of this size and more go to the system allocator.
#[cfg(not(fuzzing))]
const LARGE: usize = 1 << 20;

/// Whether a block of `capacity` bytes holding `len` should be shrunk to fit, to free its spare
/// capacity (when that is more than a quarter of `len`). Not when that would move a block of the
/// system allocator (1 MiB up to what `warm` keeps) with at most 2 MiB spare into mimalloc: the
/// move is a copy into pages mimalloc faults in afresh, 2 MiB huge pages zeroed on this machine,
/// which made `compressSync()` of 4 MiB at gzip level 6 7% slower than node:zlib's `gzipSync()`
/// running the same zlib; while those spare pages, if glibc mapped the block, were never written.
/// The bound keeps what such a block can hold back small when glibc served it from an arena.
/// Whoever frees the block goes by its capacity, as the allocator does.
pub(crate) fn worth_shrinking(capacity: usize, len: usize) -> bool {
  let spare_is_large = capacity - len > len / 4;
  #[cfg(not(fuzzing))]
  let would_move = (LARGE..super::warm::MIN).contains(&capacity) && len < LARGE && capacity - len <= 2 * LARGE;
  #[cfg(fuzzing)]
  let would_move = false;
  spare_is_large && !would_move
}

/// Picks the allocator by the block's size, which the caller repeats on every later call for the
/// block (`GlobalAlloc`'s contract), so a block always goes back where it came from.
#[cfg(not(fuzzing))]
pub(crate) struct Split;

// SAFETY: every call is forwarded to one of two correct allocators, chosen by `layout.size()`,
// which the caller passes unchanged for the block's later calls; `realloc` moves a block whose new
// size changes sides with the other allocator's `alloc`, a copy and this one's `dealloc`. A large
// block that `warm` kept and hands out again is a live glibc block at least as large as asked and
// aligned to 16, which glibc's `realloc` and `free` take as any other.
#[cfg(not(fuzzing))]
unsafe impl GlobalAlloc for Split {
  unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
    // SAFETY: forwarded with the caller's contract.
    unsafe {
      match layout.size() < LARGE {
        true => MiMalloc.alloc(layout),
        false => match layout.align() <= 16 {
          true => super::warm::take(layout.size()).unwrap_or_else(|| System.alloc(layout)),
          false => System.alloc(layout),
        },
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
        // A block of `warm::MIN` or more may be kept for the next large allocation instead.
        false if layout.size() >= super::warm::MIN && super::warm::keep(block) => {}
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
  fn a_mapped_block_is_not_moved_into_mimalloc_to_shrink() {
    // 0.8 MiB of gzip output in a 2 MiB block: kept (the move would be a copy into fresh pages).
    assert!(!worth_shrinking(2 << 20, 868_000));
    // 200 KB in a 7.5 MiB block: shrunk, however the move costs.
    assert!(worth_shrinking(7_864_320, 200_000));
    // Within either allocator, or from a block `warm` may keep: shrunk once a quarter is spare.
    assert!(worth_shrinking(600 << 10, 200 << 10));
    assert!(worth_shrinking(16 << 20, 500 << 10));
    assert!(worth_shrinking(8 << 20, 2 << 20));
    assert!(!worth_shrinking(5 << 20, 4 << 20));
  }

  #[test]
  fn the_purge_options_are_mimallocs() {
    extern "C" {
      fn mi_option_get(option: std::ffi::c_int) -> std::ffi::c_long;
    }
    // SAFETY: reads one integer option.
    let get = |option| unsafe { mi_option_get(option) };
    // The numbers are v2's if the options on either side of each have v2's defaults
    // (eager_commit_delay 1, use_numa_nodes 0; arena_reserve 1 GiB in KiB, purge_extend_delay 1).
    // Their own defaults (10 and 10) cannot be checked here: another test may have started the
    // pool, which sets them.
    let around = |option| (get(option - 1), get(option + 1));
    assert_eq!(around(MI_OPTION_PURGE_DELAY), (1, 0));
    assert_eq!(around(MI_OPTION_ARENA_PURGE_MULT), (1 << 20, 1));
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
      keep_freed_pages_a_while();
      assert_eq!((get(MI_OPTION_PURGE_DELAY), get(MI_OPTION_ARENA_PURGE_MULT)), (1000, 1));
    }
  }

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
