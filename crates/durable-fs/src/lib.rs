//! # durable-fs
//!
//! Crash-safe file writes, race-free lock files and a durable append-only log, with an API that
//! reads like `std::fs`. The protocols are those of the `durable-fs` npm package and Python
//! package (one core, `durable-fs-core`, proven by a crash-state simulator, strace replays and
//! power-cut tests); this crate only converts paths and errors.
//!
//! ```
//! use durable_fs::{Lock, LockOptions, Log, LogOptions, WriteOptions};
//! let dir = std::env::temp_dir().join("durable-fs-doc-crate");
//! # let _ = std::fs::remove_dir_all(&dir);
//! // A config file: the old content or the new after any crash, never a torn file.
//! WriteOptions::new().mode(0o600).mkdir(true).write(dir.join("config.toml"), "theme = 'dark'\n")?;
//! // One writer at a time across processes.
//! let held = Lock::acquire(dir.join("sessions.json"), &LockOptions::new())?;
//! durable_fs::write(dir.join("sessions.json"), "[]")?;
//! held.release()?;
//! // An audit log whose records survive power cuts, chained so tampering shows.
//! let log = Log::open(dir.join("audit.log"), LogOptions::new().hash_chain(true))?;
//! log.append("user logged in")?;
//! durable_fs::read_log(dir.join("audit.log"))?.verify()?;
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! ## How it works
//!
//! - **[`write`]**: the content goes to a temp file beside the target
//!   (`open(O_CREAT|O_EXCL|O_NOFOLLOW)`), which gets its mode and owner, is fsynced and closed,
//!   then renamed over the target; the directory is fsynced after the rename (shared by writes
//!   in flight into the same directory). A failure before the rename removes the temp file and
//!   leaves the target untouched.
//! - **[`Lock`]**: the lock file is created complete (written and kernel-locked before it gets
//!   its name with `link`), so a reader never sees a half-written record. A holder's process is
//!   known dead the moment its kernel lock is free, and a dead lock is taken over under the dead
//!   holder's kernel lock and a guard file, after checking the name still points at the judged
//!   file: two waiters never both reap. Release removes the file only if it is still ours. Waiters
//!   of one process queue in FIFO order and are woken by a release.
//! - **[`Log`]**: each batch is framed records (kind, length, optional SHA-256 chain, CRC-32)
//!   written by one `write` under the file's kernel lock and then `fdatasync`ed; a crash mid-batch
//!   leaves a torn tail that the next opener truncates. Appends from several threads are
//!   committed in groups (one fsync for many callers).
//! - **Errors** are [`std::io::Error`] with the kind `std::fs` would give; [`Error::of`] gives the
//!   operation, the path and the typed code ([`ErrorCode`]).
//!
//! ## Limits
//!
//! - **Linux**: full guarantees on local file systems (ext4, xfs, btrfs, tmpfs). Network file
//!   systems (NFS, SMB): rename atomicity and fsync semantics are the server's; lock holders on
//!   other hosts are judged by [`LockOptions::stale`].
//! - **macOS**: fsync is `F_FULLFSYNC` (the only call that reaches the platter); otherwise as
//!   Linux. Process start times are not read, so a reused pid of a dead holder without a kernel
//!   lock is judged alive until `stale`.
//! - **Windows**: no POSIX modes ([`WriteOptions::mode`] is ignored) and no directory fsync:
//!   the rename is `MoveFileExW(REPLACE_EXISTING | WRITE_THROUGH)`. Kernel locks are `LockFileEx`.
//! - **All**: paths must be valid UTF-8 (others are `InvalidInput` errors). A crash can leave a
//!   temp file (`.name.<hex>.dfstmp`) beside the target; the target is never affected.
//!   Locks are advisory: they exclude other users of this protocol (this crate, the npm and the
//!   Python packages), not programs that ignore the lock file.

mod error;
mod lock;
mod log;
mod write;

pub use error::{Error, ErrorCode};
pub use lock::{Lock, LockOptions};
pub use log::{read_log, Log, LogContents, LogOptions, RecordKind, Recovered};
pub use write::{update_file, update_file_with, write, WriteOptions};
