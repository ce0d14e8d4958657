#!/usr/bin/env node
'use strict'
// The durable-fs command line: look at and clear locks, verify and print logs, sweep temp files.
// Exit codes: 0 success (lock free, log valid), 1 the answer is "no" (lock held, log broken, clear
// refused), 2 usage error, 3 the operation failed (an fs error: code and path on stderr).

const dfs = require('..')

const USAGE = `Usage: durable-fs <command> [options]

Commands:
  lock status <path> [--lock-path <file>] [--json]
      Whether the lock of resource <path> (its lock file is <path>.lock unless --lock-path) is held:
      prints alive/dead/stale and why; --json prints { locked, stale, holder }.
      Exit 0 when free (or stale), 1 when held.
  lock clear <path> [--lock-path <file>] [--force]
      Removes a stale or dead lock (by taking and releasing it). A live holder's lock is refused
      (exit 1) unless --force, which deletes the lock file anyway.
  log verify <path>
      Checks every record's hash chain. Exit 0 valid, 1 broken (index and reason printed).
  log cat <path>
      Prints every record, one JSON value per line.
  sweep <dir> [--older-than <ms>]
      Removes durable-fs temp files older than <ms> (default 60000) left by crashed writers.
  --help, -h
      This text.

Backend in use: ${dfs.backend}${dfs.backendError ? ' (native unavailable: see NODE_DEBUG=durable-fs)' : ''}
Exit codes: 0 success, 1 negative answer (held / broken / refused), 2 usage error, 3 failure.
`

class UsageError extends Error {}

// Splits argv into positionals and the flags each command allows (unknown flags are usage errors).
function parse (argv, flags) {
  const pos = []
  const opts = {}
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (!a.startsWith('--')) { pos.push(a); continue }
    const name = a.slice(2)
    if (!(name in flags)) throw new UsageError(`unknown option ${a}`)
    if (flags[name] === 'value') {
      if (i + 1 >= argv.length) throw new UsageError(`${a} needs a value`)
      opts[name] = argv[++i]
    } else {
      opts[name] = true
    }
  }
  return { pos, opts }
}

function one (pos, what) {
  if (pos.length !== 1) throw new UsageError(`expected one ${what}, got ${pos.length}`)
  return pos[0]
}

function describe (s) {
  if (!s.holder) return s.locked ? 'held (holder unknown)' : 'free (no lock file)'
  const h = s.holder
  const who = h.pid !== undefined ? `pid ${h.pid} on ${h.host || 'an unknown host'}` : 'an unknown holder'
  const since = h.acquiredAt ? ` since ${new Date(h.acquiredAt).toISOString()}` : ''
  if (s.locked) return `held: alive, by ${who}${since} (${h.state || 'held'}${h.kernelLock ? ', kernel lock' : ''})`
  if (s.stale) return `stale: ${h.state === 'dead' ? 'dead' : h.state || 'stale'} holder ${who}${since}; the next lock() removes it`
  return `free (${h.state || 'no holder'})`
}

const commands = {
  'lock status' (argv, out) {
    const { pos, opts } = parse(argv, { 'lock-path': 'value', json: 'flag' })
    const target = one(pos, '<path>')
    const s = dfs.checkSync(target, opts['lock-path'] ? { lockfilePath: opts['lock-path'] } : undefined)
    out(opts.json ? JSON.stringify(s) : `${opts['lock-path'] || `${target}.lock`}: ${describe(s)}`)
    return s.locked ? 1 : 0
  },
  'lock clear' (argv, out) {
    const { pos, opts } = parse(argv, { 'lock-path': 'value', force: 'flag' })
    const target = one(pos, '<path>')
    const o = opts['lock-path'] ? { lockfilePath: opts['lock-path'] } : {}
    const lockPath = opts['lock-path'] || `${target}.lock`
    const s = dfs.checkSync(target, o)
    if (s.locked) {
      if (!opts.force) {
        out(`${lockPath}: refused: ${describe(s)} (--force deletes it anyway)`)
        return 1
      }
      require('node:fs').rmSync(lockPath, { force: true })
      out(`${lockPath}: removed a live holder's lock (--force)`)
      return 0
    }
    if (!s.holder && !require('node:fs').existsSync(lockPath)) {
      out(`${lockPath}: no lock file`)
      return 0
    }
    dfs.lockSync(target, { ...o, timeoutMs: 0 })()
    out(`${lockPath}: cleared (${s.stale ? 'stale' : 'free'} lock taken and released)`)
    return 0
  },
  'log verify' (argv, out) {
    const { pos } = parse(argv, {})
    const file = one(pos, '<path>')
    // Without verify, every frame's checksum is checked (ECORRUPT, exit 3, on damage); with it, the chain.
    const frames = dfs.readLogSync(file)
    const r = dfs.readLogSync(file, { verify: true })
    if (!r.valid && r.brokenAt === 0 && /no chain hash/.test(String(r.reason))) {
      out(`ok: ${frames.records.length} records, frames intact (no hash chain: written without hashChain)`)
      return 0
    }
    if (r.valid) {
      out(`ok: ${r.records.length} records${r.torn ? `, torn tail of ${r.torn.bytes} bytes at ${r.torn.offset}` : ''}, head ${r.head}`)
      return 0
    }
    out(`broken at record ${r.brokenAt}: ${r.reason}`)
    return 1
  },
  'log cat' (argv, out) {
    const { pos } = parse(argv, {})
    const r = dfs.readLogSync(one(pos, '<path>'))
    for (const rec of r.records) out(JSON.stringify(Buffer.isBuffer(rec) ? { base64: rec.toString('base64') } : rec))
    return 0
  },
  sweep (argv, out) {
    const { pos, opts } = parse(argv, { 'older-than': 'value' })
    const dir = one(pos, '<dir>')
    const ms = opts['older-than'] === undefined ? 60000 : Number(opts['older-than'])
    if (!Number.isFinite(ms) || ms < 0) throw new UsageError('--older-than must be a number of milliseconds >= 0')
    out(`removed ${dfs.sweepTempFilesSync(dir, ms)} temp files from ${dir}`)
    return 0
  }
}

function main (argv, out, err) {
  if (argv.length === 0 || argv.includes('--help') || argv.includes('-h')) {
    ;(argv.length === 0 ? err : out)(USAGE.trimEnd())
    return argv.length === 0 ? 2 : 0
  }
  const name = commands[`${argv[0]} ${argv[1]}`] ? `${argv[0]} ${argv[1]}` : argv[0]
  const cmd = commands[name]
  if (!cmd) {
    err(`durable-fs: unknown command ${JSON.stringify(argv.slice(0, 2).join(' '))} (durable-fs --help)`)
    return 2
  }
  try {
    return cmd(argv.slice(name.split(' ').length), out)
  } catch (e) {
    if (e instanceof UsageError) {
      err(`durable-fs ${name}: ${e.message} (durable-fs --help)`)
      return 2
    }
    err(`durable-fs ${name}: ${e.code ? `${e.code}: ` : ''}${e.message}`)
    return 3
  }
}

process.exitCode = main(process.argv.slice(2), (s) => console.log(s), (s) => console.error(s))
