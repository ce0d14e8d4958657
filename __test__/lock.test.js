'use strict'
// Lock files in one process (and against short-lived child processes): serialisation, FIFO,
// EDEADLK, ELOCKED, ECOMPROMISED, reaping of dead holders, never reaping live ones, check(),
// updateFile/updateJson, AbortSignal, worker threads.

const test = require('node:test')
const assert = require('node:assert')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawn, spawnSync } = require('node:child_process')
const { Worker } = require('node:worker_threads')
const dfs = require('..')
const { ROOT, BACKEND, tmpdir } = require('./helpers')

const CHILD = path.join(__dirname, 'fixtures', 'lock-child.js')

// The WebAssembly binding gains the lock calls with its own work; until then say so.
if (!require('../lib/lock').hasLocks()) {
  test('locks', { skip: `the ${BACKEND} backend has no lock calls yet` }, () => {})
  return
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

function bootId () {
  try {
    return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()
  } catch {
    return null
  }
}

// Field 22 of /proc/<pid>/stat, as the core reads it.
function startTime (pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19])
  } catch {
    return null
  }
}

function deadPid () {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' })
  return Number(r.stdout)
}

function record (pid, kernelLock, extra = {}) {
  return JSON.stringify({
    nonce: Math.random().toString(16).slice(2).padEnd(16, '0').slice(0, 16),
    pid,
    start: startTime(pid) ?? 1,
    boot: bootId(),
    host: os.hostname(),
    kernelLock,
    acquiredAt: Date.now() - 60000,
    version: '0.0.0',
    ...extra
  })
}

// Plants a lock file no process holds, with an mtime 60 s in the past.
function plant (lockPath, text) {
  fs.writeFileSync(lockPath, text)
  const old = new Date(Date.now() - 60000)
  fs.utimesSync(lockPath, old, old)
}

// Starts a child holding the lock of `target`; resolves once it holds it.
function holder (target, blockMs) {
  const child = spawn(process.execPath, [CHILD, 'hold', target, ...(blockMs ? [String(blockMs)] : [])], {
    cwd: ROOT,
    env: { ...process.env, DURABLE_FS_BACKEND: BACKEND },
    stdio: ['ignore', 'pipe', 'inherit']
  })
  let out = ''
  const ready = new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d
      if (out.includes('ready')) resolve()
    })
    child.on('exit', (code) => reject(new Error(`holder exited early with ${code}`)))
  })
  const gone = new Promise((resolve) => child.on('exit', resolve))
  return { child, ready, gone, output: () => out }
}

test('two callers in one process serialise: a-start, a-end, b-start, b-end; no lock file left', async () => {
  const dir = tmpdir('dfs-lock-')
  const target = path.join(dir, 'reg.json')
  const order = []
  const a = dfs.withLock(target, async () => {
    order.push('a-start')
    await sleep(30)
    order.push('a-end')
    return 'A'
  })
  const b = dfs.withLock(target, async () => {
    order.push('b-start')
    await sleep(5)
    order.push('b-end')
    return 'B'
  })
  assert.deepStrictEqual(await Promise.all([a, b]), ['A', 'B'])
  assert.deepStrictEqual(order, ['a-start', 'a-end', 'b-start', 'b-end'])
  assert.deepStrictEqual(fs.readdirSync(dir), [], 'lock file and staging files are gone')
})

test('waiters of one process are served in FIFO order', async () => {
  const dir = tmpdir('dfs-lock-')
  const target = path.join(dir, 'r')
  const release = await dfs.lock(target)
  const order = []
  const waiters = ['a', 'b', 'c', 'd'].map((n) => dfs.withLock(target, async () => { order.push(n) }))
  await sleep(20)
  await release()
  await Promise.all(waiters)
  assert.deepStrictEqual(order, ['a', 'b', 'c', 'd'])
})

test('EDEADLK: nested acquire inside its own callback, and lockSync while this thread holds it', async () => {
  const dir = tmpdir('dfs-lock-')
  const target = path.join(dir, 'r')
  await dfs.withLock(target, async () => {
    await assert.rejects(dfs.withLock(target, () => 1), { code: 'EDEADLK' })
    await assert.rejects(dfs.lock(target), { code: 'EDEADLK' })
    assert.throws(() => dfs.lockSync(target), { code: 'EDEADLK' })
    // Another lock nests fine.
    assert.strictEqual(await dfs.withLock(path.join(dir, 'other'), () => 7), 7)
  })
  const release = await dfs.lock(target)
  assert.throws(() => dfs.withLockSync(target, () => 1), { code: 'EDEADLK' }, 'sync acquire while an async holder of this thread has it')
  await release()
  assert.strictEqual(dfs.withLockSync(target, () => 3), 3)
  await assert.rejects(release(), { code: 'ERR_LOCK_RELEASED' })
})

