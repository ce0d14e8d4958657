'use strict'
// The write-file-atomic contract on top of the durable write protocol:
//   writeFileAtomic(filename, data, [options | encoding], [callback]) -> Promise when no callback
//   writeFileAtomic.sync(filename, data, [options | encoding])
// options: mode (false: the system default 0o666 & ~umask instead of the old file's mode),
// chown ({ uid, gid }; false: do not keep the old owner), encoding, fsync, tmpfileCreated.
//
// Without tmpfileCreated a call is one native task (the whole protocol). With it, the write is
// split in two binding calls: writeTemp (temp file created, written, fsynced) -> the hook (awaited)
// -> commitTemp (rename, directory fsync); a throw or rejection from the hook unlinks the temp file
// and rejects the call with the hook's error. Same-path calls run one after the other in call
// order, like write-file-atomic's own queue (no coalescing: every call's content is written).

const fs = require('node:fs')
const path = require('node:path')
const { binding } = require('./binding')
const { call, callAsync, nodeError, invalidArgType } = require('./errors')
const { toPath, toBytes, toMode, toId } = require('./args')

const queues = new Map()

// Runs `job` after every earlier job on the same path has settled.
function serialize (key, job) {
  const prev = queues.get(key) || Promise.resolve()
  const run = prev.then(job, job)
  const tail = run.then(() => {}, () => {})
  queues.set(key, tail)
  tail.then(() => {
    if (queues.get(key) === tail) queues.delete(key)
  })
  return run
}

function currentUmask () {
  // process.umask() without an argument reads it without changing it (throws in workers).
  try {
    return process.umask()
  } catch {
    return 0o022
  }
}

// write-file-atomic's data rule: typed arrays and DataViews are bytes, null/undefined is an empty
// file, anything else is String(data) in the given encoding.
function bytesOf (data, encoding) {
  if (data === undefined || data === null) return new Uint8Array(0)
  if (ArrayBuffer.isView(data) || data instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && data instanceof SharedArrayBuffer)) {
    return toBytes(data)
  }
  const enc = encoding || 'utf8'
  if (typeof enc !== 'string' || !Buffer.isEncoding(enc)) {
    const e = new TypeError(`The argument 'encoding' is invalid encoding. Received '${enc}'`)
    e.code = 'ERR_INVALID_ARG_VALUE'
    throw e
  }
  return Buffer.from(String(data), enc)
}

function normalize (filename, data, options) {
  let o = options
  if (typeof o === 'string') o = { encoding: o }
  else if (o === undefined || o === null) o = {}
  else if (typeof o !== 'object') throw invalidArgType('options', 'of type object or string', o)
  const p = toPath(filename, 'filename')
  const native = { fsync: o.fsync !== false, mkdir: false }
  if (o.mode === false) {
    native.mode = 0o666 & ~currentUmask()
  } else if (o.mode !== undefined && o.mode !== null && o.mode !== 0) {
    native.mode = toMode(o.mode, 'options.mode')
  }
  if (o.chown === false) {
    if (typeof process.geteuid === 'function') {
      native.uid = process.geteuid()
      native.gid = process.getegid()
    }
  } else if (o.chown !== undefined && o.chown !== null) {
    if (typeof o.chown !== 'object') throw invalidArgType('options.chown', 'of type object', o.chown)
    native.uid = toId(o.chown.uid, 'options.chown.uid')
    native.gid = toId(o.chown.gid, 'options.chown.gid')
  }
  const hook = o.tmpfileCreated
  if (hook !== undefined && hook !== null && typeof hook !== 'function') {
    throw invalidArgType('options.tmpfileCreated', 'of type function', hook)
  }
  return { path: p, bytes: bytesOf(data, o.encoding), native, hook: hook || null }
}

function requireStaged (name) {
  if (typeof binding[name] !== 'function') {
    throw nodeError(Error, 'ENOTSUP', `durable-fs: the ${require('./binding').backend} backend has no ${name}(): tmpfileCreated is not supported there`)
  }
}

async function writeAsync (job) {
  if (!job.hook) return callAsync(binding.writeFile, job.path, job.bytes, job.native)
  requireStaged('writeTemp')
  const staged = await callAsync(binding.writeTemp, job.path, job.bytes, job.native)
  try {
    await job.hook(staged.tmp)
  } catch (err) {
    await fs.promises.unlink(staged.tmp).catch(() => {})
    throw err
  }
  return callAsync(binding.commitTemp, job.path, staged, job.native.fsync !== false)
}

function writeFileAtomic (filename, data, options, callback) {
  if (typeof options === 'function') {
    callback = options
    options = undefined
  }
  if (callback !== undefined && typeof callback !== 'function') {
    throw invalidArgType('callback', 'of type function', callback)
  }
  let promise
  try {
    const job = normalize(filename, data, options)
    promise = serialize(path.resolve(job.path), () => writeAsync(job))
  } catch (e) {
    promise = Promise.reject(e)
  }
  if (!callback) return promise
  // write-file-atomic calls back with (undefined) on success and (err) on failure.
  return promise.then(() => callback(), (err) => callback(err))
}

function writeFileAtomicSync (filename, data, options) {
  const job = normalize(filename, data, options)
  if (!job.hook) {
    call(binding.writeFileSync, job.path, job.bytes, job.native)
    return
  }
  requireStaged('writeTempSync')
  const staged = call(binding.writeTempSync, job.path, job.bytes, job.native)
  try {
    job.hook(staged.tmp)
  } catch (err) {
    try { fs.unlinkSync(staged.tmp) } catch {}
    throw err
  }
  call(binding.commitTempSync, job.path, staged, job.native.fsync !== false)
}

module.exports = writeFileAtomic
module.exports.sync = writeFileAtomicSync
module.exports.writeFileAtomic = writeFileAtomic
module.exports.writeFileAtomicSync = writeFileAtomicSync
