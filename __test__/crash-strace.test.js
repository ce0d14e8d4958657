'use strict'
// The real addon under strace: its system calls, replayed on the simulator, must pass the same
// crash-state check as the simulated protocol and come in the same order; the check must catch
// the broken variants of that very trace; and an error injected into each of its calls in turn
// must come back as a clean error with nothing changed and nothing left behind.
// Native backend only (the wasm backend's calls go through Node's fs).

const test = require('node:test')
const assert = require('node:assert')
const fs = require('node:fs')
const path = require('node:path')
const { tmpdir, BACKEND } = require('./helpers')
// scripts/crash/ holds the tracer and children; a staged copy of the package (test:platforms)
// has only __test__/, so the suite says it is skipped there.
const t = (() => { try { return require('../scripts/crash/trace') } catch { return null } })()
const NO_SCRIPTS = 'scripts/crash/ is not in this copy of the package (a staged platform test)'

const skip = !t ? NO_SCRIPTS : BACKEND !== 'native' ? 'strace checks run once, with the native backend' : !t.hasStrace() ? 'strace is not installed (scripts/setup.d/10-system.sh installs it)' : false

const OLD = Buffer.from('the old content')
const NEW = Buffer.from('the new content, longer than the old one')

function fresh (withOld = true, reuse = null) {
  if (reuse) fs.rmSync(reuse, { recursive: true, force: true })
  if (reuse) fs.mkdirSync(reuse)
  const dir = reuse || fs.realpathSync(tmpdir('dfs-crash-strace-'))
  const target = path.join(dir, 'f')
  if (withOld) {
    fs.writeFileSync(target, OLD)
    fs.chmodSync(target, 0o640)
  }
  return { dir, target }
}

function traceWrite ({ dir, target }, how, mode) {
  const r = t.runTraced([target, NEW.toString('hex'), mode === null ? '-' : mode.toString(8), how])
  assert.deepStrictEqual(r.child, { ok: true }, `the traced write failed: ${r.stderr}`)
  return t.parseTrace(r.trace)
}

const cases = [
  { name: 'replace, mode 0o664 (umask 022)', withOld: true, mode: 0o664, want: 0o664 },
  { name: 'replace, keep the old mode', withOld: true, mode: null, want: 0o640 },
  { name: 'new file, mode 0o600', withOld: false, mode: 0o600, want: 0o600 }
]

test('the real write, replayed: every crash state is old or new, in the simulated order', { skip }, () => {
  for (const how of ['sync', 'async']) {
    for (const c of cases) {
      const f = fresh(c.withOld)
      const calls = traceWrite(f, how, c.mode)
      const ops = t.toOps(calls, f.dir)
      const r = t.checkWrite({ ops, dir: f.dir, target: f.target, old: c.withOld ? OLD : null, oldMode: 0o640, data: NEW, mode: c.want })
      console.log(`crash-strace: ${how} ${c.name}: ${r.replayed} calls replayed, ${r.states} states (${r.distinct} distinct), ${r.violations.length} violations, order ${r.orderMatch ? 'matches' : 'DIFFERS'}`)
      assert.deepStrictEqual(r.violations, [])
      assert.ok(r.states > 1)
      assert.deepStrictEqual(r.realOrder, r.simOrder, 'the real call order is the simulated one')
      fs.rmSync(f.dir, { recursive: true })
    }
  }
})

test('the real write into missing directories (mkdir): replayed, every crash state checked, same order', { skip }, () => {
  for (const how of ['sync', 'async']) {
    const dir = fs.realpathSync(tmpdir('dfs-crash-strace-'))
    const target = path.join(dir, 'a', 'b', 'f')
    const r0 = t.runTraced([target, NEW.toString('hex'), '600', how, 'mkdir'])
    assert.deepStrictEqual(r0.child, { ok: true }, r0.stderr)
    const ops = t.toOps(t.parseTrace(r0.trace), dir)
    assert.match(ops, /^mkdir\t/m, 'the trace holds the mkdir calls')
    const r = t.checkWrite({ ops, dir, target, old: null, data: NEW, mode: 0o600, mkdir: true })
    console.log(`crash-strace: ${how} new file in missing directories: ${r.replayed} calls replayed, ${r.states} states (${r.distinct} distinct), ${r.violations.length} violations, order ${r.orderMatch ? 'matches' : 'DIFFERS'}`)
    assert.deepStrictEqual(r.violations, [])
    assert.deepStrictEqual(r.realOrder, r.simOrder)
    fs.rmSync(dir, { recursive: true })
  }
})

