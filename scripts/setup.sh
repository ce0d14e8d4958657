#!/usr/bin/env bash
# One command for a fresh clone: install what the build needs (idempotently), build every backend,
# run the demo. Each area adds its own step as scripts/setup.d/NN-name.sh; they run in order.
set -euo pipefail
cd "$(dirname "$0")/.."
for step in scripts/setup.d/*.sh; do
  echo "== setup: $(basename "$step")"
  bash "$step"
done
echo "== demo"
node scripts/demo.js
