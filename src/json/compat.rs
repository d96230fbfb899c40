//! jq builtins that jaq lacks or does differently, so that programs written for jq run
//! unchanged: `@csv` and `@tsv` (jaq has them only in its command-line crate), `leaf_paths`,
//! `INDEX`, `IN`, `tostream`, `truncate_stream`, `fromstream`, and `del` as jq does it: all paths
//! deleted at once by `delpaths` (jaq deletes them one after the other, so `del(.[1, 2])` removed
//! the wrong element). `getpath` refuses a path that is not an array or longer than 10,000
//! keys, as jq's does. `range/1` and `range/2` refuse bounds that are not numbers, as jq's do
//! (jaq's counted up from any value `+ 1` takes, or yielded nothing); `skip` and `nth` count a
//! fractional `$n` down as jq does; `reverse` of anything but an array is jq's (`[]` for null);
//! `flatten` checks only the depth it is given (a fractional one flattens all the way, as jq's);
//! `walk` and `paths(f)` are jq 1.8's (all of `f`'s outputs; `f` on the root too; `walk` with
//! `map` and `map_values` written out, which fewer frames per level keep within the stack for
//! values 10,000 deep), `nearbyint` rounds half to even as C's does; `significand` and `logb`
//! are C's, on the number's double. `limit` and `skip` with a count that is not a number
//! fail, as jq's do, only once `f` yields; `format/1` (missing in jaq) is jq's. Dates as jq's:
//! `fromdate` is `strptime("%Y-%m-%dT%H:%M:%SZ") | mktime` (jaq's read any RFC 3339 text),
//! `gmtime` truncates seconds before 1970 and fails on NaN, with jq's messages; `gmtime`,
//! `strftime` and `strptime` are `time`'s (any year, the C library's formatting and reading).
//!
//! `leaf_paths`, `INDEX`, `IN`, `tostream`, `truncate_stream` and `fromstream` are jq 1.6's own
//! definitions, `combinations` jq 1.8's (src/builtin.jq, MIT licence): jaq's failed on null and
//! ran forever on `combinations(null)`.

use jaq_core::native::{bome, v, Filter};
use jaq_core::RunPtr;

use super::program::{self, Kind};
use super::time;
use super::value::interrupt;
use super::value::ops::type_error;
use super::value::text::{self, brief, to_json};
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
def JOIN($idx; idx_expr): [.[] | [., $idx[idx_expr]]];
def JOIN($idx; stream; idx_expr): stream | [., $idx[idx_expr]];
def JOIN($idx; stream; idx_expr; join_expr): stream | [., $idx[idx_expr]] | join_expr;
def join($sep): reduce .[] as $x (null;
    (if . == null then "" else . + $sep end)
    + ($x | if type == "boolean" or type == "number" then tostring elif . == null then "" end)
  ) // "";
