#!/usr/bin/env bash
# Runs JS test files in-process under valgrind's memcheck, children included, with V8's JIT off
# (JIT code confuses memcheck). Slow (minutes); run before a release, not in CI.
#   bash scripts/valgrind.sh                          # password + runtime suites
#   bash scripts/valgrind.sh __test__/foo.test.mjs    # any test files
# Passes when memcheck reports no error in any process (exit code 99 marks one).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind; }
[ -f target/debug/liboffloop.so ] || cargo build --features test-hooks
files=("$@")
[ ${#files[@]} -gt 0 ] || files=(__test__/password.test.mjs __test__/runtime.test.mjs)
export NODE_OPTIONS="--jitless"
for file in "${files[@]}"; do
  echo "valgrind: $file"
  valgrind --quiet --error-exitcode=99 --trace-children=yes --leak-check=no --track-origins=no \
    node "$file"
done
echo "valgrind: no memory errors"
