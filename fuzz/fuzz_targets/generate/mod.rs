//! Structure-aware generation of jq programs and JSON inputs from a fuzzer's bytes.
//!
//! Random bytes are rarely a jq program, and libFuzzer's inputs stay small: these generators turn
//! each byte into a grammar choice, so every input is a program (or JSON text) that reaches past
//! the parser, and a few bytes can ask for the sizes an attacker would send: constructs nested or
//! chained up to 10^6 times, literals of up to 10^7 characters, inputs 10^6 levels deep.

use libfuzzer_sys::arbitrary::Unstructured;

/// Upper bound of generated texts: larger ones cost more time per run than they find.
const MAX_TEXT: usize = 16 << 20;

/// A repetition count: mostly small, sometimes around the limits (`nesting::MAX_DEPTH`, the
/// reader's 254, jq's 10,000) and far past them.
fn count(u: &mut Unstructured) -> usize {
  const LARGE: &[usize] = &[
    253, 254, 255, 1_000, 4_999, 9_999, 10_000, 10_001, 65_536, 100_000, 1_000_000, 3_000_000,
  ];
  if u.ratio(1, 6).unwrap_or(false) {
    *u.choose(LARGE).unwrap_or(&1)
  } else {
    u.int_in_range(0..=12).unwrap_or(0)
  }
}

/// `text` repeated `n` times, within `MAX_TEXT` overall.
fn repeat(out: &mut String, text: &str, n: usize) {
  let n = n.min(MAX_TEXT.saturating_sub(out.len()) / text.len().max(1));
  out.push_str(&text.repeat(n));
}

const NUMBERS: &[&str] = &[
  "0",
  "-0",
  "1",
  "-1",
  "0.5",
  "1e308",
  "1e309",
  "-1e309",
  "1e-400",
  "9007199254740993",
  "100000000000000000000000",
  "1e1000",
  "1E+2",
  "3.14159",
  "nan",
  "infinite",
];

const STRINGS: &[&str] = &[
  "\"\"",
  "\"a\"",
  "\"abc\"",
  "\"\\u0000\"",
  "\"é\"",
  "\"\\ud83d\\ude00\"",
  "\"a,b\"",
  "\"\\(.)\"",
  "\"\\n\\t\"",
  "\"a*\"",
  "\"(a|b)*c\"",
  "\"[0-9]+\"",
];

/// Leaves of a program.
const LEAVES: &[&str] = &[
  ".",
  "..",
  "$x",
  "$__loc__",
  "empty",
  "null",
  "true",
  "false",
  "[]",
  "{}",
  ".a",
  ".[0]",
  ".[]",
  ".[]?",
  ".a.b",
  ".[1:]",
  "input_line_number",
  "$ENV",
];

/// Builtins with their arity.
const BUILTINS: &[(&str, usize)] = &[
  ("length", 0),
  ("utf8bytelength", 0),
  ("not", 0),
  ("keys", 0),
  ("values", 0),
  ("has", 1),
  ("in", 1),
  ("map", 1),
  ("map_values", 1),
  ("path", 1),
  ("del", 1),
  ("getpath", 1),
  ("setpath", 2),
  ("delpaths", 1),
  ("to_entries", 0),
  ("from_entries", 0),
  ("with_entries", 1),
  ("select", 1),
  ("recurse", 0),
  ("recurse", 1),
  ("recurse", 2),
  ("paths", 0),
  ("paths", 1),
  ("leaf_paths", 0),
  ("tostream", 0),
  ("fromstream", 1),
  ("truncate_stream", 1),
  ("add", 0),
  ("any", 0),
  ("all", 0),
  ("any", 2),
  ("flatten", 0),
  ("flatten", 1),
  ("range", 1),
  ("range", 2),
  ("range", 3),
  ("floor", 0),
  ("sqrt", 0),
  ("pow", 2),
  ("log", 0),
  ("tostring", 0),
  ("tonumber", 0),
  ("tojson", 0),
  ("fromjson", 0),
  ("type", 0),
  ("infinite", 0),
  ("nan", 0),
  ("sort", 0),
  ("sort_by", 1),
  ("group_by", 1),
  ("min", 0),
  ("max_by", 1),
  ("unique", 0),
  ("unique_by", 1),
  ("reverse", 0),
  ("contains", 1),
  ("inside", 1),
  ("indices", 1),
  ("index", 1),
  ("rindex", 1),
  ("startswith", 1),
  ("ltrimstr", 1),
  ("rtrimstr", 1),
  ("explode", 0),
  ("implode", 0),
  ("split", 1),
  ("split", 2),
  ("join", 1),
  ("ascii_downcase", 0),
  ("while", 2),
  ("until", 2),
  ("repeat", 1),
  ("limit", 2),
  ("first", 1),
  ("last", 1),
  ("nth", 2),
  ("first", 0),
  ("combinations", 0),
  ("combinations", 1),
  ("walk", 1),
  ("transpose", 0),
  ("test", 1),
  ("match", 2),
  ("capture", 1),
  ("splits", 1),
  ("sub", 2),
  ("gsub", 3),
  ("ascii", 0),
  ("tojson", 0),
  ("error", 0),
  ("error", 1),
  ("halt_error", 0),
  ("getpath", 1),
  ("splits", 2),
  ("abs", 0),
  ("pick", 1),
  ("trim", 0),
];

