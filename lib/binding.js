'use strict'
// Picks the backend: the native addon for this platform when one fits, else the WebAssembly build.
// DURABLE_FS_BACKEND=native|wasm forces one (and fails loudly if it cannot load).

const path = require('node:path')

function isMusl () {
  if (process.platform !== 'linux') return false
  try {
    const report = process.report && process.report.getReport()
    const header = typeof report === 'string' ? JSON.parse(report).header : report && report.header
    if (header && header.glibcVersionRuntime) return false
    if (header) return true
  } catch {}
  try {
    return require('node:fs').readFileSync('/usr/bin/ldd', 'latin1').includes('musl')
  } catch {
    return false
  }
}

// The platform suffix napi uses: linux-x64-gnu, darwin-arm64, win32-x64-msvc, ...
function platformSuffix () {
  const { platform, arch } = process
  if (platform === 'linux') return `linux-${arch}-${isMusl() ? 'musl' : 'gnu'}`
  if (platform === 'win32') return `win32-${arch}-msvc`
  return `${platform}-${arch}`
}

// Whether a prebuilt binary for this platform is installed: the file next to the package, or the
// platform package (durable-fs-<suffix>) resolvable from here. Only then is a failed load worth a warning.
function prebuiltPresent (suffix) {
  if (require('node:fs').existsSync(path.join(__dirname, '..', `durable-fs.${suffix}.node`))) return true
  try {
    require.resolve(`durable-fs-${suffix}`)
    return true
  } catch {
    return false
  }
}

function loadNative () {
  const suffix = platformSuffix()
  const errors = []
  const candidates = [
    path.join(__dirname, '..', `durable-fs.${suffix}.node`),
    `durable-fs-${suffix}`
  ]
  for (const c of candidates) {
    try {
      return { binding: require(c), suffix }
    } catch (e) {
      errors.push(`${c}: ${e.message.split('\n')[0]}`)
    }
  }
  const e = new Error(`durable-fs: no native binary for ${suffix}:\n  ${errors.join('\n  ')}`)
  e.code = 'ERR_DURABLE_FS_NO_NATIVE'
  e.prebuiltPresent = prebuiltPresent(suffix)
  throw e
}

function loadWasm () {
  return { binding: require('../wasm/durable_fs_wasm.js'), suffix: 'wasm32' }
}

// The warning for a prebuilt binary that exists but does not load: said once per process, with a code.
const WARNING_CODE = 'DURABLE_FS_NATIVE_UNAVAILABLE'

function warnFallback (nativeError) {
  process.emitWarning(
    `durable-fs: the native binary for this platform is installed but did not load, so the WebAssembly ` +
    `fallback is used (no kernel locks, slower).\n${nativeError.message}\n` +
    'Fix: reinstall durable-fs for this platform and runtime (npm rebuild / reinstall without --no-optional; ' +
    'in a bundle, carry the .node file; in Electron, asarUnpack it). ' +
    'To choose WebAssembly on purpose and silence this warning, set DURABLE_FS_BACKEND=wasm.',
    { type: 'Warning', code: WARNING_CODE }
  )
}

function load () {
  const forced = process.env.DURABLE_FS_BACKEND
  if (forced === 'native') return { ...loadNative(), backend: 'native', backendError: null }
  if (forced === 'wasm') return { ...loadWasm(), backend: 'wasm', backendError: null }
  if (forced) throw new Error(`durable-fs: DURABLE_FS_BACKEND must be "native" or "wasm", not ${JSON.stringify(forced)}`)
  let nativeError
  try {
    return { ...loadNative(), backend: 'native', backendError: null }
  } catch (e) {
    nativeError = e
  }
  let wasm
  try {
    wasm = loadWasm()
  } catch (e) {
    nativeError.message += `\nand the WebAssembly fallback failed to load: ${e.message}`
    throw nativeError
  }
  if (nativeError.prebuiltPresent) warnFallback(nativeError)
  return { ...wasm, backend: 'wasm', backendError: nativeError }
}

module.exports = { ...load(), platformSuffix, isMusl, WARNING_CODE }
