'use strict'
// durable-fs/write-file-atomic against the write-file-atomic package itself: the SAME cases run on
// both implementations on the real file system. Where we differ on purpose, the case says so and
// asserts each side's behaviour (see README "Migrating from write-file-atomic").

const test = require('node:test')
const assert = require('node:assert')
const fs = require('node:fs')
const path = require('node:path')
const { tmpdir, isRoot, BACKEND } = require('./helpers')

const { binding } = require('../lib/binding')
// The two-step write behind tmpfileCreated is a binding call; a backend without it says so.
const noStaged = typeof binding.writeTemp !== 'function' && `the ${BACKEND} backend has no two-step write (tmpfileCreated)`

const impls = [
  ['write-file-atomic', require('write-file-atomic')],
  ['durable-fs', require('../write-file-atomic')]
]
const ours = (name) => name === 'durable-fs'
const mode = (p) => fs.statSync(p).mode & 0o7777
const read = (p) => fs.readFileSync(p, 'utf8')
// Files other than `keep` in `dir` (temp files left behind show up here).
const leftovers = (dir, keep) => fs.readdirSync(dir).filter((n) => !keep.includes(n))

function withUmask (u, fn) {
  const old = process.umask(u)
  const restore = () => process.umask(old)
  try {
    const r = fn()
    if (r && typeof r.then === 'function') return r.finally(restore)
    restore()
    return r
  } catch (e) {
    restore()
    throw e
  }
}

