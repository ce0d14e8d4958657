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

module.exports = { ROOT, BACKEND, isRoot, tmpdir, hasCommand, extraEntries, mountTmpfs, runNode }