test('ELOCKED after timeoutMs names the holder pid and host; err.holder carries the record', async () => {
  const dir = tmpdir('dfs-lock-')
  const target = path.join(dir, 'r')
  const h = holder(target)
  try {
    await h.ready
    const err = await dfs.lock(target, { timeoutMs: 100 }).then(() => null, (e) => e)
    assert.ok(err, 'lock must time out')
    assert.strictEqual(err.code, 'ELOCKED')
    assert.strictEqual(err.holder.pid, h.child.pid)
    assert.strictEqual(err.holder.host, os.hostname())
    assert.match(err.message, new RegExp(`pid ${h.child.pid} on host ${os.hostname()}`))
    assert.throws(() => dfs.lockSync(target, { timeoutMs: 50 }), (e) => e.code === 'ELOCKED' && e.holder.pid === h.child.pid)
    const st = await dfs.check(target)
    assert.strictEqual(st.locked, true)
    assert.strictEqual(st.holder.pid, h.child.pid)
  } finally {
    h.child.kill('SIGKILL')
    await h.gone
  }
  // Killed: the next caller takes it at once.
  const release = await dfs.lock(target, { timeoutMs: 0 })
  await release()
})

test('a lock left by a dead process (finished pid, mtime 60 s old) is reaped at once', async () => {
  for (const kernelLock of [true, false]) {
    const dir = tmpdir('dfs-lock-')
    const target = path.join(dir, 'r')
    plant(`${target}.lock`, record(deadPid(), kernelLock))
    assert.deepStrictEqual(dfs.checkSync(target).stale, true)
    const release = await dfs.lock(target, { timeoutMs: 0 })
    const mine = JSON.parse(fs.readFileSync(`${target}.lock`, 'utf8'))
    assert.strictEqual(mine.pid, process.pid)
    await release()
    assert.deepStrictEqual(fs.readdirSync(dir), [])
  }
})

test('a record with a live pid but another start time (pid reuse) is reaped; with its own start time it is not', async () => {
  const dir = tmpdir('dfs-lock-')
  const target = path.join(dir, 'r')
  const sleeper = spawn('sleep', ['30'])
  try {
    const live = startTime(sleeper.pid)
    assert.ok(live !== null, 'process start time readable')
    plant(`${target}.lock`, record(sleeper.pid, false, { start: live }))
    await assert.rejects(dfs.lock(target, { timeoutMs: 50 }), (e) => e.code === 'ELOCKED' && e.holder.state === 'alive')
    assert.ok(fs.existsSync(`${target}.lock`), 'a live holder is never reaped')
    plant(`${target}.lock`, record(sleeper.pid, false, { start: live + 1 }))
    const release = await dfs.lock(target, { timeoutMs: 0 })
    await release()
  } finally {
    sleeper.kill('SIGKILL')
  }
})

test('a live holder is never reaped: past staleMs, with its event loop blocked longer than staleMs', async () => {
  const dir = tmpdir('dfs-lock-')
  const target = path.join(dir, 'r')
  const h = holder(target, 1500)
  try {
    await h.ready
    // staleMs 100, waiting 800 ms while the holder's event loop is blocked for 1.5 s.
    const err = await dfs.lock(target, { timeoutMs: 800, staleMs: 100 }).then(() => null, (e) => e)
    assert.ok(err && err.code === 'ELOCKED', `must not get the lock: ${err}`)
    assert.strictEqual(err.holder.pid, h.child.pid)
    while (!h.output().includes('unblocked')) await sleep(20)
    await assert.rejects(dfs.lock(target, { timeoutMs: 200, staleMs: 0 }), { code: 'ELOCKED' })
  } finally {
    h.child.kill('SIGKILL')
    await h.gone
  }
})

test('a lock file whose record is still being written (empty, or half) is not reaped before staleMs', async () => {
  const dir = tmpdir('dfs-lock-')
  const target = path.join(dir, 'r')
  for (const text of ['', '{"nonce":"0123456789abcdef","pid":']) {
    fs.writeFileSync(`${target}.lock`, text)
    const err = await dfs.lock(target, { timeoutMs: 150 }).then(() => null, (e) => e)
    assert.ok(err && err.code === 'ELOCKED', `must not get the lock: ${err}`)
    assert.strictEqual(err.holder.state, 'unreadable')
    assert.strictEqual(fs.readFileSync(`${target}.lock`, 'utf8'), text, 'left alone')
    // Seen unchanged for staleMs on our own clock: then it is a leftover and is reaped.
    const release = await dfs.lock(target, { timeoutMs: 2000, staleMs: 100 })
    await release()
  }
})

