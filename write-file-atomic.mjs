// durable-fs/write-file-atomic, ESM: `import writeFileAtomic from 'durable-fs/write-file-atomic'`.
import writeFileAtomic from './write-file-atomic.js'

export const sync = writeFileAtomic.sync
export const writeFileAtomicSync = writeFileAtomic.sync
export default writeFileAtomic
