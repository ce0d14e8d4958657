//! # durable-fs-core
//!
//! The protocols of durable-fs, independent of Node: an atomic, durable file write and (in
//! [`lock`], added by the lock work) a race-free lock file. Each protocol is written once against
//! the small [`fs::Fs`] trait and runs unchanged on the real OS ([`sys::OsFs`]), on Node's `fs`
//! (the WebAssembly binding) and on simulated file systems in the tests.
//!
//! ## Guarantees of [`write::atomic_write`]
//! - After a crash or power cut at any moment, the target holds the complete old content or the
//!   complete new content, never an empty or partial file.
//! - Once the call returns `Ok`, the new content and its mode survive a power cut (the file is
//!   fsynced before the rename and the directory after it).
//! - The requested mode (and owner) is in place from the moment the new content is visible.
//! - A failed call leaves the target untouched and removes its temp file; the first error is
//!   returned with its system call and path, an fsync error included.
//!
//! ## Guarantees of [`lock`]
//! - At most one holder of a lock file at a time, even while several processes reap the same dead
//!   lock: reaping happens under the dead holder's kernel lock and a guard file, after checking
//!   the path still names the judged inode.
//! - A holder with a kernel lock (every native holder) is known dead the moment its process dies;
//!   a live one is never reaped, whatever its age. Holders without kernel locks (WebAssembly) are
//!   judged by pid and process start time; holders on other hosts by `stale_ms` on the waiter's
//!   own monotonic clock.
//! - Release removes the lock file only if it is still ours (`ECOMPROMISED` otherwise).
//!
//! ## How it works
//! See [`write`] and [`lock`] for the exact system-call sequences.
//!
//! ## Limits
//! - Network file systems: rename atomicity and fsync semantics are the server's. Locks there
//!   ([`netfs`]) identify their files by the record's nonce and judge a holder on another host by
//!   `stale_ms`: a hold longer than `stale_ms` can be taken over by another host (its release then
//!   reports `ECOMPROMISED`).
//! - Windows: no POSIX modes, no directory fsync (`MoveFileExW` with `MOVEFILE_WRITE_THROUGH`).
//! - A crash can leave a temp file (`.name.<hex>.dfstmp`) beside the target; the target itself is
//!   never affected. [`write::sweep_temp_files`] removes them.

pub mod batch;
pub mod blocking;
pub mod dir;
pub mod error;
pub mod fs;
pub mod group;
pub mod lock;
pub mod lock_queue;
pub mod log;
pub mod netfs;
pub mod procfs;
pub mod write;

#[cfg(feature = "std-fs")]
pub mod sys;

/// The simulated file system of the tests (crash states, fault injection, trace replay).
#[cfg(feature = "sim")]
pub mod sim;

pub use error::{Error, Result};
pub use fs::{Fs, Kind, Liveness, Meta};
pub use lock::{LockOptions, Me};
pub use write::{atomic_write, WriteOptions};
