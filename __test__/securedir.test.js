'use strict'
// ensureSecureDir: 0700, recursive, chmod applied to an existing directory, entries fsynced.

const test = require('node:test')
const assert = require('node:assert')
const fs = require('node:fs')
const path = require('node:path')
const dfs = require('..')
const { tmpdir, hasCommand, runNode, BACKEND } = require('./helpers')

const skip = typeof require('../lib/binding').binding.ensureDir !== 'function' && `the ${BACKEND} backend has no ensureDir binding`

const mode = (p) => fs.statSync(p).mode & 0o7777

test('ensureSecureDir creates missing parents with 0700 whatever the umask, and narrows an existing directory', { skip }, async () => {
  const base = tmpdir()
  const old = process.umask(0o000)
  try {
    const deep = path.join(base, 'a', 'b', 'c')
    await dfs.ensureSecureDir(deep)
    assert.strictEqual(mode(deep), 0o700)
    assert.strictEqual(mode(path.join(base, 'a')), 0o700, 'created parents are private too')
    fs.chmodSync(deep, 0o755)
    await dfs.ensureSecureDir(deep)
    assert.strictEqual(mode(deep), 0o700, 'chmod applied to an existing directory')
    fs.chmodSync(deep, 0o777)
    dfs.ensureSecureDirSync(deep)
    assert.strictEqual(mode(deep), 0o700)
    dfs.ensureSecureDirSync(path.join(base, 'm'), 0o750)
    assert.strictEqual(mode(path.join(base, 'm')), 0o750, 'an explicit mode')
    fs.symlinkSync('a', path.join(base, 'link'))
    fs.chmodSync(path.join(base, 'a'), 0o755)
    await dfs.ensureSecureDir(path.join(base, 'link'))
    assert.ok(fs.lstatSync(path.join(base, 'link')).isSymbolicLink())
    assert.strictEqual(mode(path.join(base, 'a')), 0o700, 'a symlink is followed to the real directory')
  } finally {
    process.umask(old)
  }
  fs.writeFileSync(path.join(base, 'file'), 'x')
  await assert.rejects(dfs.ensureSecureDir(path.join(base, 'file')), { code: 'ENOTDIR' })
  assert.throws(() => dfs.ensureSecureDirSync(path.join(base, 'file', 'sub')), { code: 'ENOTDIR' })
  await assert.rejects(dfs.ensureSecureDir(''), { code: 'ERR_INVALID_ARG_VALUE' })
})

test('ensureSecureDir fsyncs the parent of every directory it creates (strace)', { skip: skip || (!hasCommand('strace') && 'strace is not installed') }, () => {
  const base = tmpdir()
  const deep = path.join(base, 'x', 'y')
  const r = runNode(`require('./index.js').ensureSecureDirSync(${JSON.stringify(deep)})`, { wrap: 'strace', wrapArgs: ['-f', '-e', 'trace=mkdir,mkdirat,fsync,openat', '-o', path.join(base, 'trace')] })
  assert.strictEqual(r.status, 0, r.stderr)
  const trace = fs.readFileSync(path.join(base, 'trace'), 'utf8').split('\n')
  const mkdirs = trace.filter((l) => /mkdir(at)?\(/.test(l) && l.includes(base) && !/= -1/.test(l))
  const fsyncs = trace.filter((l) => /fsync\(/.test(l))
  assert.strictEqual(mkdirs.length, 2, mkdirs.join('\n'))
  assert.ok(fsyncs.length >= 2, `one fsync per created entry: ${fsyncs.join('\n')}`)
  assert.strictEqual(mode(deep), 0o700)
})
