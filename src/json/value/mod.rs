//! offloop's jq value: what jq programs compute with, with jq 1.8's semantics, and with every walk
//! over a value bounded in depth and abortable.
//!
//! Why our own type: jaq (the engine) is generic over its value type, and jaq-json's `Val`, the
//! one it ships, has jaq's semantics (integers, floats and big integers, its own ordering,
//! indexing, arithmetic and error wording) where programs written for jq expect jq's: doubles
//! that keep their literal text, null and fractional indices, string repetition, jq's messages
//! (`try … catch .` sees them). And its drop, comparison, hashing and printing recurse without a
//! bound: a value a program nests a million deep (`reduce range(1e6) as $i (null; [.])`)
//! overflowed the stack, which ends the process, and a value that shares its children (`[., .]`
//! sixty times over is 2^60 leaves) kept native code busy where no abort could reach. No library
//! offers jq 1.8's semantics with bounded, abortable walks, so the value is written here, against
//! jq 1.8.2's behaviour (the tests take their expectations from it).
//!
//! Layout: `Val` is 16 bytes; strings are slices of the input buffer where they came from one
//! (`Bytes`), containers are reference-counted and record how deeply they nest. Building a
//! container deeper than [`MAX_DEPTH`] stops the run with an error (`interrupt`), so every walk
//! recurses at most that deep; dropping is iterative. Modules: `num` (numbers), `order`
//! (equality, order, containment), `ops` (arithmetic), `path` (indexing, slicing, updates),
//! `text` (printing and messages), `interrupt` (stopping a run from inside value code), `jaq`
//! (the traits jaq needs), `funs` (native builtins on values).

pub mod funs;
pub mod interrupt;
mod jaq;
pub mod num;
mod ops;
pub mod order;
pub mod path;
pub mod text;

#[cfg(test)]
pub mod oracle;

use std::fmt;
use std::rc::Rc;

use bytes::Bytes;

pub use interrupt::{Interrupt, MAX_DEPTH};
pub use num::Num;

/// The error type of jq operations on values (the message is a `Val`, usually a string).
pub type Error = jaq_core::Error<Val>;
/// A value or an error.
pub type ValR = jaq_core::ValR<Val>;

/// A jq value.
#[derive(Clone, Debug, Default)]
pub enum Val {
  #[default]
  Null,
  Bool(bool),
  Num(Num),
  Str(Str),
  Arr(Arr),
  Obj(Obj),
}

#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<Val>() == 16);

/// A string: always valid UTF-8 (every constructor takes text or checks it).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Str(Rc<Bytes>);

/// Hashed as its `str`, so that maps keyed by `Str` can be searched with a `&str`.
impl std::hash::Hash for Str {
  fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
    self.as_str().hash(state)
  }
}

/// An array.
#[derive(Clone)]
pub struct Arr(Rc<ArrData>);

/// An object: string keys in insertion order.
#[derive(Clone)]
pub struct Obj(Rc<ObjData>);

/// The entries of an object.
pub type Map = indexmap::IndexMap<Str, Val, foldhash::fast::RandomState>;

struct ArrData {
  /// How deeply the array nests (1 + its deepest element's depth), an upper bound after an
  /// element was replaced or removed in place.
  depth: u32,
  items: Vec<Val>,
}

struct ObjData {
  /// As `ArrData::depth`.
  depth: u32,
  map: Map,
}

/// jq's names of the kinds of values, as its messages use them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
  Null,
  False,
  True,
  Number,
  String,
  Array,
  Object,
}

impl Kind {
  pub fn name(self) -> &'static str {
    match self {
      Kind::Null => "null",
      Kind::False | Kind::True => "boolean",
      Kind::Number => "number",
      Kind::String => "string",
      Kind::Array => "array",
      Kind::Object => "object",
    }
  }
}

impl Val {
  pub fn kind(&self) -> Kind {
    match self {
      Val::Null => Kind::Null,
      Val::Bool(false) => Kind::False,
      Val::Bool(true) => Kind::True,
      Val::Num(_) => Kind::Number,
      Val::Str(_) => Kind::String,
      Val::Arr(_) => Kind::Array,
      Val::Obj(_) => Kind::Object,
    }
  }

  /// How deeply the value nests: 0 for scalars.
  #[inline]
  pub fn depth(&self) -> u32 {
    match self {
      Val::Arr(a) => a.0.depth,
      Val::Obj(o) => o.0.depth,
      _ => 0,
    }
  }

  pub fn float(f: f64) -> Val {
    Val::Num(Num::Float(f))
  }

  pub fn str(s: &str) -> Val {
    Val::Str(Str::from(s))
  }

