'use strict'
// Lock files: lock/lockSync, withLock/withLockSync, withRegistryLock, check/checkSync, and the
// read-modify-write helpers updateFile/updateJson. The protocol (kernel-locked record published
// with link(), judged reaping, identity-checked release) is the core's; see crates/core/src/lock.rs.
//
// Waiting happens here: the async API on JS timers (jittered backoff, woken at once when a caller
// of this thread releases), the sync API with a native sleep. Each attempt is non-blocking, so no
// libuv pool thread ever waits for a lock. Callers of one process queue in FIFO order per lock
// path (the queue lives in the native table, shared by worker threads).

const { AsyncLocalStorage } = require('node:async_hooks')
const fsp = require('node:fs/promises')
const { binding } = require('./binding')
const { call, callAsync, invalidArgType, outOfRange, nodeError } = require('./errors')
const { toPath } = require('./args')
const write = require('./write')

const DEFAULT_TIMEOUT_MS = 10000
const DEFAULT_STALE_MS = 30000
const MIN_DELAY_MS = 1
const MAX_DELAY_MS = 25

// Locks held by the current async call chain (withLock & co.): a nested acquire of one of them
// would wait for itself forever, so it fails with EDEADLK instead.
const chain = new AsyncLocalStorage()
// Locks held by this thread (any API), by lock path: a blocking lockSync on one of them would
// never return, since the holder cannot run to release it.
const heldHere = new Map()
// Same-thread async waiters per lock path, in arrival order: a release wakes the oldest at once.
const sleepers = new Map()

function toMs (value, name, dflt) {
  if (value === undefined || value === null) return dflt
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value)
  if (!(value >= 0)) throw outOfRange(name, '>= 0', value)
  return value
}

const DEFAULTS = Object.freeze({
  timeoutMs: DEFAULT_TIMEOUT_MS,
  native: Object.freeze({ staleMs: DEFAULT_STALE_MS }),
  signal: undefined
})

function lockOptions (options, name = 'options') {
  if (options === undefined || options === null) return DEFAULTS
  if (typeof options !== 'object') throw invalidArgType(name, 'of type object', options)
  const signal = options.signal
  if (signal !== undefined && signal !== null && !(signal instanceof AbortSignal)) {
    throw invalidArgType(`${name}.signal`, 'an instance of AbortSignal', signal)
  }
  return {
    timeoutMs: toMs(options.timeoutMs, `${name}.timeoutMs`, DEFAULT_TIMEOUT_MS),
    native: { staleMs: Math.min(toMs(options.staleMs, `${name}.staleMs`, DEFAULT_STALE_MS), Number.MAX_SAFE_INTEGER) },
    signal: signal || undefined
  }
}

// The lock file of `target`: `${target}.lock`, or options.lockfilePath.
function lockfileOf (target, options) {
  const p = toPath(target, 'target')
  const lf = options && options.lockfilePath
  return { target: p, lockPath: lf === undefined || lf === null ? `${p}.lock` : toPath(lf, 'options.lockfilePath') }
}

function parseHolder (json) {
  if (!json) return null
  try {
    return JSON.parse(json)
  } catch {
    return { state: 'unknown', raw: json }
  }
}

function describeHolder (h) {
  if (!h) return 'an unknown holder'
  if (h.pid !== undefined) {
    const since = h.acquiredAt ? ` since ${new Date(h.acquiredAt).toISOString()}` : ''
    return `pid ${h.pid} on host ${h.host || '(unknown)'}${since}${h.state && h.state !== 'held' ? ` (${h.state})` : ''}`
  }
  if (h.state === 'queued') return 'another caller in this process (queued ahead)'
  if (h.state === 'unreadable') return `a holder whose record is unreadable (${JSON.stringify(h.raw)})`
  return `an unknown holder (${h.state})`
}

