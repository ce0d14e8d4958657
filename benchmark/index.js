'use strict'
// npm run bench: durable-fs against its peers, every writer interleaved round-robin in this one
// process (separate-process runs of the same thing varied tenfold on this machine).
//
//   node benchmark/index.js [--rounds N] [--ms MS] [--only TEXT] [--json FILE] [--no-locks]
//
// Scenarios: tmpfs (mounted here when root, else the temp directory, as the output says) and the
// disk (the temp directory); 1 KiB, 64 KiB and 1 MiB; sequential; 64 in flight to 64 files in one
// directory (64 lanes, each rewriting its file as soon as its previous write resolved); 64 in
// flight to one file (waves of 64 issued together, checking after each that the last issued won). Each writer runs for
// about MS milliseconds per round (at least one wave) after an uncounted warm-up round; figures
// are medians over the rounds.
// benchmark/lock.js (the lock work's benchmark), when present, runs afterwards.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const { monitorEventLoopDelay } = require('node:perf_hooks')

const ROOT = path.join(__dirname, '..')
const argv = process.argv.slice(2)
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`)
  return i >= 0 ? argv[i + 1] : dflt
}
const ROUNDS = opt('rounds', '') // default: 5 on tmpfs (cheap), 3 on the disk
const MS = Number(opt('ms', 0)) // 0: per file system defaults below
const ONLY = opt('only', '')
const JSON_OUT = opt('json', '')
const KiB = 1024

// ---- set-up: peers installed, addon and floor built --------------------------------------------
function sh (cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, stdio: 'inherit' })
  if (r.status !== 0) throw new Error(`bench set-up failed: ${cmd} ${args.join(' ')}`)
}
function setup () {
  if (!fs.existsSync(path.join(__dirname, 'node_modules', 'write-file-atomic'))) {
    console.log('== installing the benchmark peers (benchmark/package.json)')
    sh('npm', [fs.existsSync(path.join(__dirname, 'package-lock.json')) ? 'ci' : 'install', '--no-audit', '--no-fund'], __dirname)
  }
  if (!fs.readdirSync(ROOT).some((n) => n.endsWith('.node'))) sh('bash', ['scripts/build-native.sh'], ROOT)
  sh('cargo', ['build', '--quiet', '--release', '-p', 'durable-fs-core', '--example', 'floor'], ROOT)
  const target = process.env.CARGO_TARGET_DIR ? path.resolve(ROOT, process.env.CARGO_TARGET_DIR) : path.join(ROOT, 'target')
  return path.join(target, 'release', 'examples', 'floor')
}

// ---- file systems ------------------------------------------------------------------------------
function fsTypeOf (dir) {
  const mounts = fs.readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')).filter((f) => f.length > 2)
  let best = null
  for (const [, mnt, type] of mounts) {
    if ((dir === mnt || dir.startsWith(mnt === '/' ? '/' : mnt + '/')) && (!best || mnt.length >= best.mnt.length)) best = { mnt, type }
  }
  return best ? best.type : 'unknown'
}
function fileSystems () {
  const list = []
  const base = fs.realpathSync(os.tmpdir())
  const tmpfsDir = fs.mkdtempSync(path.join(base, 'dfs-bench-tmpfs-'))
  let tmpfs = { name: 'tmpfs', dir: tmpfsDir, note: '', cleanup: () => fs.rmSync(tmpfsDir, { recursive: true, force: true }) }
  const root = process.getuid && process.getuid() === 0
  const m = root ? spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1g', 'tmpfs', tmpfsDir], { encoding: 'utf8' }) : null
  if (m && m.status === 0) {
    tmpfs.note = `tmpfs mounted by the bench at ${tmpfsDir}`
    tmpfs.cleanup = () => { spawnSync('umount', ['-l', tmpfsDir]); fs.rmSync(tmpfsDir, { recursive: true, force: true }) }
  } else {
    tmpfs.note = `NOT a tmpfs: ${root ? 'mount failed' : 'not root'}, so "tmpfs" runs in ${tmpfsDir} (${fsTypeOf(tmpfsDir)})`
  }
  list.push(tmpfs)
  const diskDir = fs.mkdtempSync(path.join(base, 'dfs-bench-disk-'))
  list.push({ name: 'disk', dir: diskDir, note: `disk: ${diskDir} (${fsTypeOf(diskDir)})`, cleanup: () => fs.rmSync(diskDir, { recursive: true, force: true }) })
  return list
}

// ---- one writer, one round ---------------------------------------------------------------------
const now = () => process.hrtime.bigint()
const stats = (lat) => {
  const s = Float64Array.from(lat).sort()
  const at = (q) => s.length ? s[Math.min(s.length - 1, Math.floor(s.length * q))] / 1000 : NaN
  return { p50: at(0.5), p99: at(0.99) }
}

function emptyDir (dir) {
  for (const n of fs.readdirSync(dir)) fs.rmSync(path.join(dir, n), { force: true, recursive: true })
}

async function runJs (w, sc, dir, bufs, budget) {
  const lat = []
  const h = monitorEventLoopDelay({ resolution: 1 })
  let lastWins = true
  h.enable()
  const t0 = now()
  const elapsed = () => Number(now() - t0) / 1e6
  if (sc.mode === 'seq') {
    const f = path.join(dir, 'f')
    if (w.kind === 'sync') {
      // A sync writer blocks the loop for the whole run, as it would in an application; the lag
      // column shows it.
      do {
        const s = now()
        w.write(f, bufs[0])
        lat.push(Number(now() - s))
      } while (elapsed() < budget || lat.length < 5)
    } else {
      do {
        const s = now()
        await w.write(f, bufs[0])
        lat.push(Number(now() - s))
      } while (elapsed() < budget || lat.length < 5)
    }
  } else if (sc.mode === 'files64') {
    // 64 lanes, each rewriting its own file: always 64 writes in flight.
    await Promise.all(Array.from({ length: 64 }, async (_, i) => {
      const f = path.join(dir, `f${i}`)
      do {
        const s = now()
        await w.write(f, bufs[i])
        lat.push(Number(now() - s))
      } while (elapsed() < budget)
    }))
  } else {
    // Waves of 64 writes to one file, issued together; after each wave the file must hold the
    // last issued data.
    const f = path.join(dir, 'one')
    do {
      await Promise.all(bufs.map((b) => {
        const s = now()
        return w.write(f, b).then(() => lat.push(Number(now() - s)))
      }))
      if (!fs.readFileSync(f).equals(bufs[63])) lastWins = false
    } while (elapsed() < budget)
  }
  const secs = elapsed() / 1000
  h.disable()
  return { ops: lat.length / secs, ...stats(lat), lag: h.percentile(99) / 1e6, lastWins: sc.mode === 'one64' ? lastWins : undefined }
}

function runRust (floor, sc, dir, budget, est) {
  const [threads, files] = sc.mode === 'seq' ? [1, 1] : sc.mode === 'files64' ? [4, 64] : [4, 1]
  const count = Math.max(sc.mode === 'seq' ? 5 : 64, Math.round((est || 0) * budget / 1000))
  const r = spawnSync(floor, [dir, String(sc.size), String(count), String(threads), String(files)], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`the Rust floor (${floor}) failed: ${r.error ? r.error.message : r.stderr}`)
  const j = JSON.parse(r.stdout)
  return { ops: j.ops / j.secs, p50: j.p50_us, p99: j.p99_us, lag: NaN, threads }
}

// ---- table -------------------------------------------------------------------------------------
const median = (xs) => {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b)
  if (!s.length) return NaN
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
const fmt = (x, d = 0) => Number.isNaN(x) || x === undefined ? '-' : x >= 1e4 && d === 0 ? Math.round(x).toLocaleString('en-US') : x.toFixed(d)
const us = (x) => Number.isNaN(x) ? '-' : x >= 10000 ? `${(x / 1000).toFixed(1)} ms` : `${x.toFixed(x < 100 ? 1 : 0)} us`

function printTable (sc, rows) {
  const head = ['writer', 'durable', 'ops/s', 'p50', 'p99', 'lag p99', 'durable-fs is']
  if (sc.mode === 'one64') head.push('last wins')
  const dfsOps = rows.find((r) => r.name === 'durable-fs' || r.name === 'durable-fs sync' && sc.mode === 'seq')
  const lines = rows.map((r) => {
    const cells = [r.name + (r.threads ? ` (${r.threads} thr)` : ''), r.durable ? 'yes' : 'no', fmt(r.ops), us(r.p50), us(r.p99), Number.isNaN(r.lag) ? '-' : `${r.lag.toFixed(1)} ms`,
      r.name === 'durable-fs' ? '1.00x' : `${(dfsOps.ops / r.ops).toFixed(2)}x`]
    if (sc.mode === 'one64') cells.push(r.lastWins === undefined ? '-' : r.lastWins ? `yes (${r.rounds}/${r.rounds})` : `NO (${r.lostRounds}/${r.rounds} lost)`)
    return cells
  })
  const width = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)))
  const row = (cells) => '| ' + cells.map((c, i) => (i === 0 ? c.padEnd(width[i]) : c.padStart(width[i]))).join(' | ') + ' |'
  console.log(`\n### ${sc.fs} · ${sc.size >= 1048576 ? sc.size / 1048576 + ' MiB' : sc.size / 1024 + ' KiB'} · ${sc.label}\n`)
  console.log(row(head))
  console.log('|' + width.map((w, i) => (i === 0 ? ':' + '-'.repeat(w + 1) : '-'.repeat(w + 1) + ':')).join('|') + '|')
  for (const l of lines) console.log(row(l))
}

