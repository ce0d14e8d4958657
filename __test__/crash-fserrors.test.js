'use strict'
// Real file-system errors, each at the step where the kernel raises it, for sync and async calls:
// ENOSPC for data (the write) and for inodes (the temp file's create) on tiny tmpfs mounts, EROFS
// after a read-only remount, EBUSY when the target is a bind-mounted file, EACCES/EPERM as an
// unprivileged child. Each time: the right code and syscall, the target untouched (content and
// mode), no temp file left. (__test__/fs-errors.test.js holds the basic cases.)

const test = require('node:test')
const assert = require('node:assert')
const fs = require('node:fs')
const path = require('node:path')
const { spawnSync, execFileSync } = require('node:child_process')
const { mountTmpfs, isRoot, hasCommand, ROOT, BACKEND, tmpdir } = require('./helpers')
const CHILD = path.join(ROOT, 'scripts', 'crash', 'child-write.js')
// A staged copy of the package (test:platforms) has only __test__/: say so and skip.
const NO_SCRIPTS = !fs.existsSync(CHILD) && 'scripts/crash/ is not in this copy of the package (a staged platform test)'


const OLD = Buffer.from('old content')

function child (args, wrap = []) {
  const cmd = wrap.length ? wrap[0] : process.execPath
  const argv = wrap.length ? [...wrap.slice(1), process.execPath, CHILD, ...args] : [CHILD, ...args]
  const r = spawnSync(cmd, argv, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, DURABLE_FS_BACKEND: BACKEND } })
  const line = (r.stdout || '').trim().split('\n').pop()
  try {
    return JSON.parse(line)
  } catch {
    throw new Error(`child failed: ${r.stderr}`)
  }
}

function seed (dir, mode = 0o640) {
  const target = path.join(dir, 'f')
  fs.writeFileSync(target, OLD)
  fs.chmodSync(target, mode)
  return target
}

function expectClean (r, { code, syscall, target, dir, what, mode = 0o640, extra = [] }) {
  assert.strictEqual(r.ok, false, `${what}: must fail`)
  assert.strictEqual(r.code, code, `${what}: ${r.message}`)
  assert.strictEqual(r.syscall, syscall, `${what}: ${r.message}`)
  assert.strictEqual(r.path, target, what)
  assert.deepStrictEqual(fs.readFileSync(target), OLD, `${what}: target unchanged`)
  assert.strictEqual(fs.statSync(target).mode & 0o7777, mode, `${what}: mode unchanged`)
  assert.deepStrictEqual(fs.readdirSync(dir).sort(), ['f', ...extra].sort(), `${what}: nothing left behind`)
}

let cases = 0
test.after(() => console.log(`crash-fserrors: ${cases} cases on real file systems passed`))

test('ENOSPC for data: the write fails, the temp file is removed', { skip: NO_SCRIPTS || (!isRoot && 'needs root to mount a tmpfs') }, (t) => {
  const m = mountTmpfs('256k')
  if (m.skip) return t.skip(m.skip)
  try {
    const target = seed(m.dir)
    // Fill the mount but a few blocks: the new 1 MiB content cannot fit.
    fs.writeFileSync(path.join(m.dir, 'filler'), Buffer.alloc(128 * 1024))
    for (const how of ['sync', 'async']) {
      const r = child([target, 'fill:1048576:7', '600', how])
      expectClean(r, { code: 'ENOSPC', syscall: 'write', target, dir: m.dir, what: `ENOSPC data ${how}`, extra: ['filler'] })
      cases++
    }
  } finally {
    m.cleanup()
  }
})

test('ENOSPC for inodes: creating the temp file fails', { skip: NO_SCRIPTS || (!isRoot && 'needs root to mount a tmpfs') }, (t) => {
  const m = mountTmpfs('1m', 'nr_inodes=8')
  if (m.skip) return t.skip(m.skip)
  try {
    const target = seed(m.dir)
    const extra = []
    // Use up every inode.
    for (let i = 0; ; i++) {
      try {
        fs.writeFileSync(path.join(m.dir, `i${i}`), '')
        extra.push(`i${i}`)
      } catch (e) {
        assert.strictEqual(e.code, 'ENOSPC')
        break
      }
    }
    for (const how of ['sync', 'async']) {
      const r = child([target, Buffer.from('new').toString('hex'), '600', how])
      expectClean(r, { code: 'ENOSPC', syscall: 'open', target, dir: m.dir, what: `ENOSPC inodes ${how}`, extra })
      cases++
    }
  } finally {
    m.cleanup()
  }
})

