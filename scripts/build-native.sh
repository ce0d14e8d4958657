#!/usr/bin/env bash
# Builds the native addon for the host as durable-fs.<platform>.node in the package root, and the
# binding's generated type declarations (lib/native.d.ts, generated: do not edit).
set -euo pipefail
cd "$(dirname "$0")/.."
npx napi build --platform --release --manifest-path crates/napi/Cargo.toml --package-json-path package.json \
  -o . --no-js --dts lib/native.d.ts "$@"