for (const [name, writeFileAtomic] of impls) {
  test(`[${name}] call forms: promise, callback, options, encoding string, sync`, async () => {
    const dir = tmpdir()
    const f = path.join(dir, 'f')
    const r = writeFileAtomic(f, 'promise')
    assert.ok(r instanceof Promise)
    assert.strictEqual(await r, undefined)
    assert.strictEqual(read(f), 'promise')
    await new Promise((resolve, reject) => writeFileAtomic(f, 'cb', (err, ...rest) => {
      try {
        assert.strictEqual(err, undefined, 'callback gets (undefined) on success')
        assert.deepStrictEqual(rest, [])
        assert.strictEqual(read(f), 'cb')
        resolve()
      } catch (e) { reject(e) }
    }))
    await new Promise((resolve, reject) => writeFileAtomic(f, 'opts+cb', { fsync: false }, (err) => err ? reject(err) : resolve()))
    assert.strictEqual(read(f), 'opts+cb')
    await writeFileAtomic(f, 'aGVsbG8=', 'base64')
    assert.strictEqual(read(f), 'hello', 'a string in the options position is the encoding')
    await new Promise((resolve, reject) => writeFileAtomic(f, '6869', 'hex', (err) => err ? reject(err) : resolve()))
    assert.strictEqual(read(f), 'hi')
    assert.strictEqual(writeFileAtomic.sync(f, 'sync'), undefined)
    assert.strictEqual(read(f), 'sync')
    writeFileAtomic.sync(f, '7979', 'hex')
    assert.strictEqual(read(f), 'yy')
    writeFileAtomic.sync(f, 'o', { encoding: 'utf8', fsync: true })
    assert.strictEqual(read(f), 'o')
    assert.deepStrictEqual(leftovers(dir, ['f']), [])
  })

  test(`[${name}] data: undefined/null write an empty file, numbers and objects are String(data), encodings`, async () => {
    const dir = tmpdir()
    const f = path.join(dir, 'f')
    await writeFileAtomic(f, undefined)
    assert.strictEqual(fs.statSync(f).size, 0)
    fs.writeFileSync(f, 'old')
    writeFileAtomic.sync(f, null)
    assert.strictEqual(fs.statSync(f).size, 0)
    await writeFileAtomic(f, 123)
    assert.strictEqual(read(f), '123')
    await writeFileAtomic(f, { toString: () => 'custom' })
    assert.strictEqual(read(f), 'custom')
    await writeFileAtomic(f, 'é', { encoding: 'latin1' })
    assert.deepStrictEqual([...fs.readFileSync(f)], [0xe9])
    await writeFileAtomic(f, 'é', { encoding: null })
    assert.deepStrictEqual([...fs.readFileSync(f)], [0xc3, 0xa9], 'encoding null is utf8')
    await writeFileAtomic(f, 'ab', 'utf16le')
    assert.deepStrictEqual([...fs.readFileSync(f)], [0x61, 0, 0x62, 0])
    await writeFileAtomic(f, Buffer.from([1, 2, 3]), 'base64')
    assert.deepStrictEqual([...fs.readFileSync(f)], [1, 2, 3], 'encoding ignored for buffers')
    await writeFileAtomic(f, new Uint8Array([4, 5]))
    assert.deepStrictEqual([...fs.readFileSync(f)], [4, 5])
    const u16 = new Uint16Array([0x0102, 0x0304, 0x0506])
    await writeFileAtomic(f, u16)
    if (ours(name)) {
      assert.strictEqual(fs.statSync(f).size, 6, 'we write byteLength bytes')
      assert.ok(fs.readFileSync(f).equals(Buffer.from(u16.buffer)))
    } else {
      assert.strictEqual(fs.statSync(f).size, 3, 'write-file-atomic writes .length bytes of a Uint16Array (its bug)')
    }
  })

  test(`[${name}] mode: new file, explicit, kept from the existing file, mode:false`, async () => {
    const dir = tmpdir()
    await withUmask(0o022, async () => {
      await writeFileAtomic(path.join(dir, 'new'), 'x')
      assert.strictEqual(mode(path.join(dir, 'new')), 0o644, 'new file: 0o666 & ~umask')
      await writeFileAtomic(path.join(dir, 'explicit'), 'x', { mode: 0o600 })
      assert.strictEqual(mode(path.join(dir, 'explicit')), 0o600)
      const kept = path.join(dir, 'kept')
      fs.writeFileSync(kept, 'old')
      fs.chmodSync(kept, 0o640)
      await writeFileAtomic(kept, 'new')
      assert.strictEqual(mode(kept), 0o640, 'existing mode preserved')
      writeFileAtomic.sync(kept, 'newer')
      assert.strictEqual(mode(kept), 0o640, 'existing mode preserved (sync)')
      await writeFileAtomic(kept, 'n', { mode: 0o604 })
      assert.strictEqual(mode(kept), 0o604, 'explicit mode replaces the old one')
      if (ours(name)) {
        await writeFileAtomic(kept, 'n', { mode: false })
        assert.strictEqual(mode(kept), 0o644, 'mode:false: the default permissions, not the old file\'s (as documented)')
        fs.chmodSync(kept, 0o600)
        writeFileAtomic.sync(kept, 'n', { mode: false })
        assert.strictEqual(mode(kept), 0o644, 'mode:false (sync): the default permissions')
      } else {
        // write-file-atomic 5 documents mode:false but its async path passes `false` to fs.open
        // (ERR_INVALID_ARG_TYPE on Node 20) and its sync path keeps the old mode anyway.
        await assert.rejects(writeFileAtomic(kept, 'n', { mode: false }), { code: 'ERR_INVALID_ARG_TYPE' })
        fs.chmodSync(kept, 0o600)
        writeFileAtomic.sync(kept, 'n', { mode: false })
        assert.strictEqual(mode(kept), 0o600, 'write-file-atomic sync with mode:false keeps the old mode')
        fs.chmodSync(kept, 0o644)
      }
      await writeFileAtomic(path.join(dir, 'wide'), 'x', { mode: 0o666 })
      assert.strictEqual(mode(path.join(dir, 'wide')), 0o666, 'explicit mode is not narrowed by the umask')
    })
  })

  test(`[${name}] chown as root: explicit, kept from the existing file, chown:false`, { skip: !isRoot && 'needs root to give files to another user' }, async () => {
    const dir = tmpdir()
    const f = path.join(dir, 'owned')
    await writeFileAtomic(f, 'x', { chown: { uid: 65534, gid: 65534 } })
    assert.deepStrictEqual([fs.statSync(f).uid, fs.statSync(f).gid], [65534, 65534])
    await writeFileAtomic(f, 'y')
    assert.deepStrictEqual([fs.statSync(f).uid, fs.statSync(f).gid], [65534, 65534], 'owner kept')
    writeFileAtomic.sync(f, 'z')
    assert.deepStrictEqual([fs.statSync(f).uid, fs.statSync(f).gid], [65534, 65534], 'owner kept (sync)')
    await writeFileAtomic(f, 'w', { chown: false })
    assert.deepStrictEqual([fs.statSync(f).uid, fs.statSync(f).gid], [0, 0], 'chown:false: our own ids')
    await assert.rejects(writeFileAtomic(f, 'v', { chown: { uid: 1 } }), 'chown needs uid and gid')
    assert.strictEqual(read(f), 'w')
  })

  test(`[${name}] symlinks: the link is kept and its target replaced; a dangling link is written through`, async () => {
    const dir = tmpdir()
    const real = path.join(dir, 'real')
    const link = path.join(dir, 'link')
    fs.writeFileSync(real, 'old')
    fs.chmodSync(real, 0o600)
    fs.symlinkSync('real', link)
    await writeFileAtomic(link, 'new')
    assert.ok(fs.lstatSync(link).isSymbolicLink(), 'still a link')
    assert.strictEqual(read(real), 'new')
    assert.strictEqual(mode(real), 0o600, 'the target\'s mode is kept')
    writeFileAtomic.sync(link, 'sync')
    assert.ok(fs.lstatSync(link).isSymbolicLink())
    assert.strictEqual(read(real), 'sync')
    const dangling = path.join(dir, 'dangling')
    fs.symlinkSync('missing', dangling)
    await writeFileAtomic(dangling, 'through')
    if (ours(name)) {
      assert.ok(fs.lstatSync(dangling).isSymbolicLink(), 'we write through a dangling link, like fs.writeFile')
      assert.strictEqual(read(path.join(dir, 'missing')), 'through')
    } else {
      assert.ok(fs.lstatSync(dangling).isFile(), 'write-file-atomic replaces a dangling link with a file')
      assert.strictEqual(read(dangling), 'through')
    }
  })

  test(`[${name}] tmpfileCreated: called with a temp file beside the target, awaited, rejection aborts`, { skip: ours(name) && noStaged }, async () => {
    const dir = tmpdir()
    const f = path.join(dir, 'f')
    fs.writeFileSync(f, 'old')
    const seen = []
    let hookDone = false
    await writeFileAtomic(f, 'new', {
      tmpfileCreated: async (tmp) => {
        seen.push(tmp)
        assert.strictEqual(path.dirname(tmp), dir)
        assert.ok(fs.existsSync(tmp), 'the temp file exists when the hook runs')
        assert.strictEqual(read(f), 'old', 'the target is not replaced yet')
        await new Promise((resolve) => setTimeout(resolve, 20))
        hookDone = true
      }
    })
    assert.ok(hookDone, 'the write waited for the hook')
    assert.strictEqual(seen.length, 1)
    assert.ok(!fs.existsSync(seen[0]), 'the temp file was renamed away')
    assert.strictEqual(read(f), 'new')

    const boom = new Error('hook says no')
    let tmpSeen
    await assert.rejects(writeFileAtomic(f, 'never', { tmpfileCreated: async (tmp) => { tmpSeen = tmp; throw boom } }), (e) => e === boom)
    assert.strictEqual(read(f), 'new', 'target untouched')
    assert.ok(!fs.existsSync(tmpSeen), 'temp file removed')
    const cbErr = await new Promise((resolve) => writeFileAtomic(f, 'never', { tmpfileCreated: () => Promise.reject(boom) }, resolve))
    assert.strictEqual(cbErr, boom, 'the callback receives the hook\'s error')

    let syncTmp
    writeFileAtomic.sync(f, 'sync', { tmpfileCreated: (tmp) => { syncTmp = tmp } })
    assert.strictEqual(path.dirname(syncTmp), dir)
    assert.strictEqual(read(f), 'sync')
    assert.throws(() => writeFileAtomic.sync(f, 'never', { tmpfileCreated: () => { throw boom } }), (e) => e === boom)
    assert.strictEqual(read(f), 'sync')
    assert.deepStrictEqual(leftovers(dir, ['f']), [], 'no temp file left')
  })

  test(`[${name}] same-path calls are serialised in call order`, { skip: ours(name) && noStaged }, async () => {
    const dir = tmpdir()
    const f = path.join(dir, 'f')
    const order = []
    await Promise.all(Array.from({ length: 20 }, (_, i) => writeFileAtomic(f, `v${i}`, { tmpfileCreated: () => { order.push(i) } })))
    assert.deepStrictEqual(order, Array.from({ length: 20 }, (_, i) => i))
    assert.strictEqual(read(f), 'v19')
    assert.deepStrictEqual(leftovers(dir, ['f']), [])
  })

  test(`[${name}] error codes reach the promise, the callback and the sync throw`, async () => {
    const dir = tmpdir()
    const missing = path.join(dir, 'nope', 'f')
    await assert.rejects(writeFileAtomic(missing, 'x'), { code: 'ENOENT' })
    const e = await new Promise((resolve) => writeFileAtomic(missing, 'x', resolve))
    assert.strictEqual(e && e.code, 'ENOENT')
    assert.throws(() => writeFileAtomic.sync(missing, 'x'), { code: 'ENOENT' })
    fs.mkdirSync(path.join(dir, 'd'))
    fs.writeFileSync(path.join(dir, 'd', 'inside'), 'keep')
    await assert.rejects(writeFileAtomic(path.join(dir, 'd'), 'x'), (err) => ['EISDIR', 'ENOTEMPTY', 'EEXIST'].includes(err.code))
    assert.strictEqual(read(path.join(dir, 'd', 'inside')), 'keep')
    fs.writeFileSync(path.join(dir, 'file'), 'x')
    assert.throws(() => writeFileAtomic.sync(path.join(dir, 'file', 'sub'), 'x'), { code: 'ENOTDIR' })
    if (ours(name)) {
      await assert.rejects(writeFileAtomic(path.join(dir, 'f'), 'x', 'no-such-encoding'), { code: 'ERR_INVALID_ARG_VALUE' })
    } else {
      await writeFileAtomic(path.join(dir, 'f'), 'x', 'no-such-encoding') // silently written as utf8
      fs.unlinkSync(path.join(dir, 'f'))
    }
    assert.deepStrictEqual(leftovers(dir, ['d', 'file']), [], 'no temp file left by a failed call')
  })

  test(`[${name}] an unwritable directory: EACCES for a non-root user`, { skip: !isRoot && 'needs root to run a child as nobody' }, () => {
    const { spawnSync } = require('node:child_process')
    const dir = tmpdir()
    fs.chmodSync(dir, 0o755)
    const mod = ours(name) ? path.join(__dirname, '..', 'write-file-atomic.js') : require.resolve('write-file-atomic')
    const code = `require(${JSON.stringify(mod)})(${JSON.stringify(path.join(dir, 'f'))}, 'x').then(() => console.log('OK'), (e) => console.log(e.code))`
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', code], { encoding: 'utf8', env: process.env })
    if (r.error) return assert.fail(`setpriv failed: ${r.error.message}`)
    assert.strictEqual(r.stdout.trim(), 'EACCES', r.stderr)
  })
}

test('durable-fs/write-file-atomic: ESM default import and .sync', async () => {
  const m = await import('durable-fs/write-file-atomic')
  assert.strictEqual(m.default, require('../write-file-atomic'))
  assert.strictEqual(m.sync, m.default.sync)
})
