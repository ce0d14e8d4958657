'use strict'
// A child that writes one file through durable-fs and reports the outcome as one JSON line:
//   node child-write.js TARGET DATA_HEX MODE_OCTAL|- sync|async [sweep]
// Used under strace (trace, injected errors, SIGKILL) and before power cuts.

const dfs = require('../..')

async function main () {
  const [target, hex, mode, how, sweep] = process.argv.slice(2)
  process.umask(0o022)
  const data = Buffer.from(hex, 'hex')
  const opts = mode === '-' ? {} : { mode: parseInt(mode, 8) }
  try {
    if (sweep === 'sweep') dfs.sweepTempFilesSync(require('node:path').dirname(target), 0)
    if (how === 'async') await dfs.atomicWriteFile(target, data, opts)
    else dfs.atomicWriteFileSync(target, data, opts)
    process.stdout.write(JSON.stringify({ ok: true }) + '\n')
  } catch (e) {
    process.stdout.write(JSON.stringify({ ok: false, code: e.code, syscall: e.syscall, path: e.path, message: e.message }) + '\n')
  }
}

main()
