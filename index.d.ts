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
  /** false: no file or directory fsync. Atomic against a process crash only: after a power cut the target may be empty. Default true. */
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
 * Why the native addon is not in use when the WebAssembly fallback was chosen automatically: the
 * load error (code `ERR_DURABLE_FS_NO_NATIVE`, message naming each candidate tried). `null` when the
 * native addon loaded or a backend was forced with `DURABLE_FS_BACKEND`. When a prebuilt binary for
 * this platform is installed but fails to load, a warning with code `DURABLE_FS_NATIVE_UNAVAILABLE`
 * is also emitted once (`process.emitWarning`); set `DURABLE_FS_BACKEND=wasm` to silence it.
 */
export declare const backendError: (Error & { code: 'ERR_DURABLE_FS_NO_NATIVE' }) | null

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

/** One file of {@link atomicWriteFiles}. */
export interface FileEntry {
  path: PathLike
  data: WriteData
  /** This file's mode; overrides `options.mode`. */
  mode?: number | string
  /** Encoding of string data; overrides `options.encoding`. */
  encoding?: BufferEncoding
}

/** An error of {@link atomicWriteFiles} whose rename step failed. */
export interface DurableFsBatchError extends DurableFsError {
  /** How many entries (the first ones, in order) were already replaced when a rename failed. */
  replaced?: number
}

/**
 * Writes many files atomically and durably in one native call: every temp file written and
 * fsynced, then the renames in entry order, then one fsync per directory. Ordered with
 * {@link atomicWriteFile} calls on the same paths. A path named twice: the later entry wins.
 *
 * On error: anything failing before the first rename (bad path, missing directory, ENOSPC, a
 * failed fsync) leaves every target untouched and no temp file behind. If a rename fails (rare:
 * the directory changed under the call), the entries before it were already replaced (and their
 * directories are still fsynced); it and the later ones were not; `err.replaced` says how many.
 * A failed directory fsync means every target was replaced but is not known to be durable.
 */
export declare function atomicWriteFiles(entries: readonly FileEntry[], options?: AtomicWriteOptionsArg): Promise<void>
/** Synchronous {@link atomicWriteFiles}. */
export declare function atomicWriteFilesSync(entries: readonly FileEntry[], options?: AtomicWriteOptionsArg): void

// ---- Locks -------------------------------------------------------------------------------------

/** How long to wait and when a holder counts as stale. */
export interface LockWaitOptions {
  /** How long to wait for the lock before rejecting with ELOCKED (ms). 0 tries once. Default 10000; Infinity waits forever. */
  timeoutMs?: number
  /** How long a holder on another host (or an unreadable lock file) must look unchanged, on this process's monotonic clock, before it is reaped (ms). Default 30000. Holders on this host are judged by their kernel lock or pid, never by age. */
  staleMs?: number
  /** Aborts the wait (rejects with an AbortError); has no effect once the lock is held. */
  signal?: AbortSignal
}

export interface LockOptions extends LockWaitOptions {
  /** The lock file. Default `${target}.lock`. */
  lockfilePath?: PathLike
}

/** The seed's option names: `lockPath` is the lock file itself (required). */
export interface RegistryLockOptions extends LockWaitOptions {
  lockPath: PathLike
}

/** Options of updateFile/updateJson: the lock's, plus how the result is written (atomicWriteFile's). */
export interface UpdateOptions extends LockOptions {
  mode?: number | string
  fsync?: boolean
  mkdir?: boolean
  chown?: { uid: number; gid: number }
}

export interface UpdateFileOptions extends UpdateOptions {
  /** Encoding of the content passed to and returned by `fn`; null for Buffers. Default 'utf8'. */
  encoding?: BufferEncoding | null
}

export interface UpdateJsonOptions extends UpdateOptions {
  /** JSON.stringify indentation. Default 2. */
  space?: string | number
}

