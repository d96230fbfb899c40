//! Numbers as jq 1.8 has them: IEEE doubles, except that a number literal (of the input or of
//! the program) keeps its decimal text while nothing computes with it.
//!
//! jq 1.8 stores a literal as a decNumber and prints it with decNumber's to-scientific-string
//! (`1.000` stays `1.000`, `1e2` prints as `1E+2`, `100000000000000000001` keeps every digit); two
//! literals compare as exact decimals; negation and `length` (absolute value) keep the literal;
//! arithmetic makes a plain double, printed by jq's `jvp_dtoa_fmt` (shortest round trip, 17
//! significant digits at most, `1e-05`, `1e+17`). A literal's double is its decimal rounded to 17
//! significant digits, then to the nearest double.
//!
//! Representation: `Float` for computed doubles; a literal whose decimal text is exactly what jq
//! prints for its double (`42`, `1.5`, `-0`: nearly every number of real data) is `Short`, a
//! double that remembers it is a literal; any other literal is `Lit`, with its text (shared
//! through an `Arc`: compiled programs hold their literals and are shared between threads).

use std::cmp::Ordering;
use std::sync::Arc;

/// A jq number.
#[derive(Clone, Debug)]
pub enum Num {
  /// A double computed by the program.
  Float(f64),
  /// A literal printed exactly as its double prints.
  Short(f64),
  /// Any other literal: its double and its decimal text.
  Lit(Arc<Lit>),
}

/// A literal whose text differs from its double's: `1.000`, `1E+2`, `0.00001`,
/// `100000000000000000001`, `1E+1000` (its double is infinite).
#[derive(Debug)]
pub struct Lit {
  value: f64,
  /// decNumber's to-scientific-string of the literal, which jq prints.
  text: Box<str>,
}

/// decNumber's exponent range (jq's context); literals beyond it are infinities or zeros.
const MAX_EXPONENT: i64 = 999_999_999;

/// A decimal: sign, significant digits (no leading zeros; "0" for zero) and the exponent of the
/// last digit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decimal {
  negative: bool,
  digits: Vec<u8>,
  exponent: i64,
}

impl Decimal {
  /// Parses decNumber's syntax (jq's `tonumber` and program literals): an optional sign, digits
  /// with an optional point (`1.`, `.5`, `00012`), an optional exponent. `Err(special)` for
  /// infinities and NaN (`Infinity`, `inf`, `NaN`; NaN with a payload is invalid), `None` when
  /// it is not a number.
  pub fn parse(text: &str) -> Option<Result<Decimal, Special>> {
    let bytes = text.as_bytes();
    let (negative, rest) = match bytes.first() {
      Some(b'-') => (true, &bytes[1..]),
      Some(b'+') => (false, &bytes[1..]),
      _ => (false, bytes),
    };
    let word = std::str::from_utf8(rest).ok()?.to_ascii_lowercase();
    match word.as_str() {
      "inf" | "infinity" => return Some(Err(Special::Infinity { negative })),
      "nan" | "snan" => return Some(Err(Special::NaN)),
      _ => {}
    }
    let mut at = 0;
    let mut digits = Vec::new();
    let mut seen = false;
    while let Some(&d @ b'0'..=b'9') = rest.get(at) {
      digits.push(d);
      seen = true;
      at += 1;
    }
    let mut exponent: i64 = 0;
    if rest.get(at) == Some(&b'.') {
      at += 1;
      while let Some(&d @ b'0'..=b'9') = rest.get(at) {
        digits.push(d);
        exponent -= 1;
        seen = true;
        at += 1;
      }
    }
    if !seen {
      return None;
    }
    if matches!(rest.get(at), Some(b'e' | b'E')) {
      let (power, end) = exponent_digits(rest, at + 1).ok()?;
      exponent += power;
      at = end;
    }
    if at != rest.len() {
      return None;
    }
    Some(Ok(Decimal::new(negative, digits, exponent)))
  }

