'use strict'
// durable-fs: crash-safe atomic file writes and race-free lock files for Node.js.
// Public API; each area lives in lib/<area>.js, the backend is chosen in lib/binding.js.

const { backend } = require('./lib/binding')
const write = require('./lib/write')
const batch = require('./lib/batch')

module.exports.backend = backend
module.exports.atomicWriteFile = write.atomicWriteFile
module.exports.atomicWriteFileSync = write.atomicWriteFileSync
module.exports.secureWriteFile = write.secureWriteFile
module.exports.secureWriteFileSync = write.secureWriteFileSync
module.exports.sweepTempFilesSync = write.sweepTempFilesSync
module.exports.atomicWriteFiles = batch.atomicWriteFiles
module.exports.atomicWriteFilesSync = batch.atomicWriteFilesSync

const lock = require('./lib/lock')
module.exports.lock = lock.lock
module.exports.lockSync = lock.lockSync
module.exports.withLock = lock.withLock
module.exports.withLockSync = lock.withLockSync
module.exports.withRegistryLock = lock.withRegistryLock
module.exports.check = lock.check
module.exports.checkSync = lock.checkSync
module.exports.updateFile = lock.updateFile
module.exports.updateJson = lock.updateJson