function elocked (lockPath, holder, waitedMs) {
  const e = new Error(`ELOCKED: lock is held by ${describeHolder(holder)}, lock '${lockPath}' (waited ${Math.round(waitedMs)} ms)`)
  e.code = 'ELOCKED'
  e.syscall = 'lock'
  e.path = lockPath
  e.holder = holder
  return e
}

function edeadlk (lockPath, why) {
  const e = new Error(`EDEADLK: resource deadlock avoided, lock '${lockPath}' (${why})`)
  e.code = 'EDEADLK'
  e.errno = -35
  e.syscall = 'lock'
  e.path = lockPath
  return e
}

function abortError (signal) {
  const e = nodeError(Error, 'ABORT_ERR', 'The operation was aborted')
  e.name = 'AbortError'
  e.cause = signal.reason
  return e
}

function jitter (delay) {
  return delay / 2 + Math.random() * (delay / 2)
}

function noteHeld (lockPath, d) {
  const n = (heldHere.get(lockPath) || 0) + d
  if (n > 0) heldHere.set(lockPath, n)
  else heldHere.delete(lockPath)
}

function wakeOne (lockPath) {
  const set = sleepers.get(lockPath)
  if (set) {
    const first = set.values().next().value
    if (first) first()
  }
}

// Sleeps up to `ms`, woken early by a same-thread release of `lockPath`, rejected by `signal`.
function nap (lockPath, ms, signal) {
  return new Promise((resolve, reject) => {
    let set = sleepers.get(lockPath)
    if (!set) sleepers.set(lockPath, (set = new Set()))
    const done = () => {
      clearTimeout(timer)
      set.delete(wake)
      if (set.size === 0 && sleepers.get(lockPath) === set) sleepers.delete(lockPath)
      if (signal) signal.removeEventListener('abort', onAbort)
    }
    const wake = () => { done(); resolve() }
    const onAbort = () => { done(); reject(abortError(signal)) }
    const timer = setTimeout(wake, ms)
    set.add(wake)
    if (signal) signal.addEventListener('abort', onAbort, { once: true })
  })
}

// The backend must implement the lock calls (the WebAssembly binding gains them with its own work).
function needLocks () {
  if (typeof binding.lockEnqueue !== 'function') {
    const e = new Error('ENOSYS: function not implemented, lock (this backend has no lock calls yet)')
    e.code = 'ENOSYS'
    e.syscall = 'lock'
    throw e
  }
}

// Takes the lock, waiting on timers; resolves to the native handle id.
async function acquire (lockPath, o) {
  needLocks()
  const mine = chain.getStore()
  if (mine && mine.has(lockPath)) throw edeadlk(lockPath, 'acquired again inside its own callback')
  if (o.signal && o.signal.aborted) throw abortError(o.signal)
  // Join this process's FIFO for the lock here, on the JS thread, in call order: joining in the
  // first attempt would let the pool threads that run the attempts reorder the waiters.
  let ticket = binding.lockEnqueue(lockPath)
  const start = performance.now()
  let delay = MIN_DELAY_MS
  try {
    for (;;) {
      const r = await callAsync(binding.lockTryAcquire, lockPath, ticket, o.native)
      ticket = r.ticket
      if (r.id != null) {
        noteHeld(lockPath, 1)
        return r.id
      }
      const waited = performance.now() - start
      if (waited >= o.timeoutMs) throw elocked(lockPath, parseHolder(r.holder), waited)
      if (o.signal && o.signal.aborted) throw abortError(o.signal)
      await nap(lockPath, Math.min(jitter(delay), o.timeoutMs - waited), o.signal)
      delay = Math.min(delay * 2, MAX_DELAY_MS)
    }
  } catch (e) {
    if (ticket) binding.lockCancel(lockPath, ticket)
    throw e
  }
}

