// ESM entry: the same API as index.js.
import api from './index.js'

export const {
  backend,
  backendError,
  atomicWriteFile,
  atomicWriteFileSync,
  secureWriteFile,
  secureWriteFileSync,
  sweepTempFilesSync,
  atomicWriteFiles,
  atomicWriteFilesSync,
  lock,
  lockSync,
  withLock,
  withLockSync,
  withRegistryLock,
  check,
  checkSync,
  updateFile,
  updateJson
} = api
export const { ensureSecureDir, ensureSecureDirSync } = api
export const { openLog, openLogSync, appendFileDurable, appendFileDurableSync, readLog, readLogSync } = api
export default api
