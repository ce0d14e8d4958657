'use strict'
// Native and WebAssembly processes sharing one lock: concurrent updateJson increments of one
// counter (exact count, no two holds overlap), and a SIGKILLed holder of one backend recovered by
// a waiter of the other. A wasm holder has no kernel lock, so a native waiter must judge it by PID
// and start time; a wasm waiter cannot probe a native holder's kernel lock, so it judges by PID too.
// Each child picks its backend explicitly, so the suite runs once (in the native pass).

const test = require('node:test')
const assert = require('node:assert')
const fs = require('node:fs')
const path = require('node:path')
const { spawn } = require('node:child_process')
const { ROOT, BACKEND, tmpdir, parseHolds, assertNoOverlap } = require('./helpers')

const CHILD = path.join(__dirname, 'fixtures', 'lock-child.js')
const wasmBuilt = fs.existsSync(path.join(ROOT, 'wasm', 'durable_fs_wasm.js'))
const skip = (!wasmBuilt && 'wasm/ is not built (scripts/build-wasm.sh)') ||
  (BACKEND !== 'native' && 'spawns native and wasm children itself: runs once, in the native pass')

function run (backend, args) {
  const child = spawn(process.execPath, args[0] === '-e' ? args : [CHILD, ...args], {
    cwd: ROOT,
    env: { ...process.env, DURABLE_FS_BACKEND: backend },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  child.out = ''
  child.err = ''
  child.stdout.on('data', (d) => { child.out += d })
  child.stderr.on('data', (d) => { child.err += d })
  child.done = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })))
  child.waitFor = (text) => new Promise((resolve, reject) => {
    const check = () => child.out.includes(text) && resolve()
    child.stdout.on('data', check)
    child.done.then(() => reject(new Error(`${backend} child exited before "${text}": ${child.err}`)))
    check()
  })
  return child
}

test('4 native + 4 wasm processes x 100 updateJson increments of one counter: exactly 800, no overlapping holds', { skip }, async (t) => {
  const dir = tmpdir('dfs-mixed-')
  const target = path.join(dir, 'counter.json')
  const log = path.join(dir, 'log')
  fs.writeFileSync(log, '')
  const per = 100
  const kids = Array.from({ length: 8 }, (_, w) => run(w % 2 ? 'wasm' : 'native', ['inc', target, log, String(w), String(per)]))
  const results = await Promise.all(kids.map((k) => k.done))
  kids.forEach((k, i) => assert.deepStrictEqual(results[i], { code: 0, signal: null }, k.err))
  const final = JSON.parse(fs.readFileSync(target, 'utf8'))
  assert.strictEqual(final.n, 8 * per)
  for (let w = 0; w < 8; w++) assert.strictEqual(final.done[w], per, `worker ${w}`)
  // Every increment is one completed hold (a worker stops after its last increment), and no
  // holder entered while another was inside.
  assert.strictEqual(assertNoOverlap(parseHolds(log)).completed, 8 * per)
  assert.strictEqual(fs.readFileSync(log, 'utf8').split('\n').filter((l) => l.startsWith('E ')).length, 8 * per)
  const byBackend = { native: 0, wasm: 0 }
  const pids = new Map(kids.map((k, w) => [k.pid, w % 2 ? 'wasm' : 'native']))
  for (const l of fs.readFileSync(log, 'utf8').split('\n').filter((l) => l.startsWith('E '))) byBackend[pids.get(Number(l.split(' ')[1]))]++
  t.diagnostic(`holds: native ${byBackend.native}, wasm ${byBackend.wasm}`)
  assert.ok(byBackend.native > per && byBackend.wasm > per, 'both backends took the lock')
  assert.deepStrictEqual(fs.readdirSync(dir).sort(), ['counter.json', 'log'], 'no lock, guard or staging file left')
})

