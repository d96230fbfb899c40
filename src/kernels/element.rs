//! The element types of JS TypedArrays, as every kernel sees them: one generic code path per kernel,
//! compiled for each type.

/// A number stored in a TypedArray.
pub trait Element: Copy + Send + Sync + 'static {
  /// The value as a JS number would hold it (64-bit integers round to the nearest double).
  fn to_f64(self) -> f64;

  fn is_nan(self) -> bool;

  /// A key whose unsigned order is `TypedArray.prototype.sort`'s: numeric, `-0` before `+0`, NaN
  /// (any bit pattern) last.
  fn sort_key(self) -> u64;
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
  }

  #[test]
  fn integer_keys_are_monotonic() {
    assert!(i64::MIN.sort_key() < (-1i64).sort_key());
    assert!((-1i8).sort_key() < 0i8.sort_key());
    assert!(0i32.sort_key() < i32::MAX.sort_key());
    assert!(u64::MAX.sort_key() > (u64::MAX - 1).sort_key());
  }
}