// ---- targets -----------------------------------------------------------------------------------
function targets (res) {
  const get = (fsn, size, mode, name) => (res[`${fsn}/${size}/${mode}`] || []).find((r) => r.name === name)
  const out = []
  const ratio = (a, b) => (a && b ? a.ops / b.ops : NaN)
  const check = (what, value, goal, unit, higherBetter = true) => {
    const met = higherBetter ? value >= goal : value <= goal
    out.push(`${Number.isNaN(value) ? 'n/a ' : met ? 'MET ' : 'MISS'}  ${what}: ${Number.isNaN(value) ? 'not measured' : value.toFixed(2) + unit} (target ${higherBetter ? '>=' : '<='} ${goal}${unit})`)
  }
  const d = (fsn, size, mode) => get(fsn, size, mode, 'durable-fs')
  check('tmpfs seq 1 KiB, vs write-file-atomic', ratio(d('tmpfs', KiB, 'seq'), get('tmpfs', KiB, 'seq', 'write-file-atomic')), 15, 'x')
  check('tmpfs seq 1 KiB, durable-fs p50', d('tmpfs', KiB, 'seq') ? d('tmpfs', KiB, 'seq').p50 : NaN, 40, ' us', false)
  check('disk seq 1 KiB, vs Rust floor', ratio(d('disk', KiB, 'seq'), get('disk', KiB, 'seq', 'Rust floor')), 0.9, 'x')
  check('disk 64 in flight / 64 files 1 KiB, vs Rust per-write floor (4 threads)', ratio(d('disk', KiB, 'files64'), get('disk', KiB, 'files64', 'Rust floor')), 1.3, 'x')
  check('disk 64 in flight / 64 files 1 KiB, vs write-file-atomic', ratio(d('disk', KiB, 'files64'), get('disk', KiB, 'files64', 'write-file-atomic')), 2, 'x')
  check('disk 64 in flight / one file 1 KiB, vs write-file-atomic', ratio(d('disk', KiB, 'one64'), get('disk', KiB, 'one64', 'write-file-atomic')), 10, 'x')
  const one = d('disk', KiB, 'one64')
  out.push(`${one ? (one.lastWins ? 'MET ' : 'MISS') : 'n/a '}  disk 64 in flight / one file: durable-fs last issued wins in every round${one ? ` (${one.rounds - one.lostRounds}/${one.rounds})` : ''}`)
  for (const fsn of ['tmpfs', 'disk']) {
    const r = d(fsn, 1024 * KiB, 'files64')
    check(`${fsn} 64 x 1 MiB in flight, durable-fs event-loop lag p99${r ? ` (median of rounds; worst round ${r.lagMax.toFixed(1)} ms)` : ''}`, r ? r.lag : NaN, 10, ' ms', false)
  }
  return out
}