function acquireSync (lockPath, o) {
  needLocks()
  if (heldHere.get(lockPath)) throw edeadlk(lockPath, 'this thread already holds it; a blocking wait would never end')
  let ticket = 0
  const start = performance.now()
  let delay = MIN_DELAY_MS
  try {
    for (;;) {
      const r = call(binding.lockTryAcquireSync, lockPath, ticket, o.native)
      ticket = r.ticket
      if (r.id != null) {
        noteHeld(lockPath, 1)
        return r.id
      }
      const waited = performance.now() - start
      if (waited >= o.timeoutMs) throw elocked(lockPath, parseHolder(r.holder), waited)
      binding.sleepSync(Math.max(1, Math.round(Math.min(jitter(delay), o.timeoutMs - waited))))
      delay = Math.min(delay * 2, MAX_DELAY_MS)
    }
  } catch (e) {
    if (ticket) binding.lockCancel(lockPath, ticket)
    throw e
  }
}

async function releaseAsync (lockPath, id) {
  try {
    await callAsync(binding.lockRelease, id)
  } finally {
    noteHeld(lockPath, -1)
    wakeOne(lockPath)
  }
}

function releaseSync (lockPath, id) {
  try {
    call(binding.lockReleaseSync, id)
  } finally {
    noteHeld(lockPath, -1)
    wakeOne(lockPath)
  }
}

function once (lockPath, fn) {
  let done = false
  return function release () {
    if (done) {
      const e = new Error(`ERR_LOCK_RELEASED: the lock '${lockPath}' was already released`)
      e.code = 'ERR_LOCK_RELEASED'
      throw e
    }
    done = true
    return fn()
  }
}

/**
 * Takes the lock of `target` (`${target}.lock`, or `options.lockfilePath`), waiting up to
 * `options.timeoutMs`. Resolves to an async `release()`, which rejects with ECOMPROMISED if the
 * lock was taken away meanwhile.
 */
async function lock (target, options) {
  const { lockPath } = lockfileOf(target, options)
  const o = lockOptions(options)
  const id = await acquire(lockPath, o)
  const release = once(lockPath, () => releaseAsync(lockPath, id))
  return () => {
    try {
      return release()
    } catch (e) {
      return Promise.reject(e)
    }
  }
}

/** Synchronous {@link lock}: waits with a native sleep; returns a synchronous `release()`. */
function lockSync (target, options) {
  const { lockPath } = lockfileOf(target, options)
  const o = lockOptions(options)
  const id = acquireSync(lockPath, o)
  return once(lockPath, () => releaseSync(lockPath, id))
}

// Runs fn(id) under the lock at lockPath; releases on return and on throw.
async function underLock (lockPath, o, fn) {
  const id = await acquire(lockPath, o)
  const held = new Set(chain.getStore() || [])
  held.add(lockPath)
  let result
  try {
    result = await chain.run(held, fn, id)
  } catch (err) {
    await releaseAsync(lockPath, id).catch(() => {})
    throw err
  }
  await releaseAsync(lockPath, id)
  return result
}

/** Runs `fn()` holding the lock of `target`; resolves to its result; releases on throw. */
async function withLock (target, fn, options) {
  if (typeof fn !== 'function') throw invalidArgType('fn', 'of type function', fn)
  const { lockPath } = lockfileOf(target, options)
  return underLock(lockPath, lockOptions(options), () => fn())
}

/** Synchronous {@link withLock}: `fn` must be synchronous. */
function withLockSync (target, fn, options) {
  if (typeof fn !== 'function') throw invalidArgType('fn', 'of type function', fn)
  const { lockPath } = lockfileOf(target, options)
  const o = lockOptions(options)
  const id = acquireSync(lockPath, o)
  let result
  try {
    result = fn()
  } catch (err) {
    try { releaseSync(lockPath, id) } catch {}
    throw err
  }
  releaseSync(lockPath, id)
  return result
}

/**
 * The seed's drop-in: runs `fn()` under the lock file `lockPath` (required), waiting up to
 * `timeoutMs` (default 10000); holders on other hosts are judged stale after `staleMs` (30000).
 */
