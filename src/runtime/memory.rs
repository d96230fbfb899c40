//! Per-call memory budgets: the heap memory a call's work allocates, counted while it runs.
//!
//! Why: a caller can send a jq program that builds values of any size (`"x" | until(length > 1e12;
//! . + .)`), and the interpreter allocates for it deep inside code that has no hook for a limit.
//! Counting in the global allocator sees every allocation wherever it happens. A call's work runs
//! under its [`Budget`] (`Budget::enter` on each thread that works for it); each allocation and
//! free on that thread is charged to it, and once its net total passes the limit the budget is
//! marked exceeded. The allocator itself never fails an allocation for this (Rust aborts the
//! process when an allocation fails): the work polls [`check`] at its check points and stops
//! with an error, and sizes computed from a caller's data are checked with [`reserve`] before they
//! are allocated.
//!
//! What is counted: bytes requested from the allocator by offloop's Rust code on a thread while it
//! is inside the call's budget, net of the bytes it frees there. Memory that V8 or Node allocate is
//! not, nor memory freed on another thread later (a result handed to JavaScript). Each thread
//! charges the shared total in steps of [`FLUSH`] bytes, so the total may lag by that much per
//! thread.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicUsize, Ordering};
use std::sync::Arc;

use super::alloc::BACKING;

/// The allocator of the whole library: offloop's allocator (`alloc::BACKING`: mimalloc for small
/// blocks, the system's for large ones), with each allocation charged to the budget the calling
/// thread runs under, if any.
#[global_allocator]
static ALLOCATOR: Counting = Counting;

struct Counting;

// SAFETY: every method forwards to `BACKING` with the same arguments; the charging
// around it only reads and writes this thread's `Cell`s (const-initialised, no destructor, so
// reading them never allocates) and the budget's atomics.
unsafe impl GlobalAlloc for Counting {
  unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
    // SAFETY: forwarded; the caller upholds `GlobalAlloc::alloc`'s contract.
    let p = unsafe { BACKING.alloc(layout) };
    if !p.is_null() {
      charge(layout.size() as isize);
    }
    p
  }

  unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
    // SAFETY: forwarded, as in `alloc`.
    let p = unsafe { BACKING.alloc_zeroed(layout) };
    if !p.is_null() {
      charge(layout.size() as isize);
    }
    p
  }

  unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
    // SAFETY: forwarded; `p` came from this allocator, that is from `BACKING`, with `layout`.
    unsafe { BACKING.dealloc(p, layout) };
    charge(-(layout.size() as isize));
  }

  unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
    // SAFETY: forwarded, as in `dealloc`.
    let q = unsafe { BACKING.realloc(p, layout, new_size) };
    if !q.is_null() {
      charge(new_size as isize - layout.size() as isize);
    }
    q
  }
}

/// A thread charges the shared total once its own running count moves this far: an atomic add
/// on a line shared by every thread of the call, for every allocation, would cost more than the
/// allocation.
pub const FLUSH: usize = 64 << 10;

/// Scopes alive in the process. While none is, an allocation costs one load of this more than the
/// backing allocator's: reading the thread's state (`__tls_get_addr` in a shared library) cost
/// about 4% of a jq run's instructions when done on every allocation.
static SCOPES: AtomicUsize = AtomicUsize::new(0);

/// Budgets past their limit, alive in the process. Check points that run at every step of a
/// program (and wherever values are built) look at this first: one load of a static, where
/// reading the thread's own budget is a thread-local access. So a call stops at the first check
/// point after the allocation that took it past its limit, not only at its periodic polls.
static OVER: AtomicUsize = AtomicUsize::new(0);

/// Whether any call in the process is past its budget: when true, [`check`] tells whether it is
/// this thread's call.
#[inline]
pub fn any_over() -> bool {
  OVER.load(Ordering::Relaxed) != 0
}

/// What a thread charges to, and how much it has not yet added to that budget's total.
#[derive(Clone, Copy)]
struct Charging {
  /// Null outside any call's work.
  budget: *const Budget,
  pending: isize,
}

thread_local! {
  // One cell, not two: each thread-local read is a call in a shared library.
  static THREAD: Cell<Charging> = const {
    Cell::new(Charging {
      budget: ptr::null(),
      pending: 0,
    })
  };
}

#[inline]
fn charge(bytes: isize) {
  if SCOPES.load(Ordering::Relaxed) == 0 {
    return;
  }
  let mut state = THREAD.get();
  if state.budget.is_null() {
    return;
  }
  state.pending += bytes;
  if state.pending.unsigned_abs() >= FLUSH {
    // SAFETY: `budget` is non-null only between `Budget::enter` and the drop of its `Scope`,
    // which holds an `Arc` of the budget, so it points to a live `Budget`.
    unsafe { (*state.budget).add(state.pending) };
    state.pending = 0;
  }
  THREAD.set(state);
}

