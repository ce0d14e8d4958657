'use strict'
// The WebAssembly fallback against the native addon and against a hand-written Node sync
// implementation of the same protocol (openSync O_EXCL, writeSync, fchmodSync, fsyncSync,
// closeSync, renameSync, directory fsync), on tmpfs (mounted here when root) and on the file
// system of os.tmpdir() (ext4 on our machines).
//
//   node benchmark/wasm.js [--ops N] [--rounds R] [--size BYTES]
//
// Each variant runs in its own child process (the backend is chosen at load time); rounds
// alternate the variants so drift on a shared machine hits all of them alike. Every write is
// timed on its own; the figure is the median over all rounds. Self-contained: needs only the
// built backends (scripts/build-native.sh, scripts/build-wasm.sh).

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const crypto = require('node:crypto')
const { spawnSync } = require('node:child_process')

const ROOT = path.join(__dirname, '..')

// ---- child: one variant, N timed writes, latencies (ns) on stdout ----
function child ([variant, dir, ops, size]) {
  ops = Number(ops)
  const data = Buffer.alloc(Number(size), 'x')
  const target = path.join(dir, `target-${variant}`)
  let write
  if (variant === 'handwritten-sync') {
    const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_RDONLY, O_DIRECTORY } = fs.constants
    write = () => {
      const tmp = path.join(dir, `.target-${variant}.${crypto.randomBytes(8).toString('hex')}.tmp`)
      const fd = fs.openSync(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600)
      try {
        let off = 0
        while (off < data.length) off += fs.writeSync(fd, data, off, data.length - off)
        fs.fchmodSync(fd, 0o600)
        fs.fsyncSync(fd)
      } catch (e) {
        fs.closeSync(fd)
        fs.unlinkSync(tmp)
        throw e
      }
      fs.closeSync(fd)
      fs.renameSync(tmp, target)
      const d = fs.openSync(dir, O_RDONLY | O_DIRECTORY)
      fs.fsyncSync(d)
      fs.closeSync(d)
    }
  } else {
    const [backend, mode] = variant.split('-')
    process.env.DURABLE_FS_BACKEND = backend
    const dfs = require(ROOT)
    if (dfs.backend !== backend) throw new Error(`wanted ${backend}, got ${dfs.backend}`)
    write = mode === 'sync' ? () => dfs.atomicWriteFileSync(target, data, 0o600) : () => dfs.atomicWriteFile(target, data, 0o600)
  }
  const isAsync = variant.endsWith('-async')
  const run = async () => {
    for (let i = 0; i < Math.min(50, ops); i++) await write()
    const lat = new Float64Array(ops)
    for (let i = 0; i < ops; i++) {
      const t0 = process.hrtime.bigint()
      if (isAsync) await write()
      else write()
      lat[i] = Number(process.hrtime.bigint() - t0)
    }
    if (!fs.readFileSync(target).equals(data)) throw new Error('content check failed')
    process.stdout.write(JSON.stringify(Array.from(lat)))
  }
  return run()
}

// ---- parent ----
function median (a) {
  const s = Float64Array.from(a).sort()
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

function arg (name, dflt) {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? Number(process.argv[i + 1]) : dflt
}

function fsType (dir) {
  const r = spawnSync('stat', ['-f', '-c', '%T', dir], { encoding: 'utf8' })
  return r.status === 0 ? r.stdout.trim() : 'unknown'
}

function bench (label, dir, ops, rounds, size) {
  const variants = ['handwritten-sync', 'wasm-sync', 'native-sync', 'wasm-async', 'native-async']
  const lat = Object.fromEntries(variants.map((v) => [v, []]))
  for (let r = 0; r < rounds; r++) {
    for (const v of variants) {
      const c = spawnSync(process.execPath, [__filename, '--child', v, dir, String(ops), String(size)], { encoding: 'utf8', maxBuffer: 1 << 26 })
      if (c.status !== 0) throw new Error(`${v} failed: ${c.stderr}`)
      lat[v].push(...JSON.parse(c.stdout))
    }
  }
  const base = median(lat['handwritten-sync'])
  console.log(`\n${label}: ${size}-byte writes, ${rounds} rounds x ${ops} writes per variant, median per write`)
  console.log('variant            median us   writes/s   vs hand-written sync')
  for (const v of variants) {
    const m = median(lat[v])
    console.log(`${v.padEnd(18)} ${(m / 1000).toFixed(1).padStart(9)} ${(1e9 / m).toFixed(0).padStart(10)}   ${(base / m).toFixed(2)}x`)
  }
}

async function main () {
  if (process.argv[2] === '--child') return child(process.argv.slice(3))
  for (const f of ['wasm/durable_fs_wasm.js']) {
    if (!fs.existsSync(path.join(ROOT, f))) throw new Error(`${f} missing: run scripts/build-wasm.sh`)
  }
  const size = arg('size', 1024)
  const rounds = arg('rounds', 3)
  console.log(`node ${process.version}, ${os.cpus().length} CPUs, ${os.cpus()[0].model}`)
  const isRoot = process.getuid && process.getuid() === 0
  if (isRoot) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dfs-bench-tmpfs-'))
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256m', 'tmpfs', dir], { encoding: 'utf8' })
    if (m.status === 0) {
      try {
        bench(`tmpfs (${dir})`, dir, arg('ops', 2000), rounds, size)
      } finally {
        spawnSync('umount', ['-l', dir])
        fs.rmSync(dir, { recursive: true, force: true })
      }
    } else {
      console.log(`tmpfs: skipped, mount failed: ${m.stderr.trim()}`)
    }
  } else {
    console.log('tmpfs: skipped, needs root to mount one')
  }
  const disk = fs.mkdtempSync(path.join(os.tmpdir(), 'dfs-bench-disk-'))
  try {
    bench(`${fsType(disk)} (${disk})`, disk, arg('ops', 2000) / 10, rounds, size)
  } finally {
    fs.rmSync(disk, { recursive: true, force: true })
  }
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
