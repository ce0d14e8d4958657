'use strict'
// atomicWriteFile / secureWriteFile on the real file system: content, modes, symlinks, names,
// concurrency, argument errors.

const test = require('node:test')
const assert = require('node:assert')
const fs = require('node:fs')
const path = require('node:path')
const dfs = require('..')
const { tmpdir, extraEntries, BACKEND, isRoot } = require('./helpers')

const mode = (p) => fs.statSync(p).mode & 0o7777

test(`backend is ${BACKEND}`, () => {
  assert.strictEqual(dfs.backend, BACKEND)
})

test('writes string, Buffer, Uint16Array (byteLength), DataView, ArrayBuffer, empty and 10 MiB data', async () => {
  const dir = tmpdir()
  const f = path.join(dir, 'f')
  await dfs.atomicWriteFile(f, 'héllo')
  assert.strictEqual(fs.readFileSync(f, 'utf8'), 'héllo')
  await dfs.atomicWriteFile(f, Buffer.from([1, 2, 3]))
  assert.deepStrictEqual([...fs.readFileSync(f)], [1, 2, 3])
  const u16 = new Uint16Array([0x0102, 0x0304, 0xffff])
  await dfs.atomicWriteFile(f, u16)
  assert.strictEqual(fs.statSync(f).size, 6, 'typed arrays write byteLength bytes')
  assert.deepStrictEqual(fs.readFileSync(f), Buffer.from(u16.buffer))
  const backing = new Uint8Array([9, 8, 7, 6, 5])
  await dfs.atomicWriteFile(f, new DataView(backing.buffer, 1, 3))
  assert.deepStrictEqual([...fs.readFileSync(f)], [8, 7, 6])
  await dfs.atomicWriteFile(f, new Uint8Array([4, 5]).buffer)
  assert.deepStrictEqual([...fs.readFileSync(f)], [4, 5])
  await dfs.atomicWriteFile(f, '')
  assert.strictEqual(fs.statSync(f).size, 0)
  const big = Buffer.alloc(10 * 1024 * 1024)
  for (let i = 0; i < big.length; i += 4096) big[i] = i & 0xff
  await dfs.atomicWriteFile(f, big)
  assert.ok(fs.readFileSync(f).equals(big))
  dfs.atomicWriteFileSync(f, 'sync', 'utf8')
  assert.strictEqual(fs.readFileSync(f, 'utf8'), 'sync')
  await dfs.atomicWriteFile(f, 'aGk=', { encoding: 'base64' })
  assert.strictEqual(fs.readFileSync(f, 'utf8'), 'hi')
  assert.deepStrictEqual(extraEntries(dir, ['f']), [], 'no temp file left')
})

test('mode 0o600 is exact whatever the umask; default is 0o666 & ~umask; existing mode kept', async () => {
  const dir = tmpdir()
  const old = process.umask(0o000)
  try {
    await dfs.atomicWriteFile(path.join(dir, 'a'), 'x', 0o600)
    assert.strictEqual(mode(path.join(dir, 'a')), 0o600)
    process.umask(0o077)
    await dfs.atomicWriteFile(path.join(dir, 'b'), 'x', 0o644)
    assert.strictEqual(mode(path.join(dir, 'b')), 0o644, 'explicit mode is not narrowed by the umask')
    await dfs.atomicWriteFile(path.join(dir, 'c'), 'x')
    assert.strictEqual(mode(path.join(dir, 'c')), 0o600, 'default honours umask 077')
    process.umask(0o022)
    await dfs.atomicWriteFile(path.join(dir, 'd'), 'x')
    assert.strictEqual(mode(path.join(dir, 'd')), 0o644, 'default honours umask 022')
    fs.chmodSync(path.join(dir, 'd'), 0o640)
    await dfs.atomicWriteFile(path.join(dir, 'd'), 'y')
    assert.strictEqual(mode(path.join(dir, 'd')), 0o640, 'existing mode kept')
    await dfs.atomicWriteFile(path.join(dir, 'd'), 'z', { mode: '0o604' })
    assert.strictEqual(mode(path.join(dir, 'd')), 0o604, 'octal string mode')
    await dfs.secureWriteFile(path.join(dir, 'd'), 'secret')
    assert.strictEqual(mode(path.join(dir, 'd')), 0o600, 'secureWriteFile defaults to 0o600')
    dfs.secureWriteFileSync(path.join(dir, 'e'), 'secret', 0o640)
    assert.strictEqual(mode(path.join(dir, 'e')), 0o640)
  } finally {
    process.umask(old)
  }
})

