'use strict'
// Appends per second for 200-byte records: durable-fs logs (durability 'sync') sequentially and
// with 64 appends in flight, against fs.appendFileSync + fs.fsyncSync per record and against
// fs.promises.appendFile without any fsync. Self-contained: `node benchmark/log.js [dir] [seconds]`
// (default: the OS temp dir, 2 s per contender). The target: 64 in flight >= 20x the fsync loop.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { openLog, backend } = require('..')

const base = process.argv[2] || os.tmpdir()
const seconds = Number(process.argv[3] || 2)
const RECORD = 'x'.repeat(199) // + the newline fs callers add = 200 bytes; durable-fs frames add a header

function fresh (name) {
  const dir = fs.mkdtempSync(path.join(base, 'dfs-bench-log-'))
  return { file: path.join(dir, name), done: () => fs.rmSync(dir, { recursive: true, force: true }) }
}

async function timed (fn) {
  const end = Date.now() + seconds * 1000
  const t0 = process.hrtime.bigint()
  const n = await fn(end)
  const s = Number(process.hrtime.bigint() - t0) / 1e9
  return n / s
}

const contenders = {
  'fs.appendFileSync + fsyncSync per record': async () => {
    const { file, done } = fresh('a.log')
    const fd = fs.openSync(file, 'a', 0o600)
    const r = await timed((end) => {
      let n = 0
      while (Date.now() < end) {
        fs.appendFileSync(fd, RECORD + '\n')
        fs.fsyncSync(fd)
        n++
      }
      return n
    })
    fs.closeSync(fd)
    done()
    return r
  },
  'fs.promises.appendFile, no fsync (not durable)': async () => {
    const { file, done } = fresh('a.log')
    const r = await timed(async (end) => {
      let n = 0
      while (Date.now() < end) {
        await fs.promises.appendFile(file, RECORD + '\n')
        n++
      }
      return n
    })
    done()
    return r
  },
  'durable-fs log.append, sequential (durable)': async () => {
    const { file, done } = fresh('a.log')
    const log = await openLog(file)
    const r = await timed(async (end) => {
      let n = 0
      while (Date.now() < end) {
        await log.append(RECORD)
        n++
      }
      return n
    })
    await log.close()
    done()
    return r
  },
  'durable-fs log.append, 64 in flight (durable)': async () => {
    const { file, done } = fresh('a.log')
    const log = await openLog(file)
    const r = await timed(async (end) => {
      let n = 0
      const lane = async () => {
        while (Date.now() < end) {
          await log.append(RECORD)
          n++
        }
      }
      await Promise.all(Array.from({ length: 64 }, lane))
      return n
    })
    await log.close()
    done()
    return r
  }
}

async function main () {
  console.log(`durable-fs ${backend}, ${base} (${os.cpus().length} cores), ${seconds} s each, 200-byte records`)
  const results = {}
  for (const [name, run] of Object.entries(contenders)) {
    results[name] = await run()
    console.log(`${name.padEnd(52)} ${Math.round(results[name]).toString().padStart(9)} appends/s`)
  }
  const loop = results['fs.appendFileSync + fsyncSync per record']
  const inflight = results['durable-fs log.append, 64 in flight (durable)']
  const ratio = inflight / loop
  console.log(`64 in flight vs the fsync-per-record loop: ${ratio.toFixed(1)}x (target >= 20x: ${ratio >= 20 ? 'met' : 'NOT met'})`)
}

main().catch((e) => { console.error(e); process.exit(1) })
