#!/usr/bin/env bash
# `npm run build:all`: every prebuilt binary from this Linux machine, each into its npm package
# directory as npm/<platform>/durable-fs.<platform>.node, then the WebAssembly fallback.
#   linux-*-gnu     napi build -x (cargo-zigbuild + zig) against glibc 2.17
#   linux-*-musl    napi build -x, dynamically linked to musl (-crt-static; plain cargo links glibc)
#   darwin-*        napi build -x with an explicit MACOSX_DEPLOYMENT_TARGET (zig would stamp 15.0)
#   win32-x64-msvc  x86_64-pc-windows-gnu with Debian's mingw-w64, named as the msvc binary: official
#                   Windows Node loads it (Node-API resolved from the host process, see crates/napi)
# Toolchains: scripts/setup.d/50-cross.sh (DURABLE_FS_CROSS=1 npm run setup). Arguments: a subset of
# platforms to build (default: all). Release CI builds the same targets natively: see
# .github/workflows/release.yml.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/cross-env.sh
source scripts/lib/cross-env.sh
# On a macOS host (the release workflow's macOS runner) the darwin targets use Apple's toolchain.
host_os=$(uname -s)
if [ "$host_os" != Darwin ]; then
  if ! cross_build_ready; then
    echo "build:all: cross toolchains missing; install them with: DURABLE_FS_CROSS=1 npm run setup" >&2
    exit 1
  fi
  cross_path
fi

# platform            rust target                         how
TARGETS="
linux-x64-gnu         x86_64-unknown-linux-gnu.2.17       zig
linux-arm64-gnu       aarch64-unknown-linux-gnu.2.17      zig
linux-x64-musl        x86_64-unknown-linux-musl           zig
linux-arm64-musl      aarch64-unknown-linux-musl          zig
darwin-x64            x86_64-apple-darwin                 zig
darwin-arm64          aarch64-apple-darwin                zig
win32-x64-msvc        x86_64-pc-windows-gnu               mingw
"
# Oldest macOS each binary supports (also the minos the checks in test-platforms.sh expect).
export MACOSX_DEPLOYMENT_TARGET_x86_64=10.13 MACOSX_DEPLOYMENT_TARGET_aarch64=11.0
# Musl: link musl dynamically, as a shared object loaded by musl's Node must.
export CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_RUSTFLAGS="-C target-feature=-crt-static"
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_RUSTFLAGS="-C target-feature=-crt-static"

want=("$@")
wanted () { [ ${#want[@]} -eq 0 ] || printf '%s\n' "${want[@]}" | grep -qx "$1"; }

napi_build () { # output dir (npm/<platform>), target, extra args...
  local out=$1 target=$2
  shift 2
  # The generated types (--dts, relative to the output dir) are lib/native.d.ts's business: dropped.
  npx napi build --platform --release --manifest-path crates/napi/Cargo.toml --package-json-path package.json \
    --target "$target" -o "$out" --no-js --dts .native.d.ts "$@"
  rm -f "$out/.native.d.ts"
}

# napi-build links windows-gnu builds with -lnode and needs a libnode.dll to exist; nothing is
# imported from it (test-platforms.sh checks the import table), so a mingw-built stub does.
libnode_stub () {
  local dir=target/cross-out/libnode-stub
  mkdir -p "$dir"
  if [ ! -f "$dir/libnode.dll" ]; then
    printf 'int durable_fs_libnode_stub(void) { return 0; }\n' > "$dir/stub.c"
    x86_64-w64-mingw32-gcc -shared -o "$dir/libnode.dll" "$dir/stub.c"
  fi
  echo "$PWD/$dir"
}

mkdir -p target/cross-out
built=()
while read -r platform target how; do
  [ -n "$platform" ] || continue
  wanted "$platform" || continue
  out="npm/$platform"
  echo "== build:all: $platform ($target, $how)"
  start=$SECONDS
  rm -f "$out"/*.node
  case $how in
    zig)
      case $target in
        x86_64-apple-darwin) export MACOSX_DEPLOYMENT_TARGET=$MACOSX_DEPLOYMENT_TARGET_x86_64 ;;
        aarch64-apple-darwin) export MACOSX_DEPLOYMENT_TARGET=$MACOSX_DEPLOYMENT_TARGET_aarch64 ;;
        *) unset MACOSX_DEPLOYMENT_TARGET ;;
      esac
      if [ "$host_os" = Darwin ] && [[ $target == *-apple-darwin ]]; then
        napi_build "$out" "$target"
      else
        napi_build "$out" "$target" -x
      fi
      ;;
    mingw)
      LIBNODE_PATH=$(libnode_stub) napi_build "$out" "$target"
      mv "$out/durable-fs.win32-x64-gnu.node" "$out/durable-fs.$platform.node"
      ;;
  esac
  test -f "$out/durable-fs.$platform.node" || { echo "build:all: $out/durable-fs.$platform.node missing" >&2; exit 1; }
  echo "== build:all: $platform done in $((SECONDS - start)) s: $(ls -l "$out/durable-fs.$platform.node" | awk '{print $5}') bytes"
  built+=("$platform")
done <<<"$TARGETS"

if [ ${#want[@]} -eq 0 ] || wanted wasm; then
  if [ -f scripts/build-wasm.sh ]; then
    echo "== build:all: wasm (scripts/build-wasm.sh)"
    bash scripts/build-wasm.sh
    built+=(wasm)
  else
    echo "== build:all: wasm skipped: scripts/build-wasm.sh is not on this branch yet"
  fi
fi
echo "== build:all: built ${built[*]}"