test('a holder on another host is stale only after staleMs of our own clock, whatever its acquiredAt', async () => {
  const dir = tmpdir('dfs-lock-')
  const target = path.join(dir, 'r')
  plant(`${target}.lock`, record(1, true, { host: 'elsewhere.example', boot: 'another-boot', acquiredAt: 0 }))
  const err = await dfs.lock(target, { timeoutMs: 100, staleMs: 5000 }).then(() => null, (e) => e)
  assert.ok(err && err.code === 'ELOCKED')
  assert.strictEqual(err.holder.state, 'foreign')
  assert.strictEqual(err.holder.host, 'elsewhere.example')
  const release = await dfs.lock(target, { timeoutMs: 3000, staleMs: 150 })
  await release()
  // Callers that try once at a time share this process's clock for the record: it still ages.
  plant(`${target}.lock`, record(1, true, { host: 'elsewhere.example', boot: 'another-boot' }))
  let tries = 0
  for (;;) {
    tries++
    const r = await dfs.lock(target, { timeoutMs: 0, staleMs: 150 }).catch((e) => {
      assert.strictEqual(e.code, 'ELOCKED')
      return null
    })
    if (r) {
      await r()
      break
    }
    await sleep(20)
  }
  assert.ok(tries > 1)
})

test('release reports ECOMPROMISED when the lock was taken away, and removes nothing of others', async () => {
  const dir = tmpdir('dfs-lock-')
  const target = path.join(dir, 'r')
  const release = await dfs.lock(target)
  fs.unlinkSync(`${target}.lock`)
  const other = record(1, false)
  fs.writeFileSync(`${target}.lock`, other)
  await assert.rejects(release(), (e) => e.code === 'ECOMPROMISED' && e.holder.pid === process.pid)
  assert.strictEqual(fs.readFileSync(`${target}.lock`, 'utf8'), other)
  fs.unlinkSync(`${target}.lock`)
  // From withLock: the call itself rejects with ECOMPROMISED.
  await assert.rejects(dfs.withLock(target, () => { fs.unlinkSync(`${target}.lock`) }), { code: 'ECOMPROMISED' })
  // updateJson checks before writing: nothing is written under a lost lock.
  await assert.rejects(dfs.updateJson(target, () => { fs.unlinkSync(`${target}.lock`); return { x: 1 } }), { code: 'ECOMPROMISED' })
  assert.ok(!fs.existsSync(target))
})

test('check() reports free, held (with the holder) and stale, and takes nothing', async () => {
  const dir = tmpdir('dfs-lock-')
  const target = path.join(dir, 'r')
  assert.deepStrictEqual(await dfs.check(target), { locked: false, stale: false, holder: null })
  const release = await dfs.lock(target)
  const held = await dfs.check(target)
  assert.strictEqual(held.locked, true)
  assert.strictEqual(held.holder.pid, process.pid)
  assert.strictEqual(held.holder.kernelLock, BACKEND === 'native')
  await release()
  plant(`${target}.lock`, record(deadPid(), true))
  const stale = dfs.checkSync(target)
  assert.deepStrictEqual([stale.locked, stale.stale], [false, true])
  assert.ok(fs.existsSync(`${target}.lock`), 'check reaps nothing')
})

test('updateFile and updateJson: read, apply, write atomically, resolve to the new value', async () => {
  const dir = tmpdir('dfs-lock-')
  const reg = path.join(dir, 'registry.json')
  assert.deepStrictEqual(await dfs.updateJson(reg, (cur) => {
    assert.strictEqual(cur, undefined)
    return { servers: ['a'] }
  }), { servers: ['a'] })
  assert.deepStrictEqual(await dfs.updateJson(reg, async (cur) => {
    await sleep(1)
    return { servers: [...cur.servers, 'b'] }
  }, { mode: 0o600 }), { servers: ['a', 'b'] })
  assert.strictEqual(fs.readFileSync(reg, 'utf8'), '{\n  "servers": [\n    "a",\n    "b"\n  ]\n}\n')
  assert.strictEqual(fs.statSync(reg).mode & 0o777, 0o600)
  assert.deepStrictEqual(await dfs.updateJson(reg, () => undefined), { servers: ['a', 'b'] }, 'undefined: unchanged')
  await assert.rejects(dfs.updateJson(reg, () => { throw new Error('boom') }), /boom/)
  assert.ok(!fs.existsSync(`${reg}.lock`), 'released on throw')
  const txt = path.join(dir, 'notes.txt')
  assert.strictEqual(await dfs.updateFile(txt, (cur) => (cur || '') + 'x'), 'x')
  assert.strictEqual(await dfs.updateFile(txt, (cur) => cur + 'y'), 'xy')
  const buf = await dfs.updateFile(txt, (cur) => Buffer.concat([cur, Buffer.from('z')]), { encoding: null })
  assert.strictEqual(buf.toString(), 'xyz')
  assert.strictEqual(fs.readFileSync(txt, 'utf8'), 'xyz')
  const n = 20
  await Promise.all(Array.from({ length: n }, () => dfs.updateJson(path.join(dir, 'c.json'), (c) => (c || 0) + 1)))
  assert.strictEqual(JSON.parse(fs.readFileSync(path.join(dir, 'c.json'), 'utf8')), n)
  assert.deepStrictEqual(fs.readdirSync(dir).sort(), ['c.json', 'notes.txt', 'registry.json'])
})