def from_entries: reduce .[] as $entry ({};
    . + { ($entry | .key // .Key // .name // .Name):
          ($entry | if has("value") then .value else .Value end) });
def _offloop_limit($n; f): limit($n; f);
def _offloop_skip($n; f): skip($n; f);
def _offloop_reverse: reverse;
def limit($n; f):
  if $n > 0 then (if ($n | type) == "number" then _offloop_limit($n; f) else f | $n - 1 | empty end)
  elif $n == 0 then empty
  else error("limit doesn't support negative count") end;
def skip($n; f):
  if $n < 0 then error("skip doesn't support negative count")
  elif ($n | type) != "number" then f | $n - 1 | empty
  elif $n != ($n | floor)
  then foreach f as $x ($n; . - 1; if . < 0 then $x else empty end)
  else _offloop_skip($n; f) end;
def reverse: if type == "array" then _offloop_reverse else [.[length - 1 - range(0; length)]] end;
def walk(f): def w: if type == "array" then [.[] | w] elif type == "object" then (.[] |= w) else . end | f; w;
def paths(node_filter): path(.. | select(node_filter)) | select(length > 0);
def nearbyint: rint;
def significand: _offloop_significand;
def logb: _offloop_logb;
def nth($n; f):
  if $n < 0 then error("nth doesn't support negative indices") else first(skip($n; f)) end;
def pick(f): . as $whole | reduce path(f) as $p (null; setpath($p; $whole | getpath($p)));
def _offloop_flatten($depth): reduce .[] as $x ([];
  if $x | type == "array" and $depth != 0 then . + ($x | _offloop_flatten($depth - 1)) else . + [$x] end);
def flatten($depth):
  if $depth < 0 then error("flatten depth must not be negative") else _offloop_flatten($depth) end;
def flatten: flatten(infinite);
def trimstr($s): ltrimstr($s) | rtrimstr($s);
def @base64d: tostring | _offloop_base64d;
def @urid: tostring | _offloop_urid;
def format($f):
  if $f == "text" then @text elif $f == "json" then @json elif $f == "html" then @html
  elif $f == "uri" then @uri elif $f == "urid" then @urid elif $f == "csv" then @csv
  elif $f == "tsv" then @tsv elif $f == "sh" then @sh elif $f == "base64" then @base64
  elif $f == "base64d" then @base64d else $f | _offloop_not_a_format end;
def gamma: lgamma;
def _offloop_epoch($name; broken_down):
  if type != "number" then error("\($name)() requires numeric inputs")
  elif isnan or isinfinite then error("error converting number of seconds since epoch to datetime")
  else . as $t
    | try ($t | trunc | broken_down) catch error("error converting number of seconds since epoch to datetime")
    | .[5] += ($t - ($t | floor)) end;
def gmtime: _offloop_epoch("gmtime"; _offloop_gmtime);
def localtime: _offloop_epoch("localtime"; _offloop_localtime);
# jq's message shows the texts as the C library read them: up to a NUL.
def _offloop_c_string: split("\u0000") | first // "";
def strptime($f):
  if type != "string" or ($f | type) != "string" then error("strptime/1 requires string inputs and arguments")
  else . as $s | try _offloop_strptime($f)
    catch error("date \"\($s | _offloop_c_string)\" does not match format \"\($f | _offloop_c_string)\"") end;
def mktime:
  if type != "array" then error("mktime requires array inputs")
  else _offloop_timegm // error("mktime requires parsed datetime inputs")
    | if . == -1 then error("invalid gmtime representation") end end;
def fromdateiso8601: strptime("%Y-%m-%dT%H:%M:%SZ") | mktime;
def fromdate: fromdateiso8601;
def strftime($f):
  (if type == "number" then gmtime
   elif type == "array" then .
   else error("strftime/1 requires parsed datetime inputs") end)
  | if $f | type != "string" then error("strftime/1 requires a string format")
    else _offloop_strftime($f) end;
def strflocaltime($f):
  (if type == "number" then localtime
   elif type == "array" then .
   else error("strflocaltime/1 requires parsed datetime inputs") end)
  | if $f | type != "string" then error("strflocaltime/1 requires a string format")
    else _offloop_strflocaltime($f) end;
def range($from; $upto; $by):
  if $by > 0 or $by < 0 then _offloop_range($from; $upto; $by) | _offloop_tick else empty end;
# jq's range/2 (and so range/1) stops at its bound's double: `* 1` leaves a literal's double.
def range($from; $upto):
  if ($from | type) == "number" and ($upto | type) == "number" then range($from; $upto * 1; 1)
  else error("Range bounds must be numeric") end;
def range($upto): range(0; $upto);
def combinations:
  if length == 0 then [] else .[0][] as $x | (.[1:] | combinations) as $w | [$x] + $w end;
def combinations(n): . as $dot | [range(n)] | map($dot) | combinations;
def todate: strftime("%Y-%m-%dT%H:%M:%SZ");
def todateiso8601: todate;
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
    ("startswith", v(1), |mut cv| {
      let prefix = cv.0.pop_var();
      bome(affix(&cv.1, &prefix, "startswith").map(|(s, p)| Val::Bool(s.starts_with(p))))
    }),
    ("endswith", v(1), |mut cv| {
      let suffix = cv.0.pop_var();
      bome(affix(&cv.1, &suffix, "endswith").map(|(s, p)| Val::Bool(s.ends_with(p))))
    }),
    ("ltrimstr", v(1), |mut cv| {
      let prefix = cv.0.pop_var();
      bome(strip(cv.1, &prefix, "startswith", |s, p| s.strip_prefix(p)))
    }),
    ("rtrimstr", v(1), |mut cv| {
      let suffix = cv.0.pop_var();
      bome(strip(cv.1, &suffix, "endswith", |s, p| s.strip_suffix(p)))
    }),
    ("trim", v(0), |cv| bome(trim(cv.1, str::trim))),
    ("ltrim", v(0), |cv| bome(trim(cv.1, str::trim_start))),
    ("rtrim", v(0), |cv| bome(trim(cv.1, str::trim_end))),
    ("utf8bytelength", v(0), |cv| {
      bome(match &cv.1 {
        Val::Str(s) => Ok(Val::from(s.len())),
        other => Err(type_error(other, "only strings have UTF-8 byte length")),
      })
    }),
    ("explode", v(0), |cv| {
      bome(explodable(&cv.1).map(|s| s.chars().map(|c| Val::float(f64::from(u32::from(c)))).collect()))
    }),
    ("ascii_downcase", v(0), |cv| {
      bome(explodable(&cv.1).map(|s| Val::from(s.to_ascii_lowercase())))
    }),
    ("ascii_upcase", v(0), |cv| {
      bome(explodable(&cv.1).map(|s| Val::from(s.to_ascii_uppercase())))
    }),
    ("_offloop_base64d", v(0), |cv| bome(base64_decode(&cv.1))),
    ("_offloop_urid", v(0), |cv| bome(uri_decode(&cv.1))),
    ("_offloop_gmtime", v(0), |cv| bome(calendar(&cv.1, time::gmtime))),
    ("_offloop_localtime", v(0), |cv| bome(calendar(&cv.1, time::localtime))),
    ("_offloop_strftime", v(1), |mut cv| {
      bome(format_time(&cv.1, &cv.0.pop_var(), false))
    }),
    ("_offloop_strflocaltime", v(1), |mut cv| {
      bome(format_time(&cv.1, &cv.0.pop_var(), true))
    }),
    ("_offloop_strptime", v(1), |mut cv| {
      bome(read_time(&cv.1, &cv.0.pop_var()))
    }),
    ("_offloop_timegm", v(0), |cv| {
      bome(Ok(timegm(&cv.1).map_or(Val::Null, Val::float)))
    }),
    ("builtins", v(0), |_| bome(Ok(program::builtins()))),
    ("_offloop_not_a_format", v(0), |cv| {
      bome(Err(match &cv.1 {
        Val::Str(name) => Error::str(format_args!("{} is not a valid format", name.as_str())),
        other => Error::str(format_args!("{} is not a valid format", brief(other))),
      }))
    }),
    ("_offloop_significand", v(0), |cv| {
      bome(double(&cv.1).map(|x| Val::float(significand(x))))
    }),
    ("_offloop_logb", v(0), |cv| {
      bome(double(&cv.1).map(|x| Val::float(logb(x))))
    }),
    ("lgamma_r", v(0), |cv| {
      bome(match &cv.1 {
        Val::Num(n) => {
          let (value, sign) = libm::lgamma_r(n.value());
          Ok(Val::array(vec![Val::float(value), Val::float(f64::from(sign))]))
        }
        other => Err(type_error(other, "number required")),
      })
    }),
  ])
}