test('the same with SIGKILLs of lock holders of both backends: exact count, no overlap outside a killed holder', { skip }, async (t) => {
  const dir = tmpdir('dfs-mixed-')
  const target = path.join(dir, 'counter.json')
  const log = path.join(dir, 'log')
  fs.writeFileSync(log, '')
  const per = 60
  const killedAt = new Map()
  const live = new Set()
  const kills = { native: 0, wasm: 0 }
  // Each slot respawns its worker (same backend) after a SIGKILL; the count lives in the file.
  async function slot (w) {
    const backend = w % 2 ? 'wasm' : 'native'
    for (;;) {
      const k = run(backend, ['inc', target, log, String(w), String(per)])
      k.backend = backend
      live.add(k)
      const r = await k.done
      live.delete(k)
      if (r.code === 0) return
      assert.strictEqual(r.signal, 'SIGKILL', `worker ${w} (${backend}) failed: ${k.err}`)
    }
  }
  let running = true
  const killer = (async () => {
    while (running && kills.native + kills.wasm < 24) {
      await new Promise((resolve) => setTimeout(resolve, 80 + Math.random() * 120))
      let pid = null
      try { pid = JSON.parse(fs.readFileSync(`${target}.lock`, 'utf8')).pid } catch {}
      const victim = [...live].find((k) => k.pid === pid)
      if (!running || !victim) continue
      killedAt.set(victim.pid, process.hrtime.bigint())
      victim.kill('SIGKILL')
      kills[victim.backend]++
    }
  })()
  await Promise.all(Array.from({ length: 8 }, (_, w) => slot(w)))
  running = false
  await killer
  const final = JSON.parse(fs.readFileSync(target, 'utf8'))
  assert.strictEqual(final.n, 8 * per)
  for (let w = 0; w < 8; w++) assert.strictEqual(final.done[w], per, `worker ${w}`)
  assertNoOverlap(parseHolds(log), killedAt)
  t.diagnostic(`SIGKILLed holders: native ${kills.native}, wasm ${kills.wasm}`)
  assert.ok(kills.native > 0 && kills.wasm > 0, 'holders of both backends were killed')
  const left = fs.readdirSync(dir).filter((n) => n !== 'counter.json' && n !== 'log' && !n.endsWith('.dfstmp'))
  assert.deepStrictEqual(left.filter((n) => !n.endsWith('.stage')), [], 'no lock or guard file left')
})

for (const [holder, waiter] of [['wasm', 'native'], ['native', 'wasm']]) {
  test(`a SIGKILLed ${holder} holder is recovered by a ${waiter} waiter`, { skip }, async () => {
    const dir = tmpdir('dfs-mixed-')
    const target = path.join(dir, 'r')
    for (let i = 0; i < 3; i++) {
      const h = run(holder, ['hold', target])
      await h.waitFor('ready')
      const record = JSON.parse(fs.readFileSync(`${target}.lock`, 'utf8'))
      assert.strictEqual(record.pid, h.pid)
      assert.strictEqual(record.kernelLock, holder === 'native', `a ${holder} holder records kernelLock: ${holder === 'native'}`)
      const code = `const d = require('./'); const t = ${JSON.stringify(target)}
        console.log('waiting', d.backend)
        d.lock(t, { timeoutMs: 20000 }).then((release) => { console.log('got'); return release() }).catch((e) => { console.error(e); process.exit(1) })`
      const w = run(waiter, ['-e', code])
      await w.waitFor('waiting')
      // The waiter sees a live holder and keeps waiting.
      await new Promise((resolve) => setTimeout(resolve, 150))
      assert.ok(!w.out.includes('got'), `the ${waiter} waiter must not take a live ${holder} holder's lock`)
      h.kill('SIGKILL')
      assert.deepStrictEqual(await w.done, { code: 0, signal: null }, w.err)
      assert.match(w.out, new RegExp(`waiting ${waiter}\\ngot`))
      await h.done
      assert.ok(!fs.existsSync(`${target}.lock`), 'the waiter released the lock')
    }
  })
}
