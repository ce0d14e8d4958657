//! The small file-system interface every protocol runs on.
//!
//! One implementation of each protocol serves three worlds through this trait: the real OS
//! ([`crate::sys::OsFs`], used by the native addon), Node's own `fs` module (the WebAssembly
//! binding implements the trait with wasm-bindgen imports), and simulated file systems in the tests
//! (crash-state exploration, fault injection). Calls are static-dispatched, so the native path pays
//! nothing for the abstraction.
//!
//! Paths are UTF-8 strings: they come from JavaScript, and the simulator and the wasm binding need
//! nothing else. Every method maps to one system call (or, for the environment queries, one cheap
//! read), so a trace of trait calls is a trace of the protocol.

use crate::error::Result;

/// What kind of object a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Symlink,
    Other,
}

/// The subset of `stat` the protocols need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    pub kind: Kind,
    /// Permission bits including set-id and sticky bits (`st_mode & 0o7777`).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// Device and inode: together they identify a file (the lock's identity check).
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    /// Modification time, milliseconds since the epoch (informational only: never used to judge
    /// a lock stale, since clocks of different hosts disagree).
    pub mtime_ms: u64,
}

/// Whether a process is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    Alive,
    Dead,
    /// The platform cannot tell (for example a PID in another PID namespace).
    Unknown,
}

/// The operations the protocols need, each one system call.
pub trait Fs {
    /// An open file.
    type File;

    /// Creates a new file for writing, failing with `EEXIST` if the name exists (even as a dangling
    /// symlink): `open(path, O_WRONLY|O_CREAT|O_EXCL|O_CLOEXEC|O_NOFOLLOW, mode)`.
    fn create_excl(&self, path: &str, mode: u32) -> Result<Self::File>;
    /// Opens an existing file for reading without following a final symlink:
    /// `open(path, O_RDONLY|O_CLOEXEC|O_NOFOLLOW)`.
    fn open_read(&self, path: &str) -> Result<Self::File>;
    /// Opens (and with `create`, creates with `mode`) a file for appending:
    /// `open(path, O_RDWR|O_APPEND|O_CLOEXEC[|O_CREAT], mode)`.
    fn open_append(&self, path: &str, mode: u32, create: bool) -> Result<Self::File>;
    /// Writes every byte, looping over short writes and `EINTR`.
    fn write_all(&self, file: &Self::File, data: &[u8]) -> Result<()>;
    /// Reads the whole file from offset 0.
    fn read_all(&self, file: &Self::File) -> Result<Vec<u8>>;
    /// Reads from `offset` to the end of the file (`pread` in a loop). Added for the log, which
    /// reads only the records other processes appended since it last looked. The default reads
    /// the whole file and drops the first `offset` bytes, so implementations need not override it.
    fn read_from(&self, file: &Self::File, offset: u64) -> Result<Vec<u8>> {
        let mut all = self.read_all(file)?;
        let cut = usize::try_from(offset).unwrap_or(usize::MAX).min(all.len());
        all.drain(..cut);
        Ok(all)
    }
    /// `fchmod(fd, mode)`.
    fn fchmod(&self, file: &Self::File, mode: u32) -> Result<()>;
    /// `fchown(fd, uid, gid)`.
    fn fchown(&self, file: &Self::File, uid: u32, gid: u32) -> Result<()>;
    /// `fsync(fd)` (macOS: `F_FULLFSYNC`; Windows: `FlushFileBuffers`).
    fn fsync(&self, file: &Self::File) -> Result<()>;
    /// Starts writing the file's dirty pages to the device without waiting for them (Linux:
    /// `sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE)`). A hint that lets many files' data
    /// travel together before their fsyncs; it makes nothing durable, and where there is no such
    /// call (the default) it does nothing. Errors are left for the fsync that follows to report.
    fn start_writeback(&self, _file: &Self::File) {}
    /// `fdatasync(fd)` (where missing: `fsync`).
    fn fdatasync(&self, file: &Self::File) -> Result<()>;
    /// `fstat(fd)`.
    fn fstat(&self, file: &Self::File) -> Result<Meta>;
    /// `ftruncate(fd, len)`.
    fn ftruncate(&self, file: &Self::File, len: u64) -> Result<()>;
    /// Takes an exclusive kernel lock without blocking (`flock(LOCK_EX|LOCK_NB)`, `LockFileEx`):
    /// `Ok(true)` if taken, `Ok(false)` if another open file holds it, `Err(ENOTSUP)` where the
    /// platform has no kernel locks (see [`Fs::kernel_locks`]). Released by [`Fs::close`].
    fn try_lock(&self, file: &Self::File) -> Result<bool>;
    /// Closes the file, reporting the error `close` returns (NFS reports write errors there).
    fn close(&self, file: Self::File) -> Result<()>;

