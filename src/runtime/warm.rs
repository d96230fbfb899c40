//! One freed large block, kept for a second so the next large allocation that fits reuses its
//! pages instead of faulting fresh ones in.
//!
//! Why: glibc hands every block of 32 MiB and more straight back to the OS (`munmap`), so each
//! call over a large input faulted its staged copy in afresh, and the kernel zeroed every page
//! first: for the benchmark's 63 MB NDJSON input that zeroing took 12% of the process's CPU
//! samples (on the staging thread, before the job could start), and calls took 160-320 ms where
//! they take 160 ms with the block kept (benchmark/NOTES.md). glibc's `M_MMAP_THRESHOLD` would keep
//! such blocks too, but it is process-wide: it would change Node's own allocations.
//!
//! How long: one second, as mimalloc's purge delay (`alloc::keep_freed_pages_a_while`). A block is
//! kept only while a reaper thread is registered (the staging thread, `stage::Stager`, the one
//! allocator of large blocks that benefits), which frees it when its second is up: an idle
//! process never holds one longer. At most one block, and a kept block serves only requests
//! that use at least three quarters of it.

// Under the fuzzers the system allocator serves alone (`alloc::BACKING`), and nothing is kept.
#![cfg_attr(fuzzing, allow(dead_code))]

use std::sync::{Mutex, MutexGuard, OnceLock, TryLockError};
use std::thread::Thread;
use std::time::{Duration, Instant};

/// Blocks this large and larger are kept; below, glibc's own free lists serve.
pub(super) const MIN: usize = 8 << 20;

/// How long a freed block is kept.
const KEEP: Duration = Duration::from_secs(1);

/// When the reaper tries again after finding the slot held by another thread.
const RETRY: Duration = Duration::from_millis(10);

struct Kept {
  block: usize,
  usable: usize,
  freed: Instant,
}

/// Where a block is kept: one for the process ([`SLOT`]); a type so the tests can have their own.
struct Slot(Mutex<Option<Kept>>);

static SLOT: Slot = Slot(Mutex::new(None));
static REAPER: OnceLock<Thread> = OnceLock::new();

impl Slot {
  /// The slot, or `None` while another thread holds it: no thread ever waits for it. The JS thread
  /// allocates and frees large blocks too (a string's UTF-8 copy, a result the GC frees), and the
  /// threads that hold the lock otherwise run in `SCHED_IDLE`: preempted inside, they could keep
  /// the JS thread waiting until the scheduler gives them a turn again (see `alloc`). Missing the
  /// slot only costs a fresh block, or a `free`.
  fn kept(&self) -> Option<MutexGuard<'_, Option<Kept>>> {
    match self.0.try_lock() {
      Ok(kept) => Some(kept),
      Err(TryLockError::Poisoned(e)) => Some(e.into_inner()),
      Err(TryLockError::WouldBlock) => None,
    }
  }

  fn take(&self, size: usize) -> Option<*mut u8> {
    let mut kept = self.kept()?;
    let fits = kept
      .as_ref()
      .is_some_and(|k| k.usable >= size && k.usable - size <= k.usable / 4);
    if !fits {
      return None;
    }
    kept.take().map(|k| k.block as *mut u8)
  }

  /// # Safety
  /// As [`keep`].
  unsafe fn keep(&self, block: *mut u8) -> bool {
    let Some(mut kept) = self.kept() else {
      return false;
    };
    // SAFETY: per this function's contract.
    let usable = unsafe { libc::malloc_usable_size(block.cast()) };
    let replaced = kept.replace(Kept {
      block: block as usize,
      usable,
      freed: Instant::now(),
    });
    drop(kept);
    if let Some(old) = replaced {
      // SAFETY: a kept block is a live glibc block that nothing else refers to.
      unsafe { libc::free(old.block as *mut libc::c_void) };
    }
    true
  }

  fn reap(&self, all: bool) -> Option<Duration> {
    let Some(mut kept) = self.kept() else {
      return Some(RETRY);
    };
    let left = kept.as_ref().map(|k| KEEP.saturating_sub(k.freed.elapsed()));
    match left {
      Some(left) if left.is_zero() || all => {
        let old = kept.take().expect("checked above");
        drop(kept);
        // SAFETY: a kept block is a live glibc block that nothing else refers to.
        unsafe { libc::free(old.block as *mut libc::c_void) };
        None
      }
      left => left,
    }
  }
}

