//! Work on one object, in order, on the pool: the chunks of one stream hashed one after another.
//!
//! Each task runs after every task queued before it, never two at once, on a pool thread. Queuing
//! never waits for a running task (the JS thread only takes the lock to push), and no pool thread
//! ever blocks waiting for another: one drain job runs the queue until it is empty.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};

use super::error::Result;
use super::pool::{pool, Outcome};

type Task<S> = Box<dyn FnOnce(&mut S) + Send>;

pub struct Serial<S> {
  inner: Arc<Mutex<Inner<S>>>,
}

struct Inner<S> {
  /// `None` while a drain job holds it, or for good after a task panicked.
  state: Option<S>,
  tasks: VecDeque<Task<S>>,
  draining: bool,
}

impl<S: Send + 'static> Serial<S> {
  pub fn new(state: S) -> Self {
    Serial {
      inner: Arc::new(Mutex::new(Inner {
        state: Some(state),
        tasks: VecDeque::new(),
        draining: false,
      })),
    }
  }

  /// Queues `task`. Fails only when the pool refuses work (`ERR_QUEUE_FULL`); the task is then not
  /// queued. After a task panicked, later tasks are dropped unrun (a `Settler` they hold rejects).
  pub fn run(&self, task: impl FnOnce(&mut S) + Send + 'static) -> Result<()> {
    let mut inner = lock(&self.inner);
    inner.tasks.push_back(Box::new(task));
    if !inner.draining {
      let shared = self.inner.clone();
      if let Err(error) = pool().submit(move || (drain(&shared), || ())) {
        inner.tasks.pop_back();
        return Err(error);
      }
      inner.draining = true;
    }
    Ok(())
  }
}

fn lock<S>(inner: &Mutex<Inner<S>>) -> std::sync::MutexGuard<'_, Inner<S>> {
  inner.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs queued tasks until none is left. Only one drain job exists at a time (`draining`).
fn drain<S>(shared: &Mutex<Inner<S>>) -> Outcome {
  let mut state = lock(shared).state.take();
  loop {
    let task = {
      let mut inner = lock(shared);
      match inner.tasks.pop_front() {
        Some(task) => task,
        None => {
          inner.state = state;
          inner.draining = false;
          return Outcome::Completed;
        }
      }
    };
    // The task runs without the lock, so the JS thread can queue more meanwhile.
    match state.as_mut() {
      Some(s) => {
        if catch_unwind(AssertUnwindSafe(|| task(s))).is_err() {
          state = None;
        }
      }
      None => drop(task),
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