  pub fn array(items: Vec<Val>) -> Val {
    Val::Arr(Arr::new(items))
  }

  pub fn object(map: Map) -> Val {
    Val::Obj(Obj::new(map))
  }

  pub fn as_str(&self) -> Option<&str> {
    match self {
      Val::Str(s) => Some(s.as_str()),
      _ => None,
    }
  }

  pub fn as_num(&self) -> Option<&Num> {
    match self {
      Val::Num(n) => Some(n),
      _ => None,
    }
  }

  /// True unless null or false.
  pub fn truthy(&self) -> bool {
    !matches!(self, Val::Null | Val::Bool(false))
  }
}

impl Str {
  /// A slice of `owner`, which holds `text` (else a copy).
  pub fn in_buffer(owner: &Bytes, text: &str) -> Str {
    let start = owner.as_ptr() as usize;
    let at = text.as_ptr() as usize;
    if at >= start && at + text.len() <= start + owner.len() {
      Str(Rc::new(owner.slice_ref(text.as_bytes())))
    } else {
      Str::from(text)
    }
  }

  /// Bytes that may not be UTF-8: invalid sequences become U+FFFD, as jq does.
  pub fn lossy(bytes: Bytes) -> Str {
    match std::str::from_utf8(&bytes) {
      Ok(_) => Str(Rc::new(bytes)),
      Err(_) => Str::from(String::from_utf8_lossy(&bytes).into_owned()),
    }
  }

  #[inline]
  pub fn as_str(&self) -> &str {
    // SAFETY: every constructor of `Str` takes a `str`/`String` or checks the bytes are UTF-8,
    // and the bytes are never changed afterwards (slices are cut at character boundaries).
    unsafe { std::str::from_utf8_unchecked(&self.0) }
  }

  #[inline]
  pub fn as_bytes(&self) -> &[u8] {
    &self.0
  }

  pub fn len(&self) -> usize {
    self.0.len()
  }

  pub fn is_empty(&self) -> bool {
    self.0.is_empty()
  }

  /// The part `sub` of this string (a slice of it cut at character boundaries), sharing its
  /// buffer; a copy if `sub` lies elsewhere or cuts a character.
  pub fn sub(&self, sub: &[u8]) -> Str {
    let start = self.0.as_ptr() as usize;
    let at = sub.as_ptr() as usize;
    let text = self.as_str();
    if at >= start && at + sub.len() <= start + text.len() {
      let (from, to) = (at - start, at - start + sub.len());
      if text.is_char_boundary(from) && text.is_char_boundary(to) {
        return Str(Rc::new(self.0.slice(from..to)));
      }
    }
    Str::lossy(Bytes::copy_from_slice(sub))
  }

  /// The bytes `range` (at character boundaries), sharing the buffer.
  pub fn slice(&self, range: std::ops::Range<usize>) -> Str {
    debug_assert!(self.as_str().is_char_boundary(range.start) && self.as_str().is_char_boundary(range.end));
    Str(Rc::new(self.0.slice(range)))
  }

  pub fn bytes(&self) -> &Bytes {
    &self.0
  }
}

impl From<&str> for Str {
  fn from(s: &str) -> Str {
    Str(Rc::new(Bytes::copy_from_slice(s.as_bytes())))
  }
}

impl From<String> for Str {
  fn from(s: String) -> Str {
    Str(Rc::new(Bytes::from(s.into_bytes())))
  }
}

impl fmt::Debug for Str {
  fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
    fmt::Debug::fmt(self.as_str(), f)
  }
}

impl std::borrow::Borrow<str> for Str {
  fn borrow(&self) -> &str {
    self.as_str()
  }
}

/// The depth of a container holding values of at most `child` depth; stops the run past
/// `MAX_DEPTH`.
#[inline]
fn parent_depth(child: u32) -> u32 {
  let depth = child + 1;
  if depth > MAX_DEPTH {
    interrupt::too_deep(depth);
  }
  depth
}

impl Arr {
  pub fn new(items: Vec<Val>) -> Arr {
    let depth = parent_depth(items.iter().map(Val::depth).max().unwrap_or(0));
    Arr(Rc::new(ArrData { depth, items }))
  }

  #[inline]
  pub fn items(&self) -> &[Val] {
    &self.0.items
  }

  pub fn len(&self) -> usize {
    self.0.items.len()
  }

  pub fn is_empty(&self) -> bool {
    self.0.items.is_empty()
  }

  /// The elements, without a copy when this is the only reference.
  pub fn into_vec(self) -> Vec<Val> {
    match Rc::try_unwrap(self.0) {
      Ok(mut data) => std::mem::take(&mut data.items),
      Err(shared) => {
        interrupt::reserve_items::<Val>(shared.items.len());
        shared.items.clone()
      }
    }
  }

