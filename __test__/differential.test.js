'use strict'
// Differential test in the style of renameio's: every combination of (target exists or not,
// existing mode, requested mode or none, umask 022 or 077, target is a symlink or not), written
// with fs.writeFileSync, with durable-fs and with write-file-atomic; content, mode and link state
// compared. The table is printed; the cases where durable-fs differs from fs.writeFileSync are the
// intentional differences listed at the end (each one asserted to be exactly that difference).

const test = require('node:test')
const assert = require('node:assert')
const fs = require('node:fs')
const path = require('node:path')
const dfs = require('..')
const writeFileAtomic = require('write-file-atomic')
const { tmpdir } = require('./helpers')

const oct = (m) => (m === null || m === undefined ? '-' : '0' + m.toString(8))

// Writes through `impl` in a fresh directory laid out for the case; returns what came out.
function outcome (c, impl) {
  const dir = tmpdir('dfs-diff-')
  const real = path.join(dir, 'real')
  const target = c.symlink ? path.join(dir, 'link') : real
  if (c.exists) {
    fs.writeFileSync(real, 'old')
    fs.chmodSync(real, c.existingMode)
  }
  if (c.symlink) fs.symlinkSync('real', target)
  const old = process.umask(c.umask)
  try {
    impl(target, 'new content', c.requested)
  } finally {
    process.umask(old)
  }
  const res = {
    content: fs.readFileSync(target, 'utf8'),
    mode: fs.statSync(target).mode & 0o7777,
    link: c.symlink ? (fs.lstatSync(target).isSymbolicLink() ? 'link kept' : 'link replaced') : 'no link',
    extra: fs.readdirSync(dir).filter((n) => n !== 'real' && n !== 'link')
  }
  fs.rmSync(dir, { recursive: true, force: true })
  return res
}

const impls = {
  'fs.writeFileSync': (p, data, mode) => fs.writeFileSync(p, data, mode === null ? undefined : { mode }),
  'durable-fs': (p, data, mode) => dfs.atomicWriteFileSync(p, data, mode === null ? undefined : { mode }),
  'write-file-atomic': (p, data, mode) => writeFileAtomic.sync(p, data, mode === null ? undefined : { mode })
}

const cases = []
for (const exists of [false, true]) {
  for (const existingMode of exists ? [0o644, 0o600] : [null]) {
    for (const requested of [null, 0o600, 0o640]) {
      for (const umask of [0o022, 0o077]) {
        for (const symlink of [false, true]) cases.push({ exists, existingMode, requested, umask, symlink })
      }
    }
  }
}

// What durable-fs promises: an explicit mode is applied exactly; otherwise the old file's mode is
// kept; a new file gets 0o666 & ~umask. What fs.writeFileSync does: mode only at creation, and
// narrowed by the umask.
const expectOurs = (c) => c.requested ?? (c.exists ? c.existingMode : 0o666 & ~c.umask)
const expectFs = (c) => (c.exists ? c.existingMode : (c.requested ?? 0o666) & ~c.umask)

function why (c) {
  const reasons = []
  if (c.requested !== null && c.exists && c.requested !== c.existingMode) reasons.push('explicit mode applied to an existing file (fs keeps the old mode)')
  if (c.requested !== null && !c.exists && (c.requested & ~c.umask) !== c.requested) reasons.push('explicit mode not narrowed by the umask')
  return reasons
}

test('differential: durable-fs vs fs.writeFileSync (and write-file-atomic) over 36 cases', (t) => {
  const header = ['#', 'exists', 'old', 'requested', 'umask', 'symlink', 'fs.writeFileSync', 'durable-fs', 'write-file-atomic', 'durable-fs vs fs']
  const rows = []
  const differences = new Map()
  cases.forEach((c, i) => {
    const r = Object.fromEntries(Object.entries(impls).map(([n, fn]) => [n, outcome(c, fn)]))
    const ours = r['durable-fs']
    const theirs = r['fs.writeFileSync']
    for (const [n, o] of Object.entries(r)) {
      assert.strictEqual(o.content, 'new content', `case ${i} ${n}: content`)
      assert.deepStrictEqual(o.extra, [], `case ${i} ${n}: no stray files`)
    }
    assert.strictEqual(ours.link, theirs.link, `case ${i}: link state as fs.writeFileSync`)
    assert.strictEqual(theirs.mode, expectFs(c), `case ${i}: fs.writeFileSync mode as modelled`)
    assert.strictEqual(ours.mode, expectOurs(c), `case ${i}: durable-fs mode`)
    const reasons = why(c)
    if (ours.mode !== theirs.mode) {
      assert.ok(reasons.length > 0, `case ${i}: an unexplained difference`)
      for (const reason of reasons) differences.set(reason, [...(differences.get(reason) || []), i])
    }
    const fmt = (o) => `${oct(o.mode)} ${o.link}`
    rows.push([String(i), c.exists ? 'yes' : 'no', oct(c.existingMode), oct(c.requested), oct(c.umask), c.symlink ? 'yes' : 'no',
      fmt(theirs), fmt(ours), fmt(r['write-file-atomic']), ours.mode === theirs.mode ? 'same' : 'DIFFERS: ' + reasons.join('; ')])
  })
  const widths = header.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j].length)))
  const line = (cells) => cells.map((s, j) => s.padEnd(widths[j])).join(' | ').trimEnd()
  const out = [line(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.map(line), '',
    'Intentional differences from fs.writeFileSync (content and link state are identical in every case):']
  for (const [reason, ids] of differences) out.push(`  - ${reason}: cases ${ids.join(', ')}`)
  out.push('  - not visible in this table: durable-fs replaces the file atomically (readers never see a partial file) and fsyncs file and directory')
  for (const l of out) t.diagnostic(l)
  assert.ok(differences.size === 2, 'both intentional differences are exercised')
})
