'use strict'
// The two backends side by side: one child process per backend runs the same failing calls
// against the same prepared files, and every error must have the identical shape (class, code,
// errno, syscall, path, dest, message, own keys), sync and async alike.

const test = require('node:test')
const assert = require('node:assert')
const fs = require('node:fs')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const { ROOT, isRoot, tmpdir, hasCommand, mountTmpfs } = require('./helpers')

const wasmBuilt = fs.existsSync(path.join(ROOT, 'wasm', 'durable_fs_wasm.js'))

// Runs in each child: every case as writeFileSync and as writeFile, each error reduced to its shape.
const CHILD = `
const dfs = require('./')
const cases = JSON.parse(process.env.DFS_CASES)
const shape = (e) => e && ({ class: e.constructor.name, code: e.code, errno: e.errno, syscall: e.syscall,
  path: e.path, dest: e.dest, message: e.message, keys: Object.keys(e).sort() })
;(async () => {
  const out = { backend: dfs.backend }
  for (const c of cases) {
    const args = c.fn === 'sweep' ? [c.path, 0] : [c.path, c.size ? Buffer.alloc(c.size, 1) : 'data', c.opts]
    const sync = c.fn === 'sweep' ? dfs.sweepTempFilesSync : dfs.atomicWriteFileSync
    let e1 = null
    try { sync(...args) } catch (e) { e1 = e }
    let e2 = null
    if (c.fn !== 'sweep') await dfs.atomicWriteFile(...args).catch((e) => { e2 = e })
    out[c.name] = { sync: shape(e1), async: shape(e2) }
  }
  process.stdout.write(JSON.stringify(out))
})()
`

function runChild (backend, cases, wrap) {
  const argv = [...wrap, process.execPath, '-e', CHILD]
  const r = spawnSync(argv[0], argv.slice(1), {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, DURABLE_FS_BACKEND: backend, DFS_CASES: JSON.stringify(cases) },
    timeout: 60000
  })
  assert.strictEqual(r.status, 0, `${backend} child failed: ${r.stderr}`)
  return JSON.parse(r.stdout)
}

test('the same failures give identically shaped errors under native and wasm', { skip: !wasmBuilt && 'wasm/ is not built (scripts/build-wasm.sh)' }, (t) => {
  const dir = tmpdir()
  fs.chmodSync(dir, 0o755)
  fs.mkdirSync(path.join(dir, 'sub'))
  fs.writeFileSync(path.join(dir, 'file'), 'keep')
  fs.symlinkSync('loop', path.join(dir, 'loop'))
  fs.symlinkSync('nowhere/x', path.join(dir, 'dangling'))
  const cases = [
    { name: 'ENOENT', expect: ['ENOENT', 'open'], path: path.join(dir, 'nope', 'x') },
    { name: 'ENOENT via dangling link', expect: ['ENOENT', 'open'], path: path.join(dir, 'dangling') },
    { name: 'EISDIR', expect: ['EISDIR', 'open'], path: path.join(dir, 'sub') },
    { name: 'ENOTDIR', expect: ['ENOTDIR'], path: path.join(dir, 'file', 'x') },
    { name: 'ENOTDIR with mkdir', expect: ['ENOTDIR'], path: path.join(dir, 'file', 'a', 'b'), opts: { mkdir: true } },
    { name: 'ELOOP', expect: ['ELOOP', 'open'], path: path.join(dir, 'loop') },
    { name: 'ENAMETOOLONG', expect: ['ENAMETOOLONG'], path: path.join(dir, 'n'.repeat(256)) },
    { name: 'sweep ENOENT', expect: ['ENOENT', 'scandir'], fn: 'sweep', path: path.join(dir, 'nope') },
    { name: 'sweep ENOTDIR', expect: ['ENOTDIR', 'scandir'], fn: 'sweep', path: path.join(dir, 'file') }
  ]
  const cleanups = []
  t.after(() => cleanups.forEach((c) => c()))
  let wrap = []
  if (isRoot) {
    if (hasCommand('setpriv')) {
      // Unprivileged children see permission errors; root would bypass them.
      wrap = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups']
    } else {
      t.diagnostic('EACCES/EPERM cases skipped: setpriv (util-linux) is missing, and root bypasses permission checks')
    }
  }
  if (wrap.length || !isRoot) {
    fs.mkdirSync(path.join(dir, 'ro'), { mode: 0o555 })
    fs.mkdirSync(path.join(dir, 'rw'))
    fs.chmodSync(path.join(dir, 'rw'), 0o777)
    cases.push({ name: 'EACCES', expect: ['EACCES', 'open'], path: path.join(dir, 'ro', 'f') })
    cases.push({ name: 'EPERM', expect: ['EPERM', 'fchown'], path: path.join(dir, 'rw', 'f'), opts: { chown: { uid: 0, gid: 0 } } })
  }
  const full = mountTmpfs('64k')
  if (full.skip) {
    t.diagnostic(`ENOSPC case skipped: ${full.skip}`)
  } else {
    cleanups.push(full.cleanup)
    fs.chmodSync(full.dir, 0o777)
    cases.push({ name: 'ENOSPC', expect: ['ENOSPC', 'write'], path: path.join(full.dir, 'big'), size: 1 << 20 })
  }
  const ro = mountTmpfs('64k', 'ro')
  if (ro.skip) {
    t.diagnostic(`EROFS case skipped: ${ro.skip}`)
  } else {
    cleanups.push(ro.cleanup)
    cases.push({ name: 'EROFS', expect: ['EROFS', 'open'], path: path.join(ro.dir, 'f') })
  }

  const native = runChild('native', cases, wrap)
  const wasm = runChild('wasm', cases, wrap)
  assert.strictEqual(native.backend, 'native')
  assert.strictEqual(wasm.backend, 'wasm')
  for (const c of cases) {
    const n = native[c.name]
    const w = wasm[c.name]
    assert.ok(n.sync, `${c.name}: native sync call must fail`)
    assert.strictEqual(n.sync.code, c.expect[0], `${c.name}: native code`)
    if (c.expect[1]) assert.strictEqual(n.sync.syscall, c.expect[1], `${c.name}: native syscall`)
    assert.strictEqual(n.sync.class, 'Error')
    assert.ok(n.sync.errno < 0, `${c.name}: errno is negative, as Node reports it`)
    assert.strictEqual(n.sync.path, c.path, `${c.name}: the caller's path`)
    if (c.fn !== 'sweep') assert.deepStrictEqual(n.async, n.sync, `${c.name}: async rejection is shaped like the sync throw`)
    assert.deepStrictEqual(w, n, `${c.name}: wasm error differs from native`)
  }
  t.diagnostic(`identical under both backends: ${cases.map((c) => `${c.name} (${native[c.name].sync.syscall})`).join(', ')}`)
  // Failed calls leave nothing behind (no temp files) under either backend.
  assert.deepStrictEqual(fs.readdirSync(dir).sort(), ['dangling', 'file', 'loop', 'sub', ...(cases.some((c) => c.name === 'EACCES') ? ['ro', 'rw'] : [])].sort())
  if (cases.some((c) => c.name === 'EPERM')) assert.deepStrictEqual(fs.readdirSync(path.join(dir, 'rw')), [])
  if (!full.skip) assert.deepStrictEqual(fs.readdirSync(full.dir), [])
})

