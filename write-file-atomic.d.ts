// durable-fs/write-file-atomic: write-file-atomic's contract, durable.

/// <reference types="node" />

declare namespace writeFileAtomic {
  interface Options {
    /** Owner of the new file. Default: the existing file's owner. `false`: the caller's own ids. */
    chown?: { uid: number; gid: number } | false
    /** Encoding of string data. Default 'utf8'. */
    encoding?: BufferEncoding | null
    /** `false` skips the file and directory fsync (still atomic, not durable). Default true. */
    fsync?: boolean
    /** Permission bits. Default: the existing file's mode. `false`: 0o666 & ~umask. */
    mode?: number | string | false
    /**
     * Called with the temp file's name once it exists (already written and fsynced), before the
     * rename; awaited. A throw or rejection removes the temp file and fails the write with it.
     */
    tmpfileCreated?: (tmpfile: string) => unknown
  }
  type Data = string | NodeJS.ArrayBufferView | ArrayBuffer | SharedArrayBuffer | null | undefined | { toString(): string }
  type Callback = (err?: NodeJS.ErrnoException) => void

  /** Synchronous write; `tmpfileCreated` is called synchronously (its result is not awaited). */
  function sync (filename: string | Buffer | URL, data: Data, options?: Options | BufferEncoding): void
  /** The same as {@link sync}. */
  function writeFileAtomicSync (filename: string | Buffer | URL, data: Data, options?: Options | BufferEncoding): void
  /** The default export itself, as a named export. */
  const writeFileAtomic: typeof import('./write-file-atomic')
}

/**
 * Atomically and durably replaces `filename` with `data` (temp file, fsync, rename, directory
 * fsync). Returns a promise when no callback is given; same-path calls run in call order.
 */
declare function writeFileAtomic (filename: string | Buffer | URL, data: writeFileAtomic.Data, options?: writeFileAtomic.Options | BufferEncoding): Promise<void>
declare function writeFileAtomic (filename: string | Buffer | URL, data: writeFileAtomic.Data, callback: writeFileAtomic.Callback): Promise<void>
declare function writeFileAtomic (filename: string | Buffer | URL, data: writeFileAtomic.Data, options: writeFileAtomic.Options | BufferEncoding | undefined, callback: writeFileAtomic.Callback): Promise<void>

export = writeFileAtomic
