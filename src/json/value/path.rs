//! Indexing, slicing, iterating and updating through paths, as jq 1.8 does them (`jv_get`,
//! `jv_set`, `jv_has`, `jv_setpath`, `jv_delpaths` in its jv_aux.c), with its messages.
//!
//! Indices are doubles: NaN reads as null, fractions truncate (`.[1.5]` is `.[1]`), negative
//! ones count from the end; slice bounds may be null, negative or fractional (the start rounds
//! down, the end up). Setting an index past the end pads with nulls, after checking the padding
//! against the call's memory budget.

use super::interrupt::{reserve, Steps};
use super::ops::{type_error, MAX_INDEX};
use super::order::{equal, total_cmp};
use super::text::{brief, dump};
use super::{Arr, Error, Map, Num, Obj, Str, Val, ValR};

/// jq's longest path for `getpath`/`setpath`/`delpaths`.
const MAX_PATH: usize = 10_000;

fn index_error(t: &Val, k: &Val) -> Error {
  Error::str(format_args!(
    "Cannot index {} with {} ({})",
    t.kind().name(),
    k.kind().name(),
    dump(k)
  ))
}

pub fn iterate_error(v: &Val) -> Error {
  Error::str(format_args!("Cannot iterate over {}", brief(v)))
}

/// An array element's position for reading: `None` when out of range (or NaN).
fn element(len: usize, n: &Num) -> Option<usize> {
  if n.is_nan() {
    return None;
  }
  let i = i64::from(n.as_int());
  let i = if i < 0 { i + len as i64 } else { i };
  (0..len as i64).contains(&i).then_some(i as usize)
}

/// The bounds of a slice (`parse_slice`): `start` and `end` as given (`None` for a missing
/// bound, as `.[1:]` has), over a length of `len`. Non-numbers are an error.
fn slice_bounds(len: usize, start: Option<&Val>, end: Option<&Val>) -> Result<(usize, usize), Error> {
  let bound = |b: Option<&Val>, default: f64| match b {
    None | Some(Val::Null) => Ok(default),
    Some(Val::Num(n)) => Ok(n.value()),
    Some(_) => Err(Error::str("Array/string slice indices must be integers")),
  };
  let len_f = len as f64;
  let mut start = bound(start, 0.0)?;
  let mut end = bound(end, len_f)?;
  if start.is_nan() {
    start = 0.0;
  }
  if start < 0.0 {
    start += len_f;
  }
  let start = start.clamp(0.0, len_f) as usize;
  if end.is_nan() {
    end = len_f;
  }
  if end < 0.0 {
    end += len_f;
  }
  if end < 0.0 {
    end = start as f64;
  }
  let mut end_i = if end > len_f { len } else { end as usize };
  if end_i < len && (end_i as f64) < end {
    // The start rounds down, the end up.
    end_i += 1;
  }
  Ok((start, end_i.max(start)))
}

/// The bounds of a slice given as an object key (`{"start": …, "end": …}`): both keys must be
/// present (null for a default).
fn object_bounds(len: usize, key: &Obj) -> Result<(usize, usize), Error> {
  match (key.get("start"), key.get("end")) {
    (Some(start), Some(end)) => slice_bounds(len, Some(start), Some(end)),
    _ => Err(Error::str("Array/string slice indices must be integers")),
  }
}

/// Byte offsets of the characters `start..end` of `s`.
fn char_range(s: &str, start: usize, end: usize) -> std::ops::Range<usize> {
  let mut offsets = s.char_indices().map(|(i, _)| i).chain(std::iter::once(s.len()));
  let from = offsets.nth(start).unwrap_or(s.len());
  let to = if end > start {
    offsets.nth(end - start - 1).unwrap_or(s.len())
  } else {
    from
  };
  from..to
}

fn slice_str(s: &Str, start: Option<&Val>, end: Option<&Val>) -> ValR {
  let (start, end) = slice_bounds(s.as_str().chars().count(), start, end)?;
  Ok(Val::Str(s.slice(char_range(s.as_str(), start, end))))
}

fn slice_arr(a: &Arr, start: usize, end: usize) -> Val {
  Val::array(a.items()[start..end].to_vec())
}

/// `.[k]` (jq's `jv_get`).
pub fn index(t: &Val, k: &Val) -> ValR {
  Ok(match (t, k) {
    (Val::Obj(o), Val::Str(key)) => o.get(key.as_str()).cloned().unwrap_or(Val::Null),
    (Val::Arr(a), Val::Num(n)) => element(a.len(), n).map_or(Val::Null, |i| a.items()[i].clone()),
    (Val::Arr(a), Val::Obj(range)) => {
      let (start, end) = object_bounds(a.len(), range)?;
      slice_arr(a, start, end)
    }
    (Val::Str(s), Val::Obj(range)) => {
      return match (range.get("start"), range.get("end")) {
        (Some(start), Some(end)) => slice_str(s, Some(start), Some(end)),
        _ => Err(Error::str("Array/string slice indices must be integers")),
      }
    }
    (Val::Arr(a), Val::Arr(b)) => indexes(a, b),
    (Val::Null, Val::Str(_) | Val::Num(_) | Val::Obj(_)) => Val::Null,
    _ => return Err(index_error(t, k)),
  })
}

