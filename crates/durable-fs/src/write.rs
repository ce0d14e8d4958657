//! Atomic, durable writes: [`write`], [`WriteOptions`], [`update_file`].

use std::io;
use std::path::Path;
use std::time::Duration;

use durable_fs_core::blocking::{self, UpdateOptions};
use durable_fs_core::sys::OsFs;
use durable_fs_core::{self as core};

use crate::error::{path_str, to_io};
use crate::lock::LockOptions;

/// Replaces the file at `path` with `contents`, atomically and durably: after a crash or power
/// cut the file holds the old content or the new, never a mix, and once this returns the new
/// content survives a power cut. An existing file keeps its mode (and, as root, its owner); a
/// new one gets `0o666 & !umask`. A symlink at `path` is kept and its target replaced.
///
/// ```
/// let path = std::env::temp_dir().join("durable-fs-doc-write.txt");
/// durable_fs::write(&path, "hello")?;
/// assert_eq!(std::fs::read_to_string(&path)?, "hello");
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn write<P: AsRef<Path>, C: AsRef<[u8]>>(path: P, contents: C) -> io::Result<()> {
    WriteOptions::new().write(path, contents)
}

/// How to write: a builder in the style of [`std::fs::OpenOptions`].
///
/// ```
/// use durable_fs::WriteOptions;
/// let path = std::env::temp_dir().join("durable-fs-doc-opts/sub/secret.txt");
/// WriteOptions::new().mode(0o600).mkdir(true).write(&path, b"token")?;
/// # #[cfg(unix)] {
/// use std::os::unix::fs::PermissionsExt;
/// assert_eq!(std::fs::metadata(&path)?.permissions().mode() & 0o7777, 0o600);
/// # }
/// # std::fs::remove_dir_all(std::env::temp_dir().join("durable-fs-doc-opts"))?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct WriteOptions(core::WriteOptions);

impl WriteOptions {
    /// The defaults: keep the existing mode, fsync, no parent creation.
    pub fn new() -> Self {
        WriteOptions(core::WriteOptions::default())
    }

    /// Final permission bits (`0..=0o7777`), exact whatever the umask, in place from the moment
    /// the new content is visible. Ignored on Windows.
    pub fn mode(&mut self, mode: u32) -> &mut Self {
        self.0.mode = Some(mode);
        self
    }

    /// `false` skips both fsyncs: the write stays atomic against a process crash but is not
    /// durable against a power cut.
    pub fn fsync(&mut self, fsync: bool) -> &mut Self {
        self.0.fsync = fsync;
        self
    }

    /// Create missing parent directories (their entries made durable too).
    pub fn mkdir(&mut self, mkdir: bool) -> &mut Self {
        self.0.mkdir = mkdir;
        self
    }

    /// Final owner (needs the privilege to `fchown`).
    pub fn owner(&mut self, uid: u32, gid: u32) -> &mut Self {
        self.0.chown = Some((uid, gid));
        self
    }

    /// Writes `contents` to `path` with these options (see [`write`]).
    pub fn write<P: AsRef<Path>, C: AsRef<[u8]>>(&self, path: P, contents: C) -> io::Result<()> {
        let p = path_str(path.as_ref(), "open")?;
        core::atomic_write(&OsFs, p, contents.as_ref(), &self.0).map_err(to_io)
    }

    pub(crate) fn core(&self) -> &core::WriteOptions {
        &self.0
    }
}

/// Read-modify-write under the file's lock (`<path>.lock`, see [`crate::Lock`]): reads the file
/// (`None` if it does not exist), calls `f`, and if `f` returns `Some(new)` writes it atomically
/// and durably, checking first that the lock is still ours. Returns whether it wrote. An error
/// from `f` is returned as is, with nothing written.
///
/// ```
/// let path = std::env::temp_dir().join("durable-fs-doc-counter");
/// # let _ = std::fs::remove_file(&path);
/// for _ in 0..3 {
///     durable_fs::update_file(&path, |cur| {
///         let n: u32 = cur.map(|b| String::from_utf8_lossy(b).parse().unwrap_or(0)).unwrap_or(0);
///         Ok(Some((n + 1).to_string().into_bytes()))
///     })?;
/// }
/// assert_eq!(std::fs::read_to_string(&path)?, "3");
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn update_file<P, F>(path: P, f: F) -> io::Result<bool>
where
    P: AsRef<Path>,
    F: FnOnce(Option<&[u8]>) -> io::Result<Option<Vec<u8>>>,
{
    update_file_with(path, &LockOptions::new(), &WriteOptions::new(), f)
}

/// [`update_file`] with lock and write options.
pub fn update_file_with<P, F>(path: P, lock: &LockOptions, write: &WriteOptions, f: F) -> io::Result<bool>
where
    P: AsRef<Path>,
    F: FnOnce(Option<&[u8]>) -> io::Result<Option<Vec<u8>>>,
{
    let p = path_str(path.as_ref(), "open")?;
    let lock_path = match lock.lock_path_ref() {
        Some(l) => Some(path_str(l, "lock")?.to_string()),
        None => None,
    };
    let opts = UpdateOptions {
        lock_path,
        lock: lock.core(),
        timeout_ms: lock.timeout_ref().map(|d: Duration| d.as_millis().min(u64::MAX as u128) as u64),
        write: write.core().clone(),
    };
    let mut f = Some(f);
    let mut failed: Option<io::Error> = None;
    let r = blocking::update(blocking::os_locks(), p, &opts, &mut || false, &mut |cur| match f.take().map(|f| f(cur)) {
        Some(Ok(next)) => next,
        Some(Err(e)) => {
            failed = Some(e);
            None
        }
        None => None,
    });
    if let Some(e) = failed {
        return Err(e);
    }
    r.map_err(to_io)
}
