'use strict'
// Writes issued while every libuv pool thread is busy go down together as one native task
// (lib/pool.js): each keeps its own options and its own result, and they share directory fsyncs.

const test = require('node:test')
const assert = require('node:assert')
const fs = require('node:fs')
const path = require('node:path')
const dfs = require('..')
const { binding } = require('../lib/binding')
const { tmpdir, extraEntries, hasCommand, runNode } = require('./helpers')

const unsupported = typeof binding.writeEach !== 'function' && `the ${dfs.backend} binding runs every write as its own call (no writeEach)`
const noStrace = !hasCommand('strace') && 'strace is not installed (scripts/setup.d/10-system.sh installs it)'

test('40 writes in flight: each settles with its own result, mode and content', { skip: unsupported }, async () => {
  const dir = tmpdir()
  const names = Array.from({ length: 40 }, (_, i) => (i % 7 === 3 ? path.join('missing', `f${i}`) : `f${i}`))
  const results = await Promise.allSettled(names.map((n, i) =>
    dfs.atomicWriteFile(path.join(dir, n), `data ${i}`, { mode: i % 2 ? 0o600 : 0o644, fsync: i % 5 !== 0 })))
  names.forEach((n, i) => {
    if (i % 7 === 3) {
      assert.strictEqual(results[i].status, 'rejected', n)
      assert.strictEqual(results[i].reason.code, 'ENOENT')
      assert.strictEqual(results[i].reason.path, path.join(dir, n), 'the error names its own path')
    } else {
      assert.strictEqual(results[i].status, 'fulfilled', `${n}: ${results[i].reason}`)
      assert.strictEqual(fs.readFileSync(path.join(dir, n), 'utf8'), `data ${i}`)
      assert.strictEqual(fs.statSync(path.join(dir, n)).mode & 0o7777, i % 2 ? 0o600 : 0o644)
    }
  })
  assert.deepStrictEqual(extraEntries(dir, names.filter((n) => !n.startsWith('missing'))), [], 'no temp file left')
})

test('writes in flight together share directory fsyncs; every temp file is fsynced (strace)', { skip: unsupported || noStrace }, () => {
  const dir = tmpdir()
  const code = `const dfs = require('.')
    Promise.all(Array.from({ length: 40 }, (_, i) => dfs.atomicWriteFile(${JSON.stringify(dir)} + '/f' + i, 'x' + i)))
      .catch((e) => { console.error(e); process.exit(1) })`
  const r = runNode(code, { wrap: 'strace', wrapArgs: ['-f', '-qq', '-yy', '-e', 'trace=fsync,fdatasync'] })
  assert.strictEqual(r.status, 0, r.stderr)
  const synced = r.stderr.split('\n').map((l) => /fsync\(\d+<([^>]*)>/.exec(l)).filter(Boolean).map((m) => m[1])
  assert.strictEqual(synced.filter((p) => p.endsWith('.dfstmp')).length, 40, 'each temp file fsynced once')
  const dirSyncs = synced.filter((p) => p === dir).length
  // 4 writes start alone, the other 36 wait and go down in at most 11 shares (lib/pool.js).
  assert.ok(dirSyncs >= 1 && dirSyncs <= 15, `directory fsyncs: ${dirSyncs} for 40 writes`)
  for (let i = 0; i < 40; i++) assert.strictEqual(fs.readFileSync(path.join(dir, `f${i}`), 'utf8'), `x${i}`)
})
