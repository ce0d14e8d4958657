'use strict'
// A child that writes one file through durable-fs and reports the outcome as one JSON line:
//   node child-write.js TARGET DATA_HEX|fill:SIZE:BYTE MODE_OCTAL|- sync|async|naive [sweep][,mkdir][,nofsync]
// Used under strace (trace, injected errors, SIGKILL) and before power cuts. `naive` is the
// control: what most Node libraries do (temp file, fsync, rename, no directory fsync), written
// with Node's fs, to show the power-cut test catches it.

const dfs = require('../..')

function naive (target, data, mode) {
  const fs = require('node:fs')
  const path = require('node:path')
  // Named like our temp files, so the check judges the content, not the leftover.
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${'0'.repeat(16)}.dfstmp`)
  const fd = fs.openSync(tmp, 'wx', mode)
  fs.writeSync(fd, data)
  fs.fchmodSync(fd, mode)
  fs.fsyncSync(fd)
  fs.closeSync(fd)
  fs.renameSync(tmp, target)
}

async function main () {
  const [target, hex, mode, how, sweep] = process.argv.slice(2)
  process.umask(0o022)
  // `fill:SIZE:BYTE` stands for SIZE bytes of BYTE (large data does not fit in an argument).
  const fill = /^fill:(\d+):(\d+)$/.exec(hex)
  const data = fill ? Buffer.alloc(Number(fill[1]), Number(fill[2])) : Buffer.from(hex, 'hex')
  const flags = (sweep || '').split(',')
  const opts = mode === '-' ? {} : { mode: parseInt(mode, 8) }
  if (flags.includes('mkdir')) opts.mkdir = true
  if (flags.includes('nofsync')) opts.fsync = false
  try {
    if (flags.includes('sweep')) dfs.sweepTempFilesSync(require('node:path').dirname(target), 0)
    if (how === 'naive') naive(target, data, opts.mode)
    else if (how === 'async') await dfs.atomicWriteFile(target, data, opts)
    else dfs.atomicWriteFileSync(target, data, opts)
    process.stdout.write(JSON.stringify({ ok: true }) + '\n')
  } catch (e) {
    process.stdout.write(JSON.stringify({ ok: false, code: e.code, syscall: e.syscall, path: e.path, message: e.message }) + '\n')
  }
}

main()
