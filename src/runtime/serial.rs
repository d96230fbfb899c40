//! Work on one object, in order, on the pool: the chunks of one stream hashed one after another.
//!
//! Each task runs after every task queued before it, never two at once, on a pool thread. Queuing
//! takes no lock the pool holds (the JS thread only puts the task in an `Inbox`), and no pool
//! thread ever blocks waiting for another: one drain job runs the queue until it is empty.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::error::Result;
use super::inbox::Inbox;
use super::pool::{pool, Outcome};

type Task<S> = Box<dyn FnOnce(&mut S) + Send>;

pub struct Serial<S> {
  inner: Arc<Inner<S>>,
}

impl<S> Clone for Serial<S> {
  fn clone(&self) -> Self {
    Serial {
      inner: self.inner.clone(),
    }
  }
}

struct Inner<S> {
  tasks: Inbox<Task<S>>,
  /// Set while a drain job is queued or running: only that job touches `state`.
  draining: AtomicBool,
  /// `None` for good after a task panicked. Locked by the drain job only, so never contended.
  state: Mutex<Option<S>>,
}

impl<S: Send + 'static> Serial<S> {
  pub fn new(state: S) -> Self {
    Serial {
      inner: Arc::new(Inner {
        tasks: Inbox::default(),
        draining: AtomicBool::new(false),
        state: Mutex::new(Some(state)),
      }),
    }
  }

  /// Queues `task`. Fails only when the pool refuses work (`ERR_QUEUE_FULL`); the task is then not
  /// queued. After a task panicked, later tasks are dropped unrun (a `Settler` they hold rejects).
  ///
  /// Called from one thread at a time (the JS thread that owns the object).
  pub fn run(&self, task: impl FnOnce(&mut S) + Send + 'static) -> Result<()> {
    self.inner.tasks.put(Box::new(task));
    if self.inner.draining.swap(true, Ordering::AcqRel) {
      return Ok(());
    }
    let inner = self.inner.clone();
    let submitted = pool().and_then(|pool| pool.submit(move || (drain(&inner), || ())));
    submitted.inspect_err(|_| {
      // No drain job exists, so the inbox holds only what this call put in: take it back.
      drop(self.inner.tasks.take());
      self.inner.draining.store(false, Ordering::Release);
    })
  }
}

/// Runs queued tasks until none is left. Only one drain job exists at a time (`draining`).
fn drain<S>(inner: &Inner<S>) -> Outcome {
  let mut state = inner.state.lock().unwrap_or_else(|e| e.into_inner());
  loop {
    for task in inner.tasks.take() {
      match state.as_mut() {
        Some(s) => {
          if catch_unwind(AssertUnwindSafe(|| task(s))).is_err() {
            *state = None;
          }
        }
        None => drop(task),
      }
    }
    // A swap, not a store: reading the flag a `run` set makes that `run`'s task visible below. A
    // task put in after the last take, whose `run` saw `draining` still set, is this job's to run:
    // take the job back unless another `run` already queued a new one.
    inner.draining.swap(false, Ordering::AcqRel);
    if inner.tasks.is_empty() || inner.draining.swap(true, Ordering::AcqRel) {
      return Outcome::Completed;
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use std::sync::mpsc;

  #[test]
  fn tasks_run_in_order_one_at_a_time() {
    let serial = Serial::new(Vec::new());
    for i in 0..10_000 {
      serial.run(move |v: &mut Vec<u32>| v.push(i)).unwrap();
    }
    let (tx, rx) = mpsc::channel();
    serial.run(move |v| tx.send(v.clone()).unwrap()).unwrap();
    assert_eq!(rx.recv().unwrap(), (0..10_000).collect::<Vec<_>>());
  }

  #[test]
  fn a_panic_poisons_and_later_tasks_are_dropped() {
    let serial = Serial::new(0u32);
    serial.run(|_| panic!("boom")).unwrap();
    let (tx, rx) = mpsc::channel::<()>();
    serial.run(move |_| tx.send(()).unwrap()).unwrap();
    // The task was dropped unrun, so the channel closes without a message.
    assert!(rx.recv().is_err());
  }
}
