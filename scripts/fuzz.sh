#!/usr/bin/env bash
# Coverage-guided fuzzing (cargo-fuzz / libFuzzer, with AddressSanitizer) of offloop's parsers and
# of jq programs and inputs (jq_compile and jq_hostile generate them from the fuzzer's bytes).
#   npm run fuzz                      # every target for FUZZ_SECONDS (default 10) each: the CI smoke run
#   FUZZ_SECONDS=600 npm run fuzz     # the release run: 10 minutes per target
#   npm run fuzz -- password_hash     # one target
# A crash leaves its input in fuzz/artifacts/<target>/; turn it into a regression test before fixing.
# cargo-fuzz needs nightly-only compiler flags: RUSTC_BOOTSTRAP=1 lets the stable toolchain take them.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
export RUSTC_BOOTSTRAP=1
seconds="${FUZZ_SECONDS:-10}"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo fuzz list --fuzz-dir .)
for target in "${targets[@]}"; do
  echo "fuzz: $target for ${seconds}s"
  mkdir -p "corpus/$target"
  log="$(mktemp)"
  # Non-zero on a crash (the input is then in artifacts/) or a build failure: show the end and stop.
  # Inputs far past libFuzzer's default 4 KiB: up to 1 MiB of raw text. The generating targets turn
  # a few bytes into megabytes (nesting and chains to 10^6, literals to 10^7): their inputs start
  # at full length instead of growing slowly from 4 bytes. A run that takes a minute is a hang.
  case "$target" in
    jq_compile | jq_hostile) length=(-max_len=16384 -len_control=0) ;;
    *) length=(-max_len=1048576) ;;
  esac
  if ! cargo fuzz run "$target" --fuzz-dir . -- -max_total_time="$seconds" "${length[@]}" -timeout=60 >"$log" 2>&1; then
    tail -n 60 "$log" >&2
    echo "fuzz: $target failed; inputs: $(ls "artifacts/$target" 2>/dev/null)" >&2
    exit 1
  fi
  grep -E '^Done' "$log"
  rm -f "$log"
done