test('the check catches broken variants of the real trace', { skip }, () => {
  const f = fresh(true)
  const ops = t.toOps(traceWrite(f, 'sync', 0o664), f.dir).trimEnd().split('\n')
  const tmpFd = ops.find((l) => l.startsWith('open\t') && l.includes('\texcl\t')).split('\t')[1]
  const dirOpen = ops.findIndex((l) => l.startsWith('open\t') && l.includes('\tdir\t'))
  const fsyncTmp = ops.indexOf(`fsync\t${tmpFd}`)
  const fchmod = ops.findIndex((l) => l.startsWith('fchmod\t'))
  const variants = {
    'no file fsync': ops.filter((_, i) => i !== fsyncTmp),
    'no directory fsync': ops.filter((l, i) => !(i > dirOpen && l.startsWith('fsync\t'))),
    'fchmod after fsync': (() => {
      const v = ops.slice()
      const [line] = v.splice(fchmod, 1)
      v.splice(v.indexOf(`fsync\t${tmpFd}`) + 1, 0, line)
      return v
    })(),
    'in-place write': [`open\t90\tappend\t666\t${f.target}`, `ftruncate\t90\t0`, `write\t90\t${NEW.toString('hex')}`, 'fchmod\t90\t664', 'fsync\t90', 'close\t90']
  }
  for (const [name, v] of Object.entries(variants)) {
    assert.notDeepStrictEqual(v, ops, `${name}: the variant differs from the real trace`)
    const r = t.checkWrite({ ops: v.join('\n') + '\n', dir: f.dir, target: f.target, old: OLD, oldMode: 0o640, data: NEW, mode: 0o664 })
    console.log(`crash-strace: broken variant of the real trace: ${name}: ${r.states} states, ${r.violations.length} violations (e.g. ${r.violations[0]})`)
    assert.ok(r.violations.length >= 1, `${name} was not caught`)
  }
  fs.rmSync(f.dir, { recursive: true })
})

// The errors each call is failed with. EINTR on open and write: std retries them, the write succeeds.
const ERRNOS = {
  statx: ['EIO', 'EACCES'],
  openat: ['EIO', 'ENOSPC', 'EACCES', 'EINTR'],
  write: ['EIO', 'ENOSPC', 'EINTR'],
  fchmod: ['EIO', 'EPERM'],
  fsync: ['EIO', 'ENOSPC'],
  close: ['EIO'],
  rename: ['EIO', 'ENOSPC', 'EACCES']
}

test('an error injected into each system call of the real write: clean error, nothing changed, nothing left', { skip }, () => {
  const base = fresh(true)
  const calls = traceWrite(base, 'sync', 0o664)
  const rel = t.relevant(calls, base.dir)
  const renameAt = rel.findIndex((c) => c.name.startsWith('rename'))
  let runs = 0
  for (const [i, c] of rel.entries()) {
    for (const errno of ERRNOS[c.name] || ['EIO']) {
      let f
      const r = t.injectAt([base.target, NEW.toString('hex'), '664', 'sync'], {
        calls, rel, i, spec: `error=${errno}`, dir: base.dir, prepare: () => { f = fresh(true, base.dir) }
      })
      const what = `${c.name} #${r.n} (call ${i} of the write) failing with ${errno}`
      const after = i > renameAt
      const retried = errno === 'EINTR'
      const dirClose = c.name === 'close' && after
      if (retried || dirClose) {
        // EINTR is retried by std; the directory's close comes after its fsync succeeded.
        assert.deepStrictEqual(r.child, { ok: true }, what)
        assert.deepStrictEqual(fs.readFileSync(f.target), NEW, what)
      } else {
        assert.ok(r.child && !r.child.ok, `${what}: the write must fail (${JSON.stringify(r.child)})`)
        assert.strictEqual(r.child.code, errno, what)
        assert.strictEqual(r.child.syscall, t.errName(c.name), what)
        assert.strictEqual(r.child.path, f.target, what)
        if (after) {
          // Only the directory fsync follows the rename: the new content is visible, its mode set.
          assert.deepStrictEqual(fs.readFileSync(f.target), NEW, what)
          assert.strictEqual(fs.statSync(f.target).mode & 0o7777, 0o664, what)
        } else {
          assert.deepStrictEqual(fs.readFileSync(f.target), OLD, `${what}: target unchanged`)
          assert.strictEqual(fs.statSync(f.target).mode & 0o7777, 0o640, `${what}: mode unchanged`)
        }
      }
      assert.deepStrictEqual(fs.readdirSync(f.dir), ['f'], `${what}: nothing left behind`)
      runs++
    }
  }
  fs.rmSync(base.dir, { recursive: true })
  console.log(`crash-strace: fault injection into the real addon: ${rel.length} calls, ${runs} cases, 0 violations`)
  assert.ok(runs >= rel.length)
})
