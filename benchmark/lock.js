#!/usr/bin/env node
'use strict'
// Lock benchmark: durable-fs against proper-lockfile and npm's lockfile, in the same run.
//   node benchmark/lock.js [--ms 1000] [--workers 8] [--cycles 200] [--dir DIR] [--no-recovery]
// 1. Uncontended acquire+release cycles per second, sync and async, on tmpfs (/dev/shm) and on
//    the disk (os.tmpdir()).
// 2. Contended: --workers processes x --cycles lock / read counter / write counter+1 / unlock,
//    all starting at one instant; wall time until the last finishes, and lost updates.
// 3. Recovery: a holder is SIGKILLed while another process waits; time until the waiter holds it.
// Peers load from benchmark/node_modules (benchmark/package.json, installed on first use), or
// from $LOCK_BENCH_PEERS.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawn, spawnSync } = require('node:child_process')
const { promisify } = require('node:util')

const ROOT = path.join(__dirname, '..')
const dfs = require(ROOT)

const argv = process.argv.slice(2)
const opt = (name, dflt) => {
  const i = argv.indexOf(name)
  return i >= 0 ? argv[i + 1] : dflt
}
const MS = Number(opt('--ms', 1000))
const WORKERS = Number(opt('--workers', 8))
const CYCLES = Number(opt('--cycles', 200))

function peer (name) {
  const where = [__dirname, process.env.LOCK_BENCH_PEERS].filter(Boolean)
  try {
    return require(require.resolve(name, { paths: where }))
  } catch {}
  if (fs.existsSync(path.join(__dirname, 'package.json')) && !fs.existsSync(path.join(__dirname, 'node_modules', name))) {
    const ci = fs.existsSync(path.join(__dirname, 'package-lock.json'))
    spawnSync('npm', [ci ? 'ci' : 'install', '--no-audit', '--no-fund'], { cwd: __dirname, stdio: 'inherit' })
    try {
      return require(require.resolve(name, { paths: where }))
    } catch {}
  }
  return null
}

// Each implementation: sync and async acquire returning a release function.
function impls () {
  const list = [{
    name: 'durable-fs',
    lockSync: (t) => dfs.lockSync(t),
    lock: (t, o = {}) => dfs.lock(t, { timeoutMs: o.waitMs ?? 60000 })
  }]
  const pl = peer('proper-lockfile')
  if (pl) {
    const retries = (waitMs) => ({ retries: Math.ceil(waitMs / 10), minTimeout: 1, maxTimeout: 25, factor: 1.5 })
    list.push({
      name: 'proper-lockfile',
      lockSync: (t) => pl.lockSync(t, { realpath: false }),
      lock: (t, o = {}) => pl.lock(t, { realpath: false, retries: retries(o.waitMs ?? 60000) })
    })
  }
  const lf = peer('lockfile')
  if (lf) {
    const lockA = promisify(lf.lock)
    const unlockA = promisify(lf.unlock)
    list.push({
      name: 'lockfile',
      lockSync: (t) => {
        lf.lockSync(`${t}.lock`)
        return () => lf.unlockSync(`${t}.lock`)
      },
      lock: async (t, o = {}) => {
        await lockA(`${t}.lock`, { wait: o.waitMs ?? 60000, pollPeriod: 1 })
        return () => unlockA(`${t}.lock`)
      }
    })
  }
  if (list.length < 3) console.log('(peers missing: run `npm install` in benchmark/, or set LOCK_BENCH_PEERS to a directory holding proper-lockfile and lockfile)')
  return list
}

const byName = (n) => impls().find((i) => i.name === n)

async function child () {
  const [, implName, mode, target, a, b] = argv
  const impl = byName(implName)
  if (mode === 'contend') {
    const startAt = Number(a)
    const cycles = Number(b)
    while (Date.now() < startAt) { /* common start */ }
    for (let i = 0; i < cycles; i++) {
      const release = await impl.lock(target)
      const n = Number(fs.readFileSync(target, 'utf8'))
      fs.writeFileSync(target, String(n + 1))
      await release()
    }
    process.stdout.write(`end ${Date.now()}\n`)
  } else if (mode === 'hold') {
    await impl.lock(target)
    process.stdout.write('ready\n')
    setInterval(() => {}, 1 << 30)
  }
}

function tmp (base, tag) {
  return fs.mkdtempSync(path.join(base, `dfs-lockbench-${tag}-`))
}

async function uncontended (impl, base) {
  const dir = tmp(base, 'u')
  const t = path.join(dir, 'target')
  fs.writeFileSync(t, '')
  const out = {}
  let n = 0
  let t0 = performance.now()
  while (performance.now() - t0 < MS) {
    for (let i = 0; i < 100; i++) impl.lockSync(t)()
    n += 100
  }
  out.sync = n / ((performance.now() - t0) / 1000)
  n = 0
  t0 = performance.now()
  while (performance.now() - t0 < MS) {
    for (let i = 0; i < 100; i++) await (await impl.lock(t))()
    n += 100
  }
  out.async = n / ((performance.now() - t0) / 1000)
  fs.rmSync(dir, { recursive: true, force: true })
  return out
}

