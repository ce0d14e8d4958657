//! Lock files: [`Lock`] and [`LockOptions`].

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use durable_fs_core::blocking;
use durable_fs_core::lock as core_lock;

use crate::error::{path_str, to_io};

/// How to lock: how long to wait, when a holder on another host counts as stale, which file.
///
/// ```
/// use std::time::Duration;
/// let opts = durable_fs::LockOptions::new().timeout(Some(Duration::from_secs(2))).stale(Duration::from_secs(60)).clone();
/// # let _ = opts;
/// ```
#[derive(Debug, Clone)]
pub struct LockOptions {
    timeout: Option<Duration>,
    stale: Duration,
    lock_path: Option<PathBuf>,
}

impl Default for LockOptions {
    fn default() -> Self {
        LockOptions { timeout: Some(Duration::from_secs(10)), stale: Duration::from_millis(core_lock::DEFAULT_STALE_MS), lock_path: None }
    }
}

impl LockOptions {
    /// The defaults: wait up to 10 s; holders on other hosts are stale after 30 s unchanged; the
    /// lock file is `<path>.lock`.
    pub fn new() -> Self {
        Self::default()
    }

    /// How long to wait for the lock: `None` waits forever, `Some(Duration::ZERO)` tries once.
    pub fn timeout(&mut self, timeout: Option<Duration>) -> &mut Self {
        self.timeout = timeout;
        self
    }

    /// How long a lock held from another host (or an unreadable lock file) must stay unchanged
    /// before it is taken over. Holders on this host are judged by their kernel lock and pid
    /// instead, whatever their age.
    pub fn stale(&mut self, stale: Duration) -> &mut Self {
        self.stale = stale;
        self
    }

    /// Use exactly this lock file instead of `<path>.lock`.
    pub fn lock_path<P: AsRef<Path>>(&mut self, lock_path: P) -> &mut Self {
        self.lock_path = Some(lock_path.as_ref().to_path_buf());
        self
    }

    pub(crate) fn core(&self) -> core_lock::LockOptions {
        core_lock::LockOptions { stale_ms: self.stale.as_millis().min(u64::MAX as u128) as u64 }
    }

    pub(crate) fn timeout_ref(&self) -> Option<Duration> {
        self.timeout
    }

    pub(crate) fn lock_path_ref(&self) -> Option<&Path> {
        self.lock_path.as_deref()
    }

    fn file_for(&self, path: &Path) -> PathBuf {
        match &self.lock_path {
            Some(l) => l.clone(),
            None => {
                let mut s = path.as_os_str().to_os_string();
                s.push(".lock");
                PathBuf::from(s)
            }
        }
    }
}

/// A held lock on a file: at most one holder at a time across threads, processes and (on a
/// shared file system) hosts. Released when dropped; [`Lock::release`] releases explicitly and
/// reports whether the lock was still ours.
///
/// The lock of `path` is the file `<path>.lock` (or [`LockOptions::lock_path`]); `path` itself is
/// not touched.
///
/// ```
/// use durable_fs::{Lock, LockOptions};
/// let path = std::env::temp_dir().join("durable-fs-doc-lock.json");
/// let held = Lock::acquire(&path, &LockOptions::new())?;
/// durable_fs::write(&path, b"{}")?;
/// held.release()?; // Err with ErrorCode::Compromised if the lock was taken away
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Lock {
    id: u32,
    lock_path: PathBuf,
    released: bool,
}

impl Lock {
    /// Takes the lock of `path`, waiting up to the options' timeout. A timeout gives an
    /// `io::Error` of kind `WouldBlock` with [`crate::ErrorCode::Locked`] and the holder's record
    /// ([`crate::Error::holder`]). Dead holders (their process gone) are taken over at once.
    pub fn acquire<P: AsRef<Path>>(path: P, opts: &LockOptions) -> io::Result<Lock> {
        Self::acquire_until(path, opts, &mut || false)
    }

    /// [`Lock::acquire`] with a check asked between attempts: returning `true` ends the wait with
    /// [`crate::ErrorCode::Canceled`] (kind `Interrupted`).
    pub fn acquire_until<P: AsRef<Path>>(path: P, opts: &LockOptions, stop: &mut dyn FnMut() -> bool) -> io::Result<Lock> {
        let lock_path = opts.file_for(path.as_ref());
        let lp = path_str(&lock_path, "lock")?;
        let timeout = opts.timeout.map(|d| d.as_millis().min(u64::MAX as u128) as u64);
        let id = blocking::os_locks().acquire(lp, &opts.core(), timeout, stop).map_err(to_io)?;
        Ok(Lock { id, lock_path, released: false })
    }

    /// The lock file.
    pub fn lock_path(&self) -> &Path {
        &self.lock_path
    }

    /// The record this holder wrote into the lock file (JSON: pid, host, start, acquiredAt).
    pub fn record(&self) -> io::Result<String> {
        blocking::os_locks().record_json(self.id).map_err(to_io)
    }

    /// Checks the lock is still ours (the lock file still is the one we created):
    /// [`crate::ErrorCode::Compromised`] otherwise.
    pub fn verify(&self) -> io::Result<()> {
        blocking::os_locks().verify(self.id).map_err(to_io)
    }

    /// Releases the lock. Removes the lock file only if it is still ours; if it was taken away
    /// returns [`crate::ErrorCode::Compromised`] and removes nothing.
    pub fn release(mut self) -> io::Result<()> {
        self.released = true;
        blocking::os_locks().release(self.id).map_err(to_io)
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        if !self.released {
            let _ = blocking::os_locks().release(self.id);
        }
    }
}
