#!/usr/bin/env bash
# JS dependencies (the napi CLI, TypeScript, @types/node).
set -euo pipefail
if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
