//! jq 1.6 builtins that jaq lacks or does differently, so that programs written for jq run
//! unchanged: `@csv` and `@tsv` (jaq has them only in its command-line crate), `leaf_paths`,
//! `INDEX`, `IN`, `tostream`, `truncate_stream`, `fromstream`, and `del`/`delpaths` as jq does
//! them: all paths deleted at once (jaq deletes them one after the other, so `del(.[1, 2])`
//! removed the wrong element) and object keys kept in order (jaq moves the last key into the
//! hole). `setpath` creates the objects and arrays its path goes through, as jq's does (jaq
//! refuses to update `null`). `tonumber` fails on a string that is not a number; jaq's yielded
//! nothing for `""`.
//!
//! `leaf_paths`, `INDEX`, `IN`, `tostream`, `truncate_stream` and `fromstream` are jq 1.6's own
//! definitions (src/builtin.jq, MIT licence).

use jaq_core::native::{bome, v, Filter};
use jaq_core::path::Opt;
use jaq_core::{Error, RunPtr, ValR, ValT};
use jaq_json::{Rc, Val};

use super::program::{json_text, Kind};

pub const DEFS: &str = r#"
def leaf_paths: paths(scalars);
def INDEX(stream; idx_expr): reduce stream as $row ({}; .[$row | idx_expr | tostring] |= $row);
def INDEX(idx_expr): INDEX(.[]; idx_expr);
def IN(s): any(s == .; .);
def IN(src; s): any(src == s; .);
def tostream: path(def r: (.[]? | r), .; r) as $p | getpath($p) | reduce path(.[]?) as $q ([$p, .]; [$p + $q]);
def truncate_stream(stream): . as $n | null | stream | . as $input
  | if (.[0] | length) > $n then setpath([0]; .[0][$n:]) else empty end;
def delpaths($paths): reduce ($paths | unique | reverse[]) as $p (.; _offloop_delpath($p));
def del(f): delpaths([path(f)]);
def tonumber:
  if type == "number" then .
  elif type == "string" then
    [fromjson?] | if length == 1 and (.[0] | type) == "number" then .[0] else error("cannot parse as number") end
  else error("\(type) cannot be parsed as a number") end;
def setpath($path; $value): _offloop_setpath($path; $value);
def fromstream(f): { x: null, e: false } as $init
  | foreach f as $i ($init;
      if .e then $init else . end
      | if $i | length == 2
        then setpath(["e"]; $i[0] | length == 0) | setpath(["x"] + $i[0]; $i[1])
        else setpath(["e"]; $i[0] | length == 1) end;
      if .e then .x else empty end);
"#;

