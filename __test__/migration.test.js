'use strict'
// The README's "Migrating" snippets, run as written (the "after" side), so the guides stay true.

const test = require('node:test')
const assert = require('node:assert')
const fs = require('node:fs')
const path = require('node:path')
const dfs = require('..')
const { tmpdir, BACKEND } = require('./helpers')

const { binding } = require('../lib/binding')
const noLocks = typeof binding.lockEnqueue !== 'function' && `the ${BACKEND} backend has no lock calls yet`
const noDir = typeof binding.ensureDir !== 'function' && `the ${BACKEND} backend has no ensureDir binding`

test('from hand-written helpers: ensureSecureDir, secureWriteFile, withRegistryLock', { skip: noDir || noLocks }, async () => {
  const base = tmpdir()
  const dir = path.join(base, 'app', 'secrets')
  const file = path.join(dir, 'token.json')
  await dfs.ensureSecureDir(dir)
  await dfs.secureWriteFile(file, '{"token":"t"}')
  assert.strictEqual(fs.statSync(dir).mode & 0o777, 0o700)
  assert.strictEqual(fs.statSync(file).mode & 0o777, 0o600)
  const lockPath = path.join(base, 'registry.lock')
  let inside = 0
  let maxInside = 0
  const fn = async () => {
    inside++
    maxInside = Math.max(maxInside, inside)
    const cur = JSON.parse(fs.readFileSync(file, 'utf8'))
    await new Promise((resolve) => setTimeout(resolve, 2))
    await dfs.secureWriteFile(file, JSON.stringify({ ...cur, n: (cur.n || 0) + 1 }))
    inside--
    return cur.n || 0
  }
  const results = await Promise.all(Array.from({ length: 10 }, () => dfs.withRegistryLock(fn, { lockPath, timeoutMs: 10000, staleMs: 30000 })))
  assert.strictEqual(maxInside, 1, 'one holder at a time')
  assert.deepStrictEqual(results.sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
  assert.strictEqual(JSON.parse(fs.readFileSync(file, 'utf8')).n, 10)
  assert.ok(!fs.existsSync(lockPath), 'the lock file is gone after release')
})

test('from proper-lockfile: lock() returns release, withLock, check', { skip: noLocks }, async () => {
  const dir = tmpdir()
  const target = path.join(dir, 'registry.json')
  fs.writeFileSync(target, '{}')
  const release = await dfs.lock(target, { timeoutMs: 10000 })
  const held = await dfs.check(target)
  assert.strictEqual(held.locked, true)
  assert.strictEqual(held.holder.pid, process.pid)
  await assert.rejects(dfs.lock(target, { timeoutMs: 0 }), { code: 'ELOCKED' })
  await release()
  assert.strictEqual((await dfs.check(target)).locked, false)
  assert.strictEqual(await dfs.withLock(target, async () => 'done'), 'done')
  const custom = path.join(dir, 'custom.lock')
  const r2 = await dfs.lock(target, { lockfilePath: custom })
  assert.ok(fs.existsSync(custom), 'lockfilePath names the lock file, as in proper-lockfile')
  await r2()
})

test('from write-file-atomic: only the import changes', async () => {
  const writeFileAtomic = require('durable-fs/write-file-atomic')
  const dir = tmpdir()
  const f = path.join(dir, 'config.json')
  await writeFileAtomic(f, JSON.stringify({ a: 1 }), { mode: 0o600 })
  await new Promise((resolve, reject) => writeFileAtomic(f, 'data', 'utf8', (err) => (err ? reject(err) : resolve())))
  writeFileAtomic.sync(f, 'sync', { chown: { uid: process.getuid(), gid: process.getgid() } })
  assert.strictEqual(fs.readFileSync(f, 'utf8'), 'sync')
  assert.strictEqual(fs.statSync(f).mode & 0o777, 0o600)
})

test('from steno and atomically: atomicWriteFile', async () => {
  const dir = tmpdir()
  const db = path.join(dir, 'db.json')
  await Promise.all(Array.from({ length: 20 }, (_, i) => dfs.atomicWriteFile(db, JSON.stringify({ i }))))
  assert.deepStrictEqual(JSON.parse(fs.readFileSync(db, 'utf8')), { i: 19 }, 'the last issued write wins, like steno')
  const state = path.join(dir, 'deep', 'state.json')
  await dfs.atomicWriteFile(state, 'x', { mode: 0o600, mkdir: true })
  assert.strictEqual(fs.readFileSync(state, 'utf8'), 'x')
})