  /// From ASCII digits (leading zeros allowed) and the exponent of the last one.
  fn new(negative: bool, mut digits: Vec<u8>, exponent: i64) -> Decimal {
    let zeros = digits.iter().take_while(|&&d| d == b'0').count();
    if zeros == digits.len() {
      digits.clear();
      digits.push(b'0');
    } else {
      digits.drain(..zeros);
    }
    Decimal {
      negative,
      digits,
      exponent,
    }
  }

  fn is_zero(&self) -> bool {
    self.digits == b"0"
  }

  /// The exponent of the first digit.
  fn adjusted(&self) -> i64 {
    self.exponent + self.digits.len() as i64 - 1
  }

  /// decNumber's to-scientific-string: plain notation when the exponent is at most 0 and the
  /// adjusted exponent at least -6, else one digit, a point, the rest and `E±n`.
  pub fn text(&self) -> String {
    let mut out = String::with_capacity(self.digits.len() + 8);
    if self.negative {
      out.push('-');
    }
    let digits = std::str::from_utf8(&self.digits).unwrap_or("0");
    let adjusted = self.adjusted();
    if self.exponent <= 0 && adjusted >= -6 {
      let point = self.digits.len() as i64 + self.exponent;
      if self.exponent == 0 {
        out.push_str(digits);
      } else if point > 0 {
        out.push_str(&digits[..point as usize]);
        out.push('.');
        out.push_str(&digits[point as usize..]);
      } else {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-point) as usize));
        out.push_str(digits);
      }
    } else {
      out.push_str(&digits[..1]);
      if digits.len() > 1 {
        out.push('.');
        out.push_str(&digits[1..]);
      }
      out.push('E');
      out.push(if adjusted >= 0 { '+' } else { '-' });
      out.push_str(itoa::Buffer::new().format(adjusted.unsigned_abs()));
    }
    out
  }

  /// The double jq makes of this decimal: rounded to 17 significant digits (half to even), then
  /// to the nearest double.
  pub fn to_f64(&self) -> f64 {
    const PRECISION: usize = 17;
    let (digits, exponent): (std::borrow::Cow<[u8]>, i64) = if self.digits.len() <= PRECISION {
      (self.digits.as_slice().into(), self.exponent)
    } else {
      let dropped = self.digits.len() - PRECISION;
      let mut kept = self.digits[..PRECISION].to_vec();
      let first = self.digits[PRECISION];
      let rest_zero = self.digits[PRECISION + 1..].iter().all(|&d| d == b'0');
      let up = first > b'5' || (first == b'5' && (!rest_zero || (kept[PRECISION - 1] - b'0') % 2 == 1));
      let mut exponent = self.exponent + dropped as i64;
      if up {
        let mut i = PRECISION;
        loop {
          if i == 0 {
            kept.insert(0, b'1');
            kept.pop();
            exponent += 1;
            break;
          }
          i -= 1;
          if kept[i] == b'9' {
            kept[i] = b'0';
          } else {
            kept[i] += 1;
            break;
          }
        }
      }
      (kept.into(), exponent)
    };
    // Far outside the double range the standard library's parser is not asked (it stops
    // reading long exponents).
    let adjusted = exponent + digits.len() as i64 - 1;
    let sign = if self.negative { -1.0 } else { 1.0 };
    if digits.as_ref() == b"0" {
      return sign * 0.0;
    }
    if adjusted > 400 {
      return sign * f64::INFINITY;
    }
    if adjusted < -400 {
      return sign * 0.0;
    }
    let mut text = String::with_capacity(digits.len() + 24);
    if self.negative {
      text.push('-');
    }
    text.push_str(std::str::from_utf8(&digits).unwrap_or("0"));
    text.push('e');
    text.push_str(itoa::Buffer::new().format(exponent));
    text.parse().unwrap_or(f64::NAN)
  }

  /// The exact decimal order (zeros are equal whatever their sign).
  pub fn order(&self, other: &Decimal) -> Ordering {
    match (self.is_zero(), other.is_zero()) {
      (true, true) => return Ordering::Equal,
      (true, false) => {
        return if other.negative {
          Ordering::Greater
        } else {
          Ordering::Less
        }
      }
      (false, true) => {
        return if self.negative {
          Ordering::Less
        } else {
          Ordering::Greater
        }
      }
      (false, false) => {}
    }
    if self.negative != other.negative {
      return if self.negative {
        Ordering::Less
      } else {
        Ordering::Greater
      };
    }
    let trim = |d: &[u8]| d.len() - d.iter().rev().take_while(|&&b| b == b'0').count();
    let (a, b) = (&self.digits[..trim(&self.digits)], &other.digits[..trim(&other.digits)]);
    let magnitude = self.adjusted().cmp(&other.adjusted()).then_with(|| a.cmp(b));
    if self.negative {
      magnitude.reverse()
    } else {
      magnitude
    }
  }

  /// The shortest decimal that rounds to `f` (finite), as jq's dtoa finds it.
  fn shortest(f: f64) -> Decimal {
    let mut buf = [0u8; 17];
    let (len, point) = shortest_digits(f, &mut buf);
    Decimal {
      negative: f.is_sign_negative(),
      digits: buf[..len].to_vec(),
      exponent: i64::from(point) - len as i64,
    }
  }
}

