'use strict'
// Install test, as a user would do it: `npm pack` the main package (with the optionalDependencies the
// release adds, scripts/npm-packages.js prepublish) and this machine's platform package, install the
// tarballs into a fresh project (no registry needed beyond npm's cache), then `require` it, `import`
// it, compile a TypeScript file that uses every function index.d.ts declares with
// `tsc --strict --noEmit`, and run that file. Installed without the platform package, the same
// project must work through the WebAssembly fallback.
//
// test.sh runs this file once per backend: the native pass installs main + platform package, the wasm
// pass (there only when wasm/ is built) installs the main package alone. The children get no
// DURABLE_FS_BACKEND: the installed loader must pick the backend by itself.

const test = require('node:test')
const assert = require('node:assert')
const fs = require('node:fs')
const path = require('node:path')
const { execFileSync } = require('node:child_process')
const { ROOT, BACKEND, tmpdir } = require('./helpers')
const { platformSuffix } = require('../lib/binding')
const npmPackages = require('../scripts/npm-packages')

const WIN = process.platform === 'win32'
const suffix = platformSuffix()
const wasmBuilt = fs.existsSync(path.join(ROOT, 'wasm', 'durable_fs_wasm.js'))
const typesNodeVersion = require('@types/node/package.json').version

function run (cmd, args, opts = {}) {
  const env = { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false', ...(opts.env || {}) }
  delete env.DURABLE_FS_BACKEND
  try {
    return execFileSync(cmd, args, { cwd: opts.cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], shell: WIN && cmd === 'npm', timeout: 120000 })
  } catch (e) {
    throw new Error(`${cmd} ${args.join(' ')} failed (exit ${e.status}):\n${e.stdout || ''}\n${e.stderr || ''}`)
  }
}

function pack (dir, dest) {
  const out = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', dest, dir], { cwd: dest }))
  return { file: path.join(dest, out[0].filename), files: out[0].files.map((f) => f.path) }
}

// The main package as the release publishes it: packed, with optionalDependencies added, repacked.
function packMain (work) {
  const first = pack(ROOT, work)
  const stage = path.join(work, 'stage-main')
  fs.mkdirSync(stage)
  execFileSync('tar', ['-xzf', first.file, '-C', stage])
  fs.rmSync(first.file)
  const deps = npmPackages.prepublish(path.join(stage, 'package'))
  return { ...pack(path.join(stage, 'package'), work), deps }
}

// npm/<suffix> with its binary: the build:all one (glibc 2.17) when built, else this machine's build.
function packPlatform (work) {
  const src = path.join(ROOT, 'npm', suffix)
  const name = `durable-fs.${suffix}.node`
  const binary = [path.join(src, name), path.join(ROOT, name)].find((f) => fs.existsSync(f))
  const stage = path.join(work, 'stage-platform')
  fs.mkdirSync(stage)
  for (const f of fs.readdirSync(src)) if (!f.endsWith('.node')) fs.copyFileSync(path.join(src, f), path.join(stage, f))
  fs.copyFileSync(binary, path.join(stage, name))
  return { ...pack(stage, work), binary: path.relative(ROOT, binary) }
}

// Every value index.d.ts declares: `export declare function|const|class NAME`.
function declaredExports (dts) {
  const names = new Map()
  for (const m of dts.matchAll(/^export declare (function|const|class) (\w+)/gm)) names.set(m[2], m[1])
  return names
}

