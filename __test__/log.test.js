'use strict'
// Append-only logs on the real file system: record kinds, group commit (fdatasyncs counted with
// strace), torn-tail recovery after SIGKILL, the hash chain against tampering, four processes on
// one chained log, ENOSPC.

const test = require('node:test')
const assert = require('node:assert')
const fs = require('node:fs')
const path = require('node:path')
const { spawn } = require('node:child_process')
const dfs = require('..')
const { ROOT, BACKEND, tmpdir, hasCommand, mountTmpfs, runNode } = require('./helpers')

const hasLog = (() => {
  try {
    return typeof require('../lib/binding').binding.NativeLog === 'function'
  } catch {
    return false
  }
})()
const skip = !hasLog && `the ${BACKEND} backend has no append-only log binding yet`

test('records round-trip as text, bytes and JSON; mode 0600; mkdir; durability none', { skip }, async () => {
  const dir = tmpdir()
  const file = path.join(dir, 'deep', 'er', 'a.log')
  await assert.rejects(dfs.openLog(file), { code: 'ENOENT' }, 'no mkdir: missing parent is ENOENT')
  const old = process.umask(0o000)
  let log
  try {
    log = await dfs.openLog(file, { mkdir: true })
  } finally {
    process.umask(old)
  }
  assert.strictEqual(fs.statSync(file).mode & 0o777, 0o600, 'default mode 0o600, not widened by umask 0')
  assert.strictEqual(log.recovered, null)
  const recs = ['plain', 'multi\nline', '', { a: 1, nested: [true, null] }, [1, 2], 42, null, Buffer.from([0, 10, 255]), new Uint16Array([1, 2])]
  await Promise.all(recs.map((r) => log.append(r)))
  log.appendSync('sync one')
  await log.close()
  await assert.rejects(log.append('late'), { code: 'ERR_INVALID_STATE' })
  const out = await dfs.readLog(file)
  assert.deepStrictEqual(out.records.slice(0, 7), recs.slice(0, 7))
  assert.deepStrictEqual([...out.records[7]], [0, 10, 255])
  assert.deepStrictEqual([...out.records[8]], [1, 0, 2, 0], 'typed arrays: byteLength bytes')
  assert.strictEqual(out.records[9], 'sync one')
  assert.strictEqual(out.torn, null)
  const text = fs.readFileSync(file, 'utf8').split('\n')
  assert.match(text[0], /^t 5 [0-9a-f]{8} plain$/, 'one readable line per record')
  assert.ok(text.includes(`j 28 ${text.find((l) => l.startsWith('j 28 ')).split(' ')[2]} {"a":1,"nested":[true,null]}`), 'a JSON record is one JSON line')
  const none = path.join(dir, 'none.log')
  const fast = await dfs.openLog(none, { durability: 'none', mode: 0o640 })
  await Promise.all([fast.append('x'), fast.append('y')])
  assert.strictEqual(fs.statSync(none).mode & 0o777, 0o640)
  assert.deepStrictEqual(dfs.readLogSync(none).records, ['x', 'y'])
  assert.deepStrictEqual(await dfs.appendFileDurable(none, { one: 'shot' }), { recovered: null })
  dfs.appendFileDurableSync(none, 'two')
  assert.deepStrictEqual(dfs.readLogSync(none).records, ['x', 'y', { one: 'shot' }, 'two'])
  fs.symlinkSync('none.log', path.join(dir, 'link.log'))
  await dfs.appendFileDurable(path.join(dir, 'link.log'), 'via link')
  assert.ok(fs.lstatSync(path.join(dir, 'link.log')).isSymbolicLink(), 'a symlinked log is appended through')
  assert.deepStrictEqual((await dfs.readLog(path.join(dir, 'link.log'))).records.slice(-1), ['via link'])
})