test('owner: existing owner kept and chown applied when root', { skip: !isRoot && 'needs root to own files as another user' }, async () => {
  const dir = tmpdir()
  const f = path.join(dir, 'owned')
  fs.writeFileSync(f, 'x')
  fs.chownSync(f, 65534, 65534)
  await dfs.atomicWriteFile(f, 'y')
  assert.strictEqual(fs.statSync(f).uid, 65534)
  assert.strictEqual(fs.statSync(f).gid, 65534)
  await dfs.atomicWriteFile(f, 'z', { chown: { uid: 1, gid: 2 } })
  assert.strictEqual(fs.statSync(f).uid, 1)
  assert.strictEqual(fs.statSync(f).gid, 2)
})

test('a symlink is kept and its target updated; dangling links are written through', async () => {
  const dir = tmpdir()
  fs.mkdirSync(path.join(dir, 'real'))
  const real = path.join(dir, 'real', 'config.json')
  fs.writeFileSync(real, 'old', { mode: 0o640 })
  fs.symlinkSync('real/config.json', path.join(dir, 'link'))
  fs.symlinkSync(path.join(dir, 'link'), path.join(dir, 'link2'))
  await dfs.atomicWriteFile(path.join(dir, 'link2'), 'new')
  assert.ok(fs.lstatSync(path.join(dir, 'link')).isSymbolicLink())
  assert.ok(fs.lstatSync(path.join(dir, 'link2')).isSymbolicLink())
  assert.strictEqual(fs.readFileSync(real, 'utf8'), 'new')
  assert.strictEqual(mode(real), 0o640)
  fs.symlinkSync('missing', path.join(dir, 'dangling'))
  await dfs.atomicWriteFile(path.join(dir, 'dangling'), 'made')
  assert.strictEqual(fs.readFileSync(path.join(dir, 'missing'), 'utf8'), 'made')
  assert.ok(fs.lstatSync(path.join(dir, 'dangling')).isSymbolicLink())
  fs.symlinkSync('loop', path.join(dir, 'loop'))
  await assert.rejects(dfs.atomicWriteFile(path.join(dir, 'loop'), 'x'), { code: 'ELOOP' })
  assert.deepStrictEqual(extraEntries(dir, ['real', 'link', 'link2', 'dangling', 'missing', 'loop']), [])
})

test('a 255-byte file name works; 256 bytes is ENAMETOOLONG', async () => {
  const dir = tmpdir()
  const name = 'n'.repeat(255)
  await dfs.atomicWriteFile(path.join(dir, name), 'long')
  assert.strictEqual(fs.readFileSync(path.join(dir, name), 'utf8'), 'long')
  const utf = 'é'.repeat(127) // 254 bytes
  await dfs.atomicWriteFile(path.join(dir, utf), 'utf')
  assert.strictEqual(fs.readFileSync(path.join(dir, utf), 'utf8'), 'utf')
  await assert.rejects(dfs.atomicWriteFile(path.join(dir, 'n'.repeat(256)), 'x'), { code: 'ENAMETOOLONG' })
  assert.deepStrictEqual(extraEntries(dir, [name, utf]), [])
})

test('mkdir: true creates missing parents; without it ENOENT', async () => {
  const dir = tmpdir()
  const f = path.join(dir, 'a', 'b', 'c.json')
  await assert.rejects(dfs.atomicWriteFile(f, 'x'), { code: 'ENOENT', syscall: 'open', path: f })
  assert.ok(!fs.existsSync(path.join(dir, 'a')))
  await dfs.atomicWriteFile(f, 'x', { mkdir: true, mode: 0o600 })
  assert.strictEqual(fs.readFileSync(f, 'utf8'), 'x')
})

test('100 concurrent writes to one path: the last issued wins; 100 writes to 100 files', async () => {
  const dir = tmpdir()
  const f = path.join(dir, 'same')
  const order = []
  await Promise.all(Array.from({ length: 100 }, (_, i) => dfs.atomicWriteFile(f, `v${i}`).then(() => order.push(i))))
  assert.strictEqual(fs.readFileSync(f, 'utf8'), 'v99')
  assert.strictEqual(order.length, 100)
  assert.deepStrictEqual(order, [...order].sort((a, b) => a - b), 'promises settle in call order')
  await Promise.all(Array.from({ length: 100 }, (_, i) => dfs.atomicWriteFile(path.join(dir, `f${i}`), `w${i}`, 0o600)))
  for (let i = 0; i < 100; i++) {
    assert.strictEqual(fs.readFileSync(path.join(dir, `f${i}`), 'utf8'), `w${i}`)
    assert.strictEqual(mode(path.join(dir, `f${i}`)), 0o600)
  }
  assert.strictEqual(fs.readdirSync(dir).length, 101, 'no temp files left')
})

