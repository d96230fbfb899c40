//! Hashing a file in Rust, a chunk at a time (never the whole file in memory), with errors that
//! look like Node's own fs errors.

use std::cell::Cell;
use std::path::Path;

use super::engine::Engine;
use crate::runtime::fs::{error as fs_error, read_full, Input};
use crate::runtime::{Cancel, Result};

/// Bytes read per step: large enough for BLAKE3 to split one chunk over the pool's threads and for
/// the syscalls to cost nothing, small enough that `threads x 2` buffers stay a few MiB.
const CHUNK: usize = 1 << 20;

/// How one file's work may use the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threads {
  /// Read, then hash, on the calling thread only. For many files at once (`hashFiles`): the files
  /// are the parallelism, and each pool thread has exactly one file open.
  One,
  /// Read the next chunk while the current one is hashed (on another pool thread when one is idle),
  /// and let BLAKE3 split each chunk over the pool. For one file (`hashFile`).
  Pool,
}

thread_local! {
  /// Set while this thread hashes a file with `Threads::Pool`.
  static IN_POOL_FILE: Cell<bool> = const { Cell::new(false) };
}

/// Clears `IN_POOL_FILE` when a `Threads::Pool` file is done, however it ends.
struct PoolFileGuard;

impl Drop for PoolFileGuard {
  fn drop(&mut self) {
    IN_POOL_FILE.set(false);
  }
}

/// Hashes the file at `path` with `engine`, checking `cancel` between chunks.
///
/// A pool thread that waits inside `rayon::join` runs other queued jobs meanwhile, which may be
/// other files. A `Threads::Pool` file started on a thread already inside one is therefore hashed
/// with `Threads::One` (no join, so nothing nests under it): a pool thread never has more than two
/// files open, however many calls are queued.
pub fn hash_file(mut engine: Box<dyn Engine>, path: &str, threads: Threads, cancel: &Cancel) -> Result<Vec<u8>> {
  cancel.check()?;
  let threads = if threads == Threads::Pool && IN_POOL_FILE.replace(true) {
    Threads::One
  } else {
    threads
  };
  // Not `then_some(PoolFileGuard)`: that builds (and drops, clearing the flag) a guard for `One` too.
  let _guard = if threads == Threads::Pool {
    Some(PoolFileGuard)
  } else {
    None
  };
  let mut file = Input::open(Path::new(path), cancel).map_err(|e| fs_error(&e, "open", path))?;
  // The size only sizes the buffer (a small file gets a small one); reading goes on to EOF anyway,
  // so a file that grows or shrinks meanwhile is hashed as read.
  let size = file.metadata().map_or(CHUNK as u64, |m| m.len());
  let buffer_len = (size as usize).saturating_add(1).clamp(4096, CHUNK);
  let read = |file: &mut Input, buffer: &mut [u8]| read_full(file, buffer).map_err(|e| fs_error(&e, "read", path));

  let mut current = vec![0u8; buffer_len];
  let mut filled = read(&mut file, &mut current)?;
  let mut next = Vec::new();
  while filled > 0 {
    cancel.check()?;
    match threads {
      Threads::One => {
        engine.update(&current[..filled]);
        filled = read(&mut file, &mut current)?;
      }
      Threads::Pool => {
        if next.is_empty() {
          next = vec![0u8; buffer_len];
        }
        let data = &current[..filled];
        let (result, ()) = rayon::join(|| read(&mut file, &mut next), || engine.update_parallel(data));
        std::mem::swap(&mut current, &mut next);
        filled = result?;
      }
    }
  }
  Ok(engine.finish())
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::digest::engine::Algorithm;
  use crate::runtime::pool::pool;

  fn temp_file(name: &str, data: &[u8]) -> String {
    let dir = std::env::temp_dir().join(format!("offloop-digest-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, data).unwrap();
    path.to_str().unwrap().to_owned()
  }

  fn expected(algorithm: Algorithm, data: &[u8]) -> Vec<u8> {
    let mut engine = algorithm.hasher();
    engine.update(data);
    engine.finish()
  }

  #[test]
  fn files_of_every_shape_hash_like_memory() {
    // Sizes around the buffer and chunk boundaries.
    for (i, size) in [0, 1, 4095, 4096, 4097, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 7]
      .iter()
      .enumerate()
    {
      let data: Vec<u8> = (0..*size).map(|i| (i * 7 % 256) as u8).collect();
      let path = temp_file(&format!("f{i}"), &data);
      for algorithm in [Algorithm::Sha256, Algorithm::Blake3] {
        for threads in [Threads::One, Threads::Pool] {
          let got = pool()
            .unwrap()
            .install(|| hash_file(algorithm.hasher(), &path, threads, &Cancel::default()))
            .unwrap();
          assert_eq!(got, expected(algorithm, &data), "size {size} {algorithm:?} {threads:?}");
        }
      }
      std::fs::remove_file(path).unwrap();
    }
  }

  /// A file started while this thread is inside a `Threads::Pool` file must leave the outer file's
  /// flag set, or a third file could nest.
  #[test]
  fn a_nested_file_keeps_the_outer_files_flag() {
    let path = temp_file("nested", b"nested");
    IN_POOL_FILE.set(true);
    hash_file(Algorithm::Sha256.hasher(), &path, Threads::Pool, &Cancel::default()).unwrap();
    assert!(IN_POOL_FILE.get());
    IN_POOL_FILE.set(false);
    hash_file(Algorithm::Sha256.hasher(), &path, Threads::Pool, &Cancel::default()).unwrap();
    assert!(!IN_POOL_FILE.get());
    std::fs::remove_file(path).unwrap();
  }

  #[test]
  fn errors_look_like_node_fs_errors() {
    let missing = std::env::temp_dir().join("offloop-surely-missing/nope.bin");
    let missing = missing.to_str().unwrap();
    let err = hash_file(Algorithm::Sha256.hasher(), missing, Threads::One, &Cancel::default()).unwrap_err();
    assert_eq!(err.code, "ENOENT");
    assert_eq!(
      err.message,
      format!("ENOENT: no such file or directory, open '{missing}'")
    );
    assert!(err.properties.contains(&("syscall", "open".into())));
    assert!(err.properties.contains(&("path", missing.into())));

    let dir = std::env::temp_dir();
    let dir = dir.to_str().unwrap();
    let err = hash_file(Algorithm::Sha256.hasher(), dir, Threads::One, &Cancel::default()).unwrap_err();
    assert_eq!(err.code, "EISDIR");
    assert!(err.properties.contains(&("syscall", "read".into())));
  }
}
