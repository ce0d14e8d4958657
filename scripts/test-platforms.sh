#!/usr/bin/env bash
# `npm run test:platforms`: checks the binaries `npm run build:all` left in npm/<platform>/.
#   every binary   file + objdump (Mach-O: scripts/cross/macho-info.js): format, architecture, the
#                  Node-API entry point exported, what it links; glibc builds need nothing newer than
#                  GLIBC_2.17, musl builds link musl's libc.so only, macOS builds carry their minimum
#                  macOS version, the Windows build imports only system DLLs
#   npm/           scripts/npm-packages.js check --binaries (names, version, os/cpu/libc fields)
#   linux-x64-gnu  the node test suite with this glibc 2.17 build (host Node)
#   linux-arm64-gnu the node test suite (all but strace, crash-kill, lock-processes; PLATFORM_TESTS=...
#                  picks files) under qemu-user with the official arm64 Node from npm (binfmt_misc so
#                  node --test can spawn children), and scripts/cross/smoke.js under qemu-aarch64-static
#   win32-x64-msvc scripts/cross/smoke.js under wine with the official Windows Node from npm, and the
#                  same smoke test on the wasm fallback when wasm/ is built
#   musl, darwin   no Node that runs here: the binary checks only
# Each check prints "ok", "FAIL" or "skip <reason>"; the last line is "N passed, N failed, N skipped".
# PLATFORM_QEMU_SUITE_ADVISORY=1 (set by CI's scripts/ci-platforms.sh) reports a failure of the node
# suites under qemu loudly but does not count it: emulation is ~10x slower and exposes timing races
# in tests (or code) that native runs rarely hit; everything else stays a hard failure.
set -uo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/cross-env.sh
source scripts/lib/cross-env.sh
ROOT=$PWD
WORK=$(mktemp -d /tmp/dfs-platforms-XXXXXX)
chmod 755 "$WORK" # some tests run a child as an unprivileged user from the staged package
passed=0 failed=0 skipped=0
binfmt_mounted=0 binfmt_enabled=0
cleanup () {
  [ $binfmt_enabled = 1 ] && update-binfmts --disable qemu-aarch64 >/dev/null 2>&1
  [ $binfmt_mounted = 1 ] && umount /proc/sys/fs/binfmt_misc 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

ok () { echo "ok   $1"; passed=$((passed + 1)); }
fail () { echo "FAIL $1"; failed=$((failed + 1)); }
skip () { echo "skip $1"; skipped=$((skipped + 1)); }
advisories=()
advisory () { echo "FAIL $1"; advisories+=("$1"); }

bin () { echo "npm/$1/durable-fs.$1.node"; }
show_failures () { grep -E -A30 '^ *not ok ' "$1" | head -120; grep -E '^# (pass|fail|skipped) ' "$1"; }

# --- per-binary checks ---------------------------------------------------------------------------
check_elf () { # platform, file(1) arch text, objdump, libc (gnu|musl)
  local p=$1 arch=$2 objdump=$3 libc=$4 f
  f=$(bin "$p")
  local desc needed glibc_max
  desc=$(file -b "$f")
  [[ $desc == "ELF 64-bit LSB shared object, $arch"* ]] || { fail "$p: file says: $desc"; return; }
  local dynsyms
  dynsyms=$("$objdump" -T "$f")
  grep -qE '\.text.*[[:space:]]napi_register_module_v1$' <<<"$dynsyms" || { fail "$p: napi_register_module_v1 not exported"; return; }
  needed=$(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
  glibc_max=$(grep -oE 'GLIBC_[0-9]+\.[0-9]+(\.[0-9]+)?' <<<"$dynsyms" | sed 's/GLIBC_//' | sort -uV | tail -1)
  if [ "$libc" = gnu ]; then
    [ -n "$glibc_max" ] || { fail "$p: no GLIBC symbol versions (not a glibc build?)"; return; }
    [ "$(printf '%s\n2.17\n' "$glibc_max" | sort -V | tail -1)" = 2.17 ] || { fail "$p: needs GLIBC_$glibc_max > 2.17"; return; }
    [[ " $needed " == *" libc.so.6 "* ]] || { fail "$p: does not link libc.so.6 ($needed)"; return; }
    ok "$p: $desc; needs GLIBC_$glibc_max at most; links $needed"
  else
    [ -z "$glibc_max" ] || { fail "$p: has GLIBC_$glibc_max symbol versions: linked against glibc"; return; }
    [[ " $needed " != *" libc.so.6 "* ]] || { fail "$p: links glibc's libc.so.6"; return; }
    [[ " $needed " == *" libc.so "* ]] || { fail "$p: does not link musl's libc.so ($needed)"; return; }
    ok "$p: $desc; no glibc symbol versions; links $needed(musl)"
  fi
}

check_macho () { # platform, cpu, minimum macOS
  local p=$1 cpu=$2 minos=$3 f out
  f=$(bin "$p")
  out=$(node -e '
    const i = require("./scripts/cross/macho-info.js").machoInfo(require("fs").readFileSync(process.argv[1]))
    const [cpu, minos] = process.argv.slice(2)
    const bad = []
    if (i.filetype !== "dylib") bad.push("file type " + i.filetype)
    if (i.cpu !== cpu) bad.push("cpu " + i.cpu)
    if (i.minos !== minos) bad.push("minimum macOS " + i.minos + ", want " + minos)
    if (!i.defined.includes("_napi_register_module_v1")) bad.push("_napi_register_module_v1 not exported")
    const napi = i.undefined.filter((s) => s.startsWith("_napi_"))
    if (!napi.length) bad.push("no Node-API imports")
    const foreign = i.dylibs.filter((d) => !d.startsWith("/usr/lib/") && !d.startsWith("/System/"))
    if (foreign.length) bad.push("links non-system dylibs " + foreign)
    console.log((bad.length ? "BAD " + bad.join("; ") : "") + "|Mach-O " + i.cpu + " " + i.filetype + ", minos " + i.minos + ", " + napi.length + " Node-API symbols looked up at load, links " + i.dylibs.join(" "))
  ' "$f" "$cpu" "$minos" 2>&1)
  local desc
  desc=$(file -b "$f" | cut -d, -f1)
  if [[ $out == BAD* ]]; then fail "$p: ${out%%|*}"; else ok "$p: $desc; ${out#*|}"; fi
}

check_pe () {
  local p=win32-x64-msvc f desc dlls bad=()
  f=$(bin "$p")
  desc=$(file -b "$f")
  [[ $desc == "PE32+ executable (DLL)"*"x86-64"* ]] || { fail "$p: file says: $desc"; return; }
  local headers
  headers=$(x86_64-w64-mingw32-objdump -p "$f")
  dlls=$(sed -n 's/.*DLL Name: //p' <<<"$headers" | tr 'A-Z' 'a-z' | sort -u | tr '\n' ' ')
  grep -qE '\] napi_register_module_v1$' <<<"$headers" || bad+=("napi_register_module_v1 not exported")
  for d in $dlls; do
    case $d in
      kernel32.dll | ntdll.dll | msvcrt.dll | advapi32.dll | ws2_32.dll | userenv.dll | bcrypt.dll | bcryptprimitives.dll | api-ms-win-*) ;;
      *) bad+=("imports $d (not a system DLL: node.exe / libnode.dll / mingw runtime must not be needed)") ;;
    esac
  done
  if [ ${#bad[@]} -gt 0 ]; then fail "$p: ${bad[*]}"; else ok "$p: $desc; imports only $dlls"; fi
}

echo "== binaries (file, objdump)"
for p in linux-x64-gnu linux-arm64-gnu linux-x64-musl linux-arm64-musl darwin-x64 darwin-arm64 win32-x64-msvc; do
  if [ ! -f "$(bin "$p")" ]; then fail "$p: $(bin "$p") missing: run npm run build:all"; continue; fi
  case $p in
    linux-x64-gnu) check_elf "$p" x86-64 objdump gnu ;;
    linux-arm64-gnu) check_elf "$p" "ARM aarch64" aarch64-linux-gnu-objdump gnu ;;
    linux-x64-musl) check_elf "$p" x86-64 objdump musl ;;
    linux-arm64-musl) check_elf "$p" "ARM aarch64" aarch64-linux-gnu-objdump musl ;;
    darwin-x64) check_macho "$p" x86_64 10.13 ;;
    darwin-arm64) check_macho "$p" arm64 11.0 ;;
    win32-x64-msvc) check_pe ;;
  esac
