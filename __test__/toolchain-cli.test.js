'use strict'
// The durable-fs CLI (issue 14 §5), run as a child process on real files and a real lock holder.
const test = require('node:test')
const assert = require('node:assert')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawn, spawnSync } = require('node:child_process')
const dfs = require('..')

const bin = path.join(__dirname, '..', 'bin', 'durable-fs.js')
const locks = dfs.backend === 'native' || typeof dfs.checkSync === 'function'

function cli (...args) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60000 })
  return { code: r.status, out: r.stdout, err: r.stderr }
}

function tmp (t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dfs-cli-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

// A child process that holds the lock of `target` until killed.
async function holder (t, target) {
  const c = spawn(process.execPath, ['-e', `
    const d = require(${JSON.stringify(path.join(__dirname, '..'))})
    d.lockSync(${JSON.stringify(target)})
    console.log('held')
    setInterval(() => {}, 1000)`], { stdio: ['ignore', 'pipe', 'inherit'] })
  t.after(() => c.kill('SIGKILL'))
  await new Promise((resolve, reject) => {
    c.stdout.on('data', (d) => { if (String(d).includes('held')) resolve() })
    c.on('exit', (code) => reject(new Error(`holder exited ${code}`)))
  })
  return c
}

test('usage: --help is 0, nothing or an unknown command or option is 2', { timeout: 60000 }, () => {
  const h = cli('--help')
  assert.strictEqual(h.code, 0)
  for (const c of ['lock status', 'lock clear', 'log verify', 'log cat', 'sweep']) assert.ok(h.out.includes(c), c)
  assert.match(h.out, new RegExp(`Backend in use: ${dfs.backend}`))
  assert.strictEqual(cli().code, 2)
  const u = cli('frobnicate')
  assert.strictEqual(u.code, 2)
  assert.match(u.err, /unknown command/)
  const o = cli('lock', 'status', 'x', '--bogus')
  assert.strictEqual(o.code, 2)
  assert.match(o.err, /unknown option --bogus/)
  assert.strictEqual(cli('lock', 'status').code, 2)
})

test('lock status and lock clear against a live, then killed, holder', { skip: !locks, timeout: 120000 }, async (t) => {
  const dir = tmp(t)
  const target = path.join(dir, 'state.json')
  const free = cli('lock', 'status', target, '--json')
  assert.strictEqual(free.code, 0, free.err)
  assert.deepStrictEqual(JSON.parse(free.out), dfs.checkSync(target))
  assert.strictEqual(JSON.parse(free.out).locked, false)

  const c = await holder(t, target)
  const held = cli('lock', 'status', target, '--json')
  assert.strictEqual(held.code, 1, held.err)
  const s = JSON.parse(held.out)
  assert.strictEqual(s.locked, true)
  assert.strictEqual(s.holder.pid, c.pid)
  const text = cli('lock', 'status', target)
  assert.strictEqual(text.code, 1)
  assert.match(text.out, new RegExp(`held: alive, by pid ${c.pid}`))
  const explicit = cli('lock', 'status', 'ignored', '--lock-path', `${target}.lock`, '--json')
  assert.strictEqual(explicit.code, 1)
  assert.strictEqual(JSON.parse(explicit.out).holder.pid, c.pid)

  const refused = cli('lock', 'clear', target)
  assert.strictEqual(refused.code, 1)
  assert.match(refused.out, /refused/)
  assert.ok(fs.existsSync(`${target}.lock`), 'a live lock is left alone')

  c.kill('SIGKILL')
  await new Promise((resolve) => c.once('exit', resolve))
  const dead = cli('lock', 'status', target, '--json')
  assert.strictEqual(dead.code, 0, dead.out)
  assert.strictEqual(JSON.parse(dead.out).locked, false)
  const cleared = cli('lock', 'clear', target)
  assert.strictEqual(cleared.code, 0, cleared.err)
  assert.match(cleared.out, /cleared|no lock file/)
  assert.strictEqual(dfs.checkSync(target).holder, null)
})

test('lock clear --force removes a live holder\'s lock', { skip: !locks, timeout: 120000 }, async (t) => {
  const dir = tmp(t)
  const target = path.join(dir, 'x')
  await holder(t, target)
  const r = cli('lock', 'clear', target, '--force')
  assert.strictEqual(r.code, 0, r.err)
  assert.ok(!fs.existsSync(`${target}.lock`))
})

test('log verify and log cat on a real log; a damaged record is exit 1 or 3 with the reason', { timeout: 120000 }, (t) => {
  const dir = tmp(t)
  const f = path.join(dir, 'app.log')
  for (const rec of [{ n: 1 }, 'two', { n: 3 }]) dfs.appendFileDurableSync(f, rec, { hashChain: true })
  const plain = path.join(dir, 'plain.log')
  dfs.appendFileDurableSync(plain, 'x')
  const p = cli('log', 'verify', plain)
  assert.strictEqual(p.code, 0, p.err)
  assert.match(p.out, /ok: 1 records, frames intact \(no hash chain/)
  const v = cli('log', 'verify', f)
  assert.strictEqual(v.code, 0, v.err)
  assert.match(v.out, /ok: 3 records/)
  const c = cli('log', 'cat', f)
  assert.strictEqual(c.code, 0, c.err)
  assert.deepStrictEqual(c.out.trim().split('\n').map((l) => JSON.parse(l)), [{ n: 1 }, 'two', { n: 3 }])

  const bytes = fs.readFileSync(f)
  const at = bytes.indexOf('two')
  bytes[at] = 'T'.charCodeAt(0)
  fs.writeFileSync(f, bytes)
  const b = cli('log', 'verify', f)
  assert.ok(b.code === 1 || b.code === 3, `exit ${b.code}: ${b.out}${b.err}`)
  assert.match(b.out + b.err, /broken|ECORRUPT|corrupt/i)

  const missing = cli('log', 'cat', path.join(dir, 'none.log'))
  assert.strictEqual(missing.code, 3)
  assert.match(missing.err, /ENOENT/)
})

test('sweep: counts what it removed; a missing directory is exit 3', { timeout: 60000 }, (t) => {
  const dir = tmp(t)
  fs.writeFileSync(path.join(dir, 'keep.txt'), 'mine')
  const r = cli('sweep', dir, '--older-than', '0')
  assert.strictEqual(r.code, 0, r.err)
  assert.match(r.out, /removed 0 temp files/)
  assert.ok(fs.existsSync(path.join(dir, 'keep.txt')), 'a file that is not a temp file is left alone')
  assert.strictEqual(cli('sweep', dir, '--older-than', 'soon').code, 2)
  assert.strictEqual(cli('sweep', path.join(dir, 'nope')).code, 3)
})