// A TypeScript file that imports every declared value by name, checks each at run time, and uses the
// write API with real arguments (types checked by tsc --strict, results checked when it runs).
function mainTs (exportsMap) {
  const names = [...exportsMap.keys()]
  const fns = names.filter((n) => exportsMap.get(n) !== 'const')
  return `import nodeAssert from 'node:assert'
import * as nodeFs from 'node:fs'
import * as nodeOs from 'node:os'
import * as nodePath from 'node:path'
import durableFsDefault from 'durable-fs'
import type { AtomicWriteOptions, DurableFsError } from 'durable-fs'
import { ${names.join(', ')} } from 'durable-fs'

// In a block, so its locals never clash with an imported name.
{
  // Generated from index.d.ts: every declared function is a function in the ESM named exports too.
  const functions: Record<string, (...args: never[]) => unknown> = { ${fns.join(', ')} }
  for (const [name, f] of Object.entries(functions)) {
    nodeAssert.strictEqual(typeof f, 'function', name + ' is exported by index.mjs')
    nodeAssert.strictEqual(f, (durableFsDefault as unknown as Record<string, unknown>)[name], name + ' is the same in the default export')
  }

  const expected = process.env.EXPECT_BACKEND
  const live: 'native' | 'wasm' = backend
  nodeAssert.strictEqual(live, expected)

  const dir = nodeFs.mkdtempSync(nodePath.join(nodeOs.tmpdir(), 'dfs-installed-'))
  const secret = nodePath.join(dir, 'secret')
  await atomicWriteFile(secret, 'x', 0o600)
  nodeAssert.strictEqual(nodeFs.readFileSync(secret, 'utf8'), 'x')
  if (process.platform !== 'win32') nodeAssert.strictEqual(nodeFs.statSync(secret).mode & 0o777, 0o600, 'atomicWriteFile(p, "x", 0o600) leaves a 0600 file')

  const opts: AtomicWriteOptions = { mode: 0o640, fsync: true, mkdir: true, encoding: 'utf8' }
  const nested = nodePath.join(dir, 'a', 'b', 'f.json')
  await atomicWriteFile(nested, JSON.stringify({ ok: true }), opts)
  nodeAssert.deepStrictEqual(JSON.parse(nodeFs.readFileSync(nested, 'utf8')), { ok: true })
  atomicWriteFileSync(nested, new Uint16Array([0x4242]), { fsync: false })
  nodeAssert.strictEqual(nodeFs.readFileSync(nested, 'latin1'), 'BB')
  await secureWriteFile(nodePath.join(dir, 's1'), Buffer.from('s1'))
  secureWriteFileSync(nodePath.join(dir, 's2'), 's2', '600')
  if (process.platform !== 'win32') nodeAssert.strictEqual(nodeFs.statSync(nodePath.join(dir, 's2')).mode & 0o777, 0o600)
  const swept: number = sweepTempFilesSync(dir, 0)
  nodeAssert.strictEqual(swept, 0)
  await nodeAssert.rejects(atomicWriteFile(nodePath.join(dir, 'missing', 'f'), 'y'), (e: unknown) => {
    const err = e as DurableFsError
    return err.code === 'ENOENT' && typeof err.syscall === 'string'
  })
  nodeFs.rmSync(dir, { recursive: true, force: true })
  console.log(JSON.stringify({ backend: live, functions: Object.keys(functions).length }))
}
`
}

const reqCjs = `'use strict'
const assert = require('node:assert')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const dfs = require('durable-fs')
const names = JSON.parse(process.argv[2])
for (const [name, kind] of names) {
  if (kind === 'const') assert.notStrictEqual(dfs[name], undefined, name + ' is exported by index.js')
  else assert.strictEqual(typeof dfs[name], 'function', name + ' is exported by index.js')
}
assert.strictEqual(dfs.backend, process.env.EXPECT_BACKEND)
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dfs-installed-'))
dfs.atomicWriteFileSync(path.join(dir, 'f'), 'cjs', 0o600)
assert.strictEqual(fs.readFileSync(path.join(dir, 'f'), 'utf8'), 'cjs')
if (process.platform !== 'win32') assert.strictEqual(fs.statSync(path.join(dir, 'f')).mode & 0o777, 0o600)
fs.rmSync(dir, { recursive: true, force: true })
console.log(JSON.stringify({ backend: dfs.backend, exports: names.length }))
`

// A fresh project with the tarballs installed; returns its paths and the installed export list.
function makeApp (work, tarballs) {
  const app = path.join(work, 'app')
  fs.mkdirSync(app)
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, type: 'module' }, null, 2))
  const args = ['install', '--no-audit', '--no-fund', '--ignore-scripts', ...tarballs, `@types/node@${typesNodeVersion}`]
  try {
    run('npm', [...args, '--offline'], { cwd: app })
  } catch {
    run('npm', [...args, '--prefer-offline'], { cwd: app }) // npm's cache lacks @types/node: fetch it
  }
  const installed = path.join(app, 'node_modules', 'durable-fs')
  const exportsMap = declaredExports(fs.readFileSync(path.join(installed, 'index.d.ts'), 'utf8'))
  fs.writeFileSync(path.join(app, 'req.cjs'), reqCjs)
  fs.writeFileSync(path.join(app, 'main.ts'), mainTs(exportsMap))
  fs.writeFileSync(path.join(app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', types: ['node'], skipLibCheck: false },
    files: ['main.ts']
  }, null, 2))
  return { app, installed, exportsMap }
}

