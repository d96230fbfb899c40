//! File helpers shared by the exports that read or write files (`hashFile`, `jqFile`): Node-style
//! fs errors, files that an abort reaches while they wait, and reads that fill a buffer.

use std::fs::{File, Metadata};
use std::io::{self, Read, Write};
use std::path::Path;

use super::error::OffloopError;
use super::Cancel;

/// How long a read or write of a FIFO, terminal or socket waits before it looks at the abort flag.
#[cfg(unix)]
const WAIT_STEP_MS: i32 = 50;

/// `open` of a FIFO waits for the other end, and a read or write of one for the other end to
/// write or read, as long as they take: a FIFO nobody writes held its pool thread for good,
/// aborted or not, and with it every call queued behind. So files are opened without waiting
/// (`O_NONBLOCK`, kept), and where the file would block, the thread waits in steps between which it
/// checks `cancel`.
fn open_nonblocking(options: &mut std::fs::OpenOptions, path: &Path) -> io::Result<File> {
  #[cfg(unix)]
  std::os::unix::fs::OpenOptionsExt::custom_flags(options, libc::O_NONBLOCK);
  options.open(path)
}

/// Until `file` is ready for `events` (`POLLIN` also when a FIFO's writer closed), or the call is
/// aborted: then an error, which goes nowhere (an aborted call has settled already).
#[cfg(unix)]
fn wait(file: &File, events: libc::c_short, cancel: &Cancel) -> io::Result<()> {
  use std::os::fd::AsRawFd;
  loop {
    if cancel.is_cancelled() {
      return Err(io::Error::other("aborted"));
    }
    let mut ready = libc::pollfd {
      fd: file.as_raw_fd(),
      events,
      revents: 0,
    };
    // SAFETY: one valid `pollfd` for a descriptor `file` owns for the whole call.
    match unsafe { libc::poll(&mut ready, 1, WAIT_STEP_MS) } {
      0 => {}
      n if n > 0 => return Ok(()),
      _ => match io::Error::last_os_error() {
        e if e.kind() == io::ErrorKind::Interrupted => {}
        e => return Err(e),
      },
    }
  }
}

/// A file opened for reading where no pool thread waits out of an abort's reach
/// (`open_nonblocking`). A read of anything but a regular file first waits for data: a FIFO whose
/// writer has not come yet reads as ended otherwise, where `fs.readFile` waits for the writer.
pub struct Input {
  file: File,
  special: bool,
  cancel: Cancel,
}

impl Input {
  pub fn open(path: &Path, cancel: &Cancel) -> io::Result<Input> {
    let file = open_nonblocking(std::fs::OpenOptions::new().read(true), path)?;
    let special = !file.metadata()?.is_file();
    Ok(Input {
      file,
      special,
      cancel: cancel.clone(),
    })
  }

  pub fn metadata(&self) -> io::Result<Metadata> {
    self.file.metadata()
  }

  fn wait(&self) -> io::Result<()> {
    #[cfg(unix)]
    return wait(&self.file, libc::POLLIN, &self.cancel);
    #[cfg(not(unix))]
    self.cancel.check().map_err(|_| io::Error::other("aborted"))
  }
}

impl Read for Input {
  fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
    if self.special {
      self.wait()?;
    }
    loop {
      match self.file.read(buffer) {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.wait()?,
        result => return result,
      }
    }
  }
}

/// A FIFO, device or socket opened for writing in place, where no pool thread waits out of an
/// abort's reach (`open_nonblocking`): a FIFO with no reader is `ENXIO`, and a write its reader does
/// not take waits in steps. A directory is `EISDIR`.
pub struct SpecialWriter {
  file: File,
  cancel: Cancel,
}

impl SpecialWriter {
  pub fn open(path: &Path, cancel: &Cancel) -> io::Result<SpecialWriter> {
    Ok(SpecialWriter {
      file: open_nonblocking(std::fs::OpenOptions::new().write(true), path)?,
      cancel: cancel.clone(),
    })
  }
}

impl Write for SpecialWriter {
  fn write(&mut self, buffer: &[u8]) -> io::Result<usize> {
    loop {
      match self.file.write(buffer) {
        #[cfg(unix)]
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => wait(&self.file, libc::POLLOUT, &self.cancel)?,
        result => return result,
      }
    }
  }

  fn flush(&mut self) -> io::Result<()> {
    self.file.flush()
  }
}

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