// A one-table summary: ops/s of every writer in the 1 KiB scenarios (and durable-fs's ratio to it).
function summary (res) {
  const cols = [['tmpfs', 'seq'], ['tmpfs', 'files64'], ['tmpfs', 'one64'], ['disk', 'seq'], ['disk', 'files64'], ['disk', 'one64']]
  const label = { seq: 'sequential', files64: '64 files', one64: 'one file' }
  const keys = cols.map(([f, m]) => `${f}/${KiB}/${m}`)
  if (!keys.some((k) => res[k])) return
  const names = []
  for (const k of keys) for (const r of res[k] || []) if (!names.includes(r.name)) names.push(r.name)
  const head = ['1 KiB, ops/s (durable-fs is Nx)', ...cols.map(([f, m]) => `${f} ${label[m]}`)]
  const rows = names.map((n) => [n, ...keys.map((k) => {
    const rows = res[k] || []
    const r = rows.find((x) => x.name === n)
    const d = rows.find((x) => x.name === 'durable-fs')
    if (!r) return '-'
    return n === 'durable-fs' ? fmt(r.ops) : `${fmt(r.ops)} (${(d.ops / r.ops).toFixed(1)}x)`
  })])
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((l) => l[i].length)))
  const row = (cells) => '| ' + cells.map((c, i) => (i === 0 ? c.padEnd(width[i]) : c.padStart(width[i]))).join(' | ') + ' |'
  console.log('\n### Summary\n')
  console.log(row(head))
  console.log('|' + width.map((w, i) => (i === 0 ? ':' + '-'.repeat(w + 1) : '-'.repeat(w + 1) + ':')).join('|') + '|')
  for (const r of rows) console.log(row(r))
}

