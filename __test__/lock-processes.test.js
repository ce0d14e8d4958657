'use strict'
// Locks across real processes: reapers racing at a barrier, 8 x 200 updateJson increments, the
// same with a killer SIGKILLing workers (some inside the critical section), recovery after SIGKILL.
// Overlap is judged from enter/exit lines every holder appends to one O_APPEND log while it holds
// the lock, stamped with process.hrtime.bigint() (CLOCK_MONOTONIC on Linux: one clock for all
// processes of the machine).

const test = require('node:test')
const assert = require('node:assert')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawn, spawnSync } = require('node:child_process')
const dfs = require('..')
const { ROOT, BACKEND, tmpdir, parseHolds, assertNoOverlap } = require('./helpers')

const CHILD = path.join(__dirname, 'fixtures', 'lock-child.js')

// The WebAssembly binding gains the lock calls with its own work; until then say so.
if (!require('../lib/lock').hasLocks()) {
  test('locks', { skip: `the ${BACKEND} backend has no lock calls yet` }, () => {})
  return
}
const WORKERS = 8
const INCREMENTS = 200
const MAX_KILLS = 40

// `noKernelLocks`: the child locks like the WebAssembly backend (DURABLE_FS_NO_KERNEL_LOCKS=1):
// no flock, judged by pid and start time, reaping under the guard file only.
function run (args, noKernelLocks = false) {
  const child = spawn(process.execPath, [CHILD, ...args], {
    cwd: ROOT,
    env: { ...process.env, DURABLE_FS_BACKEND: BACKEND, ...(noKernelLocks ? { DURABLE_FS_NO_KERNEL_LOCKS: '1' } : {}) },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  child.out = ''
  child.err = ''
  child.stdout.on('data', (d) => { child.out += d })
  child.stderr.on('data', (d) => { child.err += d })
  child.done = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })))
  return child
}

function deadRecord (kernelLock) {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' })
  let boot = null
  try { boot = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() } catch {}
  return JSON.stringify({ nonce: 'deadbeefdeadbeef', pid: Number(r.stdout), start: 1, boot, host: os.hostname(), kernelLock, acquiredAt: 0, version: '0' })
}

async function barrierReapers (mixed) {
  const dir = tmpdir('dfs-lockp-')
  const lockPath = path.join(dir, 'shared.lock')
  const log = path.join(dir, 'log')
  const rounds = 4
  const reapers = 6
  for (let round = 0; round < rounds; round++) {
    fs.writeFileSync(lockPath, deadRecord(round % 2 === 0))
    // Start far enough ahead for every process to be loaded and spinning at the barrier.
    const startAt = Date.now() + 1200
    const kids = Array.from({ length: reapers }, (_, i) => run(['reap', lockPath, log, String(startAt)], mixed && i % 2 === 1))
    const results = await Promise.all(kids.map((k) => k.done))
    kids.forEach((k, i) => assert.deepStrictEqual(results[i], { code: 0, signal: null }, k.err))
  }
  const entries = parseHolds(log)
  assert.strictEqual(entries.length, 2 * rounds * reapers, 'every reaper got the lock once')
  assertNoOverlap(entries)
  assert.deepStrictEqual(fs.readdirSync(dir).sort(), ['log'], 'no lock, guard or staging file left')
}

test('reapers of the same dead lock starting at the same instant never both hold it', () => barrierReapers(false))

test('the same with half the reapers locking like the WebAssembly backend (no kernel locks)', () => barrierReapers(true))

