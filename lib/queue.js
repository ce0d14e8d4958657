'use strict'
// The same-path queue shared by atomicWriteFile and atomicWriteFiles.
//
// Writes from this process to one path run one at a time, in call order. Each path (resolved to
// an absolute key) has a FIFO of items; an item runs once it is at the head of the FIFO of every
// path it writes (a single write has one path, a batch several), and leaves them all when done.
// Batches are queued on all their paths at once, synchronously, so two overlapping batches
// always meet in the same order on every path and cannot deadlock.
//
// Coalescing: a single write that finds another single write WAITING (not running) at the tail of
// its path's FIFO takes that one's place: only the newest data is written, and the replaced
// callers settle with it, once data newer than theirs is durable (or with its error).

const queues = new Map()

function run (item) {
  let p
  try {
    p = item.start()
  } catch (err) {
    p = Promise.reject(err)
  }
  p.then(
    () => finish(item, null),
    (err) => finish(item, err)
  )
}

function finish (item, err) {
  for (const w of item.waiters) err ? w.reject(err) : w.resolve()
  for (const key of item.keys) {
    const q = queues.get(key)
    q.shift()
    if (q.length === 0) {
      queues.delete(key)
    } else if (--q[0].blocked === 0) {
      run(q[0])
    }
  }
}

function push (item) {
  item.blocked = item.keys.length
  for (const key of item.keys) {
    const q = queues.get(key)
    if (q === undefined) {
      queues.set(key, [item])
      item.blocked--
    } else {
      q.push(item)
    }
  }
  if (item.blocked === 0) run(item)
}

// Queues one write to `key`; `job` is handed to `start(job)` (which returns a promise) when its
// turn comes. `merge(waitingJob, job)` returns the job that replaces a waiting one.
function enqueue (key, job, start, merge) {
  return new Promise((resolve, reject) => {
    const q = queues.get(key)
    if (q !== undefined && q.length > 1) {
      const last = q[q.length - 1]
      if (last.single) {
        last.job = merge(last.job, job)
        last.waiters.push({ resolve, reject })
        return
      }
    }
    const item = { keys: [key], single: true, job, waiters: [{ resolve, reject }], blocked: 0, start: null }
    item.start = () => start(item.job)
    push(item)
  })
}

// Queues a batch writing all of `keys` (distinct); `start()` runs it when every key's turn comes.
function enqueueBatch (keys, start) {
  return new Promise((resolve, reject) => {
    push({ keys, single: false, job: null, waiters: [{ resolve, reject }], blocked: 0, start })
  })
}

// How many items are queued or running for `key` (for tests).
function depth (key) {
  const q = queues.get(key)
  return q === undefined ? 0 : q.length
}

module.exports = { enqueue, enqueueBatch, depth }