/// The strings `startswith`/`endswith` (and so `ltrimstr`/`rtrimstr`) compare, or jq's error.
fn affix<'a>(s: &'a Val, fix: &'a Val, name: &str) -> Result<(&'a str, &'a str), Error> {
  match (s, fix) {
    (Val::Str(s), Val::Str(fix)) => Ok((s.as_str(), fix.as_str())),
    _ => Err(Error::str(format_args!("{name}() requires string inputs"))),
  }
}

/// `ltrimstr`/`rtrimstr`: jq 1.8 defines them on `startswith`/`endswith`, so a value that is not
/// a string is an error (jq 1.7 passed it through).
fn strip(v: Val, fix: &Val, name: &str, cut: for<'s> fn(&'s str, &'s str) -> Option<&'s str>) -> ValR {
  let (s, f) = affix(&v, fix, name)?;
  Ok(match cut(s, f) {
    Some(rest) if rest.len() < s.len() => Val::str(rest),
    _ => v,
  })
}

/// `trim`, `ltrim`, `rtrim`: Rust's whitespace is jq's (Unicode's White_Space).
fn trim(v: Val, cut: fn(&str) -> &str) -> ValR {
  match &v {
    Val::Str(s) => {
      let rest = cut(s.as_str());
      Ok(if rest.len() == s.len() {
        v.clone()
      } else {
        Val::str(rest)
      })
    }
    _ => Err(Error::str("trim input must be a string")),
  }
}