/// `.[start:end]`.
pub fn slice(t: &Val, start: Option<&Val>, end: Option<&Val>) -> ValR {
  match t {
    Val::Arr(a) => {
      let (start, end) = slice_bounds(a.len(), start, end)?;
      Ok(slice_arr(a, start, end))
    }
    Val::Str(s) => slice_str(s, start, end),
    Val::Null => Ok(Val::Null),
    _ => Err(index_error(t, &range_key(start.cloned(), end.cloned()))),
  }
}

/// The path key of a slice: `{"start": …, "end": …}`, null for a missing bound.
pub fn range_key(start: Option<Val>, end: Option<Val>) -> Val {
  let mut map = Map::default();
  map.insert(Str::from("start"), start.unwrap_or(Val::Null));
  map.insert(Str::from("end"), end.unwrap_or(Val::Null));
  Val::object(map)
}

/// `.[b]` of arrays: where `b` occurs in `a` as a run of elements (`jv_array_indexes`).
fn indexes(a: &Arr, b: &Arr) -> Val {
  let (a, b) = (a.items(), b.items());
  if b.is_empty() {
    return Val::array(Vec::new());
  }
  // |a| x |b| comparisons of scalars, which do not count themselves: counted here, so that
  // `[range(1e6)|0] | indices([range(5e5)|0])` can be aborted.
  let mut steps = Steps::new();
  let found: Vec<Val> = (0..a.len())
    .filter(|&i| {
      b.iter().enumerate().all(|(j, y)| {
        steps.step();
        a.get(i + j).is_some_and(|x| equal(x, y))
      })
    })
    .map(|i| Val::float(i as f64))
    .collect();
  Val::array(found)
}

/// `has(k)` (`jv_has`).
pub fn has(t: &Val, k: &Val) -> ValR {
  Ok(Val::Bool(match (t, k) {
    (Val::Null, _) => false,
    (Val::Obj(o), Val::Str(key)) => o.get(key.as_str()).is_some(),
    (Val::Arr(a), Val::Num(n)) => {
      !n.is_nan() && {
        let i = n.as_int();
        i >= 0 && (i as usize) < a.len()
      }
    }
    _ => {
      return Err(Error::str(format_args!(
        "Cannot check whether {} has a {} key",
        t.kind().name(),
        k.kind().name()
      )))
    }
  }))
}

/// `.[]`: the elements of an array, the values of an object.
pub fn values(v: Val) -> Result<Vec<Val>, Error> {
  match v {
    Val::Arr(a) => Ok(a.into_vec()),
    Val::Obj(o) => Ok(o.into_map().into_values().collect()),
    other => Err(iterate_error(&other)),
  }
}

/// `path(.[])` and `keys_unsorted`: keys (indices for arrays) with their values.
pub fn entries(v: Val) -> Result<Vec<(Val, Val)>, Error> {
  match v {
    Val::Arr(a) => Ok(
      a.into_vec()
        .into_iter()
        .enumerate()
        .map(|(i, v)| (Val::float(i as f64), v))
        .collect(),
    ),
    Val::Obj(o) => Ok(o.into_map().into_iter().map(|(k, v)| (Val::Str(k), v)).collect()),
    other => Err(iterate_error(&other)),
  }
}

/// `.[k] = v` for one step of a path (`jv_set`): `t` is what `.[k]` was read from.
pub fn set(t: Val, k: &Val, v: Val) -> ValR {
  match (t, k) {
    (Val::Null, Val::Str(key)) => {
      let mut map = Map::default();
      map.insert(key.clone(), v);
      Ok(Val::object(map))
    }
    (Val::Obj(mut o), Val::Str(key)) => {
      o.update(v.depth(), |map| map.insert(key.clone(), v));
      Ok(Val::Obj(o))
    }
    (t @ (Val::Null | Val::Arr(_)), Val::Num(n)) => {
      if n.is_nan() {
        return Err(Error::str("Cannot set array element at NaN index"));
      }
      let mut a = match t {
        Val::Arr(a) => a,
        _ => Arr::new(Vec::new()),
      };
      let i = set_position(a.len(), n)?;
      if i >= a.len() {
        reserve((i + 1).saturating_mul(std::mem::size_of::<Val>()));
      }
      a.update(v.depth(), |items| {
        if i >= items.len() {
          items.resize(i + 1, Val::Null);
        }
        items[i] = v;
      });
      Ok(Val::Arr(a))
    }
    (t @ (Val::Null | Val::Arr(_)), Val::Obj(range)) => {
      let a = match t {
        Val::Arr(a) => a,
        _ => Arr::new(Vec::new()),
      };
      let (start, end) = object_bounds(a.len(), range)?;
      splice(a, start, end, v)
    }
    (Val::Str(_), Val::Obj(_)) => Err(Error::str("Cannot update string slices")),
    (t, k) => Err(Error::str(format_args!(
      "Cannot update field at {} index of {}",
      k.kind().name(),
      t.kind().name()
    ))),
  }
}