// Runs req.cjs (require) and main.ts compiled to main.js (import); both check the live backend.
function runApp ({ app, exportsMap }, expectBackend) {
  const ts = require('typescript')
  const js = ts.transpileModule(fs.readFileSync(path.join(app, 'main.ts'), 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 }
  }).outputText
  fs.writeFileSync(path.join(app, 'main.js'), js)
  const env = { EXPECT_BACKEND: expectBackend }
  const cjs = JSON.parse(run(process.execPath, ['req.cjs', JSON.stringify([...exportsMap])], { cwd: app, env }))
  const esm = JSON.parse(run(process.execPath, ['main.js'], { cwd: app, env }))
  return { cjs, esm }
}

const platformDir = path.join(ROOT, 'npm', suffix)
const haveBinary = fs.existsSync(path.join(platformDir, `durable-fs.${suffix}.node`)) || fs.existsSync(path.join(ROOT, `durable-fs.${suffix}.node`))
const nativeSkip =
  BACKEND !== 'native' ? 'runs in the native pass'
    : !fs.existsSync(platformDir) ? `no npm/${suffix} package for this platform`
      : !haveBinary ? `no ${suffix} binary built (npm run build)` : false

test(`npm pack + install main and durable-fs-${suffix}: require, import, tsc --strict, run (native)`, { skip: nativeSkip }, (t) => {
  const work = tmpdir('dfs-install-')
  try {
    const main = packMain(work)
    assert.ok(!main.files.some((f) => f.endsWith('.node')), `the main package ships no binary: ${main.files}`)
    assert.deepStrictEqual(Object.keys(main.deps).sort(), npmPackages.platforms().map((p) => `durable-fs-${p}`).sort())
    const version = require('../package.json').version
    for (const v of Object.values(main.deps)) assert.strictEqual(v, version, 'optional dependencies at the same version')
    const plat = packPlatform(work)
    t.diagnostic(`platform binary packed: ${plat.binary}`)
    const appInfo = makeApp(work, [main.file, plat.file])
    assert.ok(fs.existsSync(path.join(appInfo.app, 'node_modules', `durable-fs-${suffix}`, `durable-fs.${suffix}.node`)))
    assert.ok(appInfo.exportsMap.size >= 6, `index.d.ts declares the API: ${[...appInfo.exportsMap.keys()]}`)

    const tsc = path.join(path.dirname(require.resolve('typescript/package.json')), 'bin', 'tsc')
    run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: appInfo.app }) // throws with tsc's errors

    const { cjs, esm } = runApp(appInfo, 'native')
    assert.strictEqual(cjs.backend, 'native')
    assert.strictEqual(esm.backend, 'native')
    assert.strictEqual(cjs.exports, appInfo.exportsMap.size)
    assert.strictEqual(esm.functions, [...appInfo.exportsMap.values()].filter((k) => k !== 'const').length)
  } finally {
    fs.rmSync(work, { recursive: true, force: true })
  }
})

const wasmSkip = !wasmBuilt ? 'the WebAssembly build (wasm/) is not built on this checkout' : BACKEND !== 'wasm' ? 'runs in the wasm pass' : false

test('npm pack + install the main package alone: require and import fall back to wasm', { skip: wasmSkip }, () => {
  const work = tmpdir('dfs-install-')
  try {
    const main = packMain(work)
    assert.ok(main.files.includes('wasm/durable_fs_wasm.js'), 'the main package ships the wasm fallback')
    const appInfo = makeApp(work, [main.file])
    assert.ok(!fs.existsSync(path.join(appInfo.app, 'node_modules', `durable-fs-${suffix}`)), 'no platform package installed')
    const { cjs, esm } = runApp(appInfo, 'wasm')
    assert.strictEqual(cjs.backend, 'wasm')
    assert.strictEqual(esm.backend, 'wasm')
  } finally {
    fs.rmSync(work, { recursive: true, force: true })
  }
})

test('npm/<platform>/package.json: names, version, os/cpu/libc match the platform and package.json', { skip: BACKEND !== 'native' && 'runs in the native pass' }, () => {
  assert.deepStrictEqual(npmPackages.check(false), [])
  assert.deepStrictEqual(npmPackages.platforms(), ['darwin-arm64', 'darwin-x64', 'linux-arm64-gnu', 'linux-arm64-musl', 'linux-x64-gnu', 'linux-x64-musl', 'win32-x64-msvc'])
})
