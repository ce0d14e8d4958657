'use strict'
// A lock/update cycle of the real addon (withLock: lock, write the file atomically, release) under
// strace: its calls, replayed on the simulator, never leave the lock path naming an empty or
// unparseable record when the holder is killed after any of them, the next acquire reaps at once,
// a power cut leaves the file old or new, and the order is the simulated one; the check catches
// the same trace with the lock published before its record is written; and an EIO injected into
// each call of the cycle gives a clean error with no lock left held. Native backend only.

const test = require('node:test')
const assert = require('node:assert')
const fs = require('node:fs')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const { tmpdir, BACKEND } = require('./helpers')
// scripts/crash/ holds the tracer and children; a staged copy of the package (test:platforms)
// has only __test__/, so the suite says it is skipped there.
const t = (() => { try { return require('../scripts/crash/trace') } catch { return null } })()
const NO_SCRIPTS = 'scripts/crash/ is not in this copy of the package (a staged platform test)'

const skip = !t ? NO_SCRIPTS : BACKEND !== 'native' ? 'strace checks run once, with the native backend' : !t.hasStrace() ? 'strace is not installed (scripts/setup.d/10-system.sh installs it)' : false

const OLD = Buffer.from('{"version":1}')
const NEW = Buffer.from('{"version":2,"updated":"under the lock"}')

function fresh (reuse = null) {
  if (reuse) fs.rmSync(reuse, { recursive: true, force: true })
  if (reuse) fs.mkdirSync(reuse)
  const dir = reuse || fs.realpathSync(tmpdir('dfs-crash-lock-'))
  const target = path.join(dir, 'registry.json')
  fs.writeFileSync(target, OLD)
  fs.chmodSync(target, 0o644)
  return { dir, target, lock: `${target}.lock` }
}

const args = (f, how) => [f.target, NEW.toString('hex'), '644', how]

test('the real lock/update cycle, replayed: valid lock at every kill point, old or new at every power cut, simulated order', { skip }, () => {
  for (const how of ['sync', 'async']) {
    const f = fresh()
    const r0 = t.runTraced(args(f, how), { child: t.CHILD_LOCK })
    assert.deepStrictEqual(r0.child, { ok: true }, r0.stderr)
    const ops = t.toOps(t.parseTrace(r0.trace), f.dir)
    const r = t.checkLock({ ops, dir: f.dir, target: f.target, lock: f.lock, old: OLD, oldMode: 0o644, data: NEW, mode: 0o644 })
    console.log(`crash-strace: lock/update cycle ${how}: ${r.replayed} calls replayed, ${r.killPoints} kill points, ${r.states} power-cut states (${r.distinct} distinct), ${r.violations.length} violations, order ${r.orderMatch ? 'matches' : 'DIFFERS'}`)
    assert.deepStrictEqual(r.violations, [])
    assert.deepStrictEqual(r.realOrder, r.simOrder)
    fs.rmSync(f.dir, { recursive: true })
  }
})

test('the check catches the real cycle with the lock published before its record is written', { skip }, () => {
  const f = fresh()
  const r0 = t.runTraced(args(f, 'sync'), { child: t.CHILD_LOCK })
  const ops = t.toOps(t.parseTrace(r0.trace), f.dir).trimEnd().split('\n')
  const link = ops.findIndex((l) => l.startsWith('linkfd\t') || (l.startsWith('link\t') && l.endsWith('.lock')))
  const fd = ops[link].split('\t')[1]
  const write = ops.findIndex((l, i) => i < link && l.startsWith('write\t'))
  assert.ok(link > 0 && write >= 0, 'the trace holds the record write and the publishing link')
  const broken = ops.slice()
  const [w] = broken.splice(write, 1)
  broken.splice(link, 0, w)
  assert.ok(fd)
  const r = t.checkLock({ ops: broken.join('\n') + '\n', dir: f.dir, target: f.target, lock: f.lock, old: OLD, oldMode: 0o644, data: NEW, mode: 0o644 })
  console.log(`crash-strace: broken variant of the real cycle: published before written: ${r.killPoints} kill points, ${r.violations.length} violations (e.g. ${r.violations[0]})`)
  assert.ok(r.violations.some((v) => /no valid record/.test(v)), JSON.stringify(r.violations))
  fs.rmSync(f.dir, { recursive: true })
})

test('an EIO injected into each system call of the real lock/update cycle: clean error, no lock left held', { skip }, () => {
  const base = fresh()
  const r0 = t.runTraced(args(base, 'sync'), { child: t.CHILD_LOCK })
  assert.deepStrictEqual(r0.child, { ok: true })
  const calls = t.parseTrace(r0.trace)
  const rel = t.relevant(calls, base.dir)
  let runs = 0
  for (const [i, c] of rel.entries()) {
    let f
    const r = t.injectAt(args(base, 'sync'), { calls, rel, i, spec: 'error=EIO', dir: base.dir, prepare: () => { f = fresh(base.dir) }, child: t.CHILD_LOCK })
    const what = `${c.name} #${r.n} (call ${i} of the cycle) failing with EIO`
    assert.ok(r.child, `${what}: the child reports`)
    if (!r.child.ok) assert.strictEqual(r.child.code, 'EIO', `${what}: ${r.child.message}`)
    const now = fs.readFileSync(f.target)
    assert.ok(now.equals(OLD) || now.equals(NEW), `${what}: the file is old or new`)
    if (r.child.ok) assert.ok(now.equals(NEW), `${what}: reported success, so the file is new`)
    assert.deepStrictEqual(fs.readdirSync(f.dir).filter((n) => n.endsWith('.dfstmp') || n.endsWith('.stage') || n.endsWith('.reap')), [], `${what}: temp or staging files left`)
    // No lock stays held: the next cycle gets the lock at once (a lock file left by a failed
    // unlink is dead and reaped) and leaves nothing.
    const again = spawnSync(process.execPath, [t.CHILD_LOCK, ...args(f, 'sync')], { cwd: t.ROOT, encoding: 'utf8', env: { ...process.env, DURABLE_FS_BACKEND: 'native' } })
    assert.deepStrictEqual(JSON.parse(again.stdout.trim()), { ok: true }, `${what}: the next cycle`)
    assert.deepStrictEqual(fs.readdirSync(f.dir), ['registry.json'], `${what}: after the next cycle`)
    runs++
  }
  fs.rmSync(base.dir, { recursive: true })
  console.log(`crash-strace: fault injection into the real lock/update cycle: ${rel.length} calls, ${runs} cases, 0 violations`)
})
