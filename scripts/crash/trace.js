'use strict'
// Records the system calls of the real addon with strace, turns them into the op list the Rust
// simulator replays (crates/core/src/sim/replay.rs), and runs the crash-state checker on it
// (crates/core/examples/crashcheck.rs). Used by __test__/crash-*.test.js.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawnSync, execFileSync } = require('node:child_process')

const ROOT = path.join(__dirname, '..', '..')
const CHILD = path.join(__dirname, 'child-write.js')
const CHILD_MANY = path.join(__dirname, 'child-many.js')
const CHILD_LOCK = path.join(__dirname, 'child-lock.js')

// The calls the protocols make, as strace names them on x86_64/aarch64 Linux.
const TRACED = [
  'openat', 'open', 'creat', 'write', 'pwrite64', 'fchmod', 'fchown', 'fsync', 'fdatasync', 'ftruncate',
  'flock', 'close', 'rename', 'renameat', 'renameat2', 'link', 'linkat', 'unlink', 'unlinkat', 'mkdir',
  'mkdirat', 'statx', 'newfstatat', 'lstat', 'read', 'pread64', 'fstat'
]

function hasStrace () {
  return spawnSync('strace', ['-V'], { stdio: 'ignore' }).status === 0
}

// Runs `node CHILD args` under strace; returns { trace, child: parsed child report, status }.
function runTraced (childArgs, { inject = [], env = {}, timeout = 60000, child: script = CHILD } = {}) {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dfs-strace-')), 'trace')
  const args = ['-f', '-yy', '-xx', '-s', '1048576', '-o', out, '-e', `trace=${TRACED.join(',')}`]
  for (const i of inject) args.push('-e', `inject=${i}`)
  const r = spawnSync('strace', [...args, process.execPath, script, ...childArgs], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout,
    env: { ...process.env, DURABLE_FS_BACKEND: 'native', ...env }
  })
  const trace = fs.existsSync(out) ? fs.readFileSync(out, 'latin1') : ''
  fs.rmSync(path.dirname(out), { recursive: true, force: true })
  let child = null
  const last = (r.stdout || '').trim().split('\n').pop()
  try {
    child = JSON.parse(last)
  } catch {}
  return { trace, child, status: r.status, signal: r.signal, stderr: r.stderr }
}

