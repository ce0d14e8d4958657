// ESM entry: the same API as index.js.
import api from './index.js'

export const {
  backend,
  atomicWriteFile,
  atomicWriteFileSync,
  secureWriteFile,
  secureWriteFileSync,
  sweepTempFilesSync
} = api
export const { ensureSecureDir, ensureSecureDirSync } = api
export default api