test('EROFS after a read-only remount', { skip: NO_SCRIPTS || (!isRoot && 'needs root to mount a tmpfs') }, (t) => {
  const m = mountTmpfs('1m')
  if (m.skip) return t.skip(m.skip)
  try {
    const target = seed(m.dir)
    m.remount('ro')
    for (const how of ['sync', 'async']) {
      const r = child([target, Buffer.from('new').toString('hex'), '600', how])
      expectClean(r, { code: 'EROFS', syscall: 'open', target, dir: m.dir, what: `EROFS ${how}` })
      cases++
    }
  } finally {
    m.cleanup()
  }
})

test('EBUSY when the target is a bind-mounted file: the rename fails, the temp file is removed', { skip: NO_SCRIPTS || (!isRoot && 'needs root to bind-mount') }, (t) => {
  const dir = tmpdir('dfs-ebusy-')
  const target = seed(dir)
  const src = path.join(tmpdir('dfs-ebusy-src-'), 'other')
  fs.writeFileSync(src, OLD)
  fs.chmodSync(src, 0o640)
  const r0 = spawnSync('mount', ['--bind', src, target], { encoding: 'utf8' })
  if (r0.status !== 0) return t.skip(`bind mount failed here: ${r0.stderr.trim()}`)
  try {
    for (const how of ['sync', 'async']) {
      const r = child([target, Buffer.from('new').toString('hex'), '600', how])
      expectClean(r, { code: 'EBUSY', syscall: 'rename', target, dir, what: `EBUSY ${how}` })
      cases++
    }
  } finally {
    spawnSync('umount', [target])
    fs.rmSync(dir, { recursive: true, force: true })
    fs.rmSync(path.dirname(src), { recursive: true, force: true })
  }
})

const setpriv = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups']
const unprivSkip = NO_SCRIPTS || (!isRoot ? 'needs root to drop to an unprivileged user' : !hasCommand('setpriv') ? 'setpriv is not installed' : false)

// A directory the unprivileged user can reach (os.tmpdir() may be private to root).
function sharedDir (mode) {
  const dir = fs.mkdtempSync('/tmp/dfs-eacces-')
  fs.chmodSync(dir, mode)
  return dir
}

test('EACCES as an unprivileged child: the directory is not writable', { skip: unprivSkip }, (t) => {
  // The child needs to read the package: skip where the checkout is not world-readable.
  const probe = spawnSync(setpriv[0], [...setpriv.slice(1), process.execPath, '-e', `require(${JSON.stringify(ROOT)})`], { encoding: 'utf8' })
  if (probe.status !== 0) return t.skip('the checkout is not readable by uid 65534')
  const dir = sharedDir(0o755)
  try {
    const target = seed(dir, 0o666)
    for (const how of ['sync', 'async']) {
      const r = child([target, Buffer.from('new').toString('hex'), '-', how], setpriv)
      expectClean(r, { code: 'EACCES', syscall: 'open', target, dir, mode: 0o666, what: `EACCES ${how}` })
      cases++
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test('EPERM as an unprivileged child: replacing another user\'s file in a sticky directory', { skip: unprivSkip }, (t) => {
  const probe = spawnSync(setpriv[0], [...setpriv.slice(1), process.execPath, '-e', `require(${JSON.stringify(ROOT)})`], { encoding: 'utf8' })
  if (probe.status !== 0) return t.skip('the checkout is not readable by uid 65534')
  const dir = sharedDir(0o1777)
  try {
    const target = seed(dir, 0o666)
    for (const how of ['sync', 'async']) {
      const r = child([target, Buffer.from('new').toString('hex'), '-', how], setpriv)
      // The temp file is created (the directory is writable), the rename over root's file is
      // refused, and the temp file is removed (it is ours).
      expectClean(r, { code: 'EPERM', syscall: 'rename', target, dir, mode: 0o666, what: `sticky ${how}` })
      cases++
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test('the child really runs unprivileged (control)', { skip: unprivSkip }, () => {
  const out = execFileSync(setpriv[0], [...setpriv.slice(1), 'id', '-u'], { encoding: 'utf8' })
  assert.strictEqual(out.trim(), '65534')
})
