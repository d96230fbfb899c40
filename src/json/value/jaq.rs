//! The traits jaq's interpreter (`jaq_core::ValT`) and standard library (`jaq_std::ValT`) need
//! of a value type, on the operations of the other modules.

use std::cmp::Ordering;

use bytes::Bytes;
use jaq_core::box_iter::{box_once, BoxIter};
use jaq_core::path::Opt;
use jaq_core::{Exn, ValX};

use super::order::{equal, jq_cmp, total_cmp};
use super::path;
use super::text::{brief, to_text};
use super::{Error, Map, Num, Str, Val, ValR};

/// The first output of an update (`|= f` keeps only that), or none: the value is then deleted.
fn first<'a>(mut outputs: impl Iterator<Item = ValX<'a, Val>>) -> Result<Option<Val>, Exn<'a, Val>> {
  outputs.next().transpose()
}

impl jaq_core::ValT for Val {
  fn from_num(n: &str) -> ValR {
    Num::literal(n)
      .map(Val::Num)
      .ok_or_else(|| Error::str(format_args!("invalid number literal {n}")))
  }

  fn from_map<I: IntoIterator<Item = (Val, Val)>>(iter: I) -> ValR {
    let mut map = Map::default();
    for (k, v) in iter {
      match k {
        Val::Str(k) => {
          map.insert(k, v);
        }
        other => return Err(Error::str(format_args!("Cannot use {} as object key", brief(&other)))),
      }
    }
    Ok(Val::object(map))
  }

  fn key_values(self) -> BoxIter<'static, Result<(Val, Val), Error>> {
    match path::entries(self) {
      Ok(entries) => Box::new(entries.into_iter().map(Ok)),
      Err(e) => box_once(Err(e)),
    }
  }

  fn values(self) -> Box<dyn Iterator<Item = ValR>> {
    match path::values(self) {
      Ok(values) => Box::new(values.into_iter().map(Ok)),
      Err(e) => box_once(Err(e)),
    }
  }

  fn index(self, index: &Val) -> ValR {
    path::index(&self, index)
  }

  fn range(self, range: jaq_core::val::Range<&Val>) -> ValR {
    path::slice(&self, range.start, range.end)
  }

  fn map_values<'a, I: Iterator<Item = ValX<'a, Val>>>(self, opt: Opt, f: impl Fn(Val) -> I) -> ValX<'a, Val> {
    match self {
      Val::Arr(a) => {
        let mut items = Vec::with_capacity(a.len());
        for item in a.into_vec() {
          items.extend(first(f(item))?);
        }
        Ok(Val::array(items))
      }
      Val::Obj(o) => {
        let mut map = Map::with_capacity_and_hasher(o.len(), Default::default());
        for (k, v) in o.into_map() {
          if let Some(new) = first(f(v))? {
            map.insert(k, new);
          }
        }
        Ok(Val::object(map))
      }
      other => opt.fail(other, |v| Exn::from(path::iterate_error(&v))),
    }
  }

  fn map_index<'a, I: Iterator<Item = ValX<'a, Val>>>(
    self,
    index: &Val,
    opt: Opt,
    f: impl Fn(Val) -> I,
  ) -> ValX<'a, Val> {
    let current = match path::index(&self, index) {
      Ok(current) => current,
      Err(e) => return opt.fail(self, |_| Exn::from(e)),
    };
    Ok(match first(f(current))? {
      Some(new) => path::set(self, index, new)?,
      None => path::delete(self, std::slice::from_ref(index))?,
    })
  }

  fn map_range<'a, I: Iterator<Item = ValX<'a, Val>>>(
    self,
    range: jaq_core::val::Range<&Val>,
    opt: Opt,
    f: impl Fn(Val) -> I,
  ) -> ValX<'a, Val> {
    let current = match path::slice(&self, range.start, range.end) {
      Ok(current) => current,
      Err(e) => return opt.fail(self, |_| Exn::from(e)),
    };
    let key = path::range_key(range.start.cloned(), range.end.cloned());
    Ok(match first(f(current))? {
      Some(new) => path::set(self, &key, new)?,
      None => path::delete(self, std::slice::from_ref(&key))?,
    })
  }

  fn as_bool(&self) -> bool {
    self.truthy()
  }

  fn into_string(self) -> Val {
    match self {
      s @ Val::Str(_) => s,
      other => Val::from(to_text(&other)),
    }
  }
}

impl jaq_std::ValT for Val {
  fn into_seq<S: FromIterator<Val>>(self) -> Result<S, Val> {
    match self {
      Val::Arr(a) => Ok(a.into_vec().into_iter().collect()),
      other => Err(other),
    }
  }

  fn is_int(&self) -> bool {
    self.as_num().is_some_and(|n| {
      let f = n.value();
      f.is_finite() && f.fract() == 0.0
    })
  }

  fn as_isize(&self) -> Option<isize> {
    let f = self.as_num()?.value();
    (f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e18).then_some(f as isize)
  }

  fn as_f64(&self) -> Option<f64> {
    self.as_num().map(Num::value)
  }

  fn is_utf8_str(&self) -> bool {
    matches!(self, Val::Str(_))
  }

  fn as_bytes(&self) -> Option<&[u8]> {
    match self {
      Val::Str(s) => Some(s.as_bytes()),
      _ => None,
    }
  }

  fn as_sub_str(&self, sub: &[u8]) -> Val {
    match self {
      Val::Str(s) => Val::Str(s.sub(sub)),
      _ => Val::Str(Str::lossy(Bytes::copy_from_slice(sub))),
    }
  }

  fn from_utf8_bytes(b: impl AsRef<[u8]> + Send + 'static) -> Val {
    Val::Str(Str::lossy(Bytes::from_owner(b)))
  }
}

impl From<isize> for Val {
  /// An integer literal of the program (jaq parses those that fit an `isize`); a literal beyond
  /// 2^53 keeps its digits.
  fn from(n: isize) -> Val {
    if n.unsigned_abs() <= 1 << 53 {
      Val::Num(Num::Short(n as f64))
    } else {
      Val::Num(Num::literal(itoa::Buffer::new().format(n)).unwrap_or(Num::Float(n as f64)))
    }
  }
}

impl From<jaq_core::val::Range<Val>> for Val {
  fn from(range: jaq_core::val::Range<Val>) -> Val {
    path::range_key(range.start, range.end)
  }
}

/// jq's `==`.
impl PartialEq for Val {
  fn eq(&self, other: &Val) -> bool {
    equal(self, other)
  }
}

impl Eq for Val {}

/// `partial_cmp` is the total order (sorting); `<`, `<=`, `>`, `>=` are jq's operators, whose
/// order differs for NaN (`nan < nan` is true) and literals of equal doubles.
impl PartialOrd for Val {
  fn partial_cmp(&self, other: &Val) -> Option<Ordering> {
    Some(self.cmp(other))
  }

  fn lt(&self, other: &Val) -> bool {
    jq_cmp(self, other) == Ordering::Less
  }

  fn le(&self, other: &Val) -> bool {
    jq_cmp(self, other) != Ordering::Greater
  }

  fn gt(&self, other: &Val) -> bool {
    jq_cmp(self, other) == Ordering::Greater
  }

  fn ge(&self, other: &Val) -> bool {
    jq_cmp(self, other) != Ordering::Less
  }
}

impl Ord for Val {
  fn cmp(&self, other: &Val) -> Ordering {
    total_cmp(self, other)
  }
}