test('withRegistryLock: the seed drop-in; lockPath required; result returned; released on throw', async () => {
  const dir = tmpdir('dfs-lock-')
  const lockPath = path.join(dir, 'registry.lock')
  assert.strictEqual(await dfs.withRegistryLock(async () => 42, { lockPath, timeoutMs: 1000, staleMs: 30000 }), 42)
  await assert.rejects(dfs.withRegistryLock(() => { throw new Error('x') }, { lockPath }), /x/)
  assert.ok(!fs.existsSync(lockPath))
  await assert.rejects(dfs.withRegistryLock(() => 1, {}), { code: 'ERR_INVALID_ARG_TYPE' })
  await assert.rejects(dfs.withRegistryLock(() => 1, { lockPath, timeoutMs: -1 }), { code: 'ERR_OUT_OF_RANGE' })
  await assert.rejects(dfs.withLock(path.join(dir, 't'), 'nope'), { code: 'ERR_INVALID_ARG_TYPE' })
})

test('AbortSignal stops a wait (AbortError) and the queue moves on', async () => {
  const dir = tmpdir('dfs-lock-')
  const target = path.join(dir, 'r')
  const release = await dfs.lock(target)
  const ac = new AbortController()
  const waiting = dfs.lock(target, { signal: ac.signal, timeoutMs: 10000 })
  const next = dfs.withLock(target, () => 'next')
  setTimeout(() => ac.abort(), 20)
  await assert.rejects(waiting, { name: 'AbortError', code: 'ABORT_ERR' })
  await release()
  assert.strictEqual(await next, 'next')
  await assert.rejects(dfs.lock(target, { signal: AbortSignal.abort() }), { name: 'AbortError' })
})

test('worker threads share the process-wide queue: no lost update across threads', async () => {
  const dir = tmpdir('dfs-lock-')
  const counter = path.join(dir, 'n')
  fs.writeFileSync(counter, '0')
  const code = `
    const { workerData, parentPort } = require('node:worker_threads')
    const fs = require('node:fs')
    const dfs = require(${JSON.stringify(ROOT)})
    ;(async () => {
      for (let i = 0; i < 50; i++) {
        if (i % 2) {
          dfs.withLockSync(workerData, () => fs.writeFileSync(workerData, String(Number(fs.readFileSync(workerData, 'utf8')) + 1)))
        } else {
          await dfs.withLock(workerData, async () => {
            const v = Number(fs.readFileSync(workerData, 'utf8'))
            await new Promise((r) => setImmediate(r))
            fs.writeFileSync(workerData, String(v + 1))
          })
        }
      }
      parentPort.postMessage('done')
    })()`
  const workers = [0, 1, 2].map(() => new Worker(code, { eval: true, workerData: counter }))
  await Promise.all(workers.map((w) => new Promise((resolve, reject) => {
    w.on('message', resolve)
    w.on('error', reject)
  })))
  await Promise.all(workers.map((w) => w.terminate()))
  assert.strictEqual(fs.readFileSync(counter, 'utf8'), '150')
})

test('a failed attempt (missing directory) leaves the queue: the next caller is not held up', async () => {
  const dir = path.join(tmpdir('dfs-lock-'), 'later')
  const target = path.join(dir, 'r')
  await assert.rejects(dfs.lock(target), { code: 'ENOENT' })
  assert.throws(() => dfs.lockSync(target), { code: 'ENOENT' })
  fs.mkdirSync(dir)
  const release = await dfs.lock(target, { timeoutMs: 0 })
  await release()
  dfs.lockSync(target, { timeoutMs: 0 })()
})