const FORMATS: &[&str] = &[
  "@text", "@json", "@html", "@uri", "@csv", "@tsv", "@sh", "@base64", "@base64d", "@base32", "@base32d",
];

/// Binary operators (with the spaces around them).
const OPERATORS: &[&str] = &[
  " | ",
  ", ",
  " + ",
  " - ",
  " * ",
  " / ",
  " % ",
  " == ",
  " != ",
  " < ",
  " <= ",
  " >= ",
  " and ",
  " or ",
  " // ",
  " = ",
  " |= ",
  " += ",
  " -= ",
  " *= ",
  " //= ",
  " as $x | ",
  " as [$x, {a: $y}] | ",
  " ?// ",
];

/// Constructs with one hole (`$$`): wrapped around a term once, or nested `n` deep.
const WRAPS: &[&str] = &[
  "($$)",
  "[$$]",
  "{a: $$}",
  "{($$): 1}",
  "{\"k\": $$, b: 2}",
  "\"s\\($$)\"",
  "@base64 \"\\($$)\"",
  "-($$)",
  "try ($$)",
  "try ($$) catch .",
  "($$)?",
  "($$)[]",
  "($$)[0]",
  "($$).a",
  "($$)[1:2]",
  ".[$$]",
  "first($$)",
  "reduce ($$) as $x (0; . + 1)",
  "reduce . as $x ($$; .)",
  "foreach ($$) as $x (0; .; [$x, .])",
  "if ($$) then 1 else 2 end",
  "if . then ($$) elif 1 then 2 else 3 end",
  "def f: $$; f",
  "def f(g): g | $$; f(.)",
  "def f($a): $$; f(1)",
  "($$) as $x | $x",
  ". as [$x, {a: $y}] | $$",
  "label $out | $$ | ., break $out",
  "path($$)",
  "[($$) | ..]",
  "[limit(3; $$)]",
  "getpath([$$])",
  "with_entries($$)",
  "walk($$)",
  "($$) as [$a] ?// $a | $a",
  "error($$)",
];

/// Programs that build large or deep values at run time from a count `$N` (and a term `$$`): what
/// no input could be, but a short program makes.
const BUILDERS: &[&str] = &[
  "reduce range($N) as $i ($$; [.])",
  "reduce range($N) as $i ($$; {a: .})",
  "reduce range($N) as $i ($$; [., .])",
  "reduce range($N) as $i ($$; tojson)",
  "reduce range($N) as $i ($$; @base64)",
  "($$) | last(limit($N; recurse([.])))",
  "($$) | setpath([range($N) | 0]; 1)",
  "($$) | getpath([range($N) | \"a\"])",
  "[limit($N; repeat($$))]",
  "[range($N)] | ($$)",
  "(($$) | tostring) * $N",
  "\"x\" | until(length > $N; . + .) | ($$)",
  "($$) | [range($N)] | implode",
  ".[$N] = ($$)",
  "($$) as $v | [range($N) | $v]",
  "($$) | tostring | fromjson? // [range($N)]",
  "($$) | (\"[\" * $N) + (\"]\" * $N) | fromjson",
  "[($$) | .. ] | .[$N:]",
];

