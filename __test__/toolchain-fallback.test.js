'use strict'
// No silent fallback (issue 14 §2): a copy of the package whose prebuilt .node cannot load falls back
// to WebAssembly with one coded warning and says why in backendError; no binary at all, or a forced
// backend, falls back (or not) without a word. Each case runs in a child process on a real copy.
const test = require('node:test')
const assert = require('node:assert')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawnSync } = require('node:child_process')

const root = path.join(__dirname, '..')
const hasWasm = fs.existsSync(path.join(root, 'wasm', 'durable_fs_wasm_bg.wasm'))
const { platformSuffix } = require('../lib/binding')
const nodeFile = `durable-fs.${platformSuffix()}.node`

// A copy of the package's JS and wasm (no node_modules anywhere above it), with `native` as the
// platform binary: null for none, else the bytes to write.
function copyPackage (t, native) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dfs-fallback-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  for (const f of ['index.js', 'package.json']) fs.copyFileSync(path.join(root, f), path.join(dir, f))
  fs.cpSync(path.join(root, 'lib'), path.join(dir, 'lib'), { recursive: true })
  fs.cpSync(path.join(root, 'wasm'), path.join(dir, 'wasm'), { recursive: true })
  if (native !== null) fs.writeFileSync(path.join(dir, nodeFile), native)
  return dir
}

const probe = `
const w = []
process.on('warning', (e) => w.push({ name: e.name, code: e.code, message: e.message }))
const d = require('./index.js')
setImmediate(() => console.log(JSON.stringify({
  backend: d.backend,
  backendError: d.backendError && { code: d.backendError.code, message: d.backendError.message },
  warnings: w
})))`

function run (dir, env) {
  const childEnv = { ...process.env, ...env }
  for (const k of Object.keys(childEnv)) if (childEnv[k] === undefined) delete childEnv[k]
  const r = spawnSync(process.execPath, ['-e', probe], { cwd: dir, env: childEnv, encoding: 'utf8', timeout: 60000 })
  assert.strictEqual(r.status, 0, r.stderr)
  return { ...JSON.parse(r.stdout), stderr: r.stderr }
}

const skip = hasWasm ? false : 'the wasm build is missing (bash scripts/build-wasm.sh)'

test('a prebuilt binary that does not load: wasm, one coded warning, backendError says why', { skip, timeout: 120000 }, (t) => {
  const dir = copyPackage(t, 'this is not a shared object\n')
  const r = run(dir, { DURABLE_FS_BACKEND: undefined, NODE_NO_WARNINGS: undefined })
  assert.strictEqual(r.backend, 'wasm')
  assert.strictEqual(r.backendError.code, 'ERR_DURABLE_FS_NO_NATIVE')
  assert.match(r.backendError.message, new RegExp(nodeFile.replace(/\./g, '\\.')))
  assert.strictEqual(r.warnings.length, 1, JSON.stringify(r.warnings))
  const [w] = r.warnings
  assert.strictEqual(w.code, 'DURABLE_FS_NATIVE_UNAVAILABLE')
  assert.match(w.message, /did not load/)
  assert.match(w.message, /invalid ELF header|not a valid|file too short|cannot open|Exec format/i)
  assert.match(w.message, /DURABLE_FS_BACKEND=wasm/)
  // The default handler prints it on stderr with its code.
  assert.match(r.stderr, /\[DURABLE_FS_NATIVE_UNAVAILABLE\]/)
})

test('DURABLE_FS_BACKEND=wasm silences it; =native fails loudly', { skip, timeout: 120000 }, (t) => {
  const dir = copyPackage(t, 'this is not a shared object\n')
  const r = run(dir, { DURABLE_FS_BACKEND: 'wasm' })
  assert.strictEqual(r.backend, 'wasm')
  assert.strictEqual(r.backendError, null)
  assert.deepStrictEqual(r.warnings, [])
  assert.strictEqual(r.stderr, '')
  const n = spawnSync(process.execPath, ['-e', "require('./index.js')"], {
    cwd: dir, env: { ...process.env, DURABLE_FS_BACKEND: 'native' }, encoding: 'utf8', timeout: 60000
  })
  assert.notStrictEqual(n.status, 0)
  assert.match(n.stderr, /ERR_DURABLE_FS_NO_NATIVE|no native binary/)
})

test('no prebuilt binary for this platform: wasm without a warning, backendError still says why', { skip, timeout: 120000 }, (t) => {
  const dir = copyPackage(t, null)
  const r = run(dir, { DURABLE_FS_BACKEND: undefined })
  assert.strictEqual(r.backend, 'wasm')
  assert.strictEqual(r.backendError.code, 'ERR_DURABLE_FS_NO_NATIVE')
  assert.deepStrictEqual(r.warnings, [])
})

test('a binary that loads: native and backendError null', { timeout: 120000 }, (t) => {
  const built = path.join(root, nodeFile)
  if (!fs.existsSync(built)) return t.skip(`${nodeFile} is not built (npm run build)`)
  const dir = copyPackage(t, fs.readFileSync(built))
  const r = run(dir, { DURABLE_FS_BACKEND: undefined })
  assert.strictEqual(r.backend, 'native')
  assert.strictEqual(r.backendError, null)
  assert.deepStrictEqual(r.warnings, [])
})
