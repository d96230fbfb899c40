//! Stopping a run from inside value code.
//!
//! A walk over a value (comparing, printing, containment) can take far longer than the program
//! step that started it: values share their children, so `[., .]` applied sixty times is a value
//! of 2^60 leaves in a few kilobytes. Walks count their steps ([`tick`]) and poll every
//! [`POLL_EVERY`]:
//! when the run was aborted or went over its memory budget, they unwind (`resume_unwind` with an
//! [`Interrupt`], as the interpreter's own guard does), and `run` turns the interrupt into the
//! call's error. Building a value deeper than [`MAX_DEPTH`] unwinds the same way, so that every
//! walk recurses at most that deep, on a stack sized for it ([`on_stack`]).

use std::cell::{Cell, RefCell};
use std::panic::resume_unwind;

use crate::runtime::{memory, Cancel};

/// The deepest value a program may build (arrays and objects nested in each other: `[]` is one
/// level), and so the deepest any walk recurses. jq's own limits: its comparisons, merges and
/// printing count levels from 0 and give up past 10,000 ("Comparison too deep", `<skipped: too
/// deep>`), so they work on values of 10,001 levels, as offloop does; jq builds deeper values,
/// offloop refuses to. The walks need `FRAME` bytes of stack a level.
pub const MAX_DEPTH: u32 = 10_001;

/// Stack one level of a walk may use: measured by `tests::walk_stack` at `MAX_DEPTH` (at most
/// 416 bytes a level in release builds, `contains`; 960 in debug builds, comparing objects) and
/// doubled. A walk over the deepest value needs 10 MiB in release builds, 20 MiB in debug ones.
const FRAME: usize = if cfg!(debug_assertions) { 2 << 10 } else { 1 << 10 };

/// Walks poll for an abort once per this many steps (about 10–50 µs of work).
pub const POLL_EVERY: u32 = 4096;

/// Why a run was unwound (the payload of `resume_unwind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interrupt {
  Aborted,
  StackExhausted,
  /// The call's memory budget was exceeded (its limit in bytes).
  MemoryLimit(usize),
  /// A value would have nested this deep.
  TooDeep(u32),
}

thread_local! {
  /// The cancel flag of the run on this thread, if any.
  static RUNNING: RefCell<Option<Cancel>> = const { RefCell::new(None) };
  /// Steps counted by `tick`.
  static TICKS: Cell<u32> = const { Cell::new(0) };
}

/// While alive, this thread runs a program that `cancel` aborts: polls may unwind.
pub struct Running {
  previous: Option<Cancel>,
}

pub fn enter(cancel: &Cancel) -> Running {
  Running {
    previous: RUNNING.with_borrow_mut(|running| running.replace(cancel.clone())),
  }
}

impl Drop for Running {
  fn drop(&mut self) {
    RUNNING.with_borrow_mut(|running| *running = self.previous.take());
  }
}

/// Unwinds the run if it was aborted or went over its memory budget. Outside a run, nothing.
pub fn poll() {
  let aborted = RUNNING.with_borrow(|running| running.as_ref().map(Cancel::is_cancelled));
  match aborted {
    None => {}
    Some(true) => stop(Interrupt::Aborted),
    Some(false) => {
      if let Err(over) = memory::check() {
        stop(Interrupt::MemoryLimit(over.limit))
      }
    }
  }
}

/// Unwinds the run if it went over its memory budget: the check of every program step and of
/// every array, object and string built, so that a call stops right after the step that took it
/// over, however few steps it takes. One load of a static while no call in the process is over.
#[inline]
pub fn check_memory() {
  if memory::any_over() {
    poll();
  }
}

/// Unwinds the run.
pub fn stop(reason: Interrupt) -> ! {
  resume_unwind(Box::new(reason))
}

/// A value would nest `depth` deep.
#[cold]
pub fn too_deep(depth: u32) -> ! {
  stop(Interrupt::TooDeep(depth))
}

/// Before allocating `bytes` whose number comes from a program's values: stops the run if they
/// would not fit its memory budget (one allocation can be far larger than the whole budget, and
/// a failed allocation aborts the process), or if it was aborted: the copy that follows costs far
/// more than the poll, and a few such steps (a `reduce` that appends to a long string) can take
/// longer than the interpreter's 1,024 steps between polls.
pub fn reserve(bytes: usize) {
  poll();
  if let Err(over) = memory::reserve(bytes) {
    stop(Interrupt::MemoryLimit(over.limit))
  }
}

/// Before copying `n` items of type `T` at once (a shared array made unique, a copy of the fast
/// evaluator's values): `reserve`, for copies large enough to matter.
#[inline]
pub fn reserve_items<T>(n: usize) {
  let bytes = n.saturating_mul(std::mem::size_of::<T>());
  if bytes >= 64 << 10 {
    reserve(bytes);
  }
}

/// Pushes `item` onto `items`, a result that grows with a program's values (the parts of a split,
/// the places found by `indices`): a step for `tick`, and the vector's next growth checked against
/// the memory budget before it is made, since one growth can be larger than the whole budget.
#[inline]
pub fn push<T>(items: &mut Vec<T>, item: T) {
  tick();
  if items.len() == items.capacity() {
    reserve_items::<T>(items.capacity().max(4));
  }
  items.push(item);
}

/// Counts a step of work on the thread (a walk, a copy, an element the fast evaluator iterates)
/// and polls every [`POLL_EVERY`]: many short walks poll as one long one does. A thread-local
/// costs a function call in a shared library, so walks count their own steps (`Steps`) and tick
/// once.
#[inline]
pub fn tick() {
  let ticks = TICKS.get().wrapping_add(1);
  TICKS.set(ticks);
  if ticks.is_multiple_of(POLL_EVERY) {
    poll();
  }
}