test('bad arguments are rejected before anything touches the disk', { skip }, async () => {
  const dir = tmpdir()
  const f = path.join(dir, 'a.log')
  await assert.rejects(dfs.openLog(f, { durability: 'fast' }), { code: 'ERR_INVALID_ARG_VALUE' })
  await assert.rejects(dfs.openLog(f, { maxBatchBytes: 0 }), { code: 'ERR_OUT_OF_RANGE' })
  await assert.rejects(dfs.openLog(f, { hashChain: 'yes' }), { code: 'ERR_INVALID_ARG_TYPE' })
  await assert.rejects(dfs.openLog(''), { code: 'ERR_INVALID_ARG_VALUE' })
  assert.deepStrictEqual(fs.readdirSync(dir), [])
  const log = await dfs.openLog(f)
  await assert.rejects(log.append(undefined), { code: 'ERR_INVALID_ARG_TYPE' })
  await assert.rejects(log.append(10n), { code: 'ERR_INVALID_ARG_VALUE' })
  const cyclic = {}
  cyclic.self = cyclic
  await assert.rejects(log.append(cyclic), { code: 'ERR_INVALID_ARG_VALUE' })
  const p = log.append('a')
  assert.throws(() => log.appendSync('b'), { code: 'ERR_INVALID_STATE' }, 'appendSync would overtake a pending append')
  await p
  assert.deepStrictEqual((await dfs.readLog(f)).records, ['a'])
  await assert.rejects(dfs.readLog(path.join(dir, 'missing')), { code: 'ENOENT' })
})

test('1000 appends issued at once: far fewer fdatasyncs than appends (strace -c), all in call order', { skip }, (t) => {
  const dir = tmpdir()
  const file = path.join(dir, 'burst.log')
  const code = `
    const dfs = require('./index.js')
    dfs.openLog(${JSON.stringify(file)}).then(async (log) => {
      const done = []
      await Promise.all(Array.from({ length: 1000 }, (_, i) => log.append({ i }).then(() => done.push(i))))
      await log.close()
      console.log(JSON.stringify({ stats: log.stats, done }))
    })`
  const useStrace = hasCommand('strace')
  const trace = path.join(dir, 'strace.txt')
  const r = useStrace
    ? runNode(code, { wrap: 'strace', wrapArgs: ['-f', '-c', '-e', 'trace=fsync,fdatasync', '-o', trace] })
    : runNode(code)
  assert.strictEqual(r.status, 0, r.stderr)
  const { stats, done } = JSON.parse(r.stdout.trim().split('\n').pop())
  assert.deepStrictEqual(done, Array.from({ length: 1000 }, (_, i) => i), 'promises resolve in call order')
  assert.deepStrictEqual(dfs.readLogSync(file).records.map((x) => x.i), done, 'records are in the file in call order')
  assert.strictEqual(stats.appends, 1000)
  assert.ok(stats.syncs <= 10, `group commit: ${stats.syncs} fdatasyncs for 1000 appends`)
  if (!useStrace) return t.skip('strace is not installed: fdatasyncs counted with the internal counter only')
  const counted = fs.readFileSync(trace, 'utf8').split('\n').filter((l) => /\sfdatasync$/.test(l.trim()))
  const calls = counted.length ? Number(counted[0].trim().split(/\s+/)[3]) : 0
  assert.ok(calls >= 1 && calls <= 10, `strace counted ${calls} fdatasync calls for 1000 appends:\n${fs.readFileSync(trace, 'utf8')}`)
  assert.strictEqual(calls, stats.syncs, 'the internal counter matches the system calls')
})

test('maxBatchBytes splits a burst into several batches, still in order', { skip }, async () => {
  const dir = tmpdir()
  const file = path.join(dir, 'split.log')
  const log = await dfs.openLog(file, { maxBatchBytes: 1000 })
  await Promise.all(Array.from({ length: 50 }, (_, i) => log.append('x'.repeat(90) + i)))
  assert.ok(log.stats.batches >= 5, `${log.stats.batches} batches`)
  assert.deepStrictEqual((await dfs.readLog(file)).records, Array.from({ length: 50 }, (_, i) => 'x'.repeat(90) + i))
})