/// The exponent after an `e` (at `at`): an optional sign and digits, capped far beyond any
/// text's length (no run of zeros can offset it) so that it never overflows. The exponent and
/// where it ends; `Err` with where the digits should be when there are none.
pub fn exponent_digits(text: &[u8], mut at: usize) -> Result<(i64, usize), usize> {
  let sign = match text.get(at) {
    Some(b'-') => {
      at += 1;
      -1
    }
    Some(b'+') => {
      at += 1;
      1
    }
    _ => 1,
  };
  let first = at;
  let mut power: i64 = 0;
  while let Some(&d @ b'0'..=b'9') = text.get(at) {
    power = (power * 10 + i64::from(d - b'0')).min(1 << 40);
    at += 1;
  }
  if at == first {
    return Err(at);
  }
  Ok((sign * power, at))
}

/// The numbers decNumber's syntax has besides decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Special {
  Infinity { negative: bool },
  NaN,
}

impl Num {
  /// A literal of the program or of `tonumber`, in decNumber's syntax; `None` if it is none.
  pub fn literal(text: &str) -> Option<Num> {
    Some(match Decimal::parse(text)? {
      Ok(decimal) => Num::from_decimal(&decimal),
      Err(Special::NaN) => Num::Float(f64::NAN),
      Err(Special::Infinity { negative }) => Num::Float(if negative { f64::NEG_INFINITY } else { f64::INFINITY }),
    })
  }

  /// A number of JSON text: `raw` is its text (JSON syntax), `value` its double as jq computes it.
  /// The reader calls this only for numbers it could not prove short (`Short` otherwise).
  pub fn json_literal(raw: &str, value: f64) -> Num {
    match Decimal::parse(raw) {
      Some(Ok(decimal)) => Num::from_decimal_value(&decimal, value),
      _ => Num::Float(value),
    }
  }

  fn from_decimal(decimal: &Decimal) -> Num {
    Num::from_decimal_value(decimal, decimal.to_f64())
  }

  fn from_decimal_value(decimal: &Decimal, value: f64) -> Num {
    let adjusted = decimal.adjusted();
    if !decimal.is_zero() && adjusted > MAX_EXPONENT {
      return Num::Float(if decimal.negative {
        f64::NEG_INFINITY
      } else {
        f64::INFINITY
      });
    }
    if !decimal.is_zero() && adjusted < -MAX_EXPONENT {
      return Num::Float(if decimal.negative { -0.0 } else { 0.0 });
    }
    let text = decimal.text();
    if value.is_finite() && {
      let mut printed = Vec::with_capacity(32);
      write_double(&mut printed, value);
      printed == text.as_bytes()
    } {
      Num::Short(value)
    } else {
      Num::Lit(Arc::new(Lit {
        value,
        text: text.into_boxed_str(),
      }))
    }
  }

  /// The double.
  #[inline]
  pub fn value(&self) -> f64 {
    match self {
      Num::Float(f) | Num::Short(f) => *f,
      Num::Lit(lit) => lit.value,
    }
  }

