#!/usr/bin/env bash
# npm run test:crash: every crash, fault and power-cut suite, with the counts per suite
# (states or cases explored, violations found: 0 for our protocols, >= 1 for each broken variant).
# The same suites run inside `npm test` with fewer power-cut rounds.
set -euo pipefail
cd "$(dirname "$0")/../.."
export DFS_CRASH_ROUNDS="${DFS_CRASH_ROUNDS:-20}"
status=0
echo "== simulator: crash states, broken variants, fault injection (crates/core/tests/crash_*.rs)"
out=$(cargo test -q -p durable-fs-core --test 'crash_*' -- --nocapture --test-threads=1 2>&1) || status=1
grep -oE 'crash-sim: .*|test result.*|FAILED.*|panicked.*' <<<"$out" || true
backends=(native)
if [ -f wasm/durable_fs_wasm.js ]; then backends+=(wasm); fi
for b in "${backends[@]}"; do
  echo "== real addon, real file systems (backend: $b): __test__/crash-*.test.js"
  out=$(DURABLE_FS_BACKEND=$b node --test --test-concurrency=1 --test-timeout=600000 __test__/crash-*.test.js 2>&1) || status=1
  grep -E '^# (crash-|tests|pass|fail|skipped)|^not ok|# SKIP' <<<"$out" | sed 's/^# //' || true
  if [ $status -ne 0 ]; then echo "$out" | grep -vE '^# crash-' | tail -60; fi
done
exit $status
