'use strict'
// The writers under test. Each is { name, kind: 'async' | 'sync' | 'rust', durable, write(file, data) }.
// "durable" says whether a resolved write survives a power cut (file fsync before the rename AND a
// directory fsync after it); the table shows it so speed is never compared without it.

const fs = require('node:fs')
const fsp = require('node:fs/promises')
const path = require('node:path')
const crypto = require('node:crypto')

const dfs = require('..')

function tempName (file) {
  return path.join(path.dirname(file), `.${path.basename(file)}.${crypto.randomBytes(8).toString('hex')}.tmp`)
}

// The full protocol by hand with Node's promise API: every step a libuv round trip.
async function handAsync (file, data) {
  const tmp = tempName(file)
  const fh = await fsp.open(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o666)
  try {
    let off = 0
    while (off < data.byteLength) off += (await fh.write(data, off, data.byteLength - off)).bytesWritten
    await fh.chmod(0o644)
    await fh.sync()
  } catch (e) {
    await fh.close()
    await fsp.unlink(tmp).catch(() => {})
    throw e
  }
  await fh.close()
  await fsp.rename(tmp, file)
  const dh = await fsp.open(path.dirname(file), 'r')
  try {
    await dh.sync()
  } finally {
    await dh.close()
  }
}

// The same with the sync API.
function handSync (file, data) {
  const tmp = tempName(file)
  const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o666)
  try {
    let off = 0
    while (off < data.byteLength) off += fs.writeSync(fd, data, off, data.byteLength - off)
    fs.fchmodSync(fd, 0o644)
    fs.fsyncSync(fd)
  } catch (e) {
    fs.closeSync(fd)
    try { fs.unlinkSync(tmp) } catch {}
    throw e
  }
  fs.closeSync(fd)
  fs.renameSync(tmp, file)
  const dfd = fs.openSync(path.dirname(file), 'r')
  try {
    fs.fsyncSync(dfd)
  } finally {
    fs.closeSync(dfd)
  }
}

async function load () {
  const writeFileAtomic = require('write-file-atomic')
  const atomically = await import('atomically')
  const { Writer } = await import('steno')
  const stenos = new Map()
  return [
    { name: 'durable-fs', kind: 'async', durable: true, write: (f, d) => dfs.atomicWriteFile(f, d) },
    { name: 'durable-fs sync', kind: 'sync', durable: true, write: (f, d) => dfs.atomicWriteFileSync(f, d) },
    { name: 'write-file-atomic', kind: 'async', durable: false, write: (f, d) => writeFileAtomic(f, d) },
    { name: 'atomically', kind: 'async', durable: false, write: (f, d) => atomically.writeFile(f, d) },
    {
      name: 'steno',
      kind: 'async',
      durable: false,
      write: (f, d) => {
        let w = stenos.get(f)
        if (!w) stenos.set(f, (w = new Writer(f)))
        return w.write(d)
      },
      reset: () => stenos.clear()
    },
    { name: 'fs.writeFile flush', kind: 'async', durable: false, write: (f, d) => fsp.writeFile(f, d, { flush: true }) },
    { name: 'hand-written async', kind: 'async', durable: true, write: handAsync },
    { name: 'hand-written sync', kind: 'sync', durable: true, write: handSync },
    { name: 'Rust floor', kind: 'rust', durable: true }
  ]
}

module.exports = { load, handAsync, handSync }
