'use strict'
// Bundlers (issue 14 §1): a tiny CLI bundled with esbuild (CJS, --loader:.node=copy), moved to a
// directory with no node_modules above it, runs native when the binary was carried and WebAssembly
// (from the .wasm copied next to the bundle) when it was not, and says which.
const test = require('node:test')
const assert = require('node:assert')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawnSync } = require('node:child_process')

const root = path.join(__dirname, '..')
const { platformSuffix } = require('../lib/binding')
const nodeFile = `durable-fs.${platformSuffix()}.node`
const wasmFile = path.join(root, 'wasm', 'durable_fs_wasm_bg.wasm')

let esbuild = null
try {
  esbuild = require('esbuild')
} catch {}

const cli = `
const fs = require('node:fs')
const path = require('node:path')
const d = require(${JSON.stringify(path.join(root, 'index.js'))})
const f = path.join(process.argv[2], 'out.json')
d.atomicWriteFileSync(f, JSON.stringify({ n: 1 }), { mode: 0o600 })
console.log(JSON.stringify({ backend: d.backend, ok: JSON.parse(fs.readFileSync(f, 'utf8')).n === 1, reason: d.backendError && d.backendError.code }))
`

function tmp (t, prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

// Bundles the CLI into a fresh directory outside the repo and returns that directory.
function bundle (t) {
  const src = tmp(t, 'dfs-bundle-src-')
  fs.writeFileSync(path.join(src, 'cli.js'), cli)
  const out = tmp(t, 'dfs-bundle-out-')
  esbuild.buildSync({
    entryPoints: [path.join(src, 'cli.js')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    outdir: out,
    loader: { '.node': 'copy' },
    logLevel: 'silent'
  })
  assert.ok(fs.existsSync(path.join(out, 'cli.js')))
  assert.ok(!fs.existsSync(path.join(out, 'node_modules')))
  return out
}

function run (dir) {
  const data = fs.mkdtempSync(path.join(dir, 'data-'))
  const env = { ...process.env }
  delete env.DURABLE_FS_BACKEND
  const r = spawnSync(process.execPath, [path.join(dir, 'cli.js'), data], { cwd: dir, env, encoding: 'utf8', timeout: 60000 })
  assert.strictEqual(r.status, 0, r.stderr)
  return JSON.parse(r.stdout)
}

const skip = esbuild ? false : 'esbuild is not installed (npm ci installs it from devDependencies)'

test('esbuild CJS bundle with --loader:.node=copy carries the binary and runs native', { skip, timeout: 120000 }, (t) => {
  if (!fs.existsSync(path.join(root, nodeFile))) return t.skip(`${nodeFile} is not built (npm run build)`)
  const out = bundle(t)
  const carried = fs.readdirSync(out).filter((n) => n.endsWith('.node'))
  assert.strictEqual(carried.length, 1, `the binary is copied next to the bundle: ${fs.readdirSync(out)}`)
  assert.deepStrictEqual(run(out), { backend: 'native', ok: true, reason: null })
})

test('esbuild CJS bundle without the binary runs on the .wasm copied next to it and says so', { skip, timeout: 120000 }, (t) => {
  if (!fs.existsSync(wasmFile)) return t.skip('the wasm build is missing (bash scripts/build-wasm.sh)')
  const out = bundle(t)
  for (const n of fs.readdirSync(out)) if (n.endsWith('.node')) fs.rmSync(path.join(out, n))
  fs.copyFileSync(wasmFile, path.join(out, 'durable_fs_wasm_bg.wasm'))
  assert.deepStrictEqual(run(out), { backend: 'wasm', ok: true, reason: 'ERR_DURABLE_FS_NO_NATIVE' })
})
