'use strict'
// durable-fs/write-file-atomic: a drop-in for the write-file-atomic package (same call forms,
// options and callback/promise behaviour), durable (directory fsync) and with O_EXCL temp files.
module.exports = require('./lib/write-file-atomic')