    /// `lstat(path)`.
    fn lstat(&self, path: &str) -> Result<Meta>;
    /// `readlink(path)`.
    fn readlink(&self, path: &str) -> Result<String>;
    /// `rename(from, to)`, atomically replacing `to` (Windows: `MoveFileExW` with
    /// `REPLACE_EXISTING | WRITE_THROUGH`).
    fn rename(&self, from: &str, to: &str) -> Result<()>;
    /// `link(from, to)`: fails with `EEXIST` if `to` exists.
    fn link(&self, from: &str, to: &str) -> Result<()>;
    /// Creates an unnamed file in `dir`, written and locked before it gets a name with
    /// [`Fs::link_file`] (Linux: `open(dir, O_TMPFILE|O_WRONLY|O_CLOEXEC, mode)`). `Ok(None)` where
    /// the platform or the file system has no such files; callers then use a named staging file.
    /// Default: `Ok(None)`.
    fn create_anon(&self, _dir: &str, _mode: u32) -> Result<Option<Self::File>> {
        Ok(None)
    }
    /// Gives an open file a name, failing with `EEXIST` if `to` exists (Linux:
    /// `linkat(AT_FDCWD, "/proc/self/fd/N", AT_FDCWD, to, AT_SYMLINK_FOLLOW)`). Default: `ENOTSUP`.
    fn link_file(&self, _file: &Self::File, to: &str) -> Result<()> {
        Err(crate::error::Error::custom("ENOTSUP", "link", to.to_string(), None))
    }
    /// `unlink(path)`.
    fn unlink(&self, path: &str) -> Result<()>;
    /// `mkdir(path, mode)` (one level).
    fn mkdir(&self, path: &str, mode: u32) -> Result<()>;
    /// Opens the directory and fsyncs it, making the names created, renamed or removed in it
    /// durable. Platforms without directory sync (Windows) return `Ok(())`.
    fn fsync_dir(&self, path: &str) -> Result<()>;
    /// The names in a directory (without `.` and `..`).
    fn read_dir(&self, path: &str) -> Result<Vec<String>>;