  pub fn is_literal(&self) -> bool {
    !matches!(self, Num::Float(_))
  }

  pub fn is_nan(&self) -> bool {
    self.value().is_nan()
  }

  /// The decimal this number is: a literal's own, else the shortest one of its double.
  fn decimal(&self) -> Decimal {
    match self {
      Num::Lit(lit) => match Decimal::parse(&lit.text) {
        Some(Ok(decimal)) => decimal,
        _ => Decimal::shortest(lit.value),
      },
      other => Decimal::shortest(other.value()),
    }
  }

  /// `-x`: a literal stays a literal (decNumber's minus: the sign flips, a zero becomes positive).
  pub fn neg(&self) -> Num {
    match self {
      Num::Float(f) => Num::Float(-f),
      Num::Short(f) => Num::Short(if *f == 0.0 { 0.0 } else { -f }),
      Num::Lit(lit) => {
        let negative = lit.text.starts_with('-');
        let coefficient = lit.text.split('E').next().unwrap_or_default();
        let zero = !coefficient.bytes().any(|b| matches!(b, b'1'..=b'9'));
        let text = match (negative, zero) {
          (true, _) => lit.text[1..].into(),
          (false, true) => lit.text.clone(),
          (false, false) => format!("-{}", lit.text).into_boxed_str(),
        };
        let value = if zero { 0.0 } else { -lit.value };
        Num::Lit(Arc::new(Lit { value, text }))
      }
    }
  }

  /// The absolute value (jq's `length` of a number): a literal stays a literal.
  pub fn abs(&self) -> Num {
    match self {
      Num::Float(f) => Num::Float(f.abs()),
      Num::Short(f) => Num::Short(f.abs()),
      Num::Lit(lit) => match lit.text.strip_prefix('-') {
        Some(text) => Num::Lit(Arc::new(Lit {
          value: lit.value.abs(),
          text: text.into(),
        })),
        None => self.clone(),
      },
    }
  }

  /// jq's order of numbers (`jvp_cmp`): NaN below every number (also below NaN), two literals as
  /// exact decimals, anything else as doubles.
  pub fn jq_cmp(&self, other: &Num) -> Ordering {
    let (a, b) = (self.value(), other.value());
    if a.is_nan() {
      return Ordering::Less;
    }
    if b.is_nan() {
      return Ordering::Greater;
    }
    let exact = matches!(self, Num::Lit(_)) || matches!(other, Num::Lit(_));
    if a == b && exact && self.is_literal() && other.is_literal() {
      // Equal doubles of two literals: one of them has digits the doubles lost.
      return self.decimal().order(&other.decimal());
    }
    a.partial_cmp(&b).unwrap_or(Ordering::Equal)
  }

  /// jq's `==` of numbers: as `jq_cmp`, except that NaN equals nothing.
  pub fn jq_eq(&self, other: &Num) -> bool {
    !self.is_nan() && !other.is_nan() && self.jq_cmp(other) == Ordering::Equal
  }

  /// A total order for sorting that agrees with `jq_cmp` wherever jq's order is consistent: NaN
  /// first (all NaNs equal), doubles in order, and equal doubles by their decimals (a literal's
  /// own, the shortest one of any other double).
  pub fn total_cmp(&self, other: &Num) -> Ordering {
    let (a, b) = (self.value(), other.value());
    match (a.is_nan(), b.is_nan()) {
      (true, true) => Ordering::Equal,
      (true, false) => Ordering::Less,
      (false, true) => Ordering::Greater,
      (false, false) => match a.partial_cmp(&b) {
        Some(Ordering::Equal) if matches!(self, Num::Lit(_)) || matches!(other, Num::Lit(_)) => {
          self.decimal().order(&other.decimal())
        }
        order => order.unwrap_or(Ordering::Equal),
      },
    }
  }