  /// Changes the elements in place (copying them first if shared). `added` is the deepest
  /// element `f` adds, so the recorded depth stays an upper bound.
  pub fn update<R>(&mut self, added: u32, f: impl FnOnce(&mut Vec<Val>) -> R) -> R {
    let depth = parent_depth(added).max(self.0.depth);
    let data = Rc::make_mut(&mut self.0);
    data.depth = depth;
    f(&mut data.items)
  }

  pub fn ptr_eq(&self, other: &Arr) -> bool {
    Rc::ptr_eq(&self.0, &other.0)
  }
}

impl Obj {
  pub fn new(map: Map) -> Obj {
    let depth = parent_depth(map.values().map(Val::depth).max().unwrap_or(0));
    Obj(Rc::new(ObjData { depth, map }))
  }

  #[inline]
  pub fn map(&self) -> &Map {
    &self.0.map
  }

  pub fn len(&self) -> usize {
    self.0.map.len()
  }

  pub fn is_empty(&self) -> bool {
    self.0.map.is_empty()
  }

  pub fn get(&self, key: &str) -> Option<&Val> {
    self.0.map.get(key)
  }

  /// The entries, without a copy when this is the only reference.
  pub fn into_map(self) -> Map {
    match Rc::try_unwrap(self.0) {
      Ok(mut data) => std::mem::take(&mut data.map),
      Err(shared) => {
        interrupt::reserve_items::<(Str, Val, u64)>(shared.map.len());
        shared.map.clone()
      }
    }
  }

  /// As `Arr::update`.
  pub fn update<R>(&mut self, added: u32, f: impl FnOnce(&mut Map) -> R) -> R {
    let depth = parent_depth(added).max(self.0.depth);
    let data = Rc::make_mut(&mut self.0);
    data.depth = depth;
    f(&mut data.map)
  }

  pub fn ptr_eq(&self, other: &Obj) -> bool {
    Rc::ptr_eq(&self.0, &other.0)
  }
}

/// Copies (made by `Rc::make_mut` when an update meets a shared container) are checked against
/// the call's memory budget first.
impl Clone for ArrData {
  fn clone(&self) -> Self {
    interrupt::reserve_items::<Val>(self.items.len());
    ArrData {
      depth: self.depth,
      items: self.items.clone(),
    }
  }
}

impl Clone for ObjData {
  fn clone(&self) -> Self {
    interrupt::reserve_items::<(Str, Val, u64)>(self.map.len());
    ObjData {
      depth: self.depth,
      map: self.map.clone(),
    }
  }
}

/// Containers at most this deep are dropped by the usual recursion; deeper ones by a loop, so
/// that dropping never overflows the stack.
const SHALLOW: u32 = 64;

impl Drop for ArrData {
  fn drop(&mut self) {
    if self.depth > SHALLOW {
      dismantle(std::mem::take(&mut self.items));
    }
  }
}

impl Drop for ObjData {
  fn drop(&mut self) {
    if self.depth > SHALLOW {
      dismantle(std::mem::take(&mut self.map).into_values().collect());
    }
  }
}

/// Drops `values` with a work list instead of recursion: the children of each container only
/// referenced here join the list before the container itself goes, empty.
fn dismantle(mut values: Vec<Val>) {
  while let Some(value) = values.pop() {
    match value {
      Val::Arr(a) => {
        if let Some(mut data) = Rc::into_inner(a.0) {
          values.append(&mut data.items);
        }
      }
      Val::Obj(o) => {
        if let Some(mut data) = Rc::into_inner(o.0) {
          values.extend(std::mem::take(&mut data.map).into_values());
        }
      }
      _ => {}
    }
  }
}

impl fmt::Debug for Arr {
  fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
    f.debug_list().entries(self.items()).finish()
  }
}

impl fmt::Debug for Obj {
  fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
    f.debug_map().entries(self.map()).finish()
  }
}

impl From<bool> for Val {
  fn from(b: bool) -> Val {
    Val::Bool(b)
  }
}

impl From<f64> for Val {
  fn from(f: f64) -> Val {
    Val::float(f)
  }
}

impl From<usize> for Val {
  fn from(n: usize) -> Val {
    Val::float(n as f64)
  }
}

impl From<String> for Val {
  fn from(s: String) -> Val {
    Val::Str(Str::from(s))
  }
}

impl From<Str> for Val {
  fn from(s: Str) -> Val {
    Val::Str(s)
  }
}

impl FromIterator<Val> for Val {
  fn from_iter<I: IntoIterator<Item = Val>>(iter: I) -> Val {
    Val::array(iter.into_iter().collect())
  }
}