/// Registers the thread that calls [`reap`]; blocks are kept from now on.
pub(super) fn set_reaper(thread: Thread) {
  let _ = REAPER.set(thread);
}

/// A kept block for a request of `size` bytes aligned to at most 16 (what glibc's `malloc`
/// guarantees), if one fits without wasting more than a quarter of it.
pub(super) fn take(size: usize) -> Option<*mut u8> {
  SLOT.take(size)
}

/// Keeps `block` instead of freeing it; false when no reaper runs or another thread holds the
/// slot, and the caller frees it. A block kept before is freed.
///
/// # Safety
/// `block` is a live block of glibc's allocator (`free` takes it) that nothing uses any more.
pub(super) unsafe fn keep(block: *mut u8) -> bool {
  let Some(reaper) = REAPER.get() else {
    return false;
  };
  // SAFETY: per this function's contract.
  let kept = unsafe { SLOT.keep(block) };
  if kept {
    reaper.unpark();
  }
  kept
}

/// Frees the kept block if its second is up, or at once when `all`; how long the one still kept
/// may stay (or until the next try, when another thread held the slot), if any.
pub(super) fn reap(all: bool) -> Option<Duration> {
  SLOT.reap(all)
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn a_freed_block_serves_the_next_request_that_fits_until_reaped() {
    let slot = Slot(Mutex::new(None));
    // SAFETY: a fresh glibc block, handed to the slot and not used here again.
    let block = unsafe { libc::malloc(MIN) }.cast::<u8>();
    // SAFETY: as above.
    assert!(unsafe { slot.keep(block) });
    assert_eq!(slot.take(MIN + 4096), None, "too large");
    assert_eq!(slot.take(MIN / 2), None, "would waste half");
    assert_eq!(slot.take(MIN - MIN / 8), Some(block));
    assert_eq!(slot.take(MIN), None, "taken");
    // SAFETY: as above.
    assert!(unsafe { slot.keep(block) });
    assert!(slot.reap(false).is_some_and(|left| left <= KEEP));
    assert_eq!(slot.reap(true), None);
    assert_eq!(slot.take(MIN), None, "freed");
  }

  #[test]
  fn a_kept_block_is_freed_once_its_second_is_up() {
    let slot = Slot(Mutex::new(None));
    // SAFETY: as above.
    assert!(unsafe { slot.keep(libc::malloc(MIN).cast()) });
    slot.0.lock().unwrap().as_mut().unwrap().freed -= KEEP;
    assert_eq!(slot.reap(false), None);
    assert!(slot.0.lock().unwrap().is_none());
  }

  #[test]
  fn a_held_slot_is_skipped_never_waited_for() {
    let slot = Slot(Mutex::new(None));
    // SAFETY: as above.
    assert!(unsafe { slot.keep(libc::malloc(MIN).cast()) });
    let held = slot.0.lock().unwrap();
    assert_eq!(slot.take(MIN), None);
    // SAFETY: a fresh glibc block, freed here when the slot refuses it.
    let block = unsafe { libc::malloc(MIN) }.cast::<u8>();
    assert!(!unsafe { slot.keep(block) });
    // SAFETY: refused, so still ours.
    unsafe { libc::free(block.cast()) };
    assert_eq!(slot.reap(true), Some(RETRY));
    drop(held);
    assert_eq!(slot.reap(true), None);
  }
}