done

echo "== npm packages"
if out=$(node scripts/npm-packages.js check --binaries 2>&1); then ok "npm/: $out"; else fail "npm/: $out"; fi

# A copy of the package (and its tests) with one platform's binary in the package root.
stage () { # platform -> prints the staged directory
  local p=$1 d="$WORK/pkg-$1"
  mkdir -p "$d"
  # What the package ships (package.json "files"), its tests, and the dev dependencies the tests
  # compare against (write-file-atomic), shared by a link.
  local shipped
  shipped=$(node -e 'const fs = require("fs"); for (const f of require("./package.json").files) if (fs.existsSync(f)) console.log(f)')
  # shellcheck disable=SC2086
  cp -r $shipped package.json __test__ "$d/"
  ln -sfn "$PWD/node_modules" "$d/node_modules"
  rm -f "$d/__test__/install.test.js" # packs the repository (npm/, scripts/): the host's npm test runs it
  cp "$(bin "$p")" "$d/durable-fs.$p.node"
  echo "$d"
}
tests_in () { # staged dir, space-separated list -> existing test files
  local d=$1 t
  for t in $2; do [ -f "$d/__test__/$t" ] && echo "__test__/$t"; done
}

echo "== linux-x64-gnu (glibc 2.17 build): node test suite, host Node $(node -v)"
if [ -f "$(bin linux-x64-gnu)" ]; then
  d=$(stage linux-x64-gnu)
  if (cd "$d" && DURABLE_FS_BACKEND=native node --test --test-concurrency=1 --test-timeout=600000 __test__/*.test.js) > "$WORK/x64.log" 2>&1; then
    ok "linux-x64-gnu: node --test: $(grep -E '^# (pass|fail|skipped) ' "$WORK/x64.log" | tr '\n' ' ')"
  else
    show_failures "$WORK/x64.log"; fail "linux-x64-gnu: node --test failed"
  fi
fi

echo "== linux-arm64-gnu under qemu-user, official arm64 Node $CROSS_NODE_VERSION"
ARM_NODE="$CROSS_NODE_ARM64_DIR/bin/node"
export QEMU_LD_PREFIX=/usr/aarch64-linux-gnu
if [ ! -x "$ARM_NODE" ] || ! command -v qemu-aarch64-static >/dev/null; then
  skip "linux-arm64-gnu: qemu-aarch64-static or the arm64 Node is missing (DURABLE_FS_CROSS=1 npm run setup)"
elif [ -f "$(bin linux-arm64-gnu)" ]; then
  d=$(stage linux-arm64-gnu)
  # binfmt_misc lets the arm64 Node's children (node --test runs each file in one) start under qemu.
  if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] && [ "$(id -u)" = 0 ]; then
    if [ ! -e /proc/sys/fs/binfmt_misc/status ] && mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null; then binfmt_mounted=1; fi
    update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 && binfmt_enabled=1
  fi
  if [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] && grep -q enabled /proc/sys/fs/binfmt_misc/qemu-aarch64; then
    if [ -n "${PLATFORM_TESTS:-}" ]; then
      files=$(tests_in "$d" "$PLATFORM_TESTS")
    else
      # Every suite except: strace.test.js and crash-*.test.js (under qemu strace sees qemu's host
      # calls, not the addon's), lock-processes.test.js and lock-mixed.test.js (SIGKILL loops across
      # many processes, the latter with wasm children too: minutes under emulation, and their
      # kill-timing preconditions do not hold there; smoke.js below checks the lock across two
      # processes).
      files=$(cd "$d" && ls __test__/*.test.js | grep -vE '/(strace|crash-[a-z-]+|lock-processes|lock-mixed)\.test\.js$')
    fi
    # shellcheck disable=SC2086
    if (cd "$d" && DURABLE_FS_BACKEND=native timeout 900 "$ARM_NODE" --test --test-concurrency=1 --test-timeout=300000 $files) > "$WORK/arm64.log" 2>&1; then
      ok "linux-arm64-gnu: node --test $(echo $files): $(grep -E '^# (pass|fail|skipped) ' "$WORK/arm64.log" | tr '\n' ' ')"
    else
      show_failures "$WORK/arm64.log"
      if [ "${PLATFORM_QEMU_SUITE_ADVISORY:-0}" = 1 ]; then
        advisory "linux-arm64-gnu: node --test failed under qemu (failures above; advisory here: PLATFORM_QEMU_SUITE_ADVISORY=1)"
      else
        fail "linux-arm64-gnu: node --test failed under qemu"
      fi
    fi
  else
    skip "linux-arm64-gnu: node --test (binfmt_misc for qemu-aarch64 cannot be enabled here: needs root and a mountable binfmt_misc)"
  fi
  cp scripts/cross/smoke.js "$d/smoke.js"
  if (cd "$d" && qemu-aarch64-static "$ARM_NODE" smoke.js .) > "$WORK/arm64-smoke.log" 2>&1; then
    ok "linux-arm64-gnu: smoke.js under qemu-aarch64-static: $(tail -1 "$WORK/arm64-smoke.log")"
  else
    cat "$WORK/arm64-smoke.log"; fail "linux-arm64-gnu: smoke.js under qemu"
  fi
fi

echo "== win32-x64-msvc under wine, official Windows Node $CROSS_NODE_VERSION"
WIN_NODE="$CROSS_NODE_WIN_DIR/bin/node.exe"
if [ ! -f "$WIN_NODE" ] || ! command -v wine >/dev/null || ! command -v x86_64-w64-mingw32-gcc >/dev/null; then
  skip "win32-x64-msvc: wine, mingw-w64 or the Windows Node is missing (DURABLE_FS_CROSS=1 npm run setup)"
elif [ -f "$(bin win32-x64-msvc)" ]; then
  d=$(stage win32-x64-msvc)
  cp scripts/cross/smoke.js "$d/smoke.js"
  cp "$WIN_NODE" "$d/node.exe"
  # wine 8 lacks bcryptprimitives.dll (ProcessPrng), which Rust's std imports: a stand-in, next to node.exe.
  x86_64-w64-mingw32-gcc -shared -O2 -o "$d/bcryptprimitives.dll" scripts/cross/bcryptprimitives-stub.c scripts/cross/bcryptprimitives.def -ladvapi32
  export WINEPREFIX="$CROSS_DIR/wineprefix" WINEDEBUG=-all WINEDLLOVERRIDES="bcryptprimitives=n,b;mscoree,mshtml=" NODE_SKIP_PLATFORM_CHECK=1
  # wine's node writes to a file reliably (not to a pipe).
  if (cd "$d" && timeout 300 wine node.exe smoke.js . > "$WORK/win.log" 2> "$WORK/win.err" </dev/null; exit $?) ; then
    ok "win32-x64-msvc: smoke.js under wine $(wine --version 2>/dev/null | sed 's/wine-//'): $(tail -1 "$WORK/win.log")"
    grep -E '^(ok|skip|FAIL) ' "$WORK/win.log" | sed 's/^/       /'
  else
    cat "$WORK/win.log"; tail -5 "$WORK/win.err"; fail "win32-x64-msvc: smoke.js under wine"
  fi
  # The WebAssembly fallback on Windows (its Fs splits paths on \ and skips the directory fsync).
  if [ -f "$d/wasm/durable_fs_wasm.js" ]; then
    if (cd "$d" && DURABLE_FS_BACKEND=wasm timeout 300 wine node.exe smoke.js . > "$WORK/win-wasm.log" 2> "$WORK/win-wasm.err" </dev/null; exit $?); then
      ok "win32 wasm fallback: smoke.js under wine: $(tail -1 "$WORK/win-wasm.log")"
    else
      cat "$WORK/win-wasm.log"; tail -5 "$WORK/win-wasm.err"; fail "win32 wasm fallback: smoke.js under wine"
    fi
  else
    skip "win32 wasm fallback: wasm/ is not built on this checkout (scripts/build-wasm.sh)"
  fi
fi

for p in linux-x64-musl linux-arm64-musl darwin-x64 darwin-arm64; do
  skip "$p: not run here (no musl / macOS Node runs on this machine): binary checks only; the release workflow runs the tests natively"
done
for a in "${advisories[@]}"; do echo "advisory failure (not counted): $a"; done
echo "$passed passed, $failed failed, $skipped skipped"
[ $failed = 0 ]
