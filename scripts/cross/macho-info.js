#!/usr/bin/env node
'use strict'
// Reads what the checks need from a 64-bit Mach-O file (binutils' objdump cannot read Mach-O):
// CPU, file type, minimum macOS (LC_BUILD_VERSION or LC_VERSION_MIN_MACOSX), linked dylibs, and
// external symbols (defined / undefined). Prints JSON. Usage: node macho-info.js FILE
const fs = require('node:fs')

const CPU = { 0x01000007: 'x86_64', 0x0100000c: 'arm64' }
const FILETYPE = { 1: 'object', 2: 'execute', 6: 'dylib', 8: 'bundle' }
const ver = (v) => `${v >>> 16}.${(v >>> 8) & 0xff}${v & 0xff ? `.${v & 0xff}` : ''}`

function machoInfo (buf) {
  if (buf.readUInt32LE(0) !== 0xfeedfacf) throw new Error('not a little-endian 64-bit Mach-O file')
  const info = {
    cpu: CPU[buf.readUInt32LE(4)] || `0x${buf.readUInt32LE(4).toString(16)}`,
    filetype: FILETYPE[buf.readUInt32LE(12)] || buf.readUInt32LE(12),
    minos: null,
    dylibs: [],
    defined: [],
    undefined: []
  }
  const ncmds = buf.readUInt32LE(16)
  let off = 32
  for (let i = 0; i < ncmds; i++) {
    const cmd = buf.readUInt32LE(off)
    const size = buf.readUInt32LE(off + 4)
    if (cmd === 0x32) info.minos = ver(buf.readUInt32LE(off + 12)) // LC_BUILD_VERSION: platform, minos, sdk
    if (cmd === 0x24 && !info.minos) info.minos = ver(buf.readUInt32LE(off + 8)) // LC_VERSION_MIN_MACOSX
    if (cmd === 0xc || cmd === 0x80000018) { // LC_LOAD_DYLIB, LC_LOAD_WEAK_DYLIB
      const nameOff = buf.readUInt32LE(off + 8)
      info.dylibs.push(buf.toString('latin1', off + nameOff, off + size).replace(/\0.*$/s, ''))
    }
    if (cmd === 0x2) { // LC_SYMTAB
      const [symoff, nsyms, stroff] = [buf.readUInt32LE(off + 8), buf.readUInt32LE(off + 12), buf.readUInt32LE(off + 16)]
      for (let s = 0; s < nsyms; s++) {
        const e = symoff + s * 16
        const type = buf.readUInt8(e + 4)
        if (!(type & 0x01) || (type & 0xe0)) continue // external, not a debugging entry
        const strx = buf.readUInt32LE(e)
        const name = buf.toString('latin1', stroff + strx, buf.indexOf(0, stroff + strx))
        ;((type & 0x0e) === 0 ? info.undefined : info.defined).push(name)
      }
    }
    off += size
  }
  return info
}

module.exports = { machoInfo }
if (require.main === module) console.log(JSON.stringify(machoInfo(fs.readFileSync(process.argv[2])), null, 2))
