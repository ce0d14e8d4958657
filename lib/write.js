'use strict'
// atomicWriteFile and friends: argument checks, the same-path queue, and the binding call.

const path = require('node:path')
const { binding } = require('./binding')
const { call } = require('./errors')
const queue = require('./queue')
const { writeNative } = require('./pool')
const { toPath, toBytes, writeOptions, toMode } = require('./args')

// Same-path writes from this process run one at a time, in call order; queued ones coalesce to
// the newest (lib/queue.js); lib/pool.js runs them on the libuv pool.
// A waiting job replaced by a newer one. An older caller that asked for durability is never
// answered by a non-durable write.
function mergeJobs (waiting, job) {
  if (waiting.native.fsync !== false) job.native.fsync = true
  return job
}

function enqueue (job) {
  return queue.enqueue(path.resolve(job.path), job, writeNative, mergeJobs)
}

function prepare (file, data, options) {
  const p = toPath(file)
  const { encoding, native } = writeOptions(options)
  return { path: p, bytes: toBytes(data, encoding), native }
}

/**
 * Writes `data` to `file` atomically and durably. Resolves once the new content (and its mode)
 * would survive a power cut; rejects with a Node-style error and the target untouched.
 */
function atomicWriteFile (file, data, options) {
  let job
  try {
    job = prepare(file, data, options)
  } catch (e) {
    return Promise.reject(e)
  }
  return enqueue(job)
}

function atomicWriteFileSync (file, data, options) {
  const job = prepare(file, data, options)
  call(binding.writeFileSync, job.path, job.bytes, job.native)
}

/** `atomicWriteFile(file, data, { mode })` with the mode defaulting to 0o600. */
function secureWriteFile (file, data, mode = 0o600) {
  let m
  try {
    m = toMode(mode)
  } catch (e) {
    return Promise.reject(e)
  }
  return atomicWriteFile(file, data, { mode: m })
}

function secureWriteFileSync (file, data, mode = 0o600) {
  return atomicWriteFileSync(file, data, { mode: toMode(mode) })
}

/** Removes temp files (`.name.<hex>.dfstmp`) older than `olderThanMs` that crashes left in `dir`. */
function sweepTempFilesSync (dir, olderThanMs = 60000) {
  const d = toPath(dir, 'dir')
  if (typeof olderThanMs !== 'number' || !(olderThanMs >= 0)) {
    throw require('./errors').invalidArgType('olderThanMs', 'a non-negative number', olderThanMs)
  }
  return call(binding.sweepTempFilesSync, d, Math.min(Math.floor(olderThanMs), 0xffffffff))
}

module.exports = { atomicWriteFile, atomicWriteFileSync, secureWriteFile, secureWriteFileSync, sweepTempFilesSync }