/// Where `.[n] = v` writes in an array of `len` elements.
fn set_position(len: usize, n: &Num) -> Result<usize, Error> {
  let i = i64::from(n.as_int());
  let i = if i < 0 { i + len as i64 } else { i };
  if i < 0 {
    return Err(Error::str("Out of bounds negative array index"));
  }
  if i as usize > MAX_INDEX {
    return Err(Error::str("Array index too large"));
  }
  Ok(i as usize)
}

/// `.[start:end] = v`: `v` must be an array, which replaces the slice.
fn splice(mut a: Arr, start: usize, end: usize, v: Val) -> ValR {
  let Val::Arr(new) = v else {
    return Err(Error::str("A slice of an array can only be assigned another array"));
  };
  let len = a.len() - (end - start) + new.len();
  if len > MAX_INDEX + 1 {
    return Err(Error::str("Array index too large"));
  }
  if len > a.len() {
    reserve(len.saturating_mul(std::mem::size_of::<Val>()));
  }
  a.update(new.items().iter().map(Val::depth).max().unwrap_or(0), |items| {
    items.splice(start..end, new.items().iter().cloned());
  });
  Ok(Val::Arr(a))
}

/// Deletes `keys` (sorted) from `t` at once (`jv_dels`).
pub fn delete(t: Val, keys: &[Val]) -> ValR {
  if keys.is_empty() {
    return Ok(t);
  }
  match t {
    Val::Null => Ok(Val::Null),
    Val::Arr(a) => {
      let len = a.len();
      let mut gone = vec![false; len];
      for key in keys {
        match key {
          Val::Num(n) if n.is_nan() => {}
          Val::Num(n) => {
            let i = i64::from(n.as_int());
            let i = if n.value() < 0.0 { len as i64 + i } else { i };
            if (0..len as i64).contains(&i) {
              gone[i as usize] = true;
            }
          }
          Val::Obj(range) => {
            let (start, end) = object_bounds(len, range)?;
            gone[start..end].iter_mut().for_each(|g| *g = true);
          }
          other => {
            return Err(Error::str(format_args!(
              "Cannot delete {} element of array",
              other.kind().name()
            )))
          }
        }
      }
      let kept = a
        .into_vec()
        .into_iter()
        .zip(gone)
        .filter_map(|(v, gone)| (!gone).then_some(v))
        .collect();
      Ok(Val::array(kept))
    }
    Val::Obj(mut o) => {
      for key in keys {
        let Val::Str(key) = key else {
          return Err(Error::str(format_args!(
            "Cannot delete {} field of object",
            key.kind().name()
          )));
        };
        if o.get(key.as_str()).is_some() {
          o.update(0, |map| map.shift_remove(key.as_str()));
        }
      }
      Ok(Val::Obj(o))
    }
    other => Err(Error::str(format_args!(
      "Cannot delete fields from {}",
      other.kind().name()
    ))),
  }
}

/// The keys of a path (an array of at most `MAX_PATH` keys).
fn path_keys(path: &Val) -> Result<&[Val], Error> {
  match path {
    Val::Arr(keys) if keys.len() > MAX_PATH => Err(Error::str("Path too deep")),
    Val::Arr(keys) => Ok(keys.items()),
    _ => Err(Error::str("Path must be specified as an array")),
  }
}

/// `getpath(path)` (`jv_getpath`).
pub fn getpath(root: &Val, path: &Val) -> ValR {
  let mut value = root.clone();
  for key in path_keys(path)? {
    value = index(&value, key)?;
  }
  Ok(value)
}

/// `setpath(path; v)` (`jv_setpath`): each step reads `.[k]` (whose errors stop it), then sets
/// it, creating objects and arrays through null. Iterative: a path may be 10,000 keys long.
pub fn setpath(root: Val, path: &Val, v: Val) -> ValR {
  let keys = path_keys(path)?;
  let mut parents = Vec::with_capacity(keys.len());
  let mut value = root;
  for key in keys {
    let child = index(&value, key)?;
    parents.push(detach(value, key));
    value = child;
  }
  let mut value = v;
  for (parent, key) in parents.into_iter().zip(keys).rev() {
    value = set(parent, key, value)?;
  }
  Ok(value)
}

