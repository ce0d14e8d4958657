#!/usr/bin/env bash
# The native addon for this machine.
set -euo pipefail
bash scripts/build-native.sh
