'use strict'
// Scheduling of native writes on the libuv pool. Up to as many writes as the pool has threads
// (UV_THREADPOOL_SIZE, default 4) run as their own task. Writes issued while every thread is busy
// would only wait in libuv's queue; instead they wait here, and when a task finishes, its share of
// them goes down as ONE task (`writeEach`): their temp files written, their data sent to the
// device together, each fsynced, then renamed, then one directory fsync per directory, each write
// with its own options and its own result. Fewer tasks, fewer directory fsyncs, the same guarantee for every write. Writes reaching
// here are to distinct paths or already ordered by the same-path queue (lib/queue.js).

const { binding } = require('./binding')
const { fromBinding } = require('./errors')

const THREADS = Math.min(1024, Math.max(1, Number(process.env.UV_THREADPOOL_SIZE) || 4))
const MAX_BATCH = 64
const canBatch = typeof binding.writeEach === 'function'

let running = 0
let waiting = []

function rethrow (err) {
  throw fromBinding(err)
}

function settleBatch (batch, results) {
  for (let i = 0; i < batch.length; i++) {
    const r = results[i]
    if (r === null || r === undefined) batch[i].resolve()
    else batch[i].reject(fromBinding(new Error(r)))
  }
}

function done () {
  running--
  if (waiting.length > 0) launch()
}

// A freed thread takes its share of the waiting writes (the others will free up soon and take
// theirs): one long batch on one thread would serialise fsyncs that threads run side by side.
function launch () {
  const share = Math.min(MAX_BATCH, Math.ceil(waiting.length / THREADS))
  const batch = share >= waiting.length ? waiting : waiting.splice(0, share)
  if (batch === waiting) waiting = []
  running++
  let p
  try {
    p = batch.length === 1
      ? binding.writeFile(batch[0].path, batch[0].bytes, batch[0].native).then(() => [null])
      : binding.writeEach(batch.map((w) => ({ path: w.path, data: w.bytes, opts: w.native })))
  } catch (err) {
    p = Promise.reject(err)
  }
  p.then(
    (results) => { settleBatch(batch, results); done() },
    (err) => { const e = fromBinding(err); for (const w of batch) w.reject(e); done() }
  )
}

// Runs one write ({ path, bytes, native }); resolves once it is durable.
function writeNative (job) {
  if (!canBatch || running < THREADS) {
    let p
    try {
      p = binding.writeFile(job.path, job.bytes, job.native)
    } catch (err) {
      return Promise.reject(fromBinding(err))
    }
    running++
    p.then(done, done)
    return p.then(undefined, rethrow)
  }
  return new Promise((resolve, reject) => {
    waiting.push({ path: job.path, bytes: job.bytes, native: job.native, resolve, reject })
  })
}

module.exports = { writeNative, THREADS, MAX_BATCH }
