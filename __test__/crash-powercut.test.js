'use strict'
// Real power cuts on real file systems (root only): loop-mounted ext4 (data=writeback,
// noauto_da_alloc: the mode that does not hide a missing fsync) and xfs. A child writes through
// the addon; the file system is then cut with FS_IOC_SHUTDOWN (NOLOGFLUSH: what is not on disk is
// lost), unmounted and mounted again, and the invariants are checked: old or new content, new
// (with its mode) if the child had reported success, nothing but temp files left, and a later
// call sweeps them and succeeds. Repeated with the child killed (SIGKILL) before each of its
// system calls in turn.

const test = require('node:test')
const assert = require('node:assert')
const fs = require('node:fs')
const path = require('node:path')
const { spawnSync, execFileSync } = require('node:child_process')
const { tmpdir, hasCommand, isRoot, BACKEND } = require('./helpers')
// scripts/crash/ holds the tracer and children; a staged copy of the package (test:platforms)
// has only __test__/, so the suite says it is skipped there.
const t = (() => { try { return require('../scripts/crash/trace') } catch { return null } })()
const NO_SCRIPTS = 'scripts/crash/ is not in this copy of the package (a staged platform test)'

const OLD = Buffer.from('old content, written and synced before the cut')
const NEW = Buffer.from('new content written by the child before the power cut\n'.repeat(64))

// Cuts after a returned write per backend mode; `npm run test:crash` sets more.
const ROUNDS = Number(process.env.DFS_CRASH_ROUNDS) || 3

const FILESYSTEMS = [
  { name: 'ext4 (data=writeback,noauto_da_alloc)', mkfs: ['mkfs.ext4', '-q', '-F'], size: '64M', opts: 'data=writeback,noauto_da_alloc' },
  { name: 'xfs', mkfs: ['mkfs.xfs', '-q', '-f'], size: '320M', opts: '' }
]

function why (fsys, needStrace) {
  if (!t) return NO_SCRIPTS
  if (!isRoot) return 'needs root (loop mounts, FS_IOC_SHUTDOWN)'
  if (!hasCommand(fsys.mkfs[0])) return `${fsys.mkfs[0]} is not installed (scripts/setup.d/10-system.sh installs it)`
  if (needStrace && !t.hasStrace()) return 'strace is not installed'
  if (!fs.existsSync('/dev/loop-control')) return 'no loop devices on this machine'
  return false
}

// A loop-mounted image; `cycle()` = shutdown, unmount, mount.
function image (fsys) {
  const work = tmpdir('dfs-powercut-')
  const img = path.join(work, 'img')
  const mnt = path.join(work, 'mnt')
  fs.mkdirSync(mnt)
  execFileSync('truncate', ['-s', fsys.size, img])
  execFileSync(fsys.mkfs[0], [...fsys.mkfs.slice(1), img], { stdio: 'pipe' })
  const mount = () => execFileSync('mount', ['-o', ['loop', fsys.opts].filter(Boolean).join(','), img, mnt], { stdio: 'pipe' })
  const umount = () => execFileSync('umount', [mnt], { stdio: 'pipe' })
  mount()
  return {
    mnt,
    dir: path.join(mnt, 'd'),
    target: path.join(mnt, 'd', 'f'),
    cycle () {
      t.shutdown(mnt)
      umount()
      mount()
    },
    cleanup () {
      spawnSync('umount', [mnt])
      fs.rmSync(work, { recursive: true, force: true })
    }
  }
}

// The old content, durable (file and directory fsynced) before the child starts.
function seed (im) {
  fs.rmSync(im.dir, { recursive: true, force: true })
  fs.mkdirSync(im.dir)
  const fd = fs.openSync(im.target, 'w', 0o640)
  fs.writeSync(fd, OLD)
  fs.fchmodSync(fd, 0o640)
  fs.fsyncSync(fd)
  fs.closeSync(fd)
  for (const d of [im.dir, im.mnt]) {
    const dfd = fs.openSync(d, 'r')
    fs.fsyncSync(dfd)
    fs.closeSync(dfd)
  }
}

const childArgs = (im, how) => [im.target, NEW.toString('hex'), '664', how]

function runChild (im, how) {
  const r = spawnSync(process.execPath, [t.CHILD, ...childArgs(im, how)], { cwd: t.ROOT, encoding: 'utf8', env: { ...process.env, DURABLE_FS_BACKEND: BACKEND } })
  return JSON.parse(r.stdout.trim().split('\n').pop())
}

