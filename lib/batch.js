'use strict'
// atomicWriteFiles: many files in one native call, one directory fsync per directory.
// Ordered with atomicWriteFile calls on the same paths through the same-path queue.

const path = require('node:path')
const { binding } = require('./binding')
const { fromBinding, invalidArgType, nodeError } = require('./errors')
const queue = require('./queue')
const { toPath, toBytes, toMode, toEncoding, writeOptions } = require('./args')

function prepare (entries, options) {
  if (!Array.isArray(entries)) throw invalidArgType('entries', 'an array of { path, data, mode?, encoding? }', entries)
  const { encoding, native } = writeOptions(options)
  const list = entries.map((e, i) => {
    if (e === null || typeof e !== 'object') throw invalidArgType(`entries[${i}]`, 'an object { path, data, mode?, encoding? }', e)
    const entry = { path: toPath(e.path, `entries[${i}].path`), data: toBytes(e.data, e.encoding === undefined ? encoding : toEncoding(e.encoding)) }
    if (e.mode !== undefined && e.mode !== null) entry.mode = toMode(e.mode, `entries[${i}].mode`)
    return entry
  })
  return { list, native }
}

function native (name) {
  const fn = binding[name]
  if (typeof fn !== 'function') {
    throw nodeError(Error, 'ERR_DURABLE_FS_UNSUPPORTED', `durable-fs: the ${require('./binding').backend} backend has no ${name}`)
  }
  return fn
}

// A rename failure inside a batch says how many targets were already replaced.
function withReplaced (err) {
  const e = fromBinding(err)
  const m = typeof e.detail === 'string' && /^replaced (\d+) of (\d+)/.exec(e.detail)
  if (m) e.replaced = Number(m[1])
  return e
}

function rethrow (err) {
  throw withReplaced(err)
}

/**
 * Writes every entry atomically and durably in one native task: all temp files written and
 * fsynced, then the renames in order, then one fsync per directory. An error before the first
 * rename leaves every target untouched; see index.d.ts for a failed rename.
 */
function atomicWriteFiles (entries, options) {
  let job
  let fn
  try {
    job = prepare(entries, options)
    fn = native('writeFiles')
  } catch (e) {
    return Promise.reject(e)
  }
  if (job.list.length === 0) return Promise.resolve()
  const keys = [...new Set(job.list.map((e) => path.resolve(e.path)))]
  return queue.enqueueBatch(keys, () => fn(job.list, job.native).then(undefined, rethrow))
}

function atomicWriteFilesSync (entries, options) {
  const job = prepare(entries, options)
  const fn = native('writeFilesSync')
  if (job.list.length === 0) return
  try {
    fn(job.list, job.native)
  } catch (err) {
    throw withReplaced(err)
  }
}

module.exports = { atomicWriteFiles, atomicWriteFilesSync }