  /// Appends the number as jq prints it (output, `tojson`, `tostring`): a literal's text, else
  /// the double, NaN as `null` and infinities as the largest finite doubles.
  pub fn write(&self, out: &mut Vec<u8>) {
    match self {
      Num::Lit(lit) => out.extend_from_slice(lit.text.as_bytes()),
      other => write_double(out, other.value()),
    }
  }

  /// jq's integer conversion of an index (`(int)d` after clamping to `int`'s range).
  pub fn as_int(&self) -> i32 {
    let d = self.value();
    if d.is_nan() {
      0
    } else {
      d.clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32
    }
  }
}

impl From<f64> for Num {
  fn from(f: f64) -> Num {
    Num::Float(f)
  }
}

/// Appends a double as jq's `jvp_dtoa_fmt` formats it, with NaN as `null` and infinities as the
/// largest finite doubles (jq's `jv_dump_term`).
pub fn write_double(out: &mut Vec<u8>, f: f64) {
  if f.is_nan() {
    out.extend_from_slice(b"null");
    return;
  }
  let f = f.clamp(-f64::MAX, f64::MAX);
  // Integers below 10^16 print as their digits: the common case, without the digit search.
  if f.fract() == 0.0 && f.abs() < 1e16 && f != 0.0 {
    out.extend_from_slice(itoa::Buffer::new().format(f as i64).as_bytes());
    return;
  }
  // Between 10^-4 and 10^16 jq's notation is plain, as ryu's is: its text is jq's.
  if (1e-4..1e16).contains(&f.abs()) && f.fract() != 0.0 {
    out.extend_from_slice(ryu::Buffer::new().format_finite(f).as_bytes());
    return;
  }
  if f.is_sign_negative() {
    out.push(b'-');
  }
  if f == 0.0 {
    out.push(b'0');
    return;
  }
  let mut digits = [0u8; 17];
  let (len, point) = shortest_digits(f, &mut digits);
  let digits = &digits[..len];
  if point <= -4 || point > len as i32 + 15 {
    out.push(digits[0]);
    if len > 1 {
      out.push(b'.');
      out.extend_from_slice(&digits[1..]);
    }
    out.push(b'e');
    let exponent = point - 1;
    out.push(if exponent < 0 { b'-' } else { b'+' });
    if exponent.unsigned_abs() < 10 {
      out.push(b'0');
    }
    out.extend_from_slice(itoa::Buffer::new().format(exponent.unsigned_abs()).as_bytes());
  } else if point <= 0 {
    out.extend_from_slice(b"0.");
    out.extend(std::iter::repeat_n(b'0', (-point) as usize));
    out.extend_from_slice(digits);
  } else if point as usize >= len {
    out.extend_from_slice(digits);
    out.extend(std::iter::repeat_n(b'0', point as usize - len));
  } else {
    out.extend_from_slice(&digits[..point as usize]);
    out.push(b'.');
    out.extend_from_slice(&digits[point as usize..]);
  }
}

/// The shortest round-trip digits of a finite, nonzero `f` (as dtoa's mode 0 finds them: ryu
/// finds the same shortest, closest digits), and where the decimal point goes: the value is
/// `0.d₁d₂… × 10^point`.
fn shortest_digits(f: f64, out: &mut [u8; 17]) -> (usize, i32) {
  let mut buffer = ryu::Buffer::new();
  let text = buffer.format_finite(f.abs()).as_bytes();
  let (mantissa, exponent) = match text.iter().position(|&b| b == b'e') {
    Some(e) => (
      &text[..e],
      std::str::from_utf8(&text[e + 1..])
        .ok()
        .and_then(|s| s.parse::<i32>().ok())
        .unwrap_or(0),
    ),
    None => (text, 0),
  };
  let integral = mantissa.iter().position(|&b| b == b'.').unwrap_or(mantissa.len());
  let mut point = integral as i32 + exponent;
  let mut len = 0;
  let mut leading = true;
  for &b in mantissa.iter().filter(|&&b| b != b'.') {
    if leading && b == b'0' {
      point -= 1;
      continue;
    }
    leading = false;
    if len < out.len() {
      out[len] = b;
      len += 1;
    }
  }
  while len > 1 && out[len - 1] == b'0' {
    len -= 1;
  }
  if len == 0 {
    out[0] = b'0';
    len = 1;
    point = 1;
  }
  (len, point)
}

