'use strict'
// A child that writes several files in one batch through durable-fs (atomicWriteFiles) and
// reports the outcome as one JSON line:
//   node child-many.js '[{"path":..,"hex":..,"mode":0o644}, ...]' sync|async

const dfs = require('../..')

async function main () {
  const entries = JSON.parse(process.argv[2]).map((e) => ({ path: e.path, data: Buffer.from(e.hex, 'hex'), mode: e.mode }))
  process.umask(0o022)
  try {
    if (process.argv[3] === 'async') await dfs.atomicWriteFiles(entries)
    else dfs.atomicWriteFilesSync(entries)
    process.stdout.write(JSON.stringify({ ok: true }) + '\n')
  } catch (e) {
    process.stdout.write(JSON.stringify({ ok: false, code: e.code, syscall: e.syscall, path: e.path, message: e.message }) + '\n')
  }
}

main()
