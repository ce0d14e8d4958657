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

test('the event loop turns between two queued async writes', { skip }, async () => {
  const dir = tmpdir()
  let turns = 0
  let ticking = true
  const tick = () => { turns++; if (ticking) setImmediate(tick) }
  setImmediate(tick)
  const seen = []
  const writes = Array.from({ length: 20 }, (_, i) =>
    dfs.atomicWriteFile(path.join(dir, `f${i}`), Buffer.alloc(64 * 1024, i)).then(() => seen.push(turns)))
  // A failing write in the middle rejects and does not stop the queue.
  const bad = dfs.atomicWriteFile(path.join(dir, 'missing', 'x'), 'x').then(() => 'resolved', (e) => e.code)
  await Promise.all(writes)
  ticking = false
  assert.strictEqual(await bad, 'ENOENT')
  assert.strictEqual(seen.length, 20)
  for (let i = 1; i < seen.length; i++) {
    assert.ok(seen[i] > seen[i - 1], `write ${i} completed in the same loop turn as write ${i - 1}: ${seen}`)
  }
  for (let i = 0; i < 20; i++) assert.ok(fs.readFileSync(path.join(dir, `f${i}`)).equals(Buffer.alloc(64 * 1024, i)))
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
