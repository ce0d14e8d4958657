'use strict'
// What only the WebAssembly backend has to prove: its async calls, which run on the main thread,
// give the event loop back between writes (one write of the caller's data per macrotask), keep
// call order, and report errors as rejections; the caller's buffer is captured at call time.

const test = require('node:test')
const assert = require('node:assert')
const fs = require('node:fs')
const path = require('node:path')
const dfs = require('..')
const { tmpdir, BACKEND } = require('./helpers')

const skip = BACKEND !== 'wasm' && 'native runs async writes on the libuv pool: nothing runs on the event loop to interleave'

test('the event loop turns between two queued async writes: at most one write lands per turn', { skip }, async () => {
  const dir = tmpdir()
  const n = 20
  const files = Array.from({ length: n }, (_, i) => path.join(dir, `f${i}`))
  // A ticker that runs once per loop turn and counts the targets already in place.
  const landed = []
  let ticking = true
  const tick = () => {
    landed.push(files.filter((f) => fs.existsSync(f)).length)
    if (ticking) setImmediate(tick)
  }
  setImmediate(tick)
  const writes = files.map((f, i) => dfs.atomicWriteFile(f, Buffer.alloc(64 * 1024, i)))
  // A failing write in the middle rejects and does not stop the others.
  const bad = dfs.atomicWriteFile(path.join(dir, 'missing', 'x'), 'x').then(() => 'resolved', (e) => e.code)
  await Promise.all(writes)
  ticking = false
  assert.strictEqual(await bad, 'ENOENT')
  assert.strictEqual(landed[0], 0, 'nothing was written before the first turn')
  for (let i = 1; i < landed.length; i++) {
    assert.ok(landed[i] - landed[i - 1] <= 1, `${landed[i] - landed[i - 1]} writes landed in one loop turn: ${landed}`)
  }
  assert.ok(landed.length >= n, `the loop turned at least once per write (${landed.length} turns)`)
  for (let i = 0; i < n; i++) assert.ok(fs.readFileSync(files[i]).equals(Buffer.alloc(64 * 1024, i)))
})

test('async writes to different files complete in call order; the data is taken at call time', { skip }, async () => {
  const dir = tmpdir()
  const order = []
  const buf = Buffer.from('first')
  const p = Array.from({ length: 10 }, (_, i) => dfs.atomicWriteFile(path.join(dir, `g${i}`), i === 0 ? buf : `v${i}`).then(() => order.push(i)))
  buf.write('XXXXX') // after the call: must not change what is written
  await Promise.all(p)
  assert.deepStrictEqual(order, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
  assert.strictEqual(fs.readFileSync(path.join(dir, 'g0'), 'utf8'), 'first')
})
