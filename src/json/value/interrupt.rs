//! Stopping a run from inside value code.
//!
//! A walk over a value (comparing, printing, containment) can take far longer than the program
//! step that started it: values share their children, so `[., .]` applied sixty times is a value
//! of 2^60 leaves in a few kilobytes. Walks count their steps and poll every [`POLL_EVERY`]:
//! when the run was aborted or went over its memory budget, they unwind (`resume_unwind` with an
//! [`Interrupt`], as the interpreter's own guard does), and `run` turns the interrupt into the
//! call's error. Building a value deeper than [`MAX_DEPTH`] unwinds the same way, so that every
//! walk recurses at most that deep, on a stack sized for it ([`on_stack`]).

use std::cell::{Cell, RefCell};
use std::panic::resume_unwind;

use crate::runtime::{memory, Cancel};

/// The deepest value a program may build (arrays and objects nested in each other), and so the
/// deepest any walk recurses. jq's own limits are the same: it refuses to parse JSON deeper than
/// 10,000 levels and compares or prints values at most that deep.
pub const MAX_DEPTH: u32 = 10_000;

/// Stack one level of the deepest-recursing walk may use: measured (`tests::walk_stack`) and
/// doubled. Debug builds use several times more.
const FRAME: usize = if cfg!(debug_assertions) { 4 << 10 } else { 512 };

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
/// a failed allocation aborts the process).
pub fn reserve(bytes: usize) {
  if let Err(over) = memory::reserve(bytes) {
    stop(Interrupt::MemoryLimit(over.limit))
  }
}

/// Counts the steps of a walk and polls every [`POLL_EVERY`].
#[derive(Default)]
pub struct Steps(u32);

impl Steps {
  #[inline]
  pub fn step(&mut self) {
    self.0 = self.0.wrapping_add(1);
    if self.0.is_multiple_of(POLL_EVERY) {
      poll();
    }
  }
}

/// Counts a step of work that has no `Steps` of its own at hand (the fast evaluator's), and
/// polls every [`POLL_EVERY`].
#[inline]
pub fn tick() {
  let ticks = TICKS.get().wrapping_add(1);
  TICKS.set(ticks);
  if ticks.is_multiple_of(POLL_EVERY) {
    poll();
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
