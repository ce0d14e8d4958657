'use strict'
// atomicWriteFile and friends: argument checks, the same-path queue, and the binding call.

const path = require('node:path')
const { binding } = require('./binding')
const { call, callAsync } = require('./errors')
const { toPath, toBytes, writeOptions, toMode } = require('./args')

// Same-path writes from this process run one at a time, in call order. While one is in flight,
// later calls wait; when it finishes only the newest waiting one runs, and every waiter it
// replaced settles with it (its data was superseded by newer data that is now durable).
const queues = new Map()

function settle (waiters, err) {
  for (const w of waiters) err ? w.reject(err) : w.resolve()
}

function start (key, q, job, waiters) {
  callAsync(binding.writeFile, job.path, job.bytes, job.native).then(
    () => next(key, q, waiters, null),
    (err) => next(key, q, waiters, err)
  )
}

function next (key, q, waiters, err) {
  settle(waiters, err)
  const n = q.next
  if (n) {
    q.next = null
    start(key, q, n.job, n.waiters)
  } else {
    queues.delete(key)
  }
}

function enqueue (job) {
  const key = path.resolve(job.path)
  return new Promise((resolve, reject) => {
    const q = queues.get(key)
    if (!q) {
      const fresh = { next: null }
      queues.set(key, fresh)
      start(key, fresh, job, [{ resolve, reject }])
    } else if (!q.next) {
      q.next = { job, waiters: [{ resolve, reject }] }
    } else {
      // Coalesce: the newest data replaces the waiting one. An older caller asked for durability
      // is never answered by a non-durable write.
      if (q.next.job.native.fsync !== false) job.native.fsync = true
      q.next.job = job
      q.next.waiters.push({ resolve, reject })
    }
  })
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
