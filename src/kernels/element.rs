//! The element types of JS TypedArrays, as every kernel sees them: one generic code path per kernel,
//! compiled for each type.

/// A number stored in a TypedArray: plain bits (`Pod`), so a buffer of one can be viewed as another.
pub trait Element: bytemuck::Pod + Send + Sync {
  /// The value as a JS number would hold it (64-bit integers round to the nearest double).
  fn to_f64(self) -> f64;

  fn is_nan(self) -> bool;

  /// A key whose unsigned order is `TypedArray.prototype.sort`'s: numeric, `-0` before `+0`, NaN
  /// (any bit pattern) last.
  fn sort_key(self) -> u64;

  /// The value of a key; NaN comes back as the canonical NaN.
  fn from_sort_key(key: u64) -> Self;
}

macro_rules! signed {
  ($($t:ty),*) => {$(
    impl Element for $t {
      fn to_f64(self) -> f64 {
        self as f64
      }
      fn is_nan(self) -> bool {
        false
      }
      fn sort_key(self) -> u64 {
        // Flipping the sign bit maps i64 order onto u64 order.
        (self as i64 as u64) ^ (1 << 63)
      }
      fn from_sort_key(key: u64) -> Self {
        (key ^ (1 << 63)) as i64 as $t
      }
    }
  )*};
}

macro_rules! unsigned {
  ($($t:ty),*) => {$(
    impl Element for $t {
      fn to_f64(self) -> f64 {
        self as f64
      }
      fn is_nan(self) -> bool {
        false
      }
      fn sort_key(self) -> u64 {
        self as u64
      }
      fn from_sort_key(key: u64) -> Self {
        key as $t
      }
    }
  )*};
}

signed!(i8, i16, i32, i64);
unsigned!(u8, u16, u32, u64);

/// The IEEE 754 total order on the bits (negative numbers reversed, positive ones above them), with
/// every NaN moved to the very end.
fn float_key(x: f64) -> u64 {
  if x.is_nan() {
    return u64::MAX;
  }
  let bits = x.to_bits();
  if bits >> 63 == 1 {
    !bits
  } else {
    bits | 1 << 63
  }
}

fn float_from_key(key: u64) -> f64 {
  match key {
    u64::MAX => f64::NAN,
    _ if key >> 63 == 1 => f64::from_bits(key & !(1 << 63)),
    _ => f64::from_bits(!key),
  }
}

impl Element for f64 {
  fn to_f64(self) -> f64 {
    self
  }
  fn is_nan(self) -> bool {
    f64::is_nan(self)
  }
  fn sort_key(self) -> u64 {
    float_key(self)
  }
  fn from_sort_key(key: u64) -> Self {
    float_from_key(key)
  }
}

impl Element for f32 {
  fn to_f64(self) -> f64 {
    self as f64
  }
  fn is_nan(self) -> bool {
    f32::is_nan(self)
  }
  fn sort_key(self) -> u64 {
    // Widening is exact and keeps the order (and the sign of zero).
    float_key(self as f64)
  }
  fn from_sort_key(key: u64) -> Self {
    // Exact: the key came from an f32.
    float_from_key(key) as f32
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn float_keys_follow_typed_array_sort() {
    let ordered = [
      f64::NEG_INFINITY,
      -1e300,
      -1.0,
      -f64::MIN_POSITIVE,
      -0.0,
      0.0,
      5e-324,
      1.0,
      f64::INFINITY,
    ];
    for pair in ordered.windows(2) {
      assert!(pair[0].sort_key() < pair[1].sort_key(), "{pair:?}");
    }
    let negative_nan = f64::from_bits(0xfff8_0000_0000_0001);
    assert_eq!(negative_nan.sort_key(), f64::NAN.sort_key());
    assert!(f64::INFINITY.sort_key() < f64::NAN.sort_key());
    assert!((-0.0f32).sort_key() < 0.0f32.sort_key());
    for x in ordered {
      assert_eq!(f64::from_sort_key(x.sort_key()).to_bits(), x.to_bits());
      assert_eq!(
        f32::from_sort_key((x as f32).sort_key()).to_bits(),
        (x as f32).to_bits()
      );
    }
    assert!(f64::from_sort_key(negative_nan.sort_key()).is_nan());
  }

  #[test]
  fn integer_keys_are_monotonic() {
    assert!(i64::MIN.sort_key() < (-1i64).sort_key());
    assert!((-1i8).sort_key() < 0i8.sort_key());
    assert!(0i32.sort_key() < i32::MAX.sort_key());
    assert!(u64::MAX.sort_key() > (u64::MAX - 1).sort_key());
    for x in [i64::MIN, -1, 0, 1, i64::MAX] {
      assert_eq!(i64::from_sort_key(x.sort_key()), x);
    }
    assert_eq!(i8::from_sort_key((-128i8).sort_key()), -128);
    assert_eq!(u16::from_sort_key(65535u16.sort_key()), 65535);
  }
}
