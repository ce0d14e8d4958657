'use strict'
// A short demo: write a secret file atomically, read it back, show its mode.
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { atomicWriteFile, backend } = require('..')

async function main () {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'durable-fs-demo-'))
  const file = path.join(dir, 'credentials.json')
  await atomicWriteFile(file, JSON.stringify({ token: 'example' }), 0o600)
  const mode = (fs.statSync(file).mode & 0o777).toString(8)
  console.log(`backend=${backend} wrote ${file}: ${fs.readFileSync(file, 'utf8')} (mode 0${mode})`)
  fs.rmSync(dir, { recursive: true })
}
main().catch((e) => { console.error(e); process.exit(1) })
