#!/usr/bin/env bash
# Every test: the Rust workspace, then the node --test suites once per backend that is built.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== cargo test"
cargo test --workspace
backends=(native)
if [ -f wasm/durable_fs_wasm.js ]; then backends+=(wasm); fi
status=0
for b in "${backends[@]}"; do
  echo "== node --test (backend: $b)"
  DURABLE_FS_BACKEND=$b node --test --test-concurrency=1 --test-timeout=600000 __test__/*.test.js || status=1
done
exit $status