/// A count for `BUILDERS`: a repetition count, or a number no count should be.
fn amount(u: &mut Unstructured) -> String {
  if u.ratio(1, 4).unwrap_or(false) {
    u.choose(&["1e9", "1e12", "1e15", "1e300", "-1", "nan", "infinite", "0.5"])
      .unwrap_or(&"1e9")
      .to_string()
  } else {
    count(u).to_string()
  }
}

/// A jq program.
pub fn program(u: &mut Unstructured) -> String {
  let mut out = String::new();
  term(u, &mut out, 5);
  out
}

fn term(u: &mut Unstructured, out: &mut String, depth: u32) {
  if out.len() >= MAX_TEXT {
    out.push('.');
    return;
  }
  let choice = if depth == 0 {
    0
  } else {
    u.int_in_range(0..=12).unwrap_or(0)
  };
  match choice {
    0 | 1 => leaf(u, out),
    2 => {
      // A builtin call.
      let (name, arity) = *u.choose(BUILTINS).unwrap_or(&("length", 0));
      out.push_str(name);
      if arity > 0 {
        out.push('(');
        for i in 0..arity {
          if i > 0 {
            out.push_str("; ");
          }
          term(u, out, depth - 1);
        }
        out.push(')');
      }
    }
    3 | 4 => {
      // A binary operator.
      term(u, out, depth - 1);
      out.push_str(u.choose(OPERATORS).unwrap_or(&" | "));
      term(u, out, depth - 1);
    }
    5 | 6 => {
      // One construct around a term.
      let (before, after) = wrap(u);
      out.push_str(before);
      term(u, out, depth - 1);
      out.push_str(after);
    }
    7 | 8 => {
      // A construct nested `n` deep.
      let (before, after) = wrap(u);
      let n = count(u);
      repeat(out, before, n);
      term(u, out, depth - 1);
      repeat(out, after, n);
    }
    9 => {
      // A chain of `n` operators.
      let operator = *u.choose(&OPERATORS[..15]).unwrap_or(&" | ");
      let mut operand = String::new();
      term(u, &mut operand, depth.min(2) - 1);
      let n = count(u);
      repeat(out, &format!("{operand}{operator}"), n);
      out.push_str(&operand);
    }
    10 => literal(u, out),
    11 => {
      // A value built large or deep at run time.
      let builder = *u.choose(BUILDERS).unwrap_or(&"[range($N)]");
      let (before, after) = builder.split_once("$$").expect("a builder has a hole");
      let n = amount(u);
      out.push_str(&before.replace("$N", &n));
      term(u, out, depth - 1);
      out.push_str(&after.replace("$N", &n));
    }
    _ => {
      // A format, alone or over a string with an interpolation.
      out.push_str(u.choose(FORMATS).unwrap_or(&"@text"));
      if u.arbitrary().unwrap_or(false) {
        out.push_str(" \"x\\(");
        term(u, out, depth - 1);
        out.push_str(")\"");
      }
    }
  }
}

/// A construct of `WRAPS`: the text before its hole and after.
fn wrap(u: &mut Unstructured) -> (&'static str, &'static str) {
  u.choose(WRAPS)
    .unwrap_or(&"($$)")
    .split_once("$$")
    .expect("a wrap has a hole")
}

fn leaf(u: &mut Unstructured, out: &mut String) {
  match u.int_in_range(0..=2).unwrap_or(0) {
    0 => out.push_str(u.choose(LEAVES).unwrap_or(&".")),
    1 => out.push_str(u.choose(NUMBERS).unwrap_or(&"0")),
    _ => out.push_str(u.choose(STRINGS).unwrap_or(&"\"\"")),
  }
}

/// A huge literal: a long string, a number of many digits, a large exponent.
fn literal(u: &mut Unstructured, out: &mut String) {
  let n = count(u).max(1) * u.choose(&[1, 10]).unwrap_or(&1);
  match u.int_in_range(0..=3).unwrap_or(0) {
    0 => {
      out.push('"');
      repeat(out, u.choose(&["x", "\\u0000", "é", "\\\\", "("]).unwrap_or(&"x"), n);
      out.push('"');
    }
    1 => repeat(out, "9", n),
    2 => {
      out.push_str("1e");
      repeat(out, "9", n.min(100));
    }
    _ => {
      out.push_str("0.");
      repeat(out, "0", n);
      out.push('1');
    }
  }
}

