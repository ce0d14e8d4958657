'use strict'
// The real addon's batch write (atomicWriteFiles: temp files staged and fsynced, renamed in order,
// each directory fsynced once) under strace: its calls, replayed on the simulator, leave every
// file old or new in every crash state (all new once the call returned), in the simulated order;
// and an EIO injected into each of its calls in turn gives a clean error: no target touched before
// the first rename, nothing left behind. Native backend only.

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

function fresh (reuse = null) {
  if (reuse) fs.rmSync(reuse, { recursive: true, force: true })
  const dir = reuse || fs.realpathSync(tmpdir('dfs-crash-batch-'))
  fs.mkdirSync(path.join(dir, 'x'), { recursive: true })
  fs.mkdirSync(path.join(dir, 'y'), { recursive: true })
  const files = [
    { target: path.join(dir, 'x', 'a'), old: Buffer.from('old a'), oldMode: 0o640, data: Buffer.from('new content of a'), mode: 0o644 },
    { target: path.join(dir, 'x', 'b'), old: Buffer.from('old b'), oldMode: 0o600, data: Buffer.from('new b'), mode: 0o600 },
    { target: path.join(dir, 'y', 'c'), old: null, oldMode: 0, data: Buffer.from('brand new c'), mode: 0o640 }
  ]
  for (const f of files) {
    if (f.old) {
      fs.writeFileSync(f.target, f.old)
      fs.chmodSync(f.target, f.oldMode)
    }
  }
  const arg = JSON.stringify(files.map((f) => ({ path: f.target, hex: f.data.toString('hex'), mode: f.mode })))
  return { dir, files, arg }
}

test('the real batch write, replayed: every file old or new in every crash state, in the simulated order', { skip }, () => {
  for (const how of ['sync', 'async']) {
    const b = fresh()
    const r0 = t.runTraced([b.arg, how], { child: t.CHILD_MANY })
    assert.deepStrictEqual(r0.child, { ok: true }, r0.stderr)
    const ops = t.toOps(t.parseTrace(r0.trace), b.dir)
    const r = t.checkMany({ ops, dir: b.dir, files: b.files })
    console.log(`crash-strace: batch ${how}, 3 files in 2 directories: ${r.replayed} calls replayed, ${r.states} states (${r.distinct} distinct), ${r.violations.length} violations, order ${r.orderMatch ? 'matches' : 'DIFFERS'}`)
    assert.deepStrictEqual(r.violations, [])
    assert.deepStrictEqual(r.realOrder, r.simOrder)
    fs.rmSync(b.dir, { recursive: true })
  }
})

test('an EIO injected into each system call of the real batch: clean error, nothing left behind', { skip }, () => {
  const base = fresh()
  const r0 = t.runTraced([base.arg, 'sync'], { child: t.CHILD_MANY })
  assert.deepStrictEqual(r0.child, { ok: true })
  const calls = t.parseTrace(r0.trace)
  const rel = t.relevant(calls, base.dir)
  const firstRename = rel.findIndex((c) => c.name.startsWith('rename'))
  const lastRename = rel.length - 1 - [...rel].reverse().findIndex((c) => c.name.startsWith('rename'))
  let runs = 0
  for (const [i, c] of rel.entries()) {
    let b
    const r = t.injectAt([base.arg, 'sync'], { calls, rel, i, spec: 'error=EIO', dir: base.dir, prepare: () => { b = fresh(base.dir) }, child: t.CHILD_MANY })
    const what = `${c.name} #${r.n} (call ${i} of the batch) failing with EIO`
    const now = b.files.map((f) => (fs.existsSync(f.target) ? fs.readFileSync(f.target) : null))
    const isNew = now.map((d, k) => d !== null && d.equals(b.files[k].data))
    const isOld = now.map((d, k) => (b.files[k].old === null ? d === null : d !== null && d.equals(b.files[k].old)))
    if (c.name === 'close' && i > lastRename) {
      // A directory's close after its fsync succeeded: nothing to report.
      assert.deepStrictEqual(r.child, { ok: true }, what)
    } else {
      assert.ok(r.child && !r.child.ok, `${what}: must fail (${JSON.stringify(r.child)})`)
      assert.strictEqual(r.child.code, 'EIO', what)
      assert.strictEqual(r.child.syscall, t.errName(c.name), what)
    }
    for (const k of b.files.keys()) assert.ok(isNew[k] || isOld[k], `${what}: ${b.files[k].target} is neither old nor new`)
    if (i < firstRename) assert.ok(isOld.every(Boolean), `${what}: a failure before the first rename touches no file`)
    if (i > lastRename) assert.ok(isNew.every(Boolean), `${what}: after the last rename every file is new`)
    for (const d of ['x', 'y']) assert.deepStrictEqual(fs.readdirSync(path.join(b.dir, d)).filter((n) => n.endsWith('.dfstmp')), [], `${what}: temp files left`)
    runs++
  }
  fs.rmSync(base.dir, { recursive: true })
  console.log(`crash-strace: fault injection into the real batch write: ${rel.length} calls, ${runs} cases, 0 violations`)
})
