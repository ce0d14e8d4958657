'use strict'
// Node-style errors, the same for both backends. Native and wasm bindings throw an Error whose
// message is the core's structured error as JSON; fromBinding() turns it into an Error shaped like
// Node's fs errors: `code`, `errno` (negative, as Node reports it), `syscall`, `path`, `dest`.

const util = require('node:util')

function fromBinding (err) {
  if (!err || typeof err.message !== 'string' || err.message.charCodeAt(0) !== 123 /* { */) return err
  let s
  try {
    s = JSON.parse(err.message)
  } catch {
    return err
  }
  if (!s || s.durableFsError !== true) return err
  const e = new Error(s.message)
  e.code = s.code
  if (s.errno) e.errno = -Math.abs(s.errno)
  e.syscall = s.syscall
  if (s.path != null) e.path = s.path
  if (s.dest != null) e.dest = s.dest
  if (s.detail != null) {
    if (s.code === 'ELOCKED' || s.code === 'ECOMPROMISED') {
      try {
        e.holder = JSON.parse(s.detail)
      } catch {
        e.detail = s.detail
      }
    } else {
      e.detail = s.detail
    }
  }
  return e
}

// Runs a binding call, rethrowing its error in Node's shape.
function call (fn, ...args) {
  try {
    return fn(...args)
  } catch (err) {
    throw fromBinding(err)
  }
}

// Awaits a binding promise, rejecting with an error in Node's shape.
async function callAsync (fn, ...args) {
  try {
    return await fn(...args)
  } catch (err) {
    throw fromBinding(err)
  }
}

function describe (value) {
  if (value == null) return ` Received ${value}`
  if (typeof value === 'function') return ` Received function ${value.name || '<anonymous>'}`
  if (typeof value === 'object') {
    if (value.constructor && value.constructor.name) return ` Received an instance of ${value.constructor.name}`
    return ` Received ${util.inspect(value, { depth: -1 })}`
  }
  let shown = util.inspect(value, { colors: false })
  if (shown.length > 28) shown = `${shown.slice(0, 25)}...`
  return ` Received type ${typeof value} (${shown})`
}

function nodeError (Base, code, message) {
  const e = new Base(message)
  e.code = code
  return e
}

function invalidArgType (name, expected, value) {
  return nodeError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "${name}" argument must be ${expected}.${describe(value)}`)
}

function invalidArgValue (name, value, reason) {
  return nodeError(TypeError, 'ERR_INVALID_ARG_VALUE', `The argument '${name}' ${reason}. Received ${util.inspect(value)}`)
}

function outOfRange (name, range, value) {
  return nodeError(RangeError, 'ERR_OUT_OF_RANGE', `The value of "${name}" is out of range. It must be ${range}. Received ${util.inspect(value)}`)
}

module.exports = { fromBinding, call, callAsync, invalidArgType, invalidArgValue, outOfRange, nodeError }