async function increments (withKiller, mixed = false) {
  const dir = tmpdir('dfs-lockp-')
  const target = path.join(dir, 'counter.json')
  const log = path.join(dir, 'log')
  const killedAt = new Map()
  const acks = new Map()
  let kills = 0
  let running = true
  const t0 = process.hrtime.bigint()

  // Each worker slot runs until its count (kept in the file) reaches INCREMENTS; a killed worker is
  // replaced by a fresh process for the same slot, which continues from the file.
  async function slot (w) {
    for (;;) {
      const k = run(['inc', target, log, String(w), String(INCREMENTS)], mixed && w % 2 === 1)
      k.w = w
      live.add(k)
      const r = await k.done
      live.delete(k)
      for (const line of k.out.split('\n')) {
        const m = /^ack (\d+) (\d+)$/.exec(line)
        if (m) acks.set(w, Math.max(acks.get(w) || 0, Number(m[2])))
      }
      if (r.code === 0) return
      assert.strictEqual(r.signal, 'SIGKILL', `worker ${w} failed: ${k.err}`)
    }
  }
  const live = new Set()

  async function killer () {
    while (running && kills < MAX_KILLS) {
      await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 200))
      if (!running || live.size === 0) continue
      // Two kills in three target the lock's holder (the pid in the lock file), the others a
      // random worker.
      let victim
      if (kills % 3 !== 2) {
        let pid = null
        try { pid = JSON.parse(fs.readFileSync(`${target}.lock`, 'utf8')).pid } catch {}
        victim = [...live].find((k) => k.pid === pid)
      }
      if (!victim) victim = [...live][Math.floor(Math.random() * live.size)]
      killedAt.set(victim.pid, process.hrtime.bigint())
      victim.kill('SIGKILL')
      kills++
    }
  }

  fs.writeFileSync(log, '')
  const k = withKiller ? killer() : null
  await Promise.all(Array.from({ length: WORKERS }, (_, w) => slot(w)))
  running = false
  await k
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9

  const final = JSON.parse(fs.readFileSync(target, 'utf8'))
  assert.strictEqual(final.n, WORKERS * INCREMENTS)
  for (let w = 0; w < WORKERS; w++) {
    assert.strictEqual(final.done[w], INCREMENTS, `worker ${w}`)
    assert.ok((acks.get(w) || 0) <= final.done[w], 'every acknowledged increment survived')
  }
  const { killedInside } = assertNoOverlap(parseHolds(log), killedAt)
  // (A worker killed inside atomicWriteFile may leave its temp file: the write protocol's
  // documented leftover, removed by sweepTempFilesSync; not the lock's business.)
  const left = fs.readdirSync(dir).filter((n) => n !== 'counter.json' && n !== 'log' && !n.endsWith('.dfstmp'))
  return { seconds, kills, killedInside, left }
}

test(`${WORKERS} processes x ${INCREMENTS} updateJson increments: ${WORKERS * INCREMENTS}, no overlapping holds`, async (t) => {
  const r = await increments(false)
  t.diagnostic(`${WORKERS}x${INCREMENTS} updateJson (fsync on) took ${r.seconds.toFixed(2)} s`)
  assert.deepStrictEqual(r.left, [], 'no lock or staging file left')
})

test('the same while a killer SIGKILLs workers, some inside the critical section', async (t) => {
  const r = await increments(true)
  t.diagnostic(`with ${r.kills} SIGKILLs (${r.killedInside} inside the critical section): ${r.seconds.toFixed(2)} s`)
  assert.ok(r.kills > 0)
  assert.ok(r.killedInside > 0, 'some holders were killed inside the critical section')
  // No lock or guard file is left. (On Linux the staging file is unnamed, so a worker killed
  // while acquiring leaves nothing; elsewhere a named one may remain until the next reap sweeps it.)
  assert.deepStrictEqual(r.left.filter((n) => !n.endsWith('.stage')), [])
  // (The wasm backend cannot create unnamed files: Node has no O_TMPFILE + linkat.)
  if (process.platform === 'linux' && BACKEND === 'native') assert.deepStrictEqual(r.left, [])
})

test('the same with half the workers locking like the WebAssembly backend (no kernel locks)', async (t) => {
  const r = await increments(true, true)
  t.diagnostic(`mixed: ${r.kills} SIGKILLs (${r.killedInside} inside the critical section): ${r.seconds.toFixed(2)} s`)
  assert.ok(r.killedInside > 0, 'some holders were killed inside the critical section')
  assert.deepStrictEqual(r.left.filter((n) => !n.endsWith('.stage')), [])
})

test('after a holder is SIGKILLed the next waiter acquires within one backoff step', async (t) => {
  const dir = tmpdir('dfs-lockp-')
  const target = path.join(dir, 'r')
  const times = []
  for (let i = 0; i < 5; i++) {
    const h = run(['hold', target])
    await new Promise((resolve) => h.stdout.on('data', () => h.out.includes('ready') && resolve()))
    const waiting = dfs.lock(target, { timeoutMs: 10000 })
    await new Promise((resolve) => setTimeout(resolve, 100)) // the waiter is at its longest backoff
    const t = process.hrtime.bigint()
    h.kill('SIGKILL')
    const release = await waiting
    times.push(Number(process.hrtime.bigint() - t) / 1e6)
    await release()
    await h.done
  }
  t.diagnostic(`recovery after SIGKILL: ${times.map((t) => t.toFixed(1)).join(', ')} ms (backoff step <= 25 ms)`)
})