/** The record a holder writes into its lock file. */
export interface LockHolder {
  /** Why the lock is not ours: held (kernel lock taken), alive (pid runs), own (this process), foreign (another host, not yet stale), unreadable, queued (behind callers of this process), reaping, contended, dead, compromised. */
  state?: string
  nonce?: string
  pid?: number
  /** Process start time of the holder (Linux: clock ticks since boot), to detect pid reuse. */
  start?: number | null
  boot?: string | null
  host?: string
  /** Whether the holder keeps a kernel lock (native backend) or is judged by pid and start time (WebAssembly). */
  kernelLock?: boolean
  /** Wall-clock ms at acquisition (informational). */
  acquiredAt?: number
  version?: string
  /** The lock file's text, when it held no valid record. */
  raw?: string | null
  /** For ECOMPROMISED: how the lock was lost. */
  reason?: string
}

/** An ELOCKED or ECOMPROMISED error: who holds (or took) the lock. */
export interface LockError extends DurableFsError {
  holder: LockHolder | null
}

/** What {@link check} found. */
export interface LockStatus {
  /** A live holder (or one not yet judged stale) holds it. */
  locked: boolean
  /** A lock file exists but its holder is dead or stale: the next acquire removes it. */
  stale: boolean
  holder: LockHolder | null
}

/**
 * Takes the lock of `target` (the file `${target}.lock`), waiting on timers up to `timeoutMs`.
 * Resolves to `release()`, which rejects with ECOMPROMISED if the lock was taken away. Rejects
 * with ELOCKED (holder on `err.holder`), EDEADLK inside a callback already holding it, or AbortError.
 */
export declare function lock(target: PathLike, options?: LockOptions): Promise<() => Promise<void>>
/** Synchronous {@link lock} (native sleep between attempts). EDEADLK if this thread already holds the lock. */
export declare function lockSync(target: PathLike, options?: Omit<LockOptions, 'signal'>): () => void
/** Runs `fn` holding the lock of `target`; resolves to its result; releases on throw. */
export declare function withLock<T>(target: PathLike, fn: () => T | Promise<T>, options?: LockOptions): Promise<T>
/** Synchronous {@link withLock}; `fn` must be synchronous. */
export declare function withLockSync<T>(target: PathLike, fn: () => T, options?: Omit<LockOptions, 'signal'>): T
/** The seed's drop-in: runs `fn` under the lock file `options.lockPath`; releases on throw. */
export declare function withRegistryLock<T>(fn: () => T | Promise<T>, options: RegistryLockOptions): Promise<T>
/** Whether the lock of `target` is held and by whom; takes and removes nothing. */
export declare function check(target: PathLike, options?: Omit<LockOptions, 'signal' | 'timeoutMs'>): Promise<LockStatus>
/** Synchronous {@link check}. */
export declare function checkSync(target: PathLike, options?: Omit<LockOptions, 'signal' | 'timeoutMs'>): LockStatus
/**
 * Under the lock of `target`: reads it (`undefined` if missing), awaits `fn(current)`, writes the
 * result with {@link atomicWriteFile}, releases. Resolves to the new content; `fn` returning
 * `undefined` writes nothing and resolves to the current content.
 */
export declare function updateFile(target: PathLike, fn: (current: string | undefined) => string | Uint8Array | undefined | Promise<string | Uint8Array | undefined>, options?: UpdateFileOptions & { encoding?: BufferEncoding }): Promise<string | Uint8Array | undefined>
export declare function updateFile(target: PathLike, fn: (current: Buffer | undefined) => Uint8Array | string | undefined | Promise<Uint8Array | string | undefined>, options: UpdateFileOptions & { encoding: null }): Promise<Buffer | Uint8Array | string | undefined>
/** {@link updateFile} for JSON: `fn` gets the parsed value (`undefined` if missing or blank), returns the new one. */
export declare function updateJson<T = unknown>(target: PathLike, fn: (current: T | undefined) => T | undefined | Promise<T | undefined>, options?: UpdateJsonOptions): Promise<T | undefined>

/**
 * Makes `dir` a private directory: created with its missing parents (mode `mode`, default 0o700),
 * then chmodded to exactly `mode` even when it already existed; new entries and the mode are
 * fsynced. A symlink is followed to the real directory.
 */
export declare function ensureSecureDir(dir: PathLike, mode?: number | string): Promise<void>
/** Synchronous {@link ensureSecureDir}. */
export declare function ensureSecureDirSync(dir: PathLike, mode?: number | string): void