// ---- main --------------------------------------------------------------------------------------
async function main () {
  const floor = setup()
  const { load } = require('./writers')
  const writers = await load()
  const fsList = fileSystems()
  const cleanup = () => fsList.forEach((f) => { try { f.cleanup() } catch {} })
  process.on('SIGINT', () => { cleanup(); process.exit(130) })
  const t0 = Date.now()
  const res = {}
  console.log(`durable-fs benchmark: Node ${process.version}, ${os.cpus().length} CPUs, UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE || '4 (default)'}, backend ${require('..').backend}`)
  console.log(`${ROUNDS || '5 (tmpfs) / 3 (disk)'} rounds after a warm-up round, writers interleaved round-robin; medians over rounds ('lag p99': event-loop delay while the writer ran)`)
  for (const f of fsList) console.log(`- ${f.note}`)
  console.log('- durable: a resolved write survives a power cut (file fsync before the rename and directory fsync after it)')
  try {
    for (const f of fsList) {
      for (const size of [KiB, 64 * KiB, 1024 * KiB]) {
        for (const [mode, label] of [['seq', 'sequential'], ['files64', '64 in flight to 64 files in one directory'], ['one64', '64 in flight to one file']]) {
          const sc = { fs: f.name, size, mode, label }
          const key = `${f.name}/${size}/${mode}`
          if (ONLY && !key.includes(ONLY)) continue
          const budget = MS || (f.name === 'tmpfs' ? 120 : size >= 1024 * KiB ? 150 : 250)
          const ws = writers.filter((w) => mode === 'seq' || w.kind !== 'sync')
          const bufs = Array.from({ length: mode === 'seq' ? 1 : 64 }, (_, i) => {
            const b = Buffer.alloc(size, 97 + (i % 26))
            b.write(`write ${i} `)
            return b
          })
          const per = new Map(ws.map((w) => [w.name, []]))
          const rounds = Number(ROUNDS || (f.name === 'tmpfs' ? 5 : 3))
          // Round -1 warms every writer up (JIT, caches, directory entries) and is not counted.
          for (let round = -1; round < rounds; round++) {
            for (let k = 0; k < ws.length; k++) {
              const w = ws[(k + Math.max(round, 0)) % ws.length]
              const dir = path.join(f.dir, w.name.replace(/[^a-z0-9]+/gi, '-'))
              fs.mkdirSync(dir, { recursive: true })
              if (w.reset) w.reset()
              const prev = per.get(w.name)
              const b = round < 0 ? budget / 4 : budget
              const r = w.kind === 'rust' ? runRust(floor, sc, dir, b, prev.est) : await runJs(w, sc, dir, bufs, b)
              prev.est = r.ops
              if (round >= 0) prev.push(r)
              emptyDir(dir)
            }
          }
          const rows = ws.map((w) => {
            const rs = per.get(w.name)
            return {
              name: w.name,
              durable: w.durable,
              ops: median(rs.map((r) => r.ops)),
              p50: median(rs.map((r) => r.p50)),
              p99: median(rs.map((r) => r.p99)),
              lag: median(rs.map((r) => r.lag)),
              lagMax: Math.max(...rs.map((r) => r.lag)),
              threads: rs[0].threads,
              lastWins: mode === 'one64' && w.kind !== 'rust' ? rs.every((r) => r.lastWins) : undefined,
              lostRounds: rs.filter((r) => r.lastWins === false).length,
              rounds: rs.length
            }
          })
          res[key] = rows
          printTable(sc, rows)
        }
      }
    }
  } finally {
    cleanup()
  }
  summary(res)
  console.log('\n### Targets (issue 7), from this run\n')
  for (const l of targets(res)) console.log(l)
  console.log(`\n(${((Date.now() - t0) / 1000).toFixed(0)} s)`)
  if (JSON_OUT) fs.writeFileSync(JSON_OUT, JSON.stringify({ node: process.version, rounds: ROUNDS || 'default', results: res }, null, 2))
  // The lock benchmark (proper-lockfile, lockfile) lives in its own file, written with the lock work.
  const lockBench = path.join(__dirname, 'lock.js')
  if (fs.existsSync(lockBench) && !argv.includes('--no-locks') && !ONLY) {
    console.log('\n## Locks (benchmark/lock.js)')
    spawnSync(process.execPath, [lockBench], { stdio: 'inherit', cwd: ROOT })
  }
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