/// The steps of one walk: the walk ticks once, then polls every [`POLL_EVERY`] of its own steps.
pub struct Steps(u32);

impl Steps {
  #[inline]
  #[allow(clippy::new_without_default)] // `new` ticks: not a default.
  pub fn new() -> Steps {
    tick();
    Steps(0)
  }

  /// For a step that is no walk (two scalars): not counted on the thread.
  pub fn uncounted() -> Steps {
    Steps(0)
  }

  #[inline]
  pub fn step(&mut self) {
    #[cfg(test)]
    tests::note_stack();
    self.0 = self.0.wrapping_add(1);
    if self.0.is_multiple_of(POLL_EVERY) {
      poll();
    }
  }
}

/// Runs a walk over values at most `depth` deep with enough stack for it: on a new stack
/// segment when the current one has too little left (the interpreter may have used most of it).
#[inline]
pub fn on_stack<R>(depth: u32, walk: impl FnOnce() -> R) -> R {
  if depth < 32 {
    return walk();
  }
  let need = depth as usize * FRAME + (64 << 10);
  stacker::maybe_grow(need, need + (256 << 10), walk)
}

#[cfg(test)]
mod tests {
  use std::cell::Cell;

  use super::super::{order, path, text, Map, Str, Val};
  use super::*;

  thread_local! {
    /// The least stack left seen by `tick` on this thread.
    static LOWEST: Cell<usize> = const { Cell::new(usize::MAX) };
  }

  pub fn note_stack() {
    if let Some(left) = stacker::remaining_stack() {
      LOWEST.set(LOWEST.get().min(left));
    }
  }

  /// Stack used by `walk`, from where it is called to the deepest `tick` it reaches.
  fn stack_used(walk: impl FnOnce()) -> usize {
    let start = stacker::remaining_stack().unwrap();
    LOWEST.set(usize::MAX);
    walk();
    start - LOWEST.get()
  }

  fn nested(depth: u32, object: bool) -> Val {
    let mut value = Val::float(1.0);
    for _ in 0..depth {
      value = if object {
        let mut map = Map::default();
        map.insert(Str::from("k"), value);
        Val::object(map)
      } else {
        Val::array(vec![value, Val::Null])
      };
    }
    value
  }

  /// The stack each walk needs per level of nesting, at `MAX_DEPTH` (printed with
  /// `--nocapture`): `FRAME` must cover the largest with room to spare. Run on a thread whose
  /// stack is large enough that `on_stack` never switches to a new segment.
  #[test]
  fn walk_stack() {
    let measure = || {
      let mut worst = 0;
      for object in [false, true] {
        let (a, b) = (nested(MAX_DEPTH, object), nested(MAX_DEPTH, object));
        let walks: [(&str, Box<dyn Fn()>); 5] = [
          ("equal", Box::new(|| assert!(order::equal(&a, &b)))),
          ("jq_cmp", Box::new(|| assert!(order::jq_cmp(&a, &b).is_eq()))),
          ("total_cmp", Box::new(|| assert!(order::total_cmp(&a, &b).is_eq()))),
          ("contains", Box::new(|| assert_eq!(order::contains(&a, &b), Some(true)))),
          (
            "write",
            Box::new(|| assert!(text::to_json(&a).len() > MAX_DEPTH as usize)),
          ),
        ];
        for (name, walk) in walks {
          let per_level = stack_used(walk) / MAX_DEPTH as usize;
          println!(
            "{name} ({}): {per_level} bytes a level",
            if object { "objects" } else { "arrays" }
          );
          worst = worst.max(per_level);
        }
        // Paths are at most 10,000 keys long (jq's "Path too deep").
        let paths = Val::array(vec![Val::array(vec![Val::str("k"); 10_000])]);
        if object {
          let object_walks: [(&str, Box<dyn Fn()>); 2] = [
            ("merge", Box::new(|| drop((a.clone() * b.clone()).unwrap()))),
            (
              "delpaths",
              Box::new(|| drop(path::delpaths(a.clone(), &paths).unwrap())),
            ),
          ];
          for (name, walk) in object_walks {
            let per_level = stack_used(walk) / MAX_DEPTH as usize;
            println!("{name}: {per_level} bytes a level");
            worst = worst.max(per_level);
          }
        }
      }
      worst
    };
    let worst = std::thread::Builder::new()
      .stack_size(1 << 30)
      .spawn(measure)
      .unwrap()
      .join()
      .unwrap();
    assert!(worst > 0);
    assert!(
      worst * 3 / 2 <= FRAME,
      "walks use {worst} bytes a level, FRAME is {FRAME}"
    );
  }

  /// A value deeper than `MAX_DEPTH` cannot be built, and one at the limit drops without
  /// recursion (on a small stack).
  #[test]
  fn depth_is_capped_and_drop_is_flat() {
    let deep = std::thread::Builder::new()
      .stack_size(256 << 10)
      .spawn(|| {
        let value = nested(MAX_DEPTH, false);
        assert_eq!(value.depth(), MAX_DEPTH);
        let refused = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Val::array(vec![value.clone()])));
        let payload = refused.expect_err("one level more is refused");
        assert_eq!(
          payload.downcast_ref::<Interrupt>(),
          Some(&Interrupt::TooDeep(MAX_DEPTH + 1))
        );
        drop(value);
      })
      .unwrap()
      .join();
    assert!(deep.is_ok());
  }
}
