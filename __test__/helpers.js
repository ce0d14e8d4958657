'use strict'
// Shared test helpers: temp dirs, real mounts (tmpfs, read-only), child processes.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawnSync, execFileSync } = require('node:child_process')

const ROOT = path.join(__dirname, '..')
const BACKEND = process.env.DURABLE_FS_BACKEND || 'native'
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0

function tmpdir (prefix = 'dfs-test-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix))
}

function hasCommand (cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0
}

// Names in `dir` other than the expected ones (temp files left behind show up here).
function extraEntries (dir, expected) {
  return fs.readdirSync(dir).filter((n) => !expected.includes(n))
}

// Mounts a tmpfs of `size` (for example '64k') with extra options; returns { dir, cleanup } or
// { skip: reason } where the machine cannot do it.
function mountTmpfs (size, extra = '') {
  if (!isRoot) return { skip: 'needs root to mount a tmpfs' }
  const dir = tmpdir('dfs-mnt-')
  const opts = `size=${size}${extra ? ',' + extra : ''}`
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', opts, 'tmpfs', dir], { encoding: 'utf8' })
  if (r.status !== 0) {
    fs.rmdirSync(dir)
    return { skip: `mount -t tmpfs failed here: ${(r.stderr || '').trim()}` }
  }
  return {
    dir,
    remount (o) { execFileSync('mount', ['-o', `remount,${o}`, dir]) },
    cleanup () {
      spawnSync('umount', ['-l', dir])
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }
}

// Runs `node -e code` with the current backend; returns { status, stdout, stderr, signal }.
function runNode (code, opts = {}) {
  const r = spawnSync(opts.wrap || process.execPath, [...(opts.wrapArgs || []), ...(opts.wrap ? [process.execPath] : []), '-e', code], {
    encoding: 'utf8',
    cwd: ROOT,
    env: { ...process.env, DURABLE_FS_BACKEND: BACKEND, ...(opts.env || {}) },
    timeout: opts.timeout || 60000
  })
  return r
}

// Lock holders append "E|X <pid> <who> <monotonic ns>" lines to one O_APPEND log while inside the
// lock; these read it back and check that no two holds overlapped.
function parseHolds (file) {
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => {
    const [kind, pid, who, t] = l.split(' ')
    return { kind, pid: Number(pid), who, t: BigInt(t) }
  })
}

// Every enter is followed by the exit of the same holder before the next enter, except for a
// holder that was SIGKILLed inside: then the next enter must come after the kill was sent.
// Returns the number of completed holds and of holders killed inside.
function assertNoOverlap (entries, killedAt = new Map()) {
  const assert = require('node:assert')
  let inside = null
  let completed = 0
  let killedInside = 0
  for (const e of entries) {
    if (e.kind === 'E') {
      if (inside) {
        const k = killedAt.get(inside.pid)
        assert.ok(k !== undefined, `overlap: pid ${e.pid} entered while pid ${inside.pid} (alive) was inside`)
        assert.ok(e.t > k, `overlap: pid ${e.pid} entered before pid ${inside.pid} was killed`)
        killedInside++
      }
      inside = e
    } else {
      assert.ok(inside && inside.pid === e.pid, `exit of pid ${e.pid} without its enter`)
      assert.ok(e.t >= inside.t, `exit of pid ${e.pid} before its enter`)
      inside = null
      completed++
    }
  }
  return { completed, killedInside }
}

module.exports = { parseHolds, assertNoOverlap, ROOT, BACKEND, isRoot, tmpdir, hasCommand, extraEntries, mountTmpfs, runNode }