// "\x2f\x74" -> "/t" (strace -xx prints every byte of a string as \xNN).
function unhex (s) {
  return Buffer.from(s.replace(/\\x([0-9a-f]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8')
}

// Splits an argument list at top-level ", " (strings are all \xNN, so they hold no commas).
function splitArgs (s) {
  const out = []
  let depth = 0
  let cur = ''
  for (let i = 0; i < s.length; i++) {
    const c = s[i]
    if ('{[<('.includes(c)) depth++
    if ('}]>)'.includes(c)) depth--
    if (c === ',' && depth === 0 && s[i + 1] === ' ') {
      out.push(cur)
      cur = ''
      i++
      continue
    }
    cur += c
  }
  if (cur) out.push(cur)
  return out
}

// One argument: { fd, path } for "3</a/b>", { str } for "\x..", { raw } otherwise.
function arg (a) {
  // An unnamed (O_TMPFILE) or unlinked file shows as "18</dir/#123>(deleted)".
  let m = /^(-?\d+)<(.*)>(\(deleted\))?$/.exec(a)
  if (m) return { fd: Number(m[1]), path: unhex(m[2]), deleted: !!m[3] }
  m = /^AT_FDCWD(<(.*)>)?$/.exec(a)
  if (m) return { cwd: true, path: m[2] ? unhex(m[2]) : null }
  m = /^"((?:\\x[0-9a-f]{2})*)"(\.\.\.)?$/.exec(a)
  if (m) return { str: unhex(m[1]), hex: m[1].replace(/\\x/g, ''), cut: !!m[2] }
  return { raw: a }
}

// Parses strace -f -yy -xx output into calls { tid, name, args, ret, retFd, retPath, error, injected, killed }.
function parseTrace (text) {
  const calls = []
  const pending = new Map()
  for (let line of text.split('\n')) {
    const m0 = /^(\d+) +(.*)$/.exec(line)
    if (!m0) continue
    const tid = Number(m0[1])
    line = m0[2]
    if (line.endsWith('<unfinished ...>')) {
      pending.set(tid, line.slice(0, -'<unfinished ...>'.length).trimEnd())
      continue
    }
    const res = /^<\.\.\. (\w+) resumed>(.*)$/.exec(line)
    if (res) {
      line = (pending.get(tid) || `${res[1]}(`) + res[2]
      pending.delete(tid)
    }
    const m = /^(\w+)\((.*)\) += (.*)$/.exec(line)
    if (!m) {
      if (/^\w+\(/.test(line) && line.includes('+++ killed')) calls.push({ tid, name: line.split('(')[0], killed: true, args: [] })
      continue
    }
    const [, name, argText, retText] = m
    const call = { tid, name, args: splitArgs(argText).map(arg), injected: retText.includes('(INJECTED)') }
    const rm = /^(-?\d+)(<(.*?)>)?/.exec(retText)
    call.ret = rm ? Number(rm[1]) : null
    if (rm && rm[3] !== undefined) call.retPath = unhex(rm[3])
    const em = /^-1 (E[A-Z]+)/.exec(retText)
    if (em) call.error = em[1]
    if (retText.startsWith('?')) call.unfinished = true
    calls.push(call)
  }
  return calls
}

function inside (p, dir) {
  return typeof p === 'string' && (p === dir || p.startsWith(dir + '/'))
}

// The paths a call is about.
function pathsOf (c) {
  const ps = []
  for (const a of c.args) {
    if (a.path) ps.push(a.path)
    if (a.str !== undefined && a.str.startsWith('/')) ps.push(a.str)
  }
  if (c.retPath) ps.push(c.retPath)
  return ps
}

// Calls touching `dir` (the test directory): the protocol's own calls.
function relevant (calls, dir) {
  return calls.filter((c) => c.name !== 'read' && c.name !== 'fstat' && pathsOf(c).some((p) => inside(p, dir)))
}

// The strace name of a call -> the name the protocol reports in its errors.
const SYSCALL_NAME = {
  openat: 'open', open: 'open', creat: 'open', statx: 'lstat', newfstatat: 'lstat', lstat: 'lstat',
  renameat: 'rename', renameat2: 'rename', linkat: 'link', unlinkat: 'unlink', mkdirat: 'mkdir', pwrite64: 'write'
}
const errName = (n) => SYSCALL_NAME[n] || n

function octal (raw) {
  return (parseInt(raw, 8) || 0).toString(8)
}

// Turns the successful relevant calls into the op list (tab-separated, see replay.rs).
function toOps (calls, dir) {
  const lines = []
  const fds = new Set()
  const strArgs = (c) => c.args.filter((a) => a.str !== undefined).map((a) => a.str)
  for (const c of relevant(calls, dir)) {
    if (c.error || c.unfinished || c.killed) continue
    const fdArg = c.args[0] && c.args[0].fd !== undefined ? c.args[0] : null
    switch (c.name) {
      case 'openat':
      case 'open': {
        const flags = (c.args.find((a) => a.raw && /O_/.test(a.raw)) || { raw: '' }).raw
        const modeArg = c.args.find((a) => a.raw && /^0\d*$/.test(a.raw))
        if (/O_TMPFILE/.test(flags)) {
          fds.add(c.ret)
          lines.push(['open', c.ret, 'anon', modeArg ? octal(modeArg.raw) : '0', strArgs(c)[0]])
          break
        }
        const how = /O_DIRECTORY/.test(flags) ? 'dir' : /O_EXCL/.test(flags) ? 'excl' : /O_APPEND/.test(flags) ? (/O_CREAT/.test(flags) ? 'append-create' : 'append') : 'read'
        fds.add(c.ret)
        lines.push(['open', c.ret, how, modeArg ? octal(modeArg.raw) : '0', strArgs(c)[0]])
        break
      }
      case 'write':
      case 'pwrite64':
        if (fds.has(fdArg.fd)) lines.push(['write', fdArg.fd, c.args[1].hex])
        break
      case 'fchmod':
        lines.push(['fchmod', fdArg.fd, octal(c.args[1].raw)])
        break
      case 'fchown':
        lines.push(['fchown', fdArg.fd, c.args[1].raw, c.args[2].raw])
        break
      case 'fsync':
      case 'fdatasync':
      case 'flock':
        lines.push([c.name, fdArg.fd])
        break
      case 'ftruncate':
        lines.push(['ftruncate', fdArg.fd, c.args[1].raw])
        break
      case 'close':
        if (fds.delete(fdArg.fd)) lines.push(['close', fdArg.fd])
        break
      case 'rename':
      case 'renameat':
      case 'renameat2':
        lines.push(['rename', ...strArgs(c).slice(0, 2)])
        break
      case 'link':
      case 'linkat': {
        const [from, to] = strArgs(c)
        const byFd = /^\/proc\/self\/fd\/(\d+)$/.exec(from)
        lines.push(byFd ? ['linkfd', byFd[1], to] : ['link', from, to])
        break
      }
      case 'unlink':
      case 'unlinkat':
        lines.push(['unlink', strArgs(c)[0]])
        break
      case 'mkdir':
      case 'mkdirat':
        lines.push(['mkdir', octal(c.args[c.args.length - 1].raw), strArgs(c)[0]])
        break
      default:
    }
  }
  return lines.map((l) => l.join('\t')).join('\n') + '\n'
}

// The checker binary (built on first use; debug build of an example: a few seconds).
let checkerPath = null
function checker () {
  if (checkerPath) return checkerPath
  execFileSync('cargo', ['build', '-q', '-p', 'durable-fs-core', '--features', 'sim', '--example', 'crashcheck'], { cwd: ROOT, stdio: 'inherit' })
  checkerPath = path.join(ROOT, 'target', 'debug', 'examples', 'crashcheck')
  return checkerPath
}

// Runs the crash-state check of a write on an op list.
function checkWrite ({ ops, dir, target, old, oldMode, data, mode, umask = 0o022, mkdir = false }) {
  const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dfs-ops-')), 'ops.tsv')
  fs.writeFileSync(f, ops)
  const hex = (b) => (b === null ? '-' : Buffer.from(b).toString('hex'))
  const out = execFileSync(checker(), ['check-write', f, dir, target, hex(old), (oldMode || 0).toString(8), hex(data), mode.toString(8), umask.toString(8), ...(mkdir ? ['mkdir'] : [])], { encoding: 'utf8' })
  fs.rmSync(path.dirname(f), { recursive: true, force: true })
  return JSON.parse(out)
}

// Runs the child with `spec` (for example `error=EIO` or `error=EIO:signal=SIGKILL`) injected
// into the `i`-th of the protocol's calls `rel` (from a baseline trace of the same child, whose
// call `base` came from), and checks that the injection hit exactly that call. strace counts calls
// per thread (`when=N`), and Node's start-up occasionally makes one call more or less on the main
// thread, so a run that hit another call is thrown away and retried (after `prepare()`).
function injectAt (childArgs, { calls, rel, i, spec, dir, prepare, attempts = 6, child = CHILD }) {
  const c = rel[i]
  const n = calls.filter((x) => x.tid === c.tid && x.name === c.name).indexOf(c) + 1
  const killing = /signal=SIGKILL/.test(spec)
  for (let a = 1; a <= attempts; a++) {
    prepare()
    const r = runTraced(childArgs, { inject: [`${c.name}:${spec}:when=${n}`], child })
    const parsed = parseTrace(r.trace)
    const got = relevant(parsed, dir)
    const hit = killing
      ? got.length === i + 1 && got[i].name === c.name && got[i].unfinished && r.signal === 'SIGKILL'
      : parsed.filter((x) => x.injected).length === 1 && got[i] && got[i].name === c.name && got[i].injected
    if (hit) return { ...r, n, attempts: a }
  }
  throw new Error(`could not inject ${spec} into ${c.name} #${n} (call ${i}) in ${attempts} attempts`)
}

// Runs the crash-state check of a batch on an op list; `files` are { target, old, oldMode, data, mode }.
function checkMany ({ ops, dir, files, umask = 0o022 }) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dfs-ops-'))
  const hex = (b) => (b === null ? '-' : Buffer.from(b).toString('hex'))
  fs.writeFileSync(path.join(tmp, 'ops.tsv'), ops)
  fs.writeFileSync(path.join(tmp, 'spec.tsv'), files.map((f) => [f.target, hex(f.old), (f.oldMode || 0).toString(8), hex(f.data), f.mode.toString(8)].join('\t')).join('\n') + '\n')
  const out = execFileSync(checker(), ['check-many', path.join(tmp, 'ops.tsv'), dir, path.join(tmp, 'spec.tsv'), umask.toString(8)], { encoding: 'utf8' })
  fs.rmSync(tmp, { recursive: true, force: true })
  return JSON.parse(out)
}

// Runs the check of a lock/update cycle (lock, write `target`, release) on an op list.
function checkLock ({ ops, dir, target, lock, old, oldMode, data, mode, umask = 0o022 }) {
  const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dfs-ops-')), 'ops.tsv')
  fs.writeFileSync(f, ops)
  const hex = (b) => Buffer.from(b).toString('hex')
  const out = execFileSync(checker(), ['check-lock', f, dir, target, lock, hex(old), oldMode.toString(8), hex(data), mode.toString(8), umask.toString(8)], { encoding: 'utf8' })
  fs.rmSync(path.dirname(f), { recursive: true, force: true })
  return JSON.parse(out)
}

// FS_IOC_SHUTDOWN (NOLOGFLUSH) on a mount point: a power cut for that file system.
function shutdown (mnt) {
  execFileSync(checker(), ['shutdown', mnt], { stdio: 'pipe' })
}

module.exports = { hasStrace, runTraced, injectAt, checkMany, checkLock, CHILD_MANY, CHILD_LOCK, parseTrace, relevant, toOps, checkWrite, checker, shutdown, errName, inside, CHILD, ROOT }