#[cfg(test)]
mod tests {
  use super::*;

  fn text(n: &Num) -> String {
    let mut out = Vec::new();
    n.write(&mut out);
    String::from_utf8(out).unwrap()
  }

  fn float(f: f64) -> String {
    text(&Num::Float(f))
  }

  /// `[…] | map(. * 1) | tojson` and friends in jq 1.8.2 (computed doubles).
  #[test]
  fn doubles_print_as_jq_prints_them() {
    let cases: &[(f64, &str)] = &[
      (1e-5, "1e-05"),
      (1e17, "1e+17"),
      (1e16, "1e+16"),
      (1e15, "1000000000000000"),
      (123456789012345678.0, "123456789012345680"),
      (0.1, "0.1"),
      (1.5e300, "1.5e+300"),
      (1e-7, "1e-07"),
      (100.0, "100"),
      (12.5, "12.5"),
      (0.0, "0"),
      (-0.0, "-0"),
      (12345600.0, "12345600"),
      (5e-324, "5e-324"),
      (f64::MAX, "1.7976931348623157e+308"),
      (1.23, "1.23"),
      (1e22, "1e+22"),
      (0.0001, "0.0001"),
      (0.00012, "0.00012"),
      (-1.5, "-1.5"),
      (f64::NAN, "null"),
      (f64::INFINITY, "1.7976931348623157e+308"),
      (f64::NEG_INFINITY, "-1.7976931348623157e+308"),
      (9007199254740993.0, "9007199254740992"),
    ];
    for (f, want) in cases {
      assert_eq!(float(*f), *want, "{f}");
    }
  }

  /// The same numbers as JSON input: `.[] | tostring` in jq 1.8.2.
  #[test]
  fn literals_keep_their_text() {
    let cases: &[(&str, &str)] = &[
      ("1e-5", "0.00001"),
      ("0.00001", "0.00001"),
      ("1e17", "1E+17"),
      ("1e15", "1E+15"),
      ("123456789012345678", "123456789012345678"),
      ("0.1", "0.1"),
      ("1.5e300", "1.5E+300"),
      ("1e-7", "1E-7"),
      ("100", "100"),
      ("1e2", "1E+2"),
      ("12.50", "12.50"),
      ("0.0", "0.0"),
      ("-0.0", "-0.0"),
      ("0.0000001", "1E-7"),
      ("1.23456E+7", "1.23456E+7"),
      ("5e-324", "5E-324"),
      ("3.0", "3.0"),
      ("3e0", "3"),
      ("30e-1", "3.0"),
      ("0.1e1", "1"),
      ("123e-2", "1.23"),
      ("10000000000000000000000", "10000000000000000000000"),
      ("1e1000", "1E+1000"),
      ("-0", "-0"),
      ("00012", "12"),
      (".5", "0.5"),
      ("1.", "1"),
    ];
    for (literal, want) in cases {
      assert_eq!(text(&Num::literal(literal).unwrap()), *want, "{literal}");
    }
    assert!(matches!(Num::literal("42"), Some(Num::Short(42.0))));
    assert!(matches!(Num::literal("-0"), Some(Num::Short(f)) if f == 0.0 && f.is_sign_negative()));
    assert!(matches!(Num::literal("1.5"), Some(Num::Short(_))));
    assert!(matches!(Num::literal("1e1000"), Some(Num::Lit(lit)) if lit.value.is_infinite()));
  }

  /// `.[] | -.` and `.[] | length` over `[0, -0, 0.0, 1.50, 1e2, -0.0]` in jq 1.8.2.
  #[test]
  fn negation_and_abs_keep_literals() {
    let neg: Vec<String> = ["0", "-0", "0.0", "1.50", "1e2", "-0.0", "1.5"]
      .iter()
      .map(|l| text(&Num::literal(l).unwrap().neg()))
      .collect();
    assert_eq!(neg, ["0", "0", "0.0", "-1.50", "-1E+2", "0.0", "-1.5"]);
    assert_eq!(float_of(&Num::Float(0.0).neg()), "-0");
    let abs: Vec<String> = ["-1.50", "-0.0", "-3", "2"]
      .iter()
      .map(|l| text(&Num::literal(l).unwrap().abs()))
      .collect();
    assert_eq!(abs, ["1.50", "0.0", "3", "2"]);
  }

