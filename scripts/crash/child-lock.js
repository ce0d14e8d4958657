'use strict'
// A child that takes the lock of TARGET, writes TARGET atomically inside it, and releases it
// (a lock/update cycle), then reports the outcome as one JSON line:
//   node child-lock.js TARGET DATA_HEX MODE_OCTAL sync|async

const dfs = require('../..')

async function main () {
  const [target, hex, mode, how] = process.argv.slice(2)
  process.umask(0o022)
  const data = Buffer.from(hex, 'hex')
  const opts = { mode: parseInt(mode, 8) }
  try {
    if (how === 'async') await dfs.withLock(target, () => dfs.atomicWriteFile(target, data, opts))
    else dfs.withLockSync(target, () => dfs.atomicWriteFileSync(target, data, opts))
    process.stdout.write(JSON.stringify({ ok: true }) + '\n')
  } catch (e) {
    process.stdout.write(JSON.stringify({ ok: false, code: e.code, syscall: e.syscall, path: e.path, message: e.message }) + '\n')
  }
}

main()
