'use strict'
// Picks the backend: the native addon for this platform when one fits, else the WebAssembly build.
// DURABLE_FS_BACKEND=native|wasm forces one (and fails loudly if it cannot load).

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

// The native binary for a platform, by literal requires (one pair per target, as napi-rs generated
// loaders do) inside try blocks, so that bundlers see them: esbuild `--loader:.node=copy` and webpack's
// node-loader carry the binary, and a missing platform package is not a bundling error. First the
// file next to the package, then the platform package; `failed(name, error)` hears each miss.
function requireNative (suffix, failed) {
  switch (suffix) {
    case 'linux-x64-gnu':
      try { return require('../durable-fs.linux-x64-gnu.node') } catch (e) { failed('durable-fs.linux-x64-gnu.node', e) }
      try { return require('durable-fs-linux-x64-gnu') } catch (e) { failed('durable-fs-linux-x64-gnu', e) }
      return null
    case 'linux-arm64-gnu':
      try { return require('../durable-fs.linux-arm64-gnu.node') } catch (e) { failed('durable-fs.linux-arm64-gnu.node', e) }
      try { return require('durable-fs-linux-arm64-gnu') } catch (e) { failed('durable-fs-linux-arm64-gnu', e) }
      return null
    case 'linux-x64-musl':
      try { return require('../durable-fs.linux-x64-musl.node') } catch (e) { failed('durable-fs.linux-x64-musl.node', e) }
      try { return require('durable-fs-linux-x64-musl') } catch (e) { failed('durable-fs-linux-x64-musl', e) }
      return null
    case 'linux-arm64-musl':
      try { return require('../durable-fs.linux-arm64-musl.node') } catch (e) { failed('durable-fs.linux-arm64-musl.node', e) }
      try { return require('durable-fs-linux-arm64-musl') } catch (e) { failed('durable-fs-linux-arm64-musl', e) }
      return null
    case 'darwin-x64':
      try { return require('../durable-fs.darwin-x64.node') } catch (e) { failed('durable-fs.darwin-x64.node', e) }
      try { return require('durable-fs-darwin-x64') } catch (e) { failed('durable-fs-darwin-x64', e) }
      return null
    case 'darwin-arm64':
      try { return require('../durable-fs.darwin-arm64.node') } catch (e) { failed('durable-fs.darwin-arm64.node', e) }
      try { return require('durable-fs-darwin-arm64') } catch (e) { failed('durable-fs-darwin-arm64', e) }
      return null
    case 'win32-x64-msvc':
      try { return require('../durable-fs.win32-x64-msvc.node') } catch (e) { failed('durable-fs.win32-x64-msvc.node', e) }
      try { return require('durable-fs-win32-x64-msvc') } catch (e) { failed('durable-fs-win32-x64-msvc', e) }
      return null
    default:
      return null
  }
}

function loadNative () {
  const suffix = platformSuffix()
  const errors = []
  // A prebuilt binary is present when a candidate exists but fails to load (a dlopen error, not
  // "cannot find module"): only then is the fallback worth a warning.
  let prebuiltPresent = false
  const binding = requireNative(suffix, (name, e) => {
    if (e.code !== 'MODULE_NOT_FOUND') prebuiltPresent = true
    errors.push(`${name}: ${String(e.message).split('\n')[0]}`)
  })
  if (binding) return { binding, suffix }
  if (errors.length === 0) errors.push('no prebuilt target for this platform')
  const e = new Error(`durable-fs: no native binary for ${suffix}:\n  ${errors.join('\n  ')}`)
  e.code = 'ERR_DURABLE_FS_NO_NATIVE'
  e.prebuiltPresent = prebuiltPresent
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
