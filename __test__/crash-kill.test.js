'use strict'
// A child writing in a loop is killed with SIGKILL at random moments, 40 times. After every kill
// the target parses and holds either the last version seen before or a newer complete one.

const test = require('node:test')
const assert = require('node:assert')
const fs = require('node:fs')
const path = require('node:path')
const { spawn } = require('node:child_process')
const dfs = require('..')
const { ROOT, BACKEND, tmpdir } = require('./helpers')

const CHILD = `
  const dfs = require('.')
  const f = process.argv[1]
  let seq = JSON.parse(require('fs').readFileSync(f, 'utf8')).seq
  process.stdout.write('ready\\n')
  const pad = (n) => 'x'.repeat(n)
  async function loop () {
    for (;;) {
      seq++
      const body = JSON.stringify({ seq, pad: pad((seq * 7919) % 200000) })
      if (seq % 2) dfs.atomicWriteFileSync(f, body, 0o600)
      else await dfs.atomicWriteFile(f, body, 0o600)
    }
  }
  loop()
`

function runAndKill (file, delayMs) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', CHILD, file], { cwd: ROOT, env: { ...process.env, DURABLE_FS_BACKEND: BACKEND }, stdio: ['ignore', 'pipe', 'inherit'] })
    child.stdout.once('data', () => setTimeout(() => child.kill('SIGKILL'), delayMs))
    child.on('error', reject)
    child.on('exit', (code, signal) => resolve(signal))
  })
}

test('SIGKILL at random moments, 40 times: the target is always a complete version', async () => {
  const dir = tmpdir()
  const f = path.join(dir, 'state.json')
  dfs.atomicWriteFileSync(f, JSON.stringify({ seq: 0 }), 0o600)
  let last = 0
  let advanced = 0
  for (let i = 0; i < 40; i++) {
    const signal = await runAndKill(f, Math.floor(Math.random() * 40))
    assert.strictEqual(signal, 'SIGKILL')
    const text = fs.readFileSync(f, 'utf8')
    const v = JSON.parse(text) // throws on an empty or partial file
    assert.ok(v.seq >= last, `version went back from ${last} to ${v.seq}`)
    if (v.seq > 0) assert.strictEqual(v.pad.length, (v.seq * 7919) % 200000, 'content is complete')
    assert.strictEqual(fs.statSync(f).mode & 0o777, 0o600)
    if (v.seq > last) advanced++
    last = v.seq
  }
  const leftovers = fs.readdirSync(dir).filter((n) => n !== 'state.json')
  for (const n of leftovers) assert.match(n, /^\.state\.json\.[0-9a-f]{16}\.dfstmp$/, 'only our temp files may be left by a crash')
  assert.strictEqual(dfs.sweepTempFilesSync(dir, 0), leftovers.length)
  assert.deepStrictEqual(fs.readdirSync(dir), ['state.json'])
  console.log(`# 40 kills: ${advanced} advanced the version, final seq ${last}, ${leftovers.length} temp files swept`)
  assert.ok(advanced > 0, 'the children must have written something')
})
