'use strict'
// Durable append-only logs. The framing, locking, torn-tail recovery and hash chain are the core's
// (crates/core/src/log.rs); this file batches: appends issued while a batch is in flight wait,
// then go to disk together in ONE native call (one write, one fdatasync), in call order.

const { binding, backend } = require('./binding')
const { call, callAsync, fromBinding, nodeError, invalidArgType, invalidArgValue, outOfRange } = require('./errors')
const { toPath, toMode, toBool } = require('./args')

const DEFAULT_MAX_BATCH = 1024 * 1024

function checkBinding () {
  if (typeof binding.NativeLog !== 'function') {
    throw nodeError(Error, 'ENOTSUP', `durable-fs: the ${backend} backend has no append-only log yet`)
  }
}

function logOptions (options) {
  if (options === undefined || options === null) options = {}
  if (typeof options !== 'object') throw invalidArgType('options', 'of type object', options)
  const durability = options.durability === undefined ? 'sync' : options.durability
  if (durability !== 'sync' && durability !== 'none') throw invalidArgValue('options.durability', durability, "must be 'sync' or 'none'")
  let maxBatchBytes = DEFAULT_MAX_BATCH
  if (options.maxBatchBytes !== undefined) {
    maxBatchBytes = options.maxBatchBytes
    if (typeof maxBatchBytes !== 'number') throw invalidArgType('options.maxBatchBytes', 'of type number', maxBatchBytes)
    if (!Number.isInteger(maxBatchBytes) || maxBatchBytes < 1) throw outOfRange('options.maxBatchBytes', 'a positive integer', maxBatchBytes)
  }
  return {
    mode: options.mode === undefined ? 0o600 : toMode(options.mode, 'options.mode'),
    mkdir: toBool(options.mkdir, 'options.mkdir', false),
    durable: durability === 'sync',
    hashChain: toBool(options.hashChain, 'options.hashChain', false),
    maxBatchBytes
  }
}

// A record as (kind letter, bytes): text 't', bytes 'b', anything else one JSON line 'j'.
function encodeRecord (record) {
  if (typeof record === 'string') return ['t', Buffer.from(record, 'utf8')]
  if (record instanceof Uint8Array) return ['b', record]
  if (ArrayBuffer.isView(record)) return ['b', new Uint8Array(record.buffer, record.byteOffset, record.byteLength)]
  if (record instanceof ArrayBuffer) return ['b', new Uint8Array(record)]
  let json
  try {
    json = JSON.stringify(record)
  } catch (e) {
    throw nodeError(TypeError, 'ERR_INVALID_ARG_VALUE', `The record cannot be serialised as JSON: ${e.message}`)
  }
  if (json === undefined) throw invalidArgType('record', 'a string, Buffer, TypedArray or JSON-serialisable value', record)
  return ['j', Buffer.from(json, 'utf8')]
}

function decodeRecord (kind, bytes) {
  if (kind === 't') return bytes.toString('utf8')
  if (kind === 'j') return JSON.parse(bytes.toString('utf8'))
  return bytes
}

function pack (items) {
  const lens = items.map((it) => it.bytes.byteLength)
  const kinds = items.map((it) => it.kind).join('')
  const data = items.length === 1 ? items[0].bytes : Buffer.concat(items.map((it) => it.bytes))
  return [data, lens, kinds]
}

function invalidState (message) {
  return nodeError(Error, 'ERR_INVALID_STATE', message)
}