/// JSON text: one or more values (for NDJSON, one a line), sometimes with bytes that are not JSON.
pub fn json(u: &mut Unstructured) -> Vec<u8> {
  let mut out = String::new();
  let values = u.int_in_range(1..=4).unwrap_or(1);
  for i in 0..values {
    if i > 0 {
      out.push_str(u.choose(&["\n", "\n\n", " ", "\r\n"]).unwrap_or(&"\n"));
    }
    value(u, &mut out, 4);
  }
  let mut bytes = out.into_bytes();
  if u.ratio(1, 16).unwrap_or(false) {
    // A byte that is not JSON (or not UTF-8) somewhere.
    let at = u.int_in_range(0..=bytes.len()).unwrap_or(0);
    bytes.insert(at, u.choose(&[0xff, 0x00, b'}', b'"', 0xc3]).copied().unwrap_or(0xff));
  }
  bytes
}

fn value(u: &mut Unstructured, out: &mut String, depth: u32) {
  if out.len() >= MAX_TEXT {
    out.push('0');
    return;
  }
  let choice = if depth == 0 {
    0
  } else {
    u.int_in_range(0..=9).unwrap_or(0)
  };
  match choice {
    0 | 1 => out.push_str(
      u.choose(&[
        "null",
        "true",
        "false",
        "0",
        "-0",
        "1.5",
        "1e308",
        "1e400",
        "-1e400",
        "123456789012345678901234567890",
        "\"\"",
        "\"a\"",
        "\"\\u0000\\ud800\"",
        "\"é\"",
      ])
      .unwrap_or(&"null"),
    ),
    2 | 3 => {
      out.push('[');
      for i in 0..u.int_in_range(0..=3).unwrap_or(0) {
        if i > 0 {
          out.push(',');
        }
        value(u, out, depth - 1);
      }
      out.push(']');
    }
    4 | 5 => {
      out.push('{');
      for i in 0..u.int_in_range(0..=3).unwrap_or(0) {
        if i > 0 {
          out.push(',');
        }
        out.push_str(
          u.choose(&["\"a\"", "\"b\"", "\"a\"", "\"\"", "\"k\\u0000\""])
            .unwrap_or(&"\"a\""),
        );
        out.push(':');
        value(u, out, depth - 1);
      }
      out.push('}');
    }
    6 => {
      // Nested `n` deep (closed or not).
      let (open, close) = *u
        .choose(&[("[", "]"), ("{\"a\":", "}"), ("[1,", "]")])
        .unwrap_or(&("[", "]"));
      let n = count(u);
      repeat(out, open, n);
      value(u, out, depth - 1);
      if u.ratio(7, 8).unwrap_or(true) {
        repeat(out, close, n);
      }
    }
    7 => {
      // Long: a string, a number, an array, an object.
      let n = count(u).max(1) * u.choose(&[1, 10]).unwrap_or(&1);
      match u.int_in_range(0..=4).unwrap_or(0) {
        0 => {
          out.push('"');
          repeat(out, u.choose(&["x", "\\n", "\\u00e9", "é", "\\\""]).unwrap_or(&"x"), n);
          out.push('"');
        }
        1 => repeat(out, "7", n),
        2 => {
          out.push('[');
          repeat(out, "0,", n);
          out.push_str("0]");
        }
        3 => {
          out.push('{');
          for i in 0..n.min(200_000) {
            out.push_str(&format!("\"k{i}\":{i},"));
          }
          out.push_str("\"k\":0}");
        }
        _ => {
          out.push('{');
          repeat(out, "\"k\":0,", n);
          out.push_str("\"k\":1}");
        }
      }
    }
    _ => {
      out.push_str("{\"a\":");
      value(u, out, depth - 1);
      out.push_str(",\"b\":[");
      value(u, out, depth - 1);
      out.push_str("]}");
    }
  }
}
