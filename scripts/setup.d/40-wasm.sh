#!/usr/bin/env bash
# The WebAssembly fallback: the wasm32 target, wasm-bindgen-cli at exactly the version of the
# wasm-bindgen crate crates/wasm pins (installed only when missing or different; `cargo install`
# takes 3 to 4 minutes, and must run without --locked here), then scripts/build-wasm.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$HOME/.cargo/bin:$PATH"
want=$(sed -n 's/^wasm-bindgen = "=\([0-9.]*\)".*/\1/p' crates/wasm/Cargo.toml)
if [ -z "$want" ]; then echo "crates/wasm/Cargo.toml must pin wasm-bindgen with =" >&2; exit 1; fi
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$want" ]; then
  echo "installing wasm-bindgen-cli $want (found: ${have:-none})"
  cargo install wasm-bindgen-cli --version "$want" --force
fi
bash scripts/build-wasm.sh
