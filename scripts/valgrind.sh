#!/usr/bin/env bash
# Runs JS test files in-process under valgrind's memcheck, children included, with V8's JIT off
# (JIT code confuses memcheck). Slow (minutes); run before a release, not in CI.
#   bash scripts/valgrind.sh                          # password + runtime suites, and buffers taken away mid-call
#   bash scripts/valgrind.sh __test__/foo.test.mjs    # any test files
# Passes when memcheck reports no error in any process (exit code 99 marks one). V8's conservative
# stack scan reads uninitialised stack words by design: scripts/valgrind.supp silences that alone.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind; }
[ -f target/debug/liboffloop.so ] || cargo build --features test-hooks
memcheck=(valgrind --quiet --error-exitcode=99 --trace-children=yes --leak-check=no --track-origins=no
  --suppressions=scripts/valgrind.supp)
files=("$@")
if [ ${#files[@]} -eq 0 ]; then
  files=(__test__/password.test.mjs __test__/runtime.test.mjs)
  # Views transferred, detached and shrunk while calls copy or use them (2 MiB: staged, not copied
  # at once), every call and every way, with a collection after each.
  echo "valgrind: __test__/fixtures/detach.mjs"
  NODE_OPTIONS="--jitless" "${memcheck[@]}" node --expose-gc __test__/fixtures/detach.mjs 2 "$PWD/index.js"
fi
export NODE_OPTIONS="--jitless"
for file in "${files[@]}"; do
  echo "valgrind: $file"
  "${memcheck[@]}" node "$file"
done
echo "valgrind: no memory errors"
