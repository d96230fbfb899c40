//! A lock-free inbox: many threads put items in, one thread takes them all out at once, oldest
//! first.
//!
//! Why not a mutex: the JS thread takes from inboxes that pool threads fill, and pool threads run
//! in `SCHED_IDLE`. A pool thread preempted while holding a shared lock keeps the JS thread asleep
//! until the scheduler gives an idle-class thread a turn again, which on a saturated machine is
//! seconds (measured: benchmark/NOTES.md). Why by hand: the bridge must learn, atomically with
//! the put, whether the inbox was empty (the one put that wakes the JS thread), which
//! `crossbeam`'s queues do not report. A stack whose only removal takes everything (a Treiber
//! stack with `swap`) is the simplest structure that does, and has no ABA problem: a put re-reads
//! the head it links to before every compare-exchange, and nothing else is ever removed.

use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};

pub struct Inbox<T> {
  head: AtomicPtr<Node<T>>,
}

struct Node<T> {
  item: T,
  next: *mut Node<T>,
}

// SAFETY: the inbox moves `T`s from the putting threads to the taking one, like a channel.
unsafe impl<T: Send> Send for Inbox<T> {}
// SAFETY: every shared access goes through the atomic head; a node is reachable by one thread
// only once it is linked (puts) or unlinked (takes).
unsafe impl<T: Send> Sync for Inbox<T> {}

impl<T> Default for Inbox<T> {
  fn default() -> Self {
    Inbox {
      head: AtomicPtr::new(ptr::null_mut()),
    }
  }
}

impl<T> Inbox<T> {
  /// Puts `item` in; true when the inbox was empty.
  pub fn put(&self, item: T) -> bool {
    let node = Box::into_raw(Box::new(Node {
      item,
      next: ptr::null_mut(),
    }));
    let mut head = self.head.load(Ordering::Relaxed);
    loop {
      // SAFETY: `node` is not linked yet, so this thread is its only user.
      unsafe { (*node).next = head };
      match self
        .head
        .compare_exchange_weak(head, node, Ordering::Release, Ordering::Relaxed)
      {
        Ok(_) => return head.is_null(),
        Err(current) => head = current,
      }
    }
  }

  /// Takes every item put in so far, oldest first.
  pub fn take(&self) -> Vec<T> {
    let mut node = self.head.swap(ptr::null_mut(), Ordering::Acquire);
    let mut items = Vec::new();
    while !node.is_null() {
      // SAFETY: the swap unlinked the whole list, so this thread owns every node on it; each was
      // made by `Box::into_raw` in `put` and is freed once, here.
      let boxed = unsafe { Box::from_raw(node) };
      node = boxed.next;
      items.push(boxed.item);
    }
    items.reverse();
    items
  }

  pub fn is_empty(&self) -> bool {
    self.head.load(Ordering::Acquire).is_null()
  }
}

impl<T> Drop for Inbox<T> {
  fn drop(&mut self) {
    drop(self.take());
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use std::sync::Arc;

  #[test]
  fn takes_everything_in_order_and_reports_the_first_put() {
    let inbox = Inbox::default();
    assert!(inbox.put(1));
    assert!(!inbox.put(2));
    assert!(!inbox.put(3));
    assert_eq!(inbox.take(), [1, 2, 3]);
    assert!(inbox.is_empty());
    assert!(inbox.put(4));
    assert_eq!(inbox.take(), [4]);
  }

  #[test]
  fn many_threads_put_while_one_takes_and_nothing_is_lost() {
    let inbox = Arc::new(Inbox::default());
    let threads: Vec<_> = (0..4u64)
      .map(|t| {
        let inbox = inbox.clone();
        std::thread::spawn(move || {
          (0..20_000)
            .map(|i| inbox.put(t * 1_000_000 + i) as usize)
            .sum::<usize>()
        })
      })
      .collect();
    let mut taken = Vec::new();
    while taken.len() < 80_000 {
      taken.extend(inbox.take());
    }
    let wakes: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    // Each thread's items come out in the order it put them.
    for t in 0..4 {
      let mine: Vec<u64> = taken.iter().copied().filter(|x| x / 1_000_000 == t).collect();
      assert_eq!(mine, (0..20_000).map(|i| t * 1_000_000 + i).collect::<Vec<_>>());
    }
    assert!(wakes >= 1 && wakes <= 80_000);
  }
}