// The invariants after the cut; returns 'old' or 'new'.
function check (im, returnedOk, what) {
  const data = fs.readFileSync(im.target)
  const mode = fs.statSync(im.target).mode & 0o7777
  const leftovers = fs.readdirSync(im.dir).filter((n) => n !== 'f')
  for (const n of leftovers) assert.match(n, /^\.f\.[0-9a-f]{16}\.dfstmp$/, `${what}: only temp files may be left (${n})`)
  let state
  if (data.equals(NEW)) {
    assert.strictEqual(mode, 0o664, `${what}: new content with mode ${mode.toString(8)}`)
    state = 'new'
  } else if (data.equals(OLD)) {
    assert.ok(!returnedOk, `${what}: the write had returned, yet the old content survived the cut`)
    assert.strictEqual(mode, 0o640, `${what}: old content with mode ${mode.toString(8)}`)
    state = 'old'
  } else {
    assert.fail(`${what}: target holds neither old nor new content (${data.length} bytes)`)
  }
  // Recovery: sweep the temp files, write again.
  const r = spawnSync(process.execPath, [t.CHILD, im.target, Buffer.from('after').toString('hex'), '600', 'sync', 'sweep'], { cwd: t.ROOT, encoding: 'utf8', env: { ...process.env, DURABLE_FS_BACKEND: BACKEND } })
  assert.deepStrictEqual(JSON.parse(r.stdout.trim()), { ok: true }, `${what}: recovery write`)
  assert.deepStrictEqual(fs.readdirSync(im.dir), ['f'], `${what}: recovery leaves only the target`)
  return state
}

for (const fsys of FILESYSTEMS) {
  test(`power cut after the write returned: ${fsys.name}`, { skip: why(fsys, false) }, () => {
    const im = image(fsys)
    try {
      let n = 0
      for (const how of ['sync', 'async']) {
        for (let round = 0; round < ROUNDS; round++) {
          seed(im)
          const r = runChild(im, how)
          assert.deepStrictEqual(r, { ok: true }, 'the child reports success')
          im.cycle()
          assert.strictEqual(check(im, true, `${fsys.name} ${how} #${round}`), 'new')
          n++
        }
      }
      console.log(`crash-powercut: ${fsys.name}: ${n} cuts after a returned write, 0 violations`)
    } finally {
      im.cleanup()
    }
  })

  test(`control: a write without the directory fsync is caught by the cut: ${fsys.name}`, { skip: why(fsys, false) }, () => {
    const im = image(fsys)
    try {
      seed(im)
      assert.deepStrictEqual(runChild(im, 'naive'), { ok: true })
      im.cycle()
      assert.throws(() => check(im, true, `${fsys.name} naive`), /the write had returned, yet the old content survived/)
      console.log(`crash-powercut: ${fsys.name}: control (temp, fsync, rename, no directory fsync): 1 cut, 1 violation`)
    } finally {
      im.cleanup()
    }
  })

  test(`limit: fsync:false is atomic against a process crash only; after a power cut the target can be empty: ${fsys.name}`, { skip: why(fsys, false) }, () => {
    // The rename of a write without fsync reaches the disk as soon as anything fsyncs the
    // directory (another durable write there, a journal commit), possibly before the data.
    const im = image(fsys)
    try {
      seed(im)
      const r = spawnSync(process.execPath, [t.CHILD, ...childArgs(im, 'sync'), 'nofsync'], { cwd: t.ROOT, encoding: 'utf8', env: { ...process.env, DURABLE_FS_BACKEND: BACKEND } })
      assert.deepStrictEqual(JSON.parse(r.stdout.trim()), { ok: true })
      const dfd = fs.openSync(im.dir, 'r')
      fs.fsyncSync(dfd)
      fs.closeSync(dfd)
      im.cycle()
      const size = fs.statSync(im.target).size
      console.log(`crash-powercut: ${fsys.name}: limit: fsync:false then a directory fsync, cut: target is ${size} bytes (old ${OLD.length}, new ${NEW.length})`)
      assert.throws(() => check(im, false, 'fsync:false'), /neither old nor new/, 'fsync:false loses atomicity across a power cut: the README must say so')
    } finally {
      im.cleanup()
    }
  })

  test(`power cut after the child is killed before each of its system calls: ${fsys.name}`, { skip: why(fsys, true) || (BACKEND !== 'native' && 'kill points come from the native addon trace') }, () => {
    const im = image(fsys)
    try {
      seed(im)
      const base = t.runTraced(childArgs(im, 'sync'))
      assert.deepStrictEqual(base.child, { ok: true })
      const calls = t.parseTrace(base.trace)
      const rel = t.relevant(calls, im.dir)
      assert.ok(rel.length >= 8, `the write's calls were found in the trace (${rel.length})`)
      const seen = { old: 0, new: 0 }
      for (const [i, c] of rel.entries()) {
        const r = t.injectAt(childArgs(im, 'sync'), { calls, rel, i, spec: 'error=EIO:signal=SIGKILL', dir: im.dir, prepare: () => seed(im) })
        const what = `${fsys.name}: killed before ${c.name} #${r.n} (call ${i})`
        assert.strictEqual(r.child, null, `${what}: the child must die before reporting`)
        im.cycle()
        seen[check(im, false, what)]++
      }
      // Killed before the rename: old; killed after it (before the directory fsync): the rename
      // may or may not have reached the disk.
      assert.ok(seen.old >= 1, 'some kill points leave the old content')
      console.log(`crash-powercut: ${fsys.name}: ${rel.length} kill points then a cut (old: ${seen.old}, new: ${seen.new}), 0 violations`)
    } finally {
      im.cleanup()
    }
  })
}