function report (r) {
  return r && r.recoveredBytes != null ? { offset: r.recoveredOffset, truncatedBytes: r.recoveredBytes } : null
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

class DurableLog {
  constructor (file, opts) {
    this.path = file
    this.options = { mode: opts.mode, mkdir: opts.mkdir, durability: opts.durable ? 'sync' : 'none', hashChain: opts.hashChain, maxBatchBytes: opts.maxBatchBytes }
    /** The torn tail removed when the log was opened ({ offset, truncatedBytes }), or null. */
    this.recovered = null
    /** Every torn tail this handle removed (at open, or later, left by another process's crash). */
    this.recoveries = []
    /** Counters: appends, batches (native calls that wrote), syncs (fdatasyncs), busyRetries. */
    this.stats = { appends: 0, batches: 0, syncs: 0, busyRetries: 0 }
    this._native = new binding.NativeLog(file, opts.mode, opts.mkdir, opts.durable, opts.hashChain)
    this._durable = opts.durable
    this._max = opts.maxBatchBytes
    this._pending = []
    this._running = false
    this._closed = false
    this._last = null
    this._drained = []
  }

  /** Number of records in the log as this handle last saw it. */
  get records () { return this._last ? this._last.records : 0 }
  /** Size in bytes of the valid records. */
  get size () { return this._last ? this._last.end : 0 }
  /** Chain hash (hex) of the last record, or null: anchor it elsewhere to detect tail truncation. */
  get head () { return this._last ? (this._last.head ?? null) : null }

  _noteRecovery (r) {
    const rec = report(r)
    if (rec) this.recoveries.push(rec)
    return rec
  }

  // Runs one native batch, retrying while another appender holds the lock.
  async _batch (data, lens, kinds) {
    for (let attempt = 0; ; attempt++) {
      let r
      try {
        r = await this._native.append(data, lens, kinds)
      } catch (err) {
        throw fromBinding(err)
      }
      if (!r.busy) {
        this._last = r
        return r
      }
      this.stats.busyRetries++
      await sleep(Math.random() * Math.min(1 + attempt, 10))
    }
  }

  async _open () {
    const r = await this._batch(Buffer.alloc(0), [], '')
    this.recovered = this._noteRecovery(r)
  }

  _openSync () {
    const r = call(() => this._native.appendSync(Buffer.alloc(0), [], ''))
    this._last = r
    this.recovered = this._noteRecovery(r)
  }

  /**
   * Appends `record` (a string, bytes, or a JSON-serialisable value). Resolves once the record is
   * durable (durability 'sync') or written (durability 'none'). Appends in flight together are
   * written with one write and one fdatasync, in call order.
   */
  append (record) {
    if (this._closed) return Promise.reject(invalidState(`durable-fs: log ${this.path} is closed`))
    let kind, bytes
    try {
      [kind, bytes] = encodeRecord(record)
    } catch (e) {
      return Promise.reject(e)
    }
    this.stats.appends++
    return new Promise((resolve, reject) => {
      this._pending.push({ kind, bytes, resolve, reject })
      if (!this._running) {
        this._running = true
        process.nextTick(() => this._run())
      }
    })
  }

  async _run () {
    while (this._pending.length > 0) {
      let n = 0
      let total = 0
      while (n < this._pending.length && (n === 0 || total + this._pending[n].bytes.byteLength <= this._max)) {
        total += this._pending[n].bytes.byteLength
        n++
      }
      const items = this._pending.splice(0, n)
      try {
        const r = await this._batch(...pack(items))
        this._noteRecovery(r)
        this.stats.batches++
        if (this._durable) this.stats.syncs++
        for (const it of items) it.resolve()
      } catch (err) {
        for (const it of items) it.reject(err)
      }
    }
    this._running = false
    const waiters = this._drained.splice(0)
    for (const w of waiters) w()
  }

  /** Appends synchronously (waits on this thread while another process holds the lock). */
  appendSync (record) {
    if (this._closed) throw invalidState(`durable-fs: log ${this.path} is closed`)
    if (this._running) throw invalidState('durable-fs: appendSync() while asynchronous appends are pending would break call order')
    const [kind, bytes] = encodeRecord(record)
    this.stats.appends++
    const r = call(() => this._native.appendSync(bytes, [bytes.byteLength], kind))
    this._last = r
    this._noteRecovery(r)
    this.stats.batches++
    if (this._durable) this.stats.syncs++
  }

  /** Waits for every pending append, then refuses new ones. Never loses an issued append. */
  close () {
    this._closed = true
    if (!this._running) return Promise.resolve()
    return new Promise((resolve) => this._drained.push(resolve))
  }

  closeSync () {
    if (this._running) throw invalidState('durable-fs: closeSync() while asynchronous appends are pending')
    this._closed = true
  }
}

/** Opens (creating if needed) an append-only log; a torn tail is removed and reported in `log.recovered`. */
async function openLog (file, options) {
  checkBinding()
  const log = new DurableLog(toPath(file), logOptions(options))
  await log._open()
  return log
}

function openLogSync (file, options) {
  checkBinding()
  const log = new DurableLog(toPath(file), logOptions(options))
  log._openSync()
  return log
}

/** One durable append without keeping a handle; resolves to { recovered } (a torn tail removed first, or null). */
async function appendFileDurable (file, record, options) {
  checkBinding()
  const log = new DurableLog(toPath(file), logOptions(options))
  const [kind, bytes] = encodeRecord(record)
  const r = await log._batch(bytes, [bytes.byteLength], kind)
  return { recovered: report(r) }
}

function appendFileDurableSync (file, record, options) {
  checkBinding()
  const log = new DurableLog(toPath(file), logOptions(options))
  const [kind, bytes] = encodeRecord(record)
  const r = call(() => log._native.appendSync(bytes, [bytes.byteLength], kind))
  return { recovered: report(r) }
}

function contents (file, c, verify) {
  // The native binding returns a Buffer, the WebAssembly one a Uint8Array: view either as a Buffer.
  const data = Buffer.isBuffer(c.data) ? c.data : Buffer.from(c.data.buffer, c.data.byteOffset, c.data.byteLength)
  const records = new Array(c.starts.length)
  for (let i = 0; i < records.length; i++) {
    records[i] = decodeRecord(c.kinds[i], data.subarray(c.starts[i], c.starts[i] + c.lens[i]))
  }
  const out = {
    records,
    torn: c.tornBytes != null ? { offset: c.tornOffset, bytes: c.tornBytes } : null,
    corrupt: c.corruptIndex != null ? { index: c.corruptIndex, offset: c.corruptOffset, bytes: c.corruptBytes } : null,
    head: c.head ?? null
  }
  if (verify) {
    out.valid = c.brokenIndex == null
    out.brokenAt = c.brokenIndex ?? null
    out.reason = c.brokenReason ?? null
  } else if (out.corrupt) {
    const e = nodeError(Error, 'ECORRUPT', `ECORRUPT: file is corrupt, read '${file}' (record ${out.corrupt.index}: ${out.corrupt.bytes} bytes at offset ${out.corrupt.offset} are damaged and valid records follow; use { verify: true } to inspect)`)
    e.path = file
    e.syscall = 'read'
    e.corrupt = out.corrupt
    throw e
  }
  return out
}

function readOptions (options) {
  if (options === undefined || options === null) return false
  if (typeof options !== 'object') throw invalidArgType('options', 'of type object', options)
  return toBool(options.verify, 'options.verify', false)
}

/**
 * Reads a whole log: { records, torn, corrupt, head } and, with { verify: true }, { valid,
 * brokenAt, reason } for the hash chain. Without verify, damage in the middle throws ECORRUPT.
 */
async function readLog (file, options) {
  checkBinding()
  const p = toPath(file)
  const verify = readOptions(options)
  return contents(p, await callAsync(binding.readLog, p, verify), verify)
}

function readLogSync (file, options) {
  checkBinding()
  const p = toPath(file)
  const verify = readOptions(options)
  return contents(p, call(binding.readLogSync, p, verify), verify)
}

module.exports = { openLog, openLogSync, appendFileDurable, appendFileDurableSync, readLog, readLogSync, DurableLog }