pub fn funs() -> Box<[Filter<RunPtr<Kind>>]> {
  Box::new([
    ("@csv", v(0), |cv| bome(table_row(&cv.1, Table::Csv))),
    ("@tsv", v(0), |cv| bome(table_row(&cv.1, Table::Tsv))),
    ("_offloop_delpath", v(1), |mut cv| {
      let path = cv.0.pop_var();
      bome(delete_path(cv.1, &path))
    }),
    ("_offloop_setpath", v(2), |mut cv| {
      let value = cv.0.pop_var();
      let path = cv.0.pop_var();
      bome(match &path {
        Val::Arr(keys) => set(cv.1, keys, value),
        other => Err(Error::str(format_args!(
          "path must be an array, not {}",
          json_text(other)
        ))),
      })
    }),
  ])
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Table {
  Csv,
  Tsv,
}

/// `@csv` and `@tsv` as jq 1.6 defines them: an array of scalars to one line; strings quoted with
/// `""` doubling (CSV) or backslash-escaped (TSV), `null` empty, booleans and numbers as text.
fn table_row(row: &Val, table: Table) -> jaq_core::ValR<Val> {
  let (name, separator) = match table {
    Table::Csv => ("csv", ","),
    Table::Tsv => ("tsv", "\t"),
  };
  let Val::Arr(fields) = row else {
    return Err(jaq_core::Error::str(format_args!(
      "{} cannot be {name}-formatted, only an array can be",
      json_text(row)
    )));
  };
  let mut line = String::new();
  for (i, field) in fields.iter().enumerate() {
    if i > 0 {
      line.push_str(separator);
    }
    match field {
      Val::Null => {}
      Val::Bool(b) => line.push_str(if *b { "true" } else { "false" }),
      Val::Num(_) => line.push_str(&json_text(field)),
      Val::TStr(s) | Val::BStr(s) => {
        let s = String::from_utf8_lossy(s);
        match table {
          Table::Csv => {
            line.push('"');
            line.push_str(&s.replace('"', "\"\""));
            line.push('"');
          }
          Table::Tsv => {
            for c in s.chars() {
              match c {
                '\\' => line.push_str("\\\\"),
                '\t' => line.push_str("\\t"),
                '\n' => line.push_str("\\n"),
                '\r' => line.push_str("\\r"),
                c => line.push(c),
              }
            }
          }
        }
      }
      other => {
        return Err(jaq_core::Error::str(format_args!(
          "{} is not valid in a csv row",
          json_text(other)
        )))
      }
    }
  }
  Ok(Val::from(line))
}

/// Deletes the value at `path` (an array of keys, indices and `{start, end}` slices), as jq's
/// `delpaths` does for one path: a missing key or index is not an error, keys keep their order.
fn delete_path(value: Val, path: &Val) -> ValR<Val> {
  match path {
    Val::Arr(path) => delete(value, path),
    other => Err(Error::str(format_args!(
      "path must be an array, not {}",
      json_text(other)
    ))),
  }
}

fn delete(value: Val, path: &[Val]) -> ValR<Val> {
  let Some((key, rest)) = path.split_first() else {
    return Ok(Val::Null);
  };
  if matches!(value, Val::Null) {
    return Ok(Val::Null);
  }
  if rest.is_empty() {
    return remove(value, key);
  }
  let child = value.clone().index(key)?;
  if matches!(child, Val::Null) {
    return Ok(value);
  }
  let child = delete(child, rest)?;
  value
    .map_index(key, Opt::Essential, |_| core::iter::once(Ok(child.clone())))
    .map_err(|e| e.get_err().unwrap_or_else(|_| Error::str("cannot delete")))
}

fn remove(mut value: Val, key: &Val) -> ValR<Val> {
  match (&mut value, key) {
    (Val::Obj(object), Val::TStr(_)) => {
      Rc::make_mut(object).shift_remove(key);
    }
    (Val::Arr(items), Val::Num(n)) => {
      let len = items.len() as isize;
      if let Some(i) = n.as_isize().map(|i| if i < 0 { i + len } else { i }) {
        if (0..len).contains(&i) {
          Rc::make_mut(items).remove(i as usize);
        }
      }
    }
    (Val::Arr(items), Val::Obj(range)) => {
      let len = items.len() as isize;
      let bound = |name: &str, default: isize| -> Result<isize, Error<Val>> {
        match range.get(&Val::from(name.to_owned())) {
          None | Some(Val::Null) => Ok(default),
          Some(Val::Num(n)) => {
            let i = n
              .as_isize()
              .ok_or_else(|| Error::str("slice bounds must be integers"))?;
            Ok((if i < 0 { i + len } else { i }).clamp(0, len))
          }
          Some(other) => Err(Error::str(format_args!("{} is not a slice bound", json_text(other)))),
        }
      };
      let (start, end) = (bound("start", 0)?, bound("end", len)?);
      if start < end {
        Rc::make_mut(items).drain(start as usize..end as usize);
      }
    }
    _ => {
      return Err(Error::str(format_args!(
        "cannot delete {} from {}",
        json_text(key),
        json_text(&value)
      )))
    }
  }
  Ok(value)
}

/// Sets the value at `path` as jq's `setpath` does: `null` on the way becomes an object (string
/// key) or an array (index), and arrays grow with `null`s to reach an index.
fn set(value: Val, path: &[Val], new: Val) -> ValR<Val> {
  let Some((key, rest)) = path.split_first() else {
    return Ok(new);
  };
  let value = match (value, key) {
    (Val::Null, Val::TStr(_)) => Val::obj(Default::default()),
    (Val::Null, Val::Num(_) | Val::Obj(_)) => Val::Arr(Default::default()),
    (value, _) => value,
  };
  match (value, key) {
    (Val::Obj(mut object), Val::TStr(_)) => {
      let object_mut = Rc::make_mut(&mut object);
      let child = object_mut.get(key).cloned().unwrap_or(Val::Null);
      object_mut.insert(key.clone(), set(child, rest, new)?);
      Ok(Val::Obj(object))
    }
    (Val::Arr(mut items), Val::Num(n)) => {
      let len = items.len() as isize;
      let i = n
        .as_isize()
        .ok_or_else(|| Error::str("array index must be an integer"))?;
      let i = if i < 0 { i + len } else { i };
      if i < 0 {
        return Err(Error::str("out of bounds negative array index"));
      }
      let items_mut = Rc::make_mut(&mut items);
      if i as usize >= items_mut.len() {
        items_mut.resize(i as usize + 1, Val::Null);
      }
      let child = std::mem::take(&mut items_mut[i as usize]);
      items_mut[i as usize] = set(child, rest, new)?;
      Ok(Val::Arr(items))
    }
    (value @ Val::Arr(_), Val::Obj(_)) => {
      // A slice: jaq's own update does what jq does.
      let child = value.clone().index(key)?;
      let child = set(child, rest, new)?;
      value
        .map_index(key, Opt::Essential, |_| core::iter::once(Ok(child.clone())))
        .map_err(|e| e.get_err().unwrap_or_else(|_| Error::str("cannot set a slice")))
    }
    (value, key) => Err(Error::str(format_args!(
      "cannot index {} with {}",
      json_text(&value),
      json_text(key)
    ))),
  }
}

#[cfg(test)]
mod tests {
  use bytes::Bytes;

  use super::super::program::compile;
  use super::super::read::MAX_DEPTH;
  use super::super::run::{run, Format, Globals, RunOptions, Text};
  use crate::runtime::Cancel;

  fn jq(code: &str, input: &str) -> String {
    let program = compile(code).unwrap_or_else(|e| panic!("{code}: {e}"));
    let options = RunOptions {
      ndjson: false,
      format: Format::Lines { raw: false },
      max_output: 1 << 20,
      max_depth: MAX_DEPTH,
    };
    let globals = Globals::new(&program, None).unwrap();
    let input = Bytes::copy_from_slice(input.as_bytes());
    match run(&program, &globals, Text::shared(&input), &options, &Cancel::default()) {
      Ok(output) => String::from_utf8(output.text).unwrap(),
      Err(e) => format!("error: {}", e.message),
    }
  }

  #[test]
  fn deletes_like_jq() {
    assert_eq!(jq("del(.[1, 2])", "[0,1,2,3,4]"), "[0,3,4]\n");
    assert_eq!(jq("del(.a)", r#"{"a":1,"b":2,"c":3}"#), "{\"b\":2,\"c\":3}\n");
    assert_eq!(jq("del(.[2:4], .[0])", "[0,1,2,3,4,5]"), "[1,4,5]\n");
    assert_eq!(jq("del(.x.y, .[\"z\"])", r#"{"z":1}"#), "{}\n");
    assert_eq!(jq("del(.)", "[1]"), "null\n");
    assert!(jq("del(.a)", "1").starts_with("error: cannot index 1"));
    assert!(jq(r#"delpaths([["a"]])"#, "1").starts_with("error: cannot delete"));
  }

  #[test]
  fn sets_through_null() {
    assert_eq!(
      jq(r#"setpath(["a", 1, "b"]; 5)"#, "null"),
      r#"{"a":[null,{"b":5}]}"#.to_owned() + "\n"
    );
    assert_eq!(jq("setpath([-1]; 9)", "[1,2]"), "[1,9]\n");
    assert!(jq("setpath([-3]; 9)", "[1,2]").starts_with("error"));
    assert!(jq(r#"setpath(["a"]; 1)"#, "[]").starts_with("error: cannot index"));
    assert_eq!(
      jq("[tostream] | fromstream(.[])", r#"{"a":[1,{"b":null}]}"#),
      r#"{"a":[1,{"b":null}]}"#.to_owned() + "\n"
    );
  }

  #[test]
  fn tables_and_numbers() {
    assert_eq!(
      jq("@csv", r#"[1,"a\"b",null,true,1.5]"#),
      r#""1,\"a\"\"b\",,true,1.5""#.to_owned() + "\n"
    );
    assert_eq!(
      jq("@tsv", r#"["a\tb","c\\d",null]"#),
      r#""a\\tb\tc\\\\d\t""#.to_owned() + "\n"
    );
    assert!(jq("@csv", r#"[[1]]"#).starts_with("error: [1] is not valid"));
    assert!(jq(r#""" | tonumber"#, "null").starts_with("error"));
    assert_eq!(jq(r#""12.5" | tonumber"#, "null"), "12.5\n");
  }
}
