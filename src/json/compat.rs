//! jq builtins that jaq lacks or does differently, so that programs written for jq run
//! unchanged: `@csv` and `@tsv` (jaq has them only in its command-line crate), `leaf_paths`,
//! `INDEX`, `IN`, `tostream`, `truncate_stream`, `fromstream`, and `del` as jq does it: all paths
//! deleted at once by `delpaths` (jaq deletes them one after the other, so `del(.[1, 2])` removed
//! the wrong element). `getpath` refuses a path that is not an array or longer than 10,000
//! keys, as jq's does.
//!
//! `leaf_paths`, `INDEX`, `IN`, `tostream`, `truncate_stream` and `fromstream` are jq 1.6's own
//! definitions (src/builtin.jq, MIT licence).

use jaq_core::native::{bome, v, Filter};
use jaq_core::RunPtr;

use super::program::Kind;
use super::value::text::{brief, to_json};
use super::value::{Error, Val, ValR};

pub const DEFS: &str = r#"
def leaf_paths: paths(scalars);
def INDEX(stream; idx_expr): reduce stream as $row ({}; .[$row | idx_expr | tostring] |= $row);
def INDEX(idx_expr): INDEX(.[]; idx_expr);
def IN(s): any(s == .; .);
def IN(src; s): any(src == s; .);
def tostream: path(def r: (.[]? | r), .; r) as $p | getpath($p) | reduce path(.[]?) as $q ([$p, .]; [$p + $q]);
def truncate_stream(stream): . as $n | null | stream | . as $input
  | if (.[0] | length) > $n then setpath([0]; .[0][$n:]) else empty end;
def del(f): delpaths([path(f)]);
def getpath($path):
  if $path | type != "array" then error("Path must be specified as an array")
  elif $path | length > 10000 then error("Path too deep")
  else reduce $path[] as $key (.; .[$key]) end;
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
  ])
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Table {
  Csv,
  Tsv,
}

/// `@csv` and `@tsv` as jq 1.8 has them: an array of scalars to one line; strings quoted with
/// `""` doubling (CSV) or with tabs, newlines, returns and backslashes escaped (TSV); null and NaN
/// empty; booleans and numbers as JSON (literals as written).
fn table_row(row: &Val, table: Table) -> ValR {
  let (name, separator) = match table {
    Table::Csv => ("csv", ","),
    Table::Tsv => ("tsv", "\t"),
  };
  let Val::Arr(fields) = row else {
    return Err(Error::str(format_args!(
      "{} cannot be {name}-formatted, only array",
      brief(row)
    )));
  };
  let mut line = String::new();
  for (i, field) in fields.items().iter().enumerate() {
    if i > 0 {
      line.push_str(separator);
    }
    match field {
      Val::Null => {}
      Val::Num(n) if n.is_nan() => {}
      Val::Bool(_) | Val::Num(_) => line.push_str(&to_json(field)),
      Val::Str(s) => match table {
        Table::Csv => {
          line.push('"');
          line.push_str(&s.as_str().replace('"', "\"\""));
          line.push('"');
        }
        Table::Tsv => {
          for c in s.as_str().chars() {
            match c {
              '\\' => line.push_str("\\\\"),
              '\t' => line.push_str("\\t"),
              '\n' => line.push_str("\\n"),
              '\r' => line.push_str("\\r"),
              c => line.push(c),
            }
          }
        }
      },
      other => return Err(Error::str(format_args!("{} is not valid in a csv row", brief(other)))),
    }
  }
  Ok(Val::from(line))
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
    // jq 1.8.2's messages.
    assert_eq!(jq("del(.a)", "1"), "error: Cannot index number with string (\"a\")");
    assert_eq!(
      jq(r#"delpaths([["a"]])"#, "1"),
      "error: Cannot delete fields from number"
    );
  }

  #[test]
  fn sets_through_null() {
    assert_eq!(
      jq(r#"setpath(["a", 1, "b"]; 5)"#, "null"),
      r#"{"a":[null,{"b":5}]}"#.to_owned() + "\n"
    );
    assert_eq!(jq("setpath([-1]; 9)", "[1,2]"), "[1,9]\n");
    assert_eq!(
      jq("setpath([-3]; 9)", "[1,2]"),
      "error: Out of bounds negative array index"
    );
    assert_eq!(
      jq(r#"setpath(["a"]; 1)"#, "[]"),
      "error: Cannot index array with string (\"a\")"
    );
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
    assert_eq!(jq("@csv", r#"[[1]]"#), "error: array ([1]) is not valid in a csv row");
    assert_eq!(
      jq(r#""" | tonumber"#, "null"),
      "error: string (\"\") cannot be parsed as a number"
    );
    assert_eq!(jq(r#""12.5" | tonumber"#, "null"), "12.5\n");
  }
}
