//! jaq values to compact JSON text, the way `jq -c` prints them, with JavaScript's number and
//! string formatting.
//!
//! jaq-json's own printer is not used: it writes `NaN`, `Infinity`, byte strings (`b"..."`) and
//! invalid UTF-8 as they are (not JSON), and keeps number literals as written (`1.000`). Here
//! every output is valid JSON that `JSON.parse` reads back to the same value: numbers print as
//! `String(n)` does (`1`, `0.1`, `1e+21`), NaN as `null` and infinities as ±1.7976931348623157e+308
//! (as jq does), strings are escaped as `JSON.stringify` escapes them (so RFC 8785 shares
//! `string` and `js_number`).

use jaq_json::{Num, Val};

/// Appends `value` as compact JSON.
pub fn value(out: &mut Vec<u8>, value: &Val) {
  match value {
    Val::Null => out.extend_from_slice(b"null"),
    Val::Bool(true) => out.extend_from_slice(b"true"),
    Val::Bool(false) => out.extend_from_slice(b"false"),
    Val::Num(n) => number(out, n),
    Val::TStr(s) | Val::BStr(s) => string(out, s),
    Val::Arr(items) => {
      out.push(b'[');
      for (i, item) in items.iter().enumerate() {
        if i > 0 {
          out.push(b',');
        }
        self::value(out, item);
      }
      out.push(b']');
    }
    Val::Obj(entries) => {
      out.push(b'{');
      for (i, (key, item)) in entries.iter().enumerate() {
        if i > 0 {
          out.push(b',');
        }
        match key {
          Val::TStr(s) | Val::BStr(s) => string(out, s),
          other => {
            // jq refuses non-string keys; jaq can build them. Print their JSON text as the key.
            let mut text = Vec::new();
            self::value(&mut text, other);
            string(out, &text);
          }
        }
        out.push(b':');
        self::value(out, item);
      }
      out.push(b'}');
    }
  }
}

/// Like `value`, but a string is written as its raw text (`jq -r`).
pub fn raw(out: &mut Vec<u8>, value: &Val) {
  match value {
    Val::TStr(s) | Val::BStr(s) => out.extend_from_slice(String::from_utf8_lossy(s).as_bytes()),
    other => self::value(out, other),
  }
}

/// A number as jq prints it, in JavaScript's notation.
pub fn number(out: &mut Vec<u8>, n: &Num) {
  match n {
    Num::Int(i) => out.extend_from_slice(itoa::Buffer::new().format(*i).as_bytes()),
    Num::BigInt(i) => out.extend_from_slice(i.to_string().as_bytes()),
    Num::Float(f) => jq_float(out, *f),
    Num::Dec(text) => jq_float(out, text.parse().unwrap_or(f64::NAN)),
  }
}

fn jq_float(out: &mut Vec<u8>, f: f64) {
  if f.is_nan() {
    out.extend_from_slice(b"null");
  } else if f.is_infinite() {
    js_number(out, f64::MAX.copysign(f));
  } else {
    js_number(out, f);
  }
}

/// A finite double as `String(n)` prints it (also RFC 8785's number format).
pub fn js_number(out: &mut Vec<u8>, f: f64) {
  debug_assert!(f.is_finite());
  if f == 0.0 {
    // -0 prints as 0 in JavaScript.
    out.push(b'0');
  } else {
    out.extend_from_slice(ryu_js::Buffer::new().format_finite(f).as_bytes());
  }
}

/// A JSON string literal, escaped as `JSON.stringify` escapes: `"`, `\`, and control characters
/// (`\b \t \n \f \r` by name, the rest as `\u00xx`). Invalid UTF-8 becomes U+FFFD.
pub fn string(out: &mut Vec<u8>, s: &[u8]) {
  match std::str::from_utf8(s) {
    Ok(s) => escaped(out, s.as_bytes()),
    Err(_) => escaped(out, String::from_utf8_lossy(s).as_bytes()),
  }
}

fn escaped(out: &mut Vec<u8>, s: &[u8]) {
  const HEX: &[u8; 16] = b"0123456789abcdef";
  out.reserve(s.len() + 2);
  out.push(b'"');
  let mut start = 0;
  for (i, &b) in s.iter().enumerate() {
    let short = match b {
      b'"' => b'"',
      b'\\' => b'\\',
      b'\n' => b'n',
      b'\r' => b'r',
      b'\t' => b't',
      0x08 => b'b',
      0x0c => b'f',
      0x00..=0x1f => 0,
      _ => continue,
    };
    out.extend_from_slice(&s[start..i]);
    start = i + 1;
    if short == 0 {
      out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[(b >> 4) as usize], HEX[(b & 15) as usize]]);
    } else {
      out.extend_from_slice(&[b'\\', short]);
    }
  }
  out.extend_from_slice(&s[start..]);
  out.push(b'"');
}

#[cfg(test)]
mod tests {
  use super::*;

  fn text(v: &Val) -> String {
    let mut out = Vec::new();
    value(&mut out, v);
    String::from_utf8(out).unwrap()
  }

  #[test]
  fn numbers_print_like_javascript() {
    let cases: &[(f64, &str)] = &[
      (1.0, "1"),
      (-0.0, "0"),
      (0.1, "0.1"),
      (1e21, "1e+21"),
      (1e-7, "1e-7"),
      (123456789012345680000.0, "123456789012345680000"),
      (f64::NAN, "null"),
      (f64::INFINITY, "1.7976931348623157e+308"),
      (f64::NEG_INFINITY, "-1.7976931348623157e+308"),
    ];
    for (f, expected) in cases {
      assert_eq!(text(&Val::Num(Num::Float(*f))), *expected);
    }
    assert_eq!(text(&Val::Num(Num::Int(-42))), "-42");
    assert_eq!(text(&Val::Num(Num::Dec("1.000".to_string().into()))), "1");
  }

  #[test]
  fn strings_escape_like_json_stringify() {
    let s = Val::utf8_str("a\"b\\c\n\u{1}\u{7f}é😀".as_bytes().to_vec());
    assert_eq!(text(&s), "\"a\\\"b\\\\c\\n\\u0001\u{7f}é😀\"");
    assert_eq!(text(&Val::utf8_str(vec![b'a', 0xff])), "\"a\u{fffd}\"");
    let mut out = Vec::new();
    raw(&mut out, &Val::utf8_str(b"x\ny".to_vec()));
    assert_eq!(out, b"x\ny");
  }

  #[test]
  fn containers() {
    let mut map = jaq_json::Map::default();
    map.insert(
      Val::utf8_str(b"b".to_vec()),
      Val::Arr(vec![Val::Null, Val::Bool(true)].into()),
    );
    map.insert(Val::utf8_str(b"a".to_vec()), Val::obj(Default::default()));
    assert_eq!(text(&Val::obj(map)), r#"{"b":[null,true],"a":{}}"#);
  }
}