/** Options of {@link openLog} and {@link appendFileDurable}. */
export interface LogOptions {
  /** Mode of a newly created log, exact (not narrowed by the umask). Default 0o600. */
  mode?: number | string
  /** Create missing parent directories (durably). Default false. */
  mkdir?: boolean
  /** 'sync' (default): an append resolves once fdatasync returned. 'none': once written. */
  durability?: 'sync' | 'none'
  /** Give every record a SHA-256 chain hash (tamper evidence). Default false. */
  hashChain?: boolean
  /** Most payload bytes per batch (one write + one fdatasync). Default 1 MiB. */
  maxBatchBytes?: number
}

/** A JSON-serialisable value. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue }

/** What a log stores: text, bytes (`byteLength` of them), or a JSON value written as one JSON line. */
export type LogRecordInput = string | NodeJS.ArrayBufferView | ArrayBuffer | JsonValue | { toJSON(): unknown }

/** A record as read back: text as a string, bytes as a Buffer, JSON parsed. */
export type LogRecord = string | Buffer | JsonValue

/** A torn tail removed from a log (the partial batch of a crashed appender). */
export interface LogRecovery {
  /** Where the torn frame began (the log's new end). */
  offset: number
  /** How many bytes were removed. */
  truncatedBytes: number
}

/** An open append-only log. No file descriptor is held between batches. */
export interface DurableLog {
  readonly path: string
  readonly options: Required<Omit<LogOptions, 'mode'>> & { mode: number }
  /** The torn tail removed when the log was opened, or null. */
  readonly recovered: LogRecovery | null
  /** Every torn tail this handle removed (at open, or later, left by another process's crash). */
  readonly recoveries: LogRecovery[]
  /** Counters: appends issued, batches written, fdatasyncs, retries on a busy lock. */
  readonly stats: { appends: number; batches: number; syncs: number; busyRetries: number }
  /** Records in the log as this handle last saw it. */
  readonly records: number
  /** Bytes of valid records. */
  readonly size: number
  /** Chain hash (hex) of the last record, or null. */
  readonly head: string | null
  /** Appends a record; resolves once durable. Appends in flight together share one write and one fdatasync. */
  append(record: LogRecordInput): Promise<void>
  /** Synchronous append (throws ERR_INVALID_STATE while asynchronous appends are pending). */
  appendSync(record: LogRecordInput): void
  /** Waits for pending appends, then refuses new ones. */
  close(): Promise<void>
  closeSync(): void
}

/** What {@link readLog} returns. */
export interface LogContents {
  records: LogRecord[]
  /** An incomplete last frame (left in place by a read), or null. */
  torn: { offset: number; bytes: number } | null
  /** Damage followed by valid records (only returned with verify; otherwise ECORRUPT is thrown). */
  corrupt: { index: number; offset: number; bytes: number } | null
  /** Chain hash (hex) of the last record, or null. */
  head: string | null
  /** With verify: whether every record verifies. */
  valid?: boolean
  /** With verify: index of the first record that does not verify, or null. */
  brokenAt?: number | null
  /** With verify: why it does not verify, or null. */
  reason?: string | null
}

/** Opens (creating if needed) an append-only log; a torn tail is truncated and reported in `recovered`. */
export declare function openLog(path: PathLike, options?: LogOptions): Promise<DurableLog>
/** Synchronous {@link openLog}. */
export declare function openLogSync(path: PathLike, options?: LogOptions): DurableLog
/** One durable append without a handle; resolves with the torn tail removed first, if any. */
export declare function appendFileDurable(path: PathLike, record: LogRecordInput, options?: LogOptions): Promise<{ recovered: LogRecovery | null }>
/** Synchronous {@link appendFileDurable}. */
export declare function appendFileDurableSync(path: PathLike, record: LogRecordInput, options?: LogOptions): { recovered: LogRecovery | null }
/** Reads a whole log; with `verify`, checks the hash chain and reports the first broken record. */
export declare function readLog(path: PathLike, options?: { verify?: boolean }): Promise<LogContents>
/** Synchronous {@link readLog}. */
export declare function readLogSync(path: PathLike, options?: { verify?: boolean }): LogContents
