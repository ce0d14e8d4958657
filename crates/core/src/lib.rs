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
//! ## How it works
//! See [`write`] for the exact system-call sequence.
//!
//! ## Limits
//! - Network file systems: rename atomicity and fsync semantics are the server's.
//! - Windows: no POSIX modes, no directory fsync (`MoveFileExW` with `MOVEFILE_WRITE_THROUGH`).
//! - A crash can leave a temp file (`.name.<hex>.dfstmp`) beside the target; the target itself is
//!   never affected. [`write::sweep_temp_files`] removes them.

pub mod batch;
pub mod dir;
pub mod error;
pub mod fs;
pub mod group;
pub mod log;
pub mod write;

#[cfg(feature = "std-fs")]
pub mod sys;

pub use error::{Error, Result};
pub use fs::{Fs, Kind, Liveness, Meta};
pub use write::{atomic_write, WriteOptions};