// The chained log the tamper tests start from: 6 JSON records, one line each.
async function chained (dir, name) {
  const file = path.join(dir, name)
  const log = await dfs.openLog(file, { hashChain: true })
  for (let i = 0; i < 6; i++) await log.append({ i, who: 'alice' })
  await log.close()
  const v = await dfs.readLog(file, { verify: true })
  assert.strictEqual(v.valid, true, v.reason)
  assert.strictEqual(v.records.length, 6)
  return { file, lines: fs.readFileSync(file, 'utf8').split('\n').slice(0, -1) }
}

const rewrite = (file, lines) => fs.writeFileSync(file, lines.join('\n') + '\n')

test('hash chain: a one-byte edit, a deleted line, swapped lines and a forged line are found at the right record', { skip }, async () => {
  const dir = tmpdir()
  {
    const { file, lines } = await chained(dir, 'chain1.log')
    lines[3] = lines[3].replace('alice', 'alicf')
    rewrite(file, lines)
    const v = await dfs.readLog(file, { verify: true })
    assert.strictEqual(v.valid, false)
    assert.strictEqual(v.brokenAt, 3, v.reason)
    await assert.rejects(dfs.readLog(file), { code: 'ECORRUPT' }, 'without verify, damage in the middle throws')
    await assert.rejects(dfs.openLog(file, { hashChain: true }), { code: 'ECORRUPT' }, 'and is never truncated away')
  }
  {
    const { file, lines } = await chained(dir, 'chain2.log')
    lines.splice(2, 1)
    rewrite(file, lines)
    const v = await dfs.readLog(file, { verify: true })
    assert.deepStrictEqual([v.valid, v.brokenAt, v.records.length], [false, 2, 5], v.reason)
  }
  {
    const { file, lines } = await chained(dir, 'chain3.log')
    ;[lines[1], lines[2]] = [lines[2], lines[1]]
    rewrite(file, lines)
    const v = await dfs.readLog(file, { verify: true })
    assert.deepStrictEqual([v.valid, v.brokenAt], [false, 1], v.reason)
  }
  {
    // A well-formed line (valid framing and CRC) made by someone without the chain head.
    const { file, lines } = await chained(dir, 'chain4.log')
    const forgedLog = path.join(dir, 'forged.log')
    fs.rmSync(forgedLog, { force: true })
    await dfs.appendFileDurable(forgedLog, { i: 99, who: 'mallory' }, { hashChain: true })
    lines.splice(4, 0, fs.readFileSync(forgedLog, 'utf8').trimEnd())
    rewrite(file, lines)
    const v = await dfs.readLog(file, { verify: true })
    assert.deepStrictEqual([v.valid, v.brokenAt, v.records.length], [false, 4, 7], v.reason)
    assert.deepStrictEqual(v.records[4], { i: 99, who: 'mallory' }, 'the forged record is shown, flagged by brokenAt')
  }
  {
    const { file } = await chained(dir, 'chain5.log')
    fs.appendFileSync(file, 'j 10 0123') // a torn tail is not a chain break
    const v = await dfs.readLog(file, { verify: true })
    assert.deepStrictEqual([v.valid, v.records.length, v.torn.bytes], [true, 6, 9])
  }
})

test('a torn tail is reported by readLog, truncated and reported by the next open, and the chain continues', { skip }, async () => {
  const dir = tmpdir()
  const { file } = await chained(dir, 'chain6.log')
  const good = fs.statSync(file).size
  const partial = 'j 40 ' + 'f'.repeat(64) + ' 0000'
  fs.appendFileSync(file, partial)
  const before = await dfs.readLog(file)
  assert.deepStrictEqual(before.torn, { offset: good, bytes: partial.length })
  const log = await dfs.openLog(file, { hashChain: true })
  assert.deepStrictEqual(log.recovered, { offset: good, truncatedBytes: partial.length })
  assert.strictEqual(fs.statSync(file).size, good, 'truncated at open, before any new append')
  await log.append({ i: 6 })
  await log.close()
  const after = await dfs.readLog(file, { verify: true })
  assert.deepStrictEqual([after.valid, after.records.length, after.torn], [true, 7, null])
  assert.strictEqual(after.head, log.head)
})

