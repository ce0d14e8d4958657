// durable-fs public types (hand-written; the binding's generated types are in lib/native.d.ts).

/// <reference types="node" />

/** Bytes or text to write. Typed arrays and DataViews write `byteLength` bytes. */
export type WriteData = string | NodeJS.ArrayBufferView | ArrayBuffer | SharedArrayBuffer

/** A path: a string, a Buffer holding UTF-8, or a `file:` URL. */
export type PathLike = string | Buffer | URL

export interface AtomicWriteOptions {
  /** Final permission bits, 0..0o7777 (a number or an octal string). Default: the existing file's mode, else 0o666 & ~umask. */
  mode?: number | string
  /** Encoding of string data. Default 'utf8'. */
  encoding?: BufferEncoding
  /** false: atomic but not durable (no file or directory fsync). Default true. */
  fsync?: boolean
  /** Create missing parent directories (their entries are made durable too). Default false. */
  mkdir?: boolean
  /** Final owner. Default: the existing file's owner when running as root. */
  chown?: { uid: number; gid: number }
}

/** A mode number, an encoding name, or options. */
export type AtomicWriteOptionsArg = AtomicWriteOptions | number | BufferEncoding

/** An error from the file system, shaped like Node's fs errors. */
export interface DurableFsError extends Error {
  code: string
  errno?: number
  syscall?: string
  path?: string
  dest?: string
}

/** Which backend is live: the native addon or the WebAssembly fallback. */
export declare const backend: 'native' | 'wasm'

/**
 * Replaces `file` with `data` atomically and durably: a unique O_EXCL temp file in the same
 * directory, every byte written, mode and owner set, fsync, rename, directory fsync. After a crash
 * the file is the complete old or the complete new content. Same-path calls apply in call order.
 */
export declare function atomicWriteFile(file: PathLike, data: WriteData, options?: AtomicWriteOptionsArg): Promise<void>
/** Synchronous {@link atomicWriteFile}. */
export declare function atomicWriteFileSync(file: PathLike, data: WriteData, options?: AtomicWriteOptionsArg): void

/** {@link atomicWriteFile} with `mode` (default 0o600): the drop-in for the hand-written helper. */
export declare function secureWriteFile(file: PathLike, data: WriteData, mode?: number | string): Promise<void>
/** Synchronous {@link secureWriteFile}. */
export declare function secureWriteFileSync(file: PathLike, data: WriteData, mode?: number | string): void

/** Removes temp files older than `olderThanMs` (default 60000) that crashed writes left in `dir`; returns how many. */
export declare function sweepTempFilesSync(dir: PathLike, olderThanMs?: number): number

/**
 * Makes `dir` a private directory: created with its missing parents (mode `mode`, default 0o700),
 * then chmodded to exactly `mode` even when it already existed; new entries and the mode are
 * fsynced. A symlink is followed to the real directory.
 */
export declare function ensureSecureDir(dir: PathLike, mode?: number | string): Promise<void>
/** Synchronous {@link ensureSecureDir}. */
export declare function ensureSecureDirSync(dir: PathLike, mode?: number | string): void