/// The memory one call may use, shared by every thread that works for it.
#[derive(Debug)]
pub struct Budget {
  limit: usize,
  used: AtomicIsize,
  peak: AtomicIsize,
  exceeded: AtomicBool,
}

impl Budget {
  pub fn new(limit: usize) -> Arc<Budget> {
    Arc::new(Budget {
      // Totals are `isize`s: a larger limit could not be reached anyway, and compared as an
      // `isize` it would be negative (every charge past it).
      limit: limit.min(isize::MAX as usize),
      used: AtomicIsize::new(0),
      peak: AtomicIsize::new(0),
      exceeded: AtomicBool::new(false),
    })
  }

  /// A budget charged from the start with `held` bytes: memory the call owns from before its
  /// work began (its input's copy, made on the JS thread, where nothing is charged) and frees
  /// while the work runs, which returns the charge.
  pub fn holding(limit: usize, held: usize) -> Arc<Budget> {
    let budget = Budget::new(limit);
    budget.add(held.min(isize::MAX as usize) as isize);
    budget
  }

  pub fn limit(&self) -> usize {
    self.limit
  }

  /// Net bytes charged so far (negative when the work freed more than it allocated).
  pub fn used(&self) -> isize {
    self.used.load(Ordering::Relaxed)
  }

  /// The highest `used` seen at a charge.
  pub fn peak(&self) -> isize {
    self.peak.load(Ordering::Relaxed)
  }

  pub fn is_exceeded(&self) -> bool {
    self.exceeded.load(Ordering::Relaxed)
  }

  fn add(&self, bytes: isize) {
    let used = self.used.fetch_add(bytes, Ordering::Relaxed) + bytes;
    self.peak.fetch_max(used, Ordering::Relaxed);
    if used > self.limit as isize {
      self.exceed();
    }
  }

  fn exceed(&self) {
    if !self.exceeded.swap(true, Ordering::Relaxed) {
      OVER.fetch_add(1, Ordering::Relaxed);
    }
  }

  /// Charges this thread's allocations to this budget until the returned scope is dropped.
  /// Scopes nest: a thread that runs another call's work inside (a Rayon steal) charges that
  /// call, and returns to this one after.
  pub fn enter(self: &Arc<Self>) -> Scope {
    SCOPES.fetch_add(1, Ordering::Relaxed);
    let previous = flush();
    THREAD.set(Charging {
      budget: Arc::as_ptr(self),
      pending: 0,
    });
    Scope {
      budget: self.clone(),
      previous,
    }
  }
}

impl Drop for Budget {
  fn drop(&mut self) {
    if *self.exceeded.get_mut() {
      OVER.fetch_sub(1, Ordering::Relaxed);
    }
  }
}

/// Adds this thread's pending count to its budget; returns that budget.
fn flush() -> *const Budget {
  let state = THREAD.get();
  if !state.budget.is_null() && state.pending != 0 {
    // SAFETY: as in `charge`: a non-null budget is kept alive by its scope.
    unsafe { (*state.budget).add(state.pending) };
  }
  state.budget
}

/// While alive, the thread's allocations are charged to `budget`. Not `Send`: it is this
/// thread's state.
pub struct Scope {
  budget: Arc<Budget>,
  previous: *const Budget,
}

impl Drop for Scope {
  fn drop(&mut self) {
    let budget = flush();
    debug_assert_eq!(budget, Arc::as_ptr(&self.budget), "scopes end in reverse order");
    THREAD.set(Charging {
      budget: self.previous,
      pending: 0,
    });
    SCOPES.fetch_sub(1, Ordering::Relaxed);
  }
}

/// The budget the calling thread runs under, if any.
fn current() -> Option<&'static Budget> {
  let budget = THREAD.get().budget;
  // SAFETY: as in `charge`. The reference does not outlive the caller's use: callers only read
  // through it before returning, while the scope that set it is still alive on this thread.
  (!budget.is_null()).then(|| unsafe { &*budget })
}

/// The budget the calling thread works under, to enter on the threads that help with the same
/// call (the tasks a Rayon parallel iterator spreads over the pool).
pub fn current_budget() -> Option<Arc<Budget>> {
  let budget = THREAD.get().budget;
  (!budget.is_null()).then(|| {
    // SAFETY: a non-null budget is `Arc::as_ptr` of the budget that the live scope which set it
    // holds an `Arc` of (see `charge`); adding a strong count first makes the new `Arc` an owner
    // of its own.
    unsafe {
      Arc::increment_strong_count(budget);
      Arc::from_raw(budget)
    }
  })
}

/// The call this thread works for went past its memory budget, or would with an allocation it was
/// about to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverBudget {
  pub limit: usize,
}

/// `Err` once the call this thread works for has gone past its budget: work polls it at its check
/// points and stops.
#[inline]
pub fn check() -> Result<(), OverBudget> {
  match current() {
    Some(budget) if budget.is_exceeded() => Err(OverBudget { limit: budget.limit }),
    _ => Ok(()),
  }
}