/// `t` with null where `.[k]` was: the child it held is then referenced only by whoever read it,
/// and updates in place (jq sets it to null for the same reason).
fn detach(t: Val, k: &Val) -> Val {
  match (t, k) {
    (Val::Obj(mut o), Val::Str(key)) if o.get(key.as_str()).is_some() => {
      o.update(0, |map| map.insert(key.clone(), Val::Null));
      Val::Obj(o)
    }
    (Val::Arr(mut a), Val::Num(n)) => {
      if let Some(i) = element(a.len(), n) {
        a.update(0, |items| items[i] = Val::Null);
      }
      Val::Arr(a)
    }
    (t, _) => t,
  }
}

/// `delpaths(paths)` (`jv_delpaths`): all paths deleted at once, from the sorted paths.
pub fn delpaths(root: Val, paths: &Val) -> ValR {
  let Val::Arr(paths) = paths else {
    return Err(Error::str("Paths must be specified as an array"));
  };
  let mut paths: Vec<Val> = paths.items().to_vec();
  paths.sort_by(total_cmp);
  for path in &paths {
    match path {
      Val::Arr(keys) if keys.len() > MAX_PATH => return Err(Error::str("Path too deep")),
      Val::Arr(_) => {}
      other => {
        return Err(Error::str(format_args!(
          "Path must be specified as array, not {}",
          other.kind().name()
        )))
      }
    }
  }
  let paths: Vec<&[Val]> = paths
    .iter()
    .map(|p| match p {
      Val::Arr(keys) => keys.items(),
      _ => &[],
    })
    .collect();
  match paths.first() {
    None => Ok(root),
    Some([]) => Ok(Val::Null),
    Some(_) => super::interrupt::on_stack(root.depth(), || delete_sorted(root, &paths, 0, &mut Steps::new())),
  }
}

/// Deletes the sorted `paths` (all at least `start + 1` long, sharing their first `start` keys)
/// from `object` (`delpaths_sorted`).
fn delete_sorted(mut object: Val, paths: &[&[Val]], start: usize, steps: &mut Steps) -> ValR {
  steps.step();
  let mut keys = Vec::new();
  let mut i = 0;
  while i < paths.len() {
    let key = &paths[i][start];
    let mut j = i + 1;
    while j < paths.len() && equal(key, &paths[j][start]) {
      j += 1;
    }
    if paths[i].len() == start + 1 {
      // The whole key goes: longer paths under it do not matter.
      keys.push(key.clone());
    } else {
      let child = index(&object, key)?;
      if !matches!(child, Val::Null) {
        let child = delete_sorted(child, &paths[i..j], start + 1, steps)?;
        object = set(object, key, child)?;
      }
    }
    i = j;
  }
  delete(object, &keys)
}

/// `length`.
pub fn length(v: &Val) -> ValR {
  Ok(match v {
    Val::Null => Val::float(0.0),
    Val::Num(n) => Val::Num(n.abs()),
    Val::Str(s) => Val::float(s.as_str().chars().count() as f64),
    Val::Arr(a) => Val::float(a.len() as f64),
    Val::Obj(o) => Val::float(o.len() as f64),
    Val::Bool(_) => return Err(type_error(v, "has no length")),
  })
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn slice_bounds_as_jq() {
    let n = |f: f64| Val::float(f);
    let b = |s: Option<f64>, e: Option<f64>| {
      let (s, e) = (s.map(n), e.map(n));
      slice_bounds(6, s.as_ref(), e.as_ref()).unwrap()
    };
    // `[0,1,2,3,4,5] | .[1.2:3.5]` is [1,2,3]; `.[1.7:1.2]` is [1]; `.[nan:2]`, `.[1:nan]`.
    assert_eq!(b(Some(1.2), Some(3.5)), (1, 4));
    assert_eq!(b(Some(1.7), Some(1.2)), (1, 2));
    assert_eq!(b(Some(f64::NAN), Some(2.0)), (0, 2));
    assert_eq!(b(Some(1.0), Some(f64::NAN)), (1, 6));
    assert_eq!(b(Some(-2.0), None), (4, 6));
    assert_eq!(b(None, Some(-2.0)), (0, 4));
    assert_eq!(b(Some(3.0), Some(1.0)), (3, 3));
    assert_eq!(b(Some(-100.0), Some(100.0)), (0, 6));
  }

  #[test]
  fn char_ranges() {
    let s = "aé😀bc";
    assert_eq!(&s[char_range(s, 1, 3)], "é😀");
    assert_eq!(&s[char_range(s, 3, 5)], "bc");
    assert_eq!(&s[char_range(s, 5, 5)], "");
    assert_eq!(&s[char_range(s, 0, 0)], "");
  }
}