    /// 64 random bits (unpredictable enough for temp names and nonces; uniqueness is enforced by
    /// `O_EXCL`, not by the randomness).
    fn random(&self) -> u64;
    /// This process's id.
    fn pid(&self) -> u32;
    /// The effective user id, where the platform has one.
    fn euid(&self) -> Option<u32>;
    /// This host's name.
    fn hostname(&self) -> String;
    /// An id that changes at every boot (Linux: `/proc/sys/kernel/random/boot_id`).
    fn boot_id(&self) -> Option<String>;
    /// When this system booted, wall-clock ms since the epoch (Linux: `btime` of `/proc/stat`).
    /// Lets the lock tell a file last written before the reboot; `None` where unknown.
    fn boot_time_ms(&self) -> Option<u64> {
        None
    }
    /// When the process started, in an opaque unit stable for the life of the process (Linux:
    /// field 22 of `/proc/<pid>/stat`). Used to tell a live holder from a reused PID.
    fn process_start(&self, pid: u32) -> Option<u64>;
    /// Whether a process exists (`kill(pid, 0)`).
    fn process_alive(&self, pid: u32) -> Liveness;
    /// A monotonic clock in milliseconds (only differences are meaningful).
    fn monotonic_ms(&self) -> u64;
    /// Wall-clock time in milliseconds since the epoch (recorded, never compared across hosts).
    fn wall_ms(&self) -> u64;
    /// Sleeps (the sync lock API's backoff; the async API waits on JS timers instead).
    fn sleep_ms(&self, ms: u64);
    /// Whether [`Fs::try_lock`] works here.
    fn kernel_locks(&self) -> bool;
    /// Whether the directory `dir` is on a file system other hosts share ([`crate::netfs`]): there
    /// the lock protocol identifies its files by content, not inode numbers, and trusts no kernel
    /// lock across hosts. `false` when unknown.
    fn network_fs(&self, _dir: &str) -> bool {
        false
    }
    /// Whether paths and semantics are Windows' (`\` separators, no directory fsync, no modes).
    fn windows(&self) -> bool {
        false
    }
    /// The group-commit coordinators this file system's writes share directory fsyncs through
    /// (see [`crate::group`]). `None` (the default): every write fsyncs its directory itself. The
    /// real OS returns the process-wide [`crate::group::DirSyncGroups::global`]; a simulator may
    /// return its own to explore group commit.
    fn dir_sync_group(&self) -> Option<&crate::group::DirSyncGroups> {
        None
    }
}

/// Path helpers that understand both separators where the file system is Windows'.
pub mod path {
    fn is_sep(c: char, windows: bool) -> bool {
        c == '/' || (windows && c == '\\')
    }

    /// Splits `p` into (directory, file name). The directory of a bare name is `.`; of `/x`, `/`.
    pub fn split(p: &str, windows: bool) -> (&str, &str) {
        match p.rfind(|c| is_sep(c, windows)) {
            Some(0) => (&p[..1], &p[1..]),
            Some(i) => {
                let dir = &p[..i];
                // `C:\x` keeps its root separator.
                if windows && dir.len() == 2 && dir.ends_with(':') {
                    (&p[..=i], &p[i + 1..])
                } else {
                    (dir, &p[i + 1..])
                }
            }
            None => (".", p),
        }
    }

    /// Joins a directory and a name with the platform's separator.
    pub fn join(dir: &str, name: &str, windows: bool) -> String {
        if dir.is_empty() || dir == "." {
            return name.to_string();
        }
        if dir.ends_with(|c| is_sep(c, windows)) {
            format!("{dir}{name}")
        } else {
            format!("{dir}{}{name}", if windows { '\\' } else { '/' })
        }
    }

    /// Whether `p` is absolute.
    pub fn is_absolute(p: &str, windows: bool) -> bool {
        if windows {
            let b = p.as_bytes();
            p.starts_with('\\') || p.starts_with('/') || (b.len() >= 3 && b[1] == b':' && (b[2] == b'\\' || b[2] == b'/'))
        } else {
            p.starts_with('/')
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn split_and_join() {
            assert_eq!(split("/a/b", false), ("/a", "b"));
            assert_eq!(split("/b", false), ("/", "b"));
            assert_eq!(split("b", false), (".", "b"));
            assert_eq!(split("a\\b", false), (".", "a\\b"));
            assert_eq!(split("C:\\x", true), ("C:\\", "x"));
            assert_eq!(split("C:\\d\\x", true), ("C:\\d", "x"));
            assert_eq!(join("/a", "b", false), "/a/b");
            assert_eq!(join("/", "b", false), "/b");
            assert_eq!(join(".", "b", false), "b");
            assert_eq!(join("C:\\d", "b", true), "C:\\d\\b");
            assert!(is_absolute("/x", false));
            assert!(!is_absolute("x", false));
            assert!(is_absolute("C:\\x", true));
        }
    }
}
