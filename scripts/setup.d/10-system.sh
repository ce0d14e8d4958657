#!/usr/bin/env bash
# System packages the tests use: strace (syscall order, fault injection), setpriv (util-linux),
# xfsprogs (xfs power-cut images). Installed only when missing; skipped without root.
set -euo pipefail
need=()
command -v strace >/dev/null || need+=(strace)
command -v setpriv >/dev/null || need+=(util-linux)
command -v mkfs.xfs >/dev/null || need+=(xfsprogs)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 update -qq || true
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}"
  else
    echo "not root: cannot install ${need[*]}; the tests that need them will say they are skipped"
  fi
fi
