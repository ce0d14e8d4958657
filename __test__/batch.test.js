'use strict'
// atomicWriteFiles / atomicWriteFilesSync on the real file system: content, modes, ordering with
// atomicWriteFile, one directory fsync per directory (strace), and what errors leave behind.

const test = require('node:test')
const assert = require('node:assert')
const fs = require('node:fs')
const path = require('node:path')
const dfs = require('..')
const { binding } = require('../lib/binding')
const { tmpdir, extraEntries, hasCommand, runNode } = require('./helpers')

const mode = (p) => fs.statSync(p).mode & 0o7777
const read = (p) => fs.readFileSync(p, 'utf8')
const unsupported = typeof binding.writeFiles !== 'function' && `the ${dfs.backend} binding has no writeFiles yet`
const noStrace = !hasCommand('strace') && 'strace is not installed (scripts/setup.d/10-system.sh installs it)'

test('writes every entry: data kinds, per-entry mode and encoding, the later duplicate wins', { skip: unsupported }, async () => {
  const dir = tmpdir()
  fs.mkdirSync(path.join(dir, 'sub'))
  const u16 = new Uint16Array([1, 2, 0xffff])
  await dfs.atomicWriteFiles([
    { path: path.join(dir, 'a'), data: 'héllo', mode: 0o640 },
    { path: Buffer.from(path.join(dir, 'sub', 'b')), data: u16 },
    { path: new URL(`file://${path.join(dir, 'c')}`), data: 'aGk=', encoding: 'base64' },
    { path: path.join(dir, 'd'), data: 'first' },
    { path: path.join(dir, 'd'), data: 'second', mode: '0o604' }
  ], { mode: 0o600 })
  assert.strictEqual(read(path.join(dir, 'a')), 'héllo')
  assert.strictEqual(mode(path.join(dir, 'a')), 0o640, 'entry mode overrides options.mode')
  assert.deepStrictEqual(fs.readFileSync(path.join(dir, 'sub', 'b')), Buffer.from(u16.buffer), 'byteLength bytes')
  assert.strictEqual(mode(path.join(dir, 'sub', 'b')), 0o600, 'options.mode applies')
  assert.strictEqual(read(path.join(dir, 'c')), 'hi')
  assert.strictEqual(read(path.join(dir, 'd')), 'second')
  assert.strictEqual(mode(path.join(dir, 'd')), 0o604)
  dfs.atomicWriteFilesSync([{ path: path.join(dir, 'a'), data: 'sync' }, { path: path.join(dir, 'e'), data: '' }])
  assert.strictEqual(read(path.join(dir, 'a')), 'sync')
  assert.strictEqual(mode(path.join(dir, 'a')), 0o640, 'existing mode kept')
  assert.strictEqual(fs.statSync(path.join(dir, 'e')).size, 0)
  await dfs.atomicWriteFiles([])
  dfs.atomicWriteFilesSync([])
  assert.deepStrictEqual(extraEntries(dir, ['a', 'c', 'd', 'e', 'sub']), [], 'no temp file left')
  assert.deepStrictEqual(extraEntries(path.join(dir, 'sub'), ['b']), [])
})

