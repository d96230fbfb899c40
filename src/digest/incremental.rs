//! A hash fed chunk by chunk from the JS thread and computed on the pool, strictly in order: the
//! state behind `createHasher()` and `hashStream()`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use super::engine::{update_view, Engine};
use crate::runtime::bytes::ByteView;
use crate::runtime::serial::Serial;
use crate::runtime::{Cancel, Result};

#[derive(Clone)]
pub struct Incremental {
  /// `None` once finished.
  serial: Serial<Option<Box<dyn Engine>>>,
  /// Bytes queued and not hashed yet: what a stream's backpressure looks at.
  backlog: Arc<AtomicUsize>,
}

impl Incremental {
  pub fn new(engine: Box<dyn Engine>) -> Self {
    Incremental {
      serial: Serial::new(Some(engine)),
      backlog: Arc::new(AtomicUsize::new(0)),
    }
  }

  /// Queues `data` to be hashed after everything queued before it. Returns at once.
  pub fn update(&self, data: ByteView) -> Result<()> {
    let len = data.len();
    self.backlog.fetch_add(len, Ordering::AcqRel);
    let backlog = self.backlog.clone();
    self
      .serial
      .run(move |engine| {
        if let Some(engine) = engine {
          // Fails only when the view's worker is gone: then no digest is awaited any more.
          let _ = update_view(engine.as_mut(), &data, &Cancel::default());
        }
        backlog.fetch_sub(len, Ordering::AcqRel);
      })
      .inspect_err(|_| {
        self.backlog.fetch_sub(len, Ordering::AcqRel);
      })
  }

  pub fn backlog(&self) -> usize {
    self.backlog.load(Ordering::Acquire)
  }

  /// Runs `then` once every chunk queued so far is hashed.
  pub fn after(&self, then: impl FnOnce() + Send + 'static) -> Result<()> {
    self.serial.run(move |_| then())
  }

  /// Finishes the hash after every queued chunk and hands the digest to `then`.
  pub fn finish(&self, then: impl FnOnce(Vec<u8>) + Send + 'static) -> Result<()> {
    self.serial.run(move |engine| {
      if let Some(engine) = engine.take() {
        then(engine.finish());
      }
    })
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::digest::engine::Algorithm;
  use std::sync::mpsc;

  #[test]
  fn chunks_hash_in_order_like_one_update() {
    let data: Vec<u8> = (0..1_000_000u32).map(|i| (i % 253) as u8).collect();
    for algorithm in [Algorithm::Sha512, Algorithm::Blake3] {
      let mut one = algorithm.hasher();
      one.update(&data);
      let expected = one.finish();

      let incremental = Incremental::new(algorithm.hasher());
      // Uneven chunks, one larger than BLAKE3's parallel threshold.
      let mut rest = &data[..];
      for size in [0, 1, 63, 64, 65, 4096, 300_000].iter().cycle() {
        if rest.is_empty() {
          break;
        }
        let (chunk, tail) = rest.split_at((*size).min(rest.len()));
        incremental.update(ByteView::Copied(chunk.to_vec())).unwrap();
        rest = tail;
      }
      let (flushed_tx, flushed_rx) = mpsc::channel();
      incremental.after(move || flushed_tx.send(()).unwrap()).unwrap();
      flushed_rx.recv().unwrap();
      assert_eq!(incremental.backlog(), 0);
      let (tx, rx) = mpsc::channel();
      incremental.finish(move |digest| tx.send(digest).unwrap()).unwrap();
      assert_eq!(rx.recv().unwrap(), expected, "{algorithm:?}");
    }
  }
}
