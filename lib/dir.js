'use strict'
// ensureSecureDir: a private directory (default 0o700), created recursively, chmodded to exactly
// that mode even when it already exists, with every new entry and the mode fsynced.

const { binding } = require('./binding')
const { call, callAsync, nodeError } = require('./errors')
const { toPath, toMode } = require('./args')

function check (name) {
  if (typeof binding[name] !== 'function') {
    throw nodeError(Error, 'ENOTSUP', `durable-fs: the ${require('./binding').backend} backend has no ${name}()`)
  }
}

function ensureSecureDir (dir, mode = 0o700) {
  try {
    check('ensureDir')
    return callAsync(binding.ensureDir, toPath(dir, 'dir'), toMode(mode))
  } catch (e) {
    return Promise.reject(e)
  }
}

function ensureSecureDirSync (dir, mode = 0o700) {
  check('ensureDirSync')
  call(binding.ensureDirSync, toPath(dir, 'dir'), toMode(mode))
}

module.exports = { ensureSecureDir, ensureSecureDirSync }