// A child that appends records { run, i, pad } (pad up to ~29 kB) in a loop (up to 8 in flight) and prints "ack <i>" for
// each one the moment its append resolves.
const APPENDER = (file, run) => `
  const fs = require('node:fs')
  const dfs = require('./index.js')
  dfs.openLog(${JSON.stringify(file)}, { hashChain: true }).then((log) => {
    fs.writeSync(1, 'ready ' + JSON.stringify(log.recovered) + '\\n')
    let i = 0
    const one = () => {
      const n = i++
      log.append({ run: ${run}, i: n, pad: 'p'.repeat((n % 97) * 300) }).then(() => { fs.writeSync(1, 'ack ' + n + '\\n'); one() })
    }
    for (let k = 0; k < 8; k++) one()
  })`

function spawnNode (code) {
  return spawn(process.execPath, ['-e', code], { cwd: ROOT, env: { ...process.env, DURABLE_FS_BACKEND: BACKEND }, stdio: ['ignore', 'pipe', 'pipe'] })
}

test('SIGKILL at random moments, 40 times: every acknowledged record intact, at most one torn record, removed by the next open', { skip, timeout: 240000 }, async (t) => {
  const dir = tmpdir()
  const file = path.join(dir, 'kill.log')
  const acked = []
  let torn = 0
  for (let run = 0; run < 40; run++) {
    const child = spawnNode(APPENDER(file, run))
    let out = ''
    let err = ''
    child.stderr.on('data', (d) => { err += d })
    const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })))
    await new Promise((resolve, reject) => {
      child.stdout.on('data', (d) => {
        if (!out.includes('ready') && (out + d).includes('ready')) {
          setTimeout(() => { child.kill('SIGKILL'); resolve() }, 5 + Math.random() * 120)
        }
        out += d
      })
      child.on('exit', () => (out.includes('ready') ? resolve() : reject(new Error(`child ${run} died before ready: ${err}`))))
    })
    const { signal } = await exited
    assert.strictEqual(signal, 'SIGKILL', err)
    const acks = out.split('\n').filter((l) => l.startsWith('ack ')).map((l) => Number(l.slice(4)))
    acked.push(acks.map((i) => `${run}:${i}`))

    const seen = await dfs.readLog(file, { verify: true })
    assert.strictEqual(seen.corrupt, null, 'a kill never damages the middle of the log')
    assert.strictEqual(seen.valid, true, seen.reason)
    if (seen.torn) {
      torn++
      // At most one record is torn: less than one frame (the longest record here is ~29 kB; the
      // large records make writes span many pages, so a kill can land inside one).
      assert.ok(seen.torn.bytes < 96 * 300 + 200, `torn tail of ${seen.torn.bytes} bytes is more than one record`)
    }
    // This run's records are a prefix 0..m of what it issued (call order), covering every ack.
    const mine = seen.records.filter((r) => r.run === run).map((r) => r.i)
    assert.deepStrictEqual(mine, Array.from({ length: mine.length }, (_, k) => k), `run ${run}: records in call order`)
    const max = acks.length ? Math.max(...acks) : -1
    assert.ok(mine.length > max, `run ${run}: acknowledged record ${max} missing (have ${mine.length})`)
    for (const r of seen.records.filter((x) => x.run === run)) assert.strictEqual(r.pad, 'p'.repeat((r.i % 97) * 300))
    if (seen.torn) {
      const log = await dfs.openLog(file, { hashChain: true })
      assert.deepStrictEqual(log.recovered, { offset: seen.torn.offset, truncatedBytes: seen.torn.bytes }, 'the next open removes and reports it')
      assert.strictEqual((await dfs.readLog(file)).torn, null)
    }
  }
  const all = new Set((await dfs.readLog(file)).records.map((r) => `${r.run}:${r.i}`))
  const lost = acked.flat().filter((k) => !all.has(k))
  assert.deepStrictEqual(lost, [], 'no acknowledged record lost')
  t.diagnostic(`40 kills, ${acked.flat().length} acknowledged records, ${torn} torn tails recovered`)
})