/// A number's double, as C's math functions take it (`1e1000` is infinite, `1e-400` zero).
fn double(v: &Val) -> Result<f64, Error> {
  match v {
    Val::Num(n) => Ok(n.value()),
    other => Err(type_error(other, "number required")),
  }
}

/// C's `significand`: the mantissa in [1, 2), zero, infinities and NaN as they are. jaq's
/// definition compared the number as written (so returned `1e1000` itself) and failed on
/// `1e-400`, whose exponent it negated as an integer.
fn significand(x: f64) -> f64 {
  if x == 0.0 || !x.is_finite() {
    x
  } else {
    libm::scalbn(x, -libm::ilogb(x))
  }
}

/// C's `logb`: the binary exponent as a double, -infinity for zero.
fn logb(x: f64) -> f64 {
  if x == 0.0 {
    f64::NEG_INFINITY
  } else if x.is_infinite() {
    f64::INFINITY
  } else if x.is_nan() {
    x
  } else {
    f64::from(libm::ilogb(x))
  }
}

/// The string of `explode` and of the builtins jq defines on it.
fn explodable(v: &Val) -> Result<&str, Error> {
  v.as_str().ok_or_else(|| Error::str("explode input must be a string"))
}

/// `@base64d` as jq 1.8's: the standard alphabet up to the first `=`, padding optional, a lone
/// trailing character an error, and bytes that are not UTF-8 replaced.
fn base64_decode(v: &Val) -> ValR {
  let Val::Str(s) = v else {
    return Err(type_error(v, "is not valid base64 data"));
  };
  let digit = |b: u8| match b {
    b'A'..=b'Z' => Some(b - b'A'),
    b'a'..=b'z' => Some(b - b'a' + 26),
    b'0'..=b'9' => Some(b - b'0' + 52),
    b'+' => Some(62),
    b'/' => Some(63),
    _ => None,
  };
  let mut out = Vec::with_capacity(s.len() / 4 * 3 + 2);
  let (mut code, mut count) = (0u32, 0);
  for &b in s.as_bytes().iter().take_while(|&&b| b != b'=') {
    let d = digit(b).ok_or_else(|| type_error(v, "is not valid base64 data"))?;
    code = code << 6 | u32::from(d);
    count += 1;
    if count == 4 {
      out.extend_from_slice(&code.to_be_bytes()[1..]);
      (code, count) = (0, 0);
    }
  }
  match count {
    3 => out.extend_from_slice(&(code >> 2).to_be_bytes()[2..]),
    2 => out.push((code >> 4) as u8),
    1 => return Err(type_error(v, "trailing base64 byte found")),
    _ => {}
  }
  Ok(Val::from(String::from_utf8_lossy(&out).into_owned()))
}