async function withRegistryLock (fn, options) {
  if (typeof fn !== 'function') throw invalidArgType('fn', 'of type function', fn)
  if (!options || typeof options !== 'object') throw invalidArgType('options', 'of type object', options)
  if (options.lockPath === undefined || options.lockPath === null) {
    throw invalidArgType('options.lockPath', 'of type string or an instance of Buffer or URL', options.lockPath)
  }
  const lockPath = toPath(options.lockPath, 'options.lockPath')
  return underLock(lockPath, lockOptions(options), () => fn())
}

function status (lockPath, s) {
  const holder = parseHolder(s.holder)
  return { locked: s.state === 'held', stale: s.state === 'stale', holder }
}

/** Whether the lock of `target` is held, and by whom (`{ locked, stale, holder }`). Takes nothing. */
async function check (target, options) {
  needLocks()
  const { lockPath } = lockfileOf(target, options)
  const o = lockOptions(options)
  return status(lockPath, await callAsync(binding.lockCheck, lockPath, o.native))
}

/** Synchronous {@link check}. */
function checkSync (target, options) {
  needLocks()
  const { lockPath } = lockfileOf(target, options)
  const o = lockOptions(options)
  return status(lockPath, call(binding.lockCheckSync, lockPath, o.native))
}

function writeOptionsOf (options) {
  if (!options) return {}
  const w = {}
  for (const k of ['mode', 'fsync', 'mkdir', 'chown']) if (options[k] !== undefined) w[k] = options[k]
  return w
}

async function update (target, fn, options, decode, encode) {
  if (typeof fn !== 'function') throw invalidArgType('fn', 'of type function', fn)
  const { target: file, lockPath } = lockfileOf(target, options)
  const o = lockOptions(options)
  const w = writeOptionsOf(options)
  return underLock(lockPath, o, async (id) => {
    let current
    try {
      current = decode(await fsp.readFile(file))
    } catch (err) {
      if (err.code !== 'ENOENT') throw err
    }
    const next = await fn(current)
    if (next === undefined) return current
    const data = encode(next)
    // The lock must still be ours before we write (ECOMPROMISED otherwise, nothing written).
    call(binding.lockVerifySync, id)
    await write.atomicWriteFile(file, data, w)
    return next
  })
}

/**
 * Read-modify-write under the lock: reads `target` (`undefined` if missing), awaits `fn(current)`,
 * writes the result atomically and durably, releases; resolves to the new content. `fn` returning
 * `undefined` writes nothing. Content is a string (`options.encoding`, default utf8) or a Buffer
 * (`encoding: null`).
 */
function updateFile (target, fn, options) {
  const enc = options && options.encoding !== undefined ? options.encoding : 'utf8'
  if (enc !== null && (typeof enc !== 'string' || !Buffer.isEncoding(enc))) {
    return Promise.reject(invalidArgType('options.encoding', 'a valid encoding or null', enc))
  }
  return update(target, fn, options, (buf) => (enc === null ? buf : buf.toString(enc)), (v) => {
    if (typeof v === 'string') return Buffer.from(v, enc || 'utf8')
    return v
  })
}

/**
 * {@link updateFile} for JSON: `fn` receives the parsed value (`undefined` if the file is missing
 * or blank) and returns the new value, written as JSON (`options.space`, default 2) plus a newline.
 */
function updateJson (target, fn, options) {
  const space = options && options.space !== undefined ? options.space : 2
  return update(target, fn, options, (buf) => {
    const text = buf.toString('utf8')
    return text.trim() === '' ? undefined : JSON.parse(text)
  }, (v) => JSON.stringify(v, null, space) + '\n')
}

module.exports = {
  hasLocks: () => typeof binding.lockEnqueue === 'function',
  lock,
  lockSync,
  withLock,
  withLockSync,
  withRegistryLock,
  check,
  checkSync,
  updateFile,
  updateJson,
  DEFAULT_TIMEOUT_MS,
  DEFAULT_STALE_MS
}