test('bad arguments throw before anything touches the disk', async () => {
  const dir = tmpdir()
  const f = path.join(dir, 'f')
  fs.writeFileSync(f, 'keep')
  const cases = [
    [[123, 'x'], TypeError, 'ERR_INVALID_ARG_TYPE'],
    [[undefined, 'x'], TypeError, 'ERR_INVALID_ARG_TYPE'],
    [[f, 123], TypeError, 'ERR_INVALID_ARG_TYPE'],
    [[f, { a: 1 }], TypeError, 'ERR_INVALID_ARG_TYPE'],
    [[f, null], TypeError, 'ERR_INVALID_ARG_TYPE'],
    [[f + '\0x', 'x'], TypeError, 'ERR_INVALID_ARG_VALUE'],
    [['', 'x'], TypeError, 'ERR_INVALID_ARG_VALUE'],
    [[f, 'x', 0o10000], RangeError, 'ERR_OUT_OF_RANGE'],
    [[f, 'x', -1], RangeError, 'ERR_OUT_OF_RANGE'],
    [[f, 'x', 1.5], RangeError, 'ERR_OUT_OF_RANGE'],
    [[f, 'x', { mode: 'rw' }], TypeError, 'ERR_INVALID_ARG_VALUE'],
    [[f, 'x', { mode: true }], TypeError, 'ERR_INVALID_ARG_TYPE'],
    [[f, 'x', { fsync: 'yes' }], TypeError, 'ERR_INVALID_ARG_TYPE'],
    [[f, 'x', { encoding: 'nope' }], TypeError, 'ERR_INVALID_ARG_VALUE'],
    [[f, 'x', 'nope'], TypeError, 'ERR_INVALID_ARG_VALUE'],
    [[f, 'x', { chown: { uid: -1, gid: 0 } }], RangeError, 'ERR_OUT_OF_RANGE'],
    [[f, 'x', true], TypeError, 'ERR_INVALID_ARG_TYPE']
  ]
  for (const [args, Type, code] of cases) {
    await assert.rejects(dfs.atomicWriteFile(...args), (e) => e instanceof Type && e.code === code, `async ${code} for ${String(args[0]).slice(-4)} ${String(args[2])}`)
    assert.throws(() => dfs.atomicWriteFileSync(...args), (e) => e instanceof Type && e.code === code)
  }
  await assert.rejects(dfs.secureWriteFile(f, 'x', 0o20000), { code: 'ERR_OUT_OF_RANGE' })
  assert.strictEqual(fs.readFileSync(f, 'utf8'), 'keep')
  assert.deepStrictEqual(fs.readdirSync(dir), ['f'])
  const url = new URL(`file://${f}`)
  await dfs.atomicWriteFile(url, 'via url')
  await dfs.atomicWriteFile(Buffer.from(f), 'via buffer')
  assert.strictEqual(fs.readFileSync(f, 'utf8'), 'via buffer')
})

test('Node-style errors with the target byte-for-byte unchanged: EISDIR, ENOTDIR, ENOENT', async () => {
  const dir = tmpdir()
  fs.mkdirSync(path.join(dir, 'sub'))
  fs.writeFileSync(path.join(dir, 'file'), 'keep')
  const e1 = await dfs.atomicWriteFile(path.join(dir, 'sub'), 'x').catch((e) => e)
  assert.ok(e1 instanceof Error)
  assert.strictEqual(e1.code, 'EISDIR')
  assert.strictEqual(e1.path, path.join(dir, 'sub'))
  assert.match(e1.message, /^EISDIR: illegal operation on a directory, open '/)
  const e2 = await dfs.atomicWriteFile(path.join(dir, 'file', 'x'), 'x').catch((e) => e)
  assert.strictEqual(e2.code, 'ENOTDIR')
  assert.strictEqual(e2.errno, -20)
  assert.strictEqual(typeof e2.syscall, 'string')
  const e3 = (() => { try { dfs.atomicWriteFileSync(path.join(dir, 'nope', 'x'), 'x') } catch (e) { return e } })()
  assert.strictEqual(e3.code, 'ENOENT')
  assert.strictEqual(e3.errno, -2)
  assert.strictEqual(e3.syscall, 'open')
  assert.strictEqual(e3.message, `ENOENT: no such file or directory, open '${path.join(dir, 'nope', 'x')}'`)
  assert.strictEqual(fs.readFileSync(path.join(dir, 'file'), 'utf8'), 'keep')
  assert.deepStrictEqual(fs.readdirSync(dir).sort(), ['file', 'sub'])
})

test('sweepTempFilesSync removes old temp files only', () => {
  const dir = tmpdir()
  const old = path.join(dir, '.cfg.0123456789abcdef.dfstmp')
  const young = path.join(dir, '.cfg.fedcba9876543210.dfstmp')
  fs.writeFileSync(old, 'partial')
  fs.writeFileSync(young, 'in flight')
  fs.writeFileSync(path.join(dir, 'cfg'), 'target')
  const t = Date.now() / 1000 - 3600
  fs.utimesSync(old, t, t)
  assert.strictEqual(dfs.sweepTempFilesSync(dir, 60000), 1)
  assert.deepStrictEqual(fs.readdirSync(dir).sort(), ['.cfg.fedcba9876543210.dfstmp', 'cfg'])
})