function spawnChild (implName, args) {
  const c = spawn(process.execPath, [__filename, '--child', implName, ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
  c.out = ''
  c.stdout.on('data', (d) => { c.out += d })
  c.done = new Promise((resolve) => c.on('exit', resolve))
  return c
}

async function contended (impl, base) {
  const dir = tmp(base, 'c')
  const t = path.join(dir, 'counter')
  fs.writeFileSync(t, '0')
  const startAt = Date.now() + 1500
  const kids = Array.from({ length: WORKERS }, () => spawnChild(impl.name, ['contend', t, String(startAt), String(CYCLES)]))
  await Promise.all(kids.map((k) => k.done))
  const ends = kids.map((k) => Number((/end (\d+)/.exec(k.out) || [])[1]))
  const final = Number(fs.readFileSync(t, 'utf8'))
  fs.rmSync(dir, { recursive: true, force: true })
  return { wallMs: ends.some(Number.isNaN) ? NaN : Math.max(...ends) - startAt, lost: WORKERS * CYCLES - final }
}

async function recovery (impl, base, waitMs) {
  const dir = tmp(base, 'r')
  const t = path.join(dir, 'target')
  fs.writeFileSync(t, '')
  const h = spawnChild(impl.name, ['hold', t])
  await new Promise((resolve) => h.stdout.on('data', () => h.out.includes('ready') && resolve()))
  const waiting = impl.lock(t, { waitMs }).then((release) => ({ release }), (err) => ({ err }))
  await new Promise((resolve) => setTimeout(resolve, 200))
  const t0 = performance.now()
  h.kill('SIGKILL')
  const r = await waiting
  const ms = performance.now() - t0
  if (r.release) await r.release()
  await h.done
  fs.rmSync(dir, { recursive: true, force: true })
  return r.err ? { ms: null, gaveUpAfter: ms } : { ms }
}

const fmt = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a')

async function main () {
  const list = impls()
  const bases = [['tmpfs', '/dev/shm'], ['disk', os.tmpdir()]].filter(([, d]) => fs.existsSync(d))
  const only = opt('--dir')
  const targets = only ? [['dir', only]] : bases
  console.log(`node ${process.version}, ${os.cpus().length} cpus, durable-fs backend: ${dfs.backend}`)
  console.log('\n### Uncontended acquire+release, cycles/s')
  console.log('| implementation | ' + targets.map(([n]) => `sync (${n}) | async (${n})`).join(' | ') + ' |')
  console.log('|---|' + targets.map(() => '---:|---:').join('|') + '|')
  for (const impl of list) {
    const cells = []
    for (const [, d] of targets) {
      const r = await uncontended(impl, d)
      cells.push(fmt(r.sync), fmt(r.async))
    }
    console.log(`| ${impl.name} | ${cells.join(' | ')} |`)
  }
  const base = targets[0][1]
  console.log(`\n### Contended: ${WORKERS} processes x ${CYCLES} lock/read/increment/write/unlock (${targets[0][0]})`)
  console.log('| implementation | wall time (ms) | lost updates |')
  console.log('|---|---:|---:|')
  for (const impl of list) {
    const r = await contended(impl, base)
    console.log(`| ${impl.name} | ${fmt(r.wallMs)} | ${r.lost} |`)
  }
  if (!argv.includes('--no-recovery')) {
    console.log(`\n### Recovery: waiter acquires after the holder is SIGKILLed (${targets[0][0]})`)
    console.log('| implementation | time to acquire (ms) |')
    console.log('|---|---:|')
    for (const impl of list) {
      // proper-lockfile recovers after its stale time (10 s by default); lockfile never does
      // without opts.stale: give up after 3 s.
      const waitMs = impl.name === 'proper-lockfile' ? 15000 : impl.name === 'lockfile' ? 3000 : 10000
      const runs = impl.name === 'durable-fs' ? 5 : 1
      const times = []
      let gaveUp = null
      for (let i = 0; i < runs; i++) {
        const r = await recovery(impl, base, waitMs)
        if (r.ms === null) gaveUp = r.gaveUpAfter
        else times.push(r.ms)
      }
      const cell = gaveUp !== null ? `never (gave up after ${fmt(gaveUp)})` : times.map((t) => t.toFixed(1)).join(', ')
      console.log(`| ${impl.name} | ${cell} |`)
    }
  }
}

if (argv[0] === '--child') {
  child().catch((e) => {
    console.error(e)
    process.exit(1)
  })
} else {
  main().catch((e) => {
    console.error(e)
    process.exit(1)
  })
}
