//! File helpers shared by the exports that read or write files (`hashFile`, `jqFile`): Node-style
//! fs errors and reads that fill a buffer.

use std::io::{self, Read};

use super::error::OffloopError;

/// Fills `buffer` unless the file ends first; returns the bytes read (0 at EOF).
pub fn read_full(file: &mut impl Read, buffer: &mut [u8]) -> io::Result<usize> {
  let mut filled = 0;
  while filled < buffer.len() {
    match file.read(&mut buffer[filled..]) {
      Ok(0) => break,
      Ok(n) => filled += n,
      Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
      Err(e) => return Err(e),
    }
  }
  Ok(filled)
}

/// An fs error as Node reports it: `code` (`ENOENT`...), `syscall`, `path`, and a message such as
/// `ENOENT: no such file or directory, open '/x'`.
pub fn error(error: &io::Error, syscall: &str, path: &str) -> OffloopError {
  let (code, description) = error_code(error);
  OffloopError::error(code, format!("{code}: {description}, {syscall} '{path}'"))
    .with_property("syscall", syscall)
    .with_property("path", path)
}

/// libuv's names and descriptions for the errors a file read or write can meet. Hand-written
/// because std only exposes `ErrorKind`, which folds several errno values together (EACCES and
/// EPERM).
#[cfg(unix)]
fn error_code(error: &io::Error) -> (&'static str, &'static str) {
  match error.raw_os_error() {
    Some(libc::ENOENT) => ("ENOENT", "no such file or directory"),
    Some(libc::EACCES) => ("EACCES", "permission denied"),
    Some(libc::EPERM) => ("EPERM", "operation not permitted"),
    Some(libc::EISDIR) => ("EISDIR", "illegal operation on a directory"),
    Some(libc::ENOTDIR) => ("ENOTDIR", "not a directory"),
    Some(libc::EMFILE) => ("EMFILE", "too many open files"),
    Some(libc::ENFILE) => ("ENFILE", "file table overflow"),
    Some(libc::ELOOP) => ("ELOOP", "too many symbolic links encountered"),
    Some(libc::ENAMETOOLONG) => ("ENAMETOOLONG", "name too long"),
    Some(libc::EIO) => ("EIO", "i/o error"),
    Some(libc::EINVAL) => ("EINVAL", "invalid argument"),
    Some(libc::ENXIO) => ("ENXIO", "no such device or address"),
    Some(libc::ENOMEM) => ("ENOMEM", "not enough memory"),
    Some(libc::ENOSPC) => ("ENOSPC", "no space left on device"),
    Some(libc::EROFS) => ("EROFS", "read-only file system"),
    Some(libc::EEXIST) => ("EEXIST", "file already exists"),
    Some(libc::EXDEV) => ("EXDEV", "cross-device link not permitted"),
    // Errors wrapped by a library (tempfile adds the path) keep only their kind.
    _ => kind_code(error),
  }
}

#[cfg(not(unix))]
fn error_code(error: &io::Error) -> (&'static str, &'static str) {
  kind_code(error)
}

fn kind_code(error: &io::Error) -> (&'static str, &'static str) {
  match error.kind() {
    io::ErrorKind::NotFound => ("ENOENT", "no such file or directory"),
    io::ErrorKind::PermissionDenied => ("EACCES", "permission denied"),
    io::ErrorKind::IsADirectory => ("EISDIR", "illegal operation on a directory"),
    io::ErrorKind::NotADirectory => ("ENOTDIR", "not a directory"),
    io::ErrorKind::AlreadyExists => ("EEXIST", "file already exists"),
    io::ErrorKind::StorageFull => ("ENOSPC", "no space left on device"),
    _ => ("UNKNOWN", "unknown error"),
  }
}