/// Checks that `bytes` more fit in the current call's budget, before allocating a size computed
/// from a caller's data (one allocation can be far larger than the budget, and a failed one aborts
/// the process). Outside any budget, only sizes no allocator could serve are refused.
pub fn reserve(bytes: usize) -> Result<(), OverBudget> {
  match current() {
    Some(budget) => {
      let used = budget.used() + THREAD.get().pending;
      if budget.is_exceeded() || used.saturating_add(bytes.min(isize::MAX as usize) as isize) > budget.limit as isize {
        budget.exceed();
        Err(OverBudget { limit: budget.limit })
      } else {
        Ok(())
      }
    }
    None if bytes > isize::MAX as usize => Err(OverBudget {
      limit: isize::MAX as usize,
    }),
    None => Ok(()),
  }
}

/// Hands memory the allocator holds free back to the system, after a call that went past its
/// budget dropped what it built: glibc keeps freed memory of its per-thread arenas mapped, and
/// mimalloc the free pages of the thread's heap, so a rejected call would otherwise leave the
/// process hundreds of MB larger. Only on that path: it walks every arena.
pub fn release_free_memory() {
  super::alloc::release_free_pages();
  super::warm::reap(true);
  #[cfg(all(target_os = "linux", target_env = "gnu"))]
  // SAFETY: `malloc_trim` only returns free pages of glibc's arenas to the system.
  unsafe {
    libc::malloc_trim(0);
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn charges_the_current_budget_only() {
    let budget = Budget::new(1 << 30);
    let outside = vec![0u8; 1 << 20];
    {
      let _scope = budget.enter();
      let inside = vec![1u8; 4 << 20];
      assert!(budget.used() >= (4 << 20) - FLUSH as isize, "{}", budget.used());
      drop(inside);
      drop(outside);
    }
    // The 4 MiB came back; freeing memory allocated outside counts as a free.
    assert!(budget.used() <= -(1 << 20) + FLUSH as isize, "{}", budget.used());
    assert!(budget.peak() >= (4 << 20) - FLUSH as isize);
    assert!(!budget.is_exceeded());
    assert!(check().is_ok(), "no budget outside the scope");
  }

  #[test]
  fn marks_the_budget_exceeded_and_reserves() {
    let budget = Budget::new(8 << 20);
    let _scope = budget.enter();
    assert!(reserve(4 << 20).is_ok());
    assert_eq!(reserve(usize::MAX), Err(OverBudget { limit: 8 << 20 }));
    let budget = Budget::new(8 << 20);
    let _scope = budget.enter();
    let mut held = Vec::new();
    while check().is_ok() {
      held.push(vec![0u8; 1 << 20]);
      assert!(held.len() < 16, "never marked exceeded");
    }
    assert!(budget.used() > 8 << 20);
    assert!(reserve(1).is_err());
    assert_eq!(check(), Err(OverBudget { limit: 8 << 20 }));
  }

  /// `Budget::new(usize::MAX)` counts without a limit (`JqProgram` measures its compile so): a
  /// limit compared as an `isize` was -1, so the first charge marked it exceeded.
  #[test]
  fn the_largest_limit_is_never_exceeded() {
    let budget = Budget::new(usize::MAX);
    let _scope = budget.enter();
    let held = vec![0u8; 4 << 20];
    assert!(check().is_ok());
    assert!(reserve(1 << 30).is_ok());
    assert!(!budget.is_exceeded());
    drop(held);
  }

  #[test]
  fn scopes_nest() {
    let outer = Budget::new(1 << 30);
    let inner = Budget::new(1 << 30);
    let _outer_scope = outer.enter();
    let kept = {
      let _inner_scope = inner.enter();
      vec![0u8; 2 << 20]
    };
    let mine = vec![0u8; 3 << 20];
    let near = |b: &Budget, n: isize| (b.used() - n).abs() <= 2 * FLUSH as isize;
    assert!(near(&inner, 2 << 20), "{}", inner.used());
    drop(_outer_scope);
    assert!(near(&outer, 3 << 20), "{}", outer.used());
    drop((kept, mine));
  }

  #[test]
  fn helpers_enter_the_current_budget() {
    assert!(current_budget().is_none());
    let budget = Budget::new(1 << 30);
    let _scope = budget.enter();
    let current = current_budget().expect("inside a scope");
    assert!(Arc::ptr_eq(&current, &budget));
    std::thread::scope(|s| {
      s.spawn(|| {
        let _helping = current.enter();
        std::hint::black_box(vec![0u8; 4 << 20]);
      });
    });
    assert!(budget.peak() >= (4 << 20) - FLUSH as isize, "{}", budget.peak());
  }

  #[test]
  fn reserve_without_a_budget() {
    assert!(reserve(1 << 40).is_ok());
    assert!(reserve(usize::MAX).is_err());
  }
}
