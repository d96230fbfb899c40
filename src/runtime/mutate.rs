//! Byte-level mutations of valid inputs, for the parsers' always-on tests: the short, unguided
//! version of what `fuzz/` does with coverage guidance.

/// `count` texts, each a seed (taken in turn) with up to `max_edits` random edits: a byte replaced,
/// removed or inserted, with bytes from `alphabet`. Deterministic: the same call gives the same texts.
pub fn mutations<'a>(
  seeds: &'a [&'a [u8]],
  alphabet: &'a [u8],
  max_edits: usize,
  count: usize,
) -> impl Iterator<Item = Vec<u8>> + 'a {
  // xorshift64: any fixed, well-spread sequence will do, and it needs no dependency.
  let mut state = 0x9e37_79b9_7f4a_7c15u64;
  let mut next = move || {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    state as usize
  };
  (0..count).map(move |i| {
    let mut bytes = seeds[i % seeds.len()].to_vec();
    for _ in 0..next() % (max_edits + 1) {
      let at = next() % (bytes.len() + 1);
      match next() % 3 {
        0 if at < bytes.len() => bytes[at] = alphabet[next() % alphabet.len()],
        1 if at < bytes.len() => drop(bytes.remove(at)),
        _ => bytes.insert(at, alphabet[next() % alphabet.len()]),
      }
    }
    bytes
  })
}
