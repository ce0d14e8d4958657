'use strict'
// Real failures on real file systems: ENOSPC on a full tmpfs, EROFS on a read-only mount, EACCES
// for an unprivileged child. In every case the target stays byte-for-byte unchanged and no temp
// file is left behind.

const test = require('node:test')
const assert = require('node:assert')
const fs = require('node:fs')
const path = require('node:path')
const dfs = require('..')
const { mountTmpfs, isRoot, hasCommand, tmpdir, runNode } = require('./helpers')

test('ENOSPC on a 64 KiB tmpfs: error returned, target unchanged, no temp file', async (t) => {
  const m = mountTmpfs('64k')
  if (m.skip) return t.skip(m.skip)
  try {
    const f = path.join(m.dir, 'config.json')
    await dfs.atomicWriteFile(f, 'old content', 0o600)
    const big = Buffer.alloc(256 * 1024, 7)
    const e = await dfs.atomicWriteFile(f, big).catch((err) => err)
    assert.ok(e instanceof Error, 'the write must fail')
    assert.strictEqual(e.code, 'ENOSPC')
    assert.strictEqual(e.errno, -28)
    assert.strictEqual(e.syscall, 'write')
    assert.strictEqual(e.path, f)
    assert.strictEqual(fs.readFileSync(f, 'utf8'), 'old content')
    assert.deepStrictEqual(fs.readdirSync(m.dir), ['config.json'])
    assert.throws(() => dfs.atomicWriteFileSync(f, big), { code: 'ENOSPC' })
    assert.strictEqual(fs.readFileSync(f, 'utf8'), 'old content')
    assert.deepStrictEqual(fs.readdirSync(m.dir), ['config.json'])
  } finally {
    m.cleanup()
  }
})

test('ENOSPC for inodes (nr_inodes): the temp file cannot be created', async (t) => {
  const m = mountTmpfs('1m', 'nr_inodes=3')
  if (m.skip) return t.skip(m.skip)
  try {
    const f = path.join(m.dir, 'a')
    fs.writeFileSync(f, 'old')
    // Fill the remaining inodes.
    let n = 0
    try { for (;;) fs.writeFileSync(path.join(m.dir, `fill${n++}`), '') } catch {}
    const e = await dfs.atomicWriteFile(f, 'new').catch((err) => err)
    assert.strictEqual(e.code, 'ENOSPC')
    assert.strictEqual(e.syscall, 'open')
    assert.strictEqual(fs.readFileSync(f, 'utf8'), 'old')
  } finally {
    m.cleanup()
  }
})

test('EROFS on a read-only mount: target unchanged', async (t) => {
  const m = mountTmpfs('1m')
  if (m.skip) return t.skip(m.skip)
  try {
    const f = path.join(m.dir, 'settings.json')
    await dfs.atomicWriteFile(f, '{"v":1}')
    m.remount('ro')
    const e = await dfs.atomicWriteFile(f, '{"v":2}').catch((err) => err)
    assert.strictEqual(e.code, 'EROFS')
    assert.strictEqual(e.errno, -30)
    assert.strictEqual(e.path, f)
    assert.match(e.message, /^EROFS: read-only file system, /)
    assert.strictEqual(fs.readFileSync(f, 'utf8'), '{"v":1}')
    assert.deepStrictEqual(fs.readdirSync(m.dir), ['settings.json'])
  } finally {
    m.cleanup()
  }
})

test('EACCES for an unprivileged child (setpriv --reuid=65534): target unchanged', (t) => {
  if (!isRoot) return t.skip('needs root to drop privileges with setpriv')
  if (!hasCommand('setpriv')) return t.skip('setpriv (util-linux) is not installed')
  const dir = tmpdir()
  fs.chmodSync(dir, 0o755)
  const f = path.join(dir, 'owned-by-root.json')
  fs.writeFileSync(f, 'root data', { mode: 0o644 })
  const code = `
    const dfs = require('.')
    const out = {}
    try { dfs.atomicWriteFileSync(${JSON.stringify(f)}, 'evil') } catch (e) { out.sync = { code: e.code, errno: e.errno, syscall: e.syscall, path: e.path } }
    dfs.atomicWriteFile(${JSON.stringify(f)}, 'evil').then(() => { out.async = 'resolved' }, (e) => { out.async = { code: e.code, syscall: e.syscall } })
      .then(() => console.log(JSON.stringify(out)))`
  const r = runNode(code, { wrap: 'setpriv', wrapArgs: ['--reuid=65534', '--regid=65534', '--clear-groups'] })
  assert.strictEqual(r.status, 0, r.stderr)
  const out = JSON.parse(r.stdout)
  assert.deepStrictEqual(out.sync, { code: 'EACCES', errno: -13, syscall: 'open', path: f })
  assert.deepStrictEqual(out.async, { code: 'EACCES', syscall: 'open' })
  assert.strictEqual(fs.readFileSync(f, 'utf8'), 'root data')
  assert.deepStrictEqual(fs.readdirSync(dir), ['owned-by-root.json'])
})
