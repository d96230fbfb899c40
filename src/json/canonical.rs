//! RFC 8785, the JSON Canonicalization Scheme (JCS): one byte-exact text per JSON value, for
//! signing, hashing and ETags.
//!
//! Numbers are read as IEEE doubles and printed as ECMAScript's `Number.prototype.toString` does
//! (ryu-js), strings are escaped as `JSON.stringify` escapes them, object keys are sorted by their
//! UTF-16 code units, and no whitespace is written. The input must be I-JSON: a repeated key in an
//! object is an error, as are numbers outside the double range (the parser refuses them).

use std::cmp::Ordering;

use bytes::Bytes;

use super::fast::{Fv, Values};
use super::read::{self, ParseError, ReadOptions};
use super::shape::Shape;
use super::value::text::js_string;

/// The canonical form of the single JSON value in `text`.
///
/// The value is read into the fast evaluator's borrowed values, not jaq's: strings stay slices of
/// the text and objects plain vectors, where jaq's reference-counted, hashed maps made
/// allocation and freeing most of the time of a canonicalization.
pub fn canonicalize(text: &Bytes, max_depth: usize) -> Result<String, ParseError> {
  let options = ReadOptions {
    max_depth,
    i_json: true,
    doubles: true,
  };
  let value = read::parse_one(Values, text, 0..text.len(), &Shape::All, &options)?;
  let mut out = Vec::with_capacity(text.len());
  canonical(&mut out, &value);
  // Every string was valid UTF-8 (the parser checks) and escaping keeps it so.
  Ok(String::from_utf8(out).expect("canonical JSON is UTF-8"))
}

fn canonical(out: &mut Vec<u8>, value: &Fv) {
  match value {
    Fv::Null => out.extend_from_slice(b"null"),
    Fv::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
    // The reader rounds every number exactly (`doubles`).
    Fv::Num(n) => js_number(out, n.value()),
    Fv::Str(s) => js_string(out, s),
    Fv::Arr(items) => {
      out.push(b'[');
      for (i, item) in items.iter().enumerate() {
        if i > 0 {
          out.push(b',');
        }
        canonical(out, item);
      }
      out.push(b']');
    }
    Fv::Obj(entries) => {
      let mut entries: Vec<_> = entries.iter().collect();
      entries.sort_by(|(a, _), (b, _)| utf16_order(a, b));
      out.push(b'{');
      for (i, (key, item)) in entries.into_iter().enumerate() {
        if i > 0 {
          out.push(b',');
        }
        js_string(out, key);
        out.push(b':');
        canonical(out, item);
      }
      out.push(b'}');
    }
  }
}

/// A finite double as ECMAScript's `Number.prototype.toString` prints it (RFC 8785 section
/// 3.2.2.3): -0 as 0.
pub fn js_number(out: &mut Vec<u8>, f: f64) {
  debug_assert!(f.is_finite());
  if f == 0.0 {
    out.push(b'0');
  } else {
    out.extend_from_slice(ryu_js::Buffer::new().format_finite(f).as_bytes());
  }
}

/// Orders keys by UTF-16 code units, as RFC 8785 section 3.2.3 requires. That is UTF-8 byte
/// order except between characters above U+FFFF and those in U+E000..U+FFFF, so byte order is
/// exact when either key is ASCII (the usual case); otherwise the code units are compared.
fn utf16_order(a: &str, b: &str) -> Ordering {
  if a.is_ascii() || b.is_ascii() {
    a.as_bytes().cmp(b.as_bytes())
  } else {
    a.encode_utf16().cmp(b.encode_utf16())
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  fn jcs(text: &str) -> Result<String, ParseError> {
    canonicalize(&Bytes::copy_from_slice(text.as_bytes()), read::MAX_DEPTH)
  }

  #[test]
  fn rfc_8785_section_3_2_2_example() {
    let input = r#"{
      "numbers": [333333333.33333329, 1E30, 4.50,
                  2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }"#;
    assert_eq!(
      jcs(input).unwrap(),
      r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#
    );
  }

  #[test]
  fn rfc_8785_section_3_2_3_sorting() {
    let input = r#"{
      "\u20ac": "Euro Sign",
      "\r": "Carriage Return",
      "\ufb33": "Hebrew Letter Dalet With Dagesh",
      "1": "One",
      "\ud83d\ude00": "Emoji: Grinning Face",
      "\u0080": "Control",
      "\u00f6": "Latin Small Letter O With Diaeresis"
    }"#;
    let out = jcs(input).unwrap();
    let order = ["\\r", "1", "\u{80}", "\u{f6}", "\u{20ac}", "\u{1f600}", "\u{fb33}"];
    for pair in order.windows(2) {
      assert!(out.find(pair[0]).unwrap() < out.find(pair[1]).unwrap(), "{out}");
    }
  }

  #[test]
  fn numbers_are_doubles() {
    assert_eq!(
      jcs("[9007199254740993, -0, 1.0, 1e21, 1e-7, 100]").unwrap(),
      "[9007199254740992,0,1,1e+21,1e-7,100]"
    );
  }

  /// A repeated key is found by hashing past a few keys (pairwise, `jq("length")` over 100k keys
  /// took 25 s).
  #[test]
  fn large_objects() {
    let entries: Vec<String> = (0..100_000).map(|i| format!("\"k{i}\":{i}")).collect();
    let text = format!("{{{}}}", entries.join(","));
    assert!(jcs(&text).unwrap().starts_with(r#"{"k0":0,"k1":1,"k10":10,"#));
    let text = format!("{{{},\"k99\":0}}", entries.join(","));
    assert!(jcs(&text).unwrap_err().message.contains("duplicate"));
  }

  #[test]
  fn refuses_what_is_not_i_json() {
    assert!(jcs(r#"{"a":1,"a":2}"#).is_err());
    assert!(jcs("1e400").is_err());
    assert!(jcs("[1] [2]").is_err());
    assert!(jcs("").is_err());
  }
}