/// `@urid` as jq 1.8's: every `%` takes two hex digits, and the result must be UTF-8.
fn uri_decode(v: &Val) -> ValR {
  let invalid = || type_error(v, "is not a valid uri encoding");
  let Val::Str(s) = v else { return Err(invalid()) };
  let bytes = s.as_bytes();
  let mut out = Vec::with_capacity(bytes.len());
  let hex = |b: Option<&u8>| b.and_then(|&b| char::from(b).to_digit(16));
  let mut i = 0;
  while i < bytes.len() {
    if bytes[i] == b'%' {
      let (high, low) = (hex(bytes.get(i + 1)), hex(bytes.get(i + 2)));
      let (Some(high), Some(low)) = (high, low) else {
        return Err(invalid());
      };
      out.push((high << 4 | low) as u8);
      i += 3;
    } else {
      out.push(bytes[i]);
      i += 1;
    }
  }
  String::from_utf8(out).map(Val::from).map_err(|_| invalid())
}

/// A broken-down time `[year, month (0-11), day, hours, minutes, seconds, weekday, day of the
/// year]` as jq puts it into the C library's `struct tm`: each field present truncated into C's
/// `int` (the year less 1900, so a missing year is 1900), a missing one 0. None if one of the first
/// eight is not a number or is NaN.
fn tm_fields(v: &Val) -> Option<[i64; 8]> {
  let Val::Arr(a) = v else { return None };
  let mut fields = [0i64; 8];
  fields[0] = 1900;
  for (i, (field, item)) in fields.iter_mut().zip(a.items().iter()).enumerate() {
    let n = item.as_num().filter(|n| !n.is_nan())?.value();
    let base = if i == 0 { 1900.0 } else { 0.0 };
    *field = (n - base).clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i64 + base as i64;
  }
  Some(fields)
}

/// Seconds since the epoch of a broken-down time read the C library's way, as if in UTC:
/// out-of-range fields carried over (month 12 is January of the next year), the weekday and the
/// day of the year ignored.
fn wall_seconds(fields: &[i64; 8]) -> i64 {
  let [year, month, day, hours, minutes, seconds, ..] = *fields;
  let days = time::days_from_civil(year + month.div_euclid(12), month.rem_euclid(12) + 1, 1) + day - 1;
  days * 86_400 + hours * 3_600 + minutes * 60 + seconds
}

/// jq's `strptime` (its `def` checks the types and words the error): the broken-down time, with
/// the text the C library left as a ninth element. That text may only start with whitespace.
fn read_time(text: &Val, format: &Val) -> ValR {
  let (text, format) = (text.as_str().unwrap_or_default(), format.as_str().unwrap_or_default());
  let (fields, rest) = time::strptime(text, format)
    .filter(|(_, rest)| rest.bytes().next().is_none_or(time::is_space))
    .ok_or_else(|| Error::str("does not match"))?;
  let mut items: Vec<Val> = fields.map(|field| Val::float(field as f64)).into();
  if !rest.is_empty() {
    items.push(Val::from(rest.to_owned()));
  }
  Ok(Val::array(items))
}

/// jq's `mktime` of a broken-down time (`timegm`).
fn timegm(v: &Val) -> Option<f64> {
  tm_fields(v).map(|fields| wall_seconds(&fields) as f64)
}