test('an error before the renames leaves every target untouched and no temp file', { skip: unsupported }, async () => {
  const dir = tmpdir()
  const a = path.join(dir, 'a')
  const b = path.join(dir, 'b')
  fs.writeFileSync(a, 'old a')
  fs.writeFileSync(b, 'old b')
  fs.mkdirSync(path.join(dir, 'isdir'))
  await assert.rejects(
    dfs.atomicWriteFiles([{ path: a, data: 'new' }, { path: b, data: 'new' }, { path: path.join(dir, 'missing', 'x'), data: 'x' }]),
    (e) => e.code === 'ENOENT' && e.path === path.join(dir, 'missing', 'x') && e.replaced === undefined
  )
  assert.throws(
    () => dfs.atomicWriteFilesSync([{ path: a, data: 'new' }, { path: path.join(dir, 'isdir'), data: 'x' }]),
    (e) => e.code === 'EISDIR'
  )
  assert.strictEqual(read(a), 'old a')
  assert.strictEqual(read(b), 'old b')
  assert.deepStrictEqual(extraEntries(dir, ['a', 'b', 'isdir']), [])
  // Bad arguments are rejected before anything touches the disk.
  await assert.rejects(dfs.atomicWriteFiles('nope'), { code: 'ERR_INVALID_ARG_TYPE' })
  await assert.rejects(dfs.atomicWriteFiles([{ path: a, data: 'x' }, null]), { code: 'ERR_INVALID_ARG_TYPE' })
  await assert.rejects(dfs.atomicWriteFiles([{ path: a, data: 'x' }, { path: '', data: 'x' }]), { code: 'ERR_INVALID_ARG_VALUE' })
  await assert.rejects(dfs.atomicWriteFiles([{ path: a, data: 1 }]), { code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => dfs.atomicWriteFilesSync([{ path: a, data: 'x', mode: 0o10000 }]), { code: 'ERR_OUT_OF_RANGE' })
  assert.strictEqual(read(a), 'old a')
})

test('a failed rename: the entries before it are replaced, it and the later ones are not (err.replaced)', { skip: unsupported || noStrace }, () => {
  const dir = tmpdir()
  for (const n of ['a', 'b', 'c']) fs.writeFileSync(path.join(dir, n), `old ${n}`)
  // The second rename of the process fails with EIO (injected by strace into the real binary).
  const code = `
    const dfs = require('.')
    try {
      dfs.atomicWriteFilesSync(['a', 'b', 'c'].map((n) => ({ path: ${JSON.stringify(dir)} + '/' + n, data: 'new ' + n })))
      console.log(JSON.stringify({ ok: true }))
    } catch (e) {
      console.log(JSON.stringify({ code: e.code, syscall: e.syscall, path: e.path, replaced: e.replaced }))
    }`
  const r = runNode(code, { wrap: 'strace', wrapArgs: ['-f', '-qq', '-o', '/dev/null', '-e', 'trace=rename,renameat,renameat2', '-e', 'inject=rename,renameat,renameat2:error=EIO:when=2'] })
  assert.strictEqual(r.status, 0, r.stderr)
  const out = JSON.parse(r.stdout.trim().split('\n').pop())
  assert.deepStrictEqual(out, { code: 'EIO', syscall: 'rename', path: path.join(dir, 'b'), replaced: 1 })
  assert.strictEqual(read(path.join(dir, 'a')), 'new a')
  assert.strictEqual(read(path.join(dir, 'b')), 'old b')
  assert.strictEqual(read(path.join(dir, 'c')), 'old c')
  assert.deepStrictEqual(extraEntries(dir, ['a', 'b', 'c']), [], 'temp files of the unrenamed entries removed')
})

test('one fsync per file and one per directory (strace)', { skip: unsupported || noStrace }, () => {
  const dir = tmpdir()
  fs.mkdirSync(path.join(dir, 's'))
  const files = ['a', 'b', 's/c', 's/d', 'e'].map((n) => path.join(dir, n))
  const code = `require('.').atomicWriteFilesSync(${JSON.stringify(files)}.map((p) => ({ path: p, data: 'x' })))`
  const r = runNode(code, { wrap: 'strace', wrapArgs: ['-f', '-qq', '-yy', '-e', 'trace=fsync,fdatasync'] })
  assert.strictEqual(r.status, 0, r.stderr)
  const synced = r.stderr.split('\n').map((l) => /fsync\(\d+<([^>]*)>\)/.exec(l)).filter(Boolean).map((m) => m[1])
  const dirs = synced.filter((p) => p === dir || p === path.join(dir, 's')).sort()
  assert.deepStrictEqual(dirs, [dir, path.join(dir, 's')], 'each directory fsynced once')
  assert.strictEqual(synced.filter((p) => p.endsWith('.dfstmp')).length, 5, 'each temp file fsynced once')
})

test('ordered with atomicWriteFile on the same paths: the last issued wins', { skip: unsupported }, async () => {
  const dir = tmpdir()
  const a = path.join(dir, 'a')
  const b = path.join(dir, 'b')
  for (let round = 0; round < 8; round++) {
    const ps = [
      dfs.atomicWriteFile(a, 'single 1'),
      dfs.atomicWriteFiles([{ path: a, data: `batch a ${round}` }, { path: b, data: `batch b ${round}` }]),
      dfs.atomicWriteFile(b, `single b ${round}`)
    ]
    if (round % 2) ps.push(dfs.atomicWriteFiles([{ path: b, data: 'batch 2' }, { path: path.join(dir, 'c'), data: 'c' }]))
    await Promise.all(ps)
    assert.strictEqual(read(a), `batch a ${round}`)
    assert.strictEqual(read(b), round % 2 ? 'batch 2' : `single b ${round}`)
  }
})
