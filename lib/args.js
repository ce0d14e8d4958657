'use strict'
// Argument validation: every bad input is rejected here, before anything touches the disk.

const { fileURLToPath } = require('node:url')
const { invalidArgType, invalidArgValue, outOfRange } = require('./errors')

function toPath (value, name = 'path') {
  let p = value
  if (p instanceof URL) {
    if (p.protocol !== 'file:') throw invalidArgValue(name, value, 'must be a file URL')
    p = fileURLToPath(p)
  } else if (Buffer.isBuffer(p)) {
    p = p.toString('utf8')
  } else if (typeof p !== 'string') {
    throw invalidArgType(name, 'of type string or an instance of Buffer or URL', value)
  }
  if (p.length === 0) throw invalidArgValue(name, value, 'must be a non-empty string')
  if (p.includes('\u0000')) throw invalidArgValue(name, value, 'must be a string, Uint8Array, or URL without null bytes')
  return p
}

// Bytes to write, as a Uint8Array view of the caller's memory (no copy), `byteLength` long.
function toBytes (data, encoding) {
  if (typeof data === 'string') return Buffer.from(data, encoding || 'utf8')
  if (data instanceof Uint8Array) return data
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
  if (data instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && data instanceof SharedArrayBuffer)) return new Uint8Array(data)
  throw invalidArgType('data', 'of type string or an instance of Buffer, TypedArray, DataView, or ArrayBuffer', data)
}

function toMode (value, name = 'mode') {
  let m = value
  if (typeof m === 'string') {
    if (!/^(0o)?[0-7]+$/.test(m)) throw invalidArgValue(name, value, 'must be a 32-bit unsigned integer or an octal string')
    m = parseInt(m.replace(/^0o/, ''), 8)
  }
  if (typeof m !== 'number') throw invalidArgType(name, 'of type number', value)
  if (!Number.isInteger(m) || m < 0 || m > 0o7777) throw outOfRange(name, '>= 0 && <= 4095 (0o7777)', value)
  return m
}

function toId (value, name) {
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value)
  if (!Number.isInteger(value) || value < 0 || value > 0xfffffffe) throw outOfRange(name, '>= 0 && <= 4294967294', value)
  return value
}

function toBool (value, name, dflt) {
  if (value === undefined) return dflt
  if (typeof value !== 'boolean') throw invalidArgType(name, 'of type boolean', value)
  return value
}

function toEncoding (value) {
  if (value === undefined || value === null) return 'utf8'
  if (typeof value !== 'string' || !Buffer.isEncoding(value)) throw invalidArgValue('encoding', value, 'is invalid encoding')
  return value
}

// Normalises `options` (a mode number, an encoding string, or an object) for atomicWriteFile.
function writeOptions (options) {
  if (options === undefined || options === null) return { encoding: 'utf8', native: {} }
  if (typeof options === 'number') return { encoding: 'utf8', native: { mode: toMode(options) } }
  if (typeof options === 'string') return { encoding: toEncoding(options), native: {} }
  if (typeof options !== 'object') throw invalidArgType('options', 'one of type number, string, or object', options)
  const native = {}
  if (options.mode !== undefined && options.mode !== null) native.mode = toMode(options.mode, 'options.mode')
  native.fsync = toBool(options.fsync, 'options.fsync', true)
  native.mkdir = toBool(options.mkdir, 'options.mkdir', false)
  if (options.chown !== undefined && options.chown !== null) {
    if (typeof options.chown !== 'object') throw invalidArgType('options.chown', 'of type object', options.chown)
    native.uid = toId(options.chown.uid, 'options.chown.uid')
    native.gid = toId(options.chown.gid, 'options.chown.gid')
  }
  return { encoding: toEncoding(options.encoding), native }
}

module.exports = { toPath, toBytes, toMode, toBool, toEncoding, toId, writeOptions }
