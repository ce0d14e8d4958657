'use strict'
// durable-fs: crash-safe atomic file writes and race-free lock files for Node.js.
// Public API; each area lives in lib/<area>.js, the backend is chosen in lib/binding.js.

const { backend, backendError } = require('./lib/binding')
const write = require('./lib/write')
const batch = require('./lib/batch')
const dir = require('./lib/dir')
const log = require('./lib/log')

module.exports.backend = backend
module.exports.backendError = backendError
module.exports.atomicWriteFile = write.atomicWriteFile
module.exports.atomicWriteFileSync = write.atomicWriteFileSync
module.exports.secureWriteFile = write.secureWriteFile
module.exports.secureWriteFileSync = write.secureWriteFileSync
module.exports.sweepTempFilesSync = write.sweepTempFilesSync
module.exports.atomicWriteFiles = batch.atomicWriteFiles
module.exports.atomicWriteFilesSync = batch.atomicWriteFilesSync
module.exports.ensureSecureDir = dir.ensureSecureDir
module.exports.ensureSecureDirSync = dir.ensureSecureDirSync
module.exports.openLog = log.openLog
module.exports.openLogSync = log.openLogSync
module.exports.appendFileDurable = log.appendFileDurable
module.exports.appendFileDurableSync = log.appendFileDurableSync
module.exports.readLog = log.readLog
module.exports.readLogSync = log.readLogSync

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
