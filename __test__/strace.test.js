'use strict'
// The system-call order of the real binding, recorded with `strace -f -yy` on a child process:
// open(O_EXCL) of a temp file in the target's directory, the writes, fchmod, fsync, close, rename,
// then an fsync of the directory; nothing else touches the target.

const test = require('node:test')
const assert = require('node:assert')
const fs = require('node:fs')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const { ROOT, BACKEND, tmpdir, hasCommand } = require('./helpers')

const TRACED = 'openat,open,creat,write,writev,pwrite64,fchmod,fchmodat,fchown,fchownat,fsync,fdatasync,close,rename,renameat,renameat2,link,linkat,unlink,unlinkat,lstat,stat,newfstatat,statx,readlink,readlinkat,mkdir,mkdirat'

function trace (code) {
  const dir = tmpdir()
  const out = path.join(dir, 'trace.txt')
  const work = path.join(dir, 'w')
  fs.mkdirSync(work)
  const target = path.join(work, 'target.json')
  const r = spawnSync('strace', ['-f', '-yy', '-qq', '-s', '64', '-e', `trace=${TRACED}`, '-o', out, process.execPath, '-e', code, target], {
    cwd: ROOT, env: { ...process.env, DURABLE_FS_BACKEND: BACKEND }, encoding: 'utf8'
  })
  assert.strictEqual(r.status, 0, r.stderr)
  const lines = fs.readFileSync(out, 'utf8').split('\n').filter((l) => l.includes(work))
  // "1234  fsync(23</tmp/x/w/.target.json.0123.dfstmp>) = 0" -> { call, line }
  const ops = lines.map((l) => {
    const m = /^\d+\s+(\w+)\((.*)\)\s+=\s+(-?\d+)/.exec(l)
    return m && { call: m[1], args: m[2], ret: Number(m[3]), line: l }
  }).filter(Boolean)
  return { ops, target, work }
}

function check ({ ops, target, work }, withMode) {
  const octal = withMode && `0${withMode.toString(8)}`
  const tmpRe = /\.target\.json\.[0-9a-f]{16}\.dfstmp/
  const onTemp = ops.filter((o) => tmpRe.test(o.args))
  // Architectures differ in which variant they use (arm64 has only openat and renameat).
  const names = onTemp.map((o) => o.call.replace(/^open$/, 'openat').replace(/^renameat2?$/, 'rename'))
  const open = onTemp[0]
  assert.ok(open && /^open(at)?$/.test(open.call), `first temp call is open: ${names}`)
  for (const flag of ['O_WRONLY', 'O_CREAT', 'O_EXCL', 'O_NOFOLLOW', 'O_CLOEXEC']) assert.ok(open.args.includes(flag), `${flag} in ${open.line}`)
  // Collapse repeated writes, then compare the sequence.
  const seq = names.filter((n, i) => !(n === 'write' && names[i - 1] === 'write'))
  const expected = ['openat', 'write', ...(withMode ? ['fchmod'] : []), 'fsync', 'close', 'rename']
  assert.deepStrictEqual(seq, expected, `temp-file calls in order:\n${onTemp.map((o) => o.line).join('\n')}`)
  if (withMode) assert.ok(onTemp.find((o) => o.call === 'fchmod').args.endsWith(`, ${octal}`), 'fchmod to the requested mode')
  const renameAt = ops.indexOf(onTemp[onTemp.length - 1])
  assert.ok(onTemp[onTemp.length - 1].args.includes(`"${target}"`), 'rename onto the target')
  // After the rename: open the directory, fsync it.
  const after = ops.slice(renameAt + 1)
  const dirOpen = after.findIndex((o) => /^open(at)?$/.test(o.call) && o.args.includes(`"${work}"`) && o.args.includes('O_DIRECTORY'))
  assert.ok(dirOpen >= 0, `directory opened after the rename:\n${after.map((o) => o.line).join('\n')}`)
  const dirFsync = after.slice(dirOpen + 1).find((o) => o.call === 'fsync' && o.args.startsWith(`${after[dirOpen].ret}<${work}>`))
  assert.ok(dirFsync, 'directory fsynced after the rename')
  // Nothing else touches the target: only stat-like lookups before, and the rename.
  const onTarget = ops.filter((o) => o.args.includes(`"${target}"`) || o.args.includes(`<${target}>`))
  for (const o of onTarget) assert.match(o.call, /^(lstat|stat|newfstatat|statx|rename|renameat|renameat2)$/, `unexpected call on the target: ${o.line}`)
  return onTemp.length
}

const skip = !hasCommand('strace') ? 'strace is not installed (scripts/setup.d/10-system.sh installs it as root)' : false

test('sync write: open(O_EXCL) temp, write, fchmod, fsync, close, rename, fsync(dir)', { skip }, () => {
  const t = trace(`require('.').atomicWriteFileSync(process.argv[1], 'x'.repeat(300000), 0o600)`)
  check(t, 0o600)
})

test('async write runs the same sequence on a pool thread', { skip }, () => {
  const t = trace(`require('.').atomicWriteFile(process.argv[1], 'hello', { mode: 0o640 }).catch((e) => { console.error(e); process.exit(1) })`)
  check(t, 0o640)
})

test('a new file without a mode: no fchmod (the kernel applies the umask at create time)', { skip }, () => {
  const t = trace(`require('.').atomicWriteFileSync(process.argv[1], 'hello')`)
  check(t, false)
})