test('without a loadable native binary the package falls back to wasm on its own', { skip: !wasmBuilt && 'wasm/ is not built (scripts/build-wasm.sh)' }, () => {
  // A copy of the package without any .node file, outside the repository (no node_modules above it).
  const pkg = path.join(tmpdir('dfs-nonative-'), 'durable-fs')
  fs.mkdirSync(pkg)
  for (const f of ['index.js', 'index.mjs', 'package.json', 'lib', 'wasm']) fs.cpSync(path.join(ROOT, f), path.join(pkg, f), { recursive: true })
  const target = path.join(pkg, '..', 'out.json')
  const code = `const d = require(${JSON.stringify(pkg)}); d.atomicWriteFileSync(${JSON.stringify(target)}, '{"ok":1}', 0o600); console.log(d.backend)`
  const env = { ...process.env }
  delete env.DURABLE_FS_BACKEND
  const r = spawnSync(process.execPath, ['-e', code], { cwd: path.dirname(pkg), env, encoding: 'utf8' })
  assert.strictEqual(r.status, 0, r.stderr)
  assert.strictEqual(r.stdout.trim(), 'wasm')
  assert.strictEqual(fs.readFileSync(target, 'utf8'), '{"ok":1}')
  assert.strictEqual(fs.statSync(target).mode & 0o777, 0o600)
  // Forcing native where there is none fails loudly instead of falling back.
  const forced = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(pkg)})`], { env: { ...env, DURABLE_FS_BACKEND: 'native' }, encoding: 'utf8' })
  assert.notStrictEqual(forced.status, 0)
  assert.match(forced.stderr, /no native binary/)
})

// `export [declare] function f(a: T): R` and `export interface I { field: T }` lines, normalised.
function declarations (file) {
  const text = fs.readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '')
  const fns = [...text.matchAll(/^export (?:declare )?function (.+?);?$/gm)].map((m) => `function ${m[1]}`)
  const classes = [...text.matchAll(/^export (?:declare )?class (\w+)/gm)].map((m) => `class ${m[1]}`)
  const ifaces = [...text.matchAll(/^export interface (\w+) \{([^}]*)\}/gm)].map((m) =>
    `interface ${m[1]} { ${m[2].split('\n').map((l) => l.trim().replace(/;$/, '')).filter(Boolean).sort().join('; ')} }`)
  return [...fns, ...classes, ...ifaces].sort()
}

test('the wasm binding declares the same functions and types as the napi binding (lib/native.d.ts)', { skip: !wasmBuilt && 'wasm/ is not built (scripts/build-wasm.sh)' }, () => {
  const napi = declarations(path.join(ROOT, 'lib', 'native.d.ts'))
  const wasm = declarations(path.join(ROOT, 'wasm', 'durable_fs_wasm.d.ts'))
  assert.ok(napi.length >= 4, `parsed lib/native.d.ts: ${napi}`)
  assert.deepStrictEqual(wasm, napi)
  // And at run time: the same exported functions.
  const w = require(path.join(ROOT, 'wasm', 'durable_fs_wasm.js'))
  const names = napi.filter((d) => d.startsWith('function ') || d.startsWith('class ')).map((d) => /^(?:function|class) (\w+)/.exec(d)[1]).sort()
  assert.deepStrictEqual(Object.keys(w).filter((k) => typeof w[k] === 'function').sort(), names)
})