  fn float_of(n: &Num) -> String {
    text(n)
  }

  /// `tonumber` of strings in jq 1.8.2.
  #[test]
  fn parses_what_decnumber_parses() {
    for (s, want) in [
      ("1.000", Some("1.000")),
      (".89", Some("0.89")),
      ("1.", Some("1")),
      ("+1", Some("1")),
      ("nan", Some("null")),
      ("-nan", Some("null")),
      ("Infinity", Some("1.7976931348623157e+308")),
      ("1e1000", Some("1E+1000")),
      ("1E+2", Some("1E+2")),
      (" 1", None),
      ("1 ", None),
      ("0x1", None),
      ("", None),
      ("12abc", None),
      ("1_0", None),
      ("1e", None),
      ("-", None),
      ("E5", None),
      (".", None),
      ("NaN1", None),
    ] {
      assert_eq!(Num::literal(s).map(|n| text(&n)).as_deref(), want, "{s:?}");
    }
  }

  /// `[1.5, 1.50000000000000000001]`: `.[0] < .[1]` is true and `(.[0] + 0) == .[1]` is true
  /// in jq 1.8.2; `nan < nan` is true, `nan == nan` false.
  #[test]
  fn orders_as_jq() {
    let short = Num::literal("1.5").unwrap();
    let long = Num::literal("1.50000000000000000001").unwrap();
    let computed = Num::Float(1.5);
    assert_eq!(short.jq_cmp(&long), Ordering::Less);
    assert!(!short.jq_eq(&long));
    assert!(computed.jq_eq(&long));
    assert_eq!(
      computed.total_cmp(&long),
      Ordering::Less,
      "total order refines equal doubles"
    );
    assert_eq!(computed.total_cmp(&short), Ordering::Equal);
    let nan = Num::Float(f64::NAN);
    assert_eq!(nan.jq_cmp(&nan), Ordering::Less);
    assert!(!nan.jq_eq(&nan));
    assert_eq!(nan.total_cmp(&nan), Ordering::Equal);
    assert_eq!(nan.total_cmp(&Num::Float(f64::NEG_INFINITY)), Ordering::Less);
    let big = Num::literal("100000000000000000001").unwrap();
    let round = Num::literal("100000000000000000000").unwrap();
    assert_eq!(big.jq_cmp(&round), Ordering::Greater);
    assert!(Num::literal("13911860366432393")
      .unwrap()
      .jq_eq(&Num::literal("13911860366432393").unwrap()));
    assert!(!Num::literal("13911860366432393")
      .unwrap()
      .jq_eq(&Num::literal("13911860366432392").unwrap()));
    assert!(Num::literal("0.0").unwrap().jq_eq(&Num::literal("-0").unwrap()));
    assert_eq!(
      Num::literal("1E+1000")
        .unwrap()
        .jq_cmp(&Num::literal("1E+2000").unwrap()),
      Ordering::Less
    );
  }

  /// jq's doubles of literals (`$n + 0 | tostring` in jq's own tests).
  #[test]
  fn literal_doubles() {
    for (literal, want) in [
      ("-9007199254740993", -9007199254740992.0),
      ("9007199254740993", 9007199254740992.0),
      ("13911860366432393", 13911860366432392.0),
      ("0.1", 0.1),
      ("1000000000000000002", 1e18),
      ("1e-400", 0.0),
    ] {
      assert_eq!(Num::literal(literal).unwrap().value(), want, "{literal}");
    }
    // Rounded to 17 digits first: 2^64 - 1 and a value just below a double's midpoint.
    assert_eq!(
      Num::literal("18446744073709551615").unwrap().value(),
      18446744073709551616.0
    );
  }
}