/// jq's `strftime` (`local` false) or `strflocaltime` of a broken-down time.
fn format_time(v: &Val, format: &Val, local: bool) -> ValR {
  let format = format.as_str().unwrap_or_default();
  let name = if local { "strflocaltime/1" } else { "strftime/1" };
  let Some(tm) = normalized(v, local, format) else {
    return Err(Error::str(format_args!("{name} requires parsed datetime inputs")));
  };
  let text = time::strftime(&tm, format);
  // jq gives the C library a buffer of the format's length plus 100 bytes, its NUL included, and
  // takes a text that does not fit, or an empty one from a non-empty format, as a failure.
  if text.len() > format.len() + 99 || (text.is_empty() && !format.is_empty()) {
    return Err(Error::str(format_args!("{name}: unknown system failure")));
  }
  Ok(Val::from(text))
}

/// The broken-down time `to_tm` makes of a number of seconds since 1970, as jq's array, or jq's
/// error where the C library has none (a NaN, an infinity, a year outside its `int`).
fn calendar(seconds: &Val, to_tm: fn(i64) -> Option<time::Tm>) -> ValR {
  seconds
    .as_num()
    .map(|n| n.value())
    .filter(|s| s.is_finite())
    .and_then(|s| to_tm(s.floor() as i64))
    .map(|tm| Val::array(broken_down_fields(&tm)))
    .ok_or_else(|| Error::str("error converting number of seconds since epoch to datetime"))
}

/// A broken-down time as the C library's `strftime` sees it once jq has normalized it with
/// `timegm` (`local` false) or `mktime` (`local` true). Where that fails (a year beyond C's `int`),
/// glibc leaves the fields as given, `%s` is `mktime`'s -1, and a local time has no zone.
fn normalized(v: &Val, local: bool, format: &str) -> Option<time::Tm> {
  let fields = tm_fields(v)?;
  let wall = wall_seconds(&fields);
  let tm = if local {
    time::localtime(time::mktime(wall))
  } else {
    time::gmtime(wall).map(|mut tm| {
      // glibc's `%s` is `mktime` of the time as given, in the system's zone, on standard time
      // (jq marks it so). Only looked up where the format may have a `%s`.
      if format.contains('s') {
        tm.epoch = time::mktime_standard(wall);
      }
      tm
    })
  };
  let [year, month, day, hour, minute, second, weekday, yearday] = fields;
  Some(tm.unwrap_or_else(|| time::Tm {
    year,
    month,
    day,
    hour,
    minute,
    second,
    weekday,
    yearday,
    epoch: -1,
    offset: (!local).then_some(0),
    zone: if local { "" } else { "UTC" }.to_owned(),
  }))
}

/// `tm` as jq's `gmtime` gives it: `[year, month (0-11), day, hours, minutes, seconds, weekday,
/// day of the year]`.
fn broken_down_fields(tm: &time::Tm) -> Vec<Val> {
  [
    tm.year, tm.month, tm.day, tm.hour, tm.minute, tm.second, tm.weekday, tm.yearday,
  ]
  .map(|field| Val::float(field as f64))
  .into()
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
      Val::Str(s) => {
        if table == Table::Csv {
          line.push('"');
        }
        for (i, piece) in text::pieces(s.as_str()).enumerate() {
          if i > 0 {
            interrupt::poll();
          }
          match table {
            Table::Csv => line.push_str(&piece.replace('"', "\"\"")),
            Table::Tsv => {
              for c in piece.chars() {
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
        if table == Table::Csv {
          line.push('"');
        }
      }
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
  fn formats_any_broken_down_time() {
    // The formatter behind strftime, called directly with fields far outside C's `int`: no
    // overflow (a panic in this debug build).
    for field in ["1e300", "-1e300", "nan", "2147483647", "-2147483648"] {
      let fields = [field; 8].join(",");
      let out = jq(
        &format!("[{fields}] | _offloop_strftime(\"%V %U %W %j %s %C %G %g %y %e %I\")"),
        "null",
      );
      assert!(!out.starts_with("error") || out.contains("requires"), "{field}: {out}");
    }
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