const noKernelLocks = BACKEND === 'wasm' && 'the WebAssembly backend has no kernel locks (Node has no flock): several processes appending to one chained log need the native backend'
test('4 processes x 500 records on one chained log: 2000 records, a valid chain, each process in order', { skip: skip || noKernelLocks, timeout: 180000 }, async (t) => {
  const dir = tmpdir()
  const file = path.join(dir, 'shared.log')
  const code = (p) => `
    const dfs = require('./index.js')
    dfs.openLog(${JSON.stringify(file)}, { hashChain: true }).then(async (log) => {
      let next = 0
      const worker = async () => { while (next < 500) { const i = next++; await log.append({ p: ${p}, i }) } }
      await Promise.all(Array.from({ length: 16 }, worker))
      await log.close()
      console.log(JSON.stringify(log.stats))
    })`
  const children = [0, 1, 2, 3].map((p) => spawnNode(code(p)))
  const results = await Promise.all(children.map((c) => new Promise((resolve) => {
    let out = ''
    let err = ''
    c.stdout.on('data', (d) => { out += d })
    c.stderr.on('data', (d) => { err += d })
    c.on('exit', (status) => resolve({ status, out, err }))
  })))
  for (const r of results) assert.strictEqual(r.status, 0, r.err)
  const v = await dfs.readLog(file, { verify: true })
  assert.strictEqual(v.records.length, 2000)
  assert.strictEqual(v.valid, true, v.reason)
  assert.strictEqual(v.torn, null)
  for (let p = 0; p < 4; p++) {
    assert.deepStrictEqual(v.records.filter((r) => r.p === p).map((r) => r.i), Array.from({ length: 500 }, (_, i) => i), `process ${p} in call order`)
  }
  const stats = results.map((r) => JSON.parse(r.out.trim()))
  t.diagnostic(`batches per process: ${stats.map((s) => s.batches).join(', ')}; lock-busy retries: ${stats.map((s) => s.busyRetries).join(', ')}`)
})

test('ENOSPC on a tiny tmpfs fails the append and leaves earlier records intact', { skip }, async (t) => {
  const m = mountTmpfs('64k')
  if (m.skip) return t.skip(m.skip)
  try {
    const file = path.join(m.dir, 'full.log')
    const log = await dfs.openLog(file, { hashChain: true })
    for (let i = 0; i < 10; i++) await log.append({ i })
    const size = fs.statSync(file).size
    await assert.rejects(log.append(Buffer.alloc(200 * 1024, 1)), { code: 'ENOSPC', syscall: 'write' })
    assert.strictEqual(fs.statSync(file).size, size, 'the partial batch was truncated away')
    const small = [log.append('a'), log.append(Buffer.alloc(200 * 1024)), log.append('b')]
    const settled = await Promise.allSettled(small)
    assert.ok(settled.every((s) => s.status === 'rejected' && s.reason.code === 'ENOSPC'), 'a batch fails as a whole')
    await log.append({ i: 10 })
    const v = await dfs.readLog(file, { verify: true })
    assert.deepStrictEqual(v.records, Array.from({ length: 11 }, (_, i) => ({ i })))
    assert.deepStrictEqual([v.valid, v.torn], [true, null])
    await log.close()
  } finally {
    m.cleanup()
  }
})
