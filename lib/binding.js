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
  throw e
}

function loadWasm () {
  return { binding: require('../wasm/durable_fs_wasm.js'), suffix: 'wasm32' }
}

function load () {
  const forced = process.env.DURABLE_FS_BACKEND
  if (forced === 'native') return { ...loadNative(), backend: 'native' }
  if (forced === 'wasm') return { ...loadWasm(), backend: 'wasm' }
  if (forced) throw new Error(`durable-fs: DURABLE_FS_BACKEND must be "native" or "wasm", not ${JSON.stringify(forced)}`)
  let nativeError
  try {
    return { ...loadNative(), backend: 'native' }
  } catch (e) {
    nativeError = e
  }
  try {
    return { ...loadWasm(), backend: 'wasm' }
  } catch (e) {
    nativeError.message += `\nand the WebAssembly fallback failed to load: ${e.message}`
    throw nativeError
  }
}

module.exports = { ...load(), platformSuffix, isMusl }
