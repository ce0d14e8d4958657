'use strict'
// Coalescing of queued same-path writes: only the running write and the newest queued one reach
// the disk; every caller's promise settles once its data or newer data is durable.

const test = require('node:test')
const assert = require('node:assert')
const fs = require('node:fs')
const path = require('node:path')
const dfs = require('..')
const { tmpdir, hasCommand, runNode } = require('./helpers')

const noStrace = !hasCommand('strace') && 'strace is not installed (scripts/setup.d/10-system.sh installs it)'

// Runs `code` in a child under strace; returns the traced lines of `syscalls`.
function traced (code, syscalls) {
  const r = runNode(code, { wrap: 'strace', wrapArgs: ['-f', '-qq', '-yy', '-e', `trace=${syscalls}`] })
  assert.strictEqual(r.status, 0, r.stderr)
  return r.stderr.split('\n').filter((l) => /^\[pid +\d+\] |^[a-z]/.test(l) && l.includes('('))
}

test('20 writes issued together: the newest wins, every promise resolves after its data or newer is durable', async () => {
  const dir = tmpdir()
  const f = path.join(dir, 'f')
  const seenAtResolve = []
  await Promise.all(Array.from({ length: 20 }, (_, i) =>
    dfs.atomicWriteFile(f, String(i)).then(() => { seenAtResolve[i] = Number(fs.readFileSync(f, 'utf8')) })))
  assert.strictEqual(fs.readFileSync(f, 'utf8'), '19', 'the last issued wins')
  for (let i = 0; i < 20; i++) assert.ok(seenAtResolve[i] >= i, `caller ${i} resolved with content ${seenAtResolve[i]} on disk`)
})

test('coalesced writes issue one rename per surviving write (strace)', { skip: noStrace }, () => {
  const dir = tmpdir()
  const f = path.join(dir, 'f')
  const code = `const dfs = require('.'); Promise.all(Array.from({ length: 20 }, (_, i) => dfs.atomicWriteFile(${JSON.stringify(f)}, String(i))))
    .then(() => console.log(require('fs').readFileSync(${JSON.stringify(f)}, 'utf8')))`
  const renames = traced(code, 'rename,renameat,renameat2').filter((l) => l.includes(f + '"'))
  assert.strictEqual(renames.length, 2, renames.join('\n'))
  assert.strictEqual(fs.readFileSync(f, 'utf8'), '19')
})

test('a durable caller is never answered by a coalesced non-durable write (strace)', { skip: noStrace }, () => {
  const dir = tmpdir()
  const f = path.join(dir, 'f')
  // A runs without fsync; B (durable) and C (fsync: false) queue and coalesce into C, which must
  // then be fsynced for B's sake: one file fsync and one directory fsync in all.
  const code = `const dfs = require('.'); const f = ${JSON.stringify(f)}
    Promise.all([dfs.atomicWriteFile(f, 'A', { fsync: false }), dfs.atomicWriteFile(f, 'B'), dfs.atomicWriteFile(f, 'C', { fsync: false })])`
  const syncs = traced(code, 'fsync,fdatasync').filter((l) => l.includes(dir))
  assert.strictEqual(syncs.filter((l) => l.includes('.dfstmp')).length, 1, syncs.join('\n'))
  assert.strictEqual(syncs.filter((l) => l.includes(`<${dir}>`)).length, 1, syncs.join('\n'))
  assert.strictEqual(fs.readFileSync(f, 'utf8'), 'C')
})

test('a failing newest write rejects the callers it replaced; a later write runs afresh', async () => {
  const dir = tmpdir()
  const f = path.join(dir, 'sub', 'f')
  // The directory is missing: the running write fails, the two queued ones coalesce into the
  // newest, which fails too, and its error reaches the older caller it replaced.
  const first = dfs.atomicWriteFile(f, 'one')
  const older = dfs.atomicWriteFile(f, 'two')
  const newest = dfs.atomicWriteFile(path.join(dir, 'sub', '..', 'sub', 'f'), 'three')
  const errors = await Promise.allSettled([first, older, newest])
  assert.deepStrictEqual(errors.map((r) => r.status), ['rejected', 'rejected', 'rejected'])
  assert.strictEqual(errors[1].reason, errors[2].reason, 'the replaced caller gets the newest write\'s error')
  assert.strictEqual(errors[2].reason.code, 'ENOENT')
  await dfs.atomicWriteFile(f, 'four', { mkdir: true })
  assert.strictEqual(fs.readFileSync(f, 'utf8'), 'four')
})
