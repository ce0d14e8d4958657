#!/usr/bin/env bash
# The crash tests (npm run test:crash, __test__/crash-*.test.js): mkfs.ext4 (e2fsprogs) for the
# ext4 power-cut image (strace, setpriv and mkfs.xfs come from 10-system.sh), and the crash-state
# checker the strace and power-cut tests call (crates/core/examples/crashcheck.rs).
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v mkfs.ext4 >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 update -qq || true
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends e2fsprogs
  else
    echo "not root: cannot install e2fsprogs; the ext4 power-cut tests will say they are skipped"
  fi
fi
cargo build -q -p durable-fs-core --features sim --example crashcheck
