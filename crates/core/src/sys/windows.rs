//! The real file system on Windows.
//!
//! Differences from Unix, all documented in the README: no POSIX modes (`fchmod` only toggles the
//! read-only attribute, and the write protocol skips it), no directory fsync (NTFS journals the
//! rename; `MoveFileExW` with `MOVEFILE_WRITE_THROUGH` returns once it is flushed), a short bounded
//! retry when antivirus or an indexer holds the target open, and `LockFileEx` as the kernel lock.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::windows::ffi::OsStrExt;
use std::os::windows::fs::{MetadataExt, OpenOptionsExt};

use windows_sys::Win32::Foundation::{
    CloseHandle, ERROR_ACCESS_DENIED, ERROR_ALREADY_EXISTS, ERROR_DIRECTORY, ERROR_DIR_NOT_EMPTY, ERROR_DISK_FULL,
    ERROR_FILENAME_EXCED_RANGE, ERROR_FILE_EXISTS, ERROR_FILE_NOT_FOUND, ERROR_HANDLE_DISK_FULL, ERROR_INVALID_NAME,
    ERROR_INVALID_PARAMETER, ERROR_LOCK_VIOLATION, ERROR_NOT_READY, ERROR_NOT_SAME_DEVICE, ERROR_PATH_NOT_FOUND, ERROR_SHARING_VIOLATION,
    ERROR_WRITE_PROTECT, STILL_ACTIVE,
};
use windows_sys::Win32::Storage::FileSystem::{MoveFileExW, MOVEFILE_REPLACE_EXISTING, MOVEFILE_WRITE_THROUGH};
use windows_sys::Win32::System::Threading::{GetExitCodeProcess, GetProcessTimes, OpenProcess, PROCESS_QUERY_LIMITED_INFORMATION};

use crate::error::{errno_of, Error, Result};
use crate::fs::{Fs, Kind, Liveness, Meta};

/// The host's file system.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsFs;

/// How long a rename is retried while another process holds the target open.
const SHARING_RETRY_MS: u64 = 1000;

/// The Node-style code of a Win32 error (libuv's mapping, abridged).
pub fn code_of(winerr: i32) -> &'static str {
    match winerr as u32 {
        ERROR_FILE_NOT_FOUND | ERROR_PATH_NOT_FOUND | ERROR_INVALID_NAME => "ENOENT",
        ERROR_ACCESS_DENIED => "EPERM",
        ERROR_SHARING_VIOLATION | ERROR_LOCK_VIOLATION => "EBUSY",
        ERROR_FILE_EXISTS | ERROR_ALREADY_EXISTS => "EEXIST",
        ERROR_DISK_FULL | ERROR_HANDLE_DISK_FULL => "ENOSPC",
        ERROR_WRITE_PROTECT => "EROFS",
        ERROR_FILENAME_EXCED_RANGE => "ENAMETOOLONG",
        ERROR_NOT_SAME_DEVICE => "EXDEV",
        ERROR_DIR_NOT_EMPTY => "ENOTEMPTY",
        ERROR_DIRECTORY => "ENOTDIR",
        ERROR_INVALID_PARAMETER => "EINVAL",
        ERROR_NOT_READY => "EIO",
        _ => "EUNKNOWN",
    }
}

fn err(e: io::Error, syscall: &'static str, path: Option<&str>) -> Error {
    let code = e.raw_os_error().map(code_of).unwrap_or("EIO");
    Error::os(code, errno_of(code), syscall, path.map(str::to_string))
}

fn wide(s: &str) -> Vec<u16> {
    std::ffi::OsStr::new(s).encode_wide().chain(Some(0)).collect()
}

fn meta(m: &std::fs::Metadata) -> Meta {
    let ft = m.file_type();
    let kind = if ft.is_symlink() {
        Kind::Symlink
    } else if ft.is_dir() {
        Kind::Dir
    } else if ft.is_file() {
        Kind::File
    } else {
        Kind::Other
    };
    let mode = if m.permissions().readonly() { 0o444 } else { 0o666 };
    // FILETIME: 100 ns ticks since 1601.
    let mtime_ms = (m.last_write_time() / 10_000).saturating_sub(11_644_473_600_000);
    Meta { kind, mode, uid: 0, gid: 0, dev: 0, ino: 0, size: m.len(), mtime_ms }
}

impl Fs for OsFs {
    type File = File;

    fn create_excl(&self, path: &str, _mode: u32) -> Result<File> {
        OpenOptions::new().write(true).create_new(true).open(path).map_err(|e| err(e, "open", Some(path)))
    }

    fn open_read(&self, path: &str) -> Result<File> {
        // FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, so a reader never blocks a rename.
        OpenOptions::new().read(true).share_mode(7).open(path).map_err(|e| err(e, "open", Some(path)))
    }

    fn open_append(&self, path: &str, _mode: u32, create: bool) -> Result<File> {
        OpenOptions::new().read(true).append(true).create(create).share_mode(7).open(path).map_err(|e| err(e, "open", Some(path)))
    }

    fn write_all(&self, file: &File, data: &[u8]) -> Result<()> {
        (&*file).write_all(data).map_err(|e| err(e, "write", None))
    }

    fn read_all(&self, file: &File) -> Result<Vec<u8>> {
        let mut f = file;
        f.seek(SeekFrom::Start(0)).map_err(|e| err(e, "lseek", None))?;
        let mut buf = Vec::new();
        f.read_to_end(&mut buf).map_err(|e| err(e, "read", None))?;
        Ok(buf)
    }

    fn fchmod(&self, file: &File, mode: u32) -> Result<()> {
        let mut p = file.metadata().map_err(|e| err(e, "fchmod", None))?.permissions();
        p.set_readonly(mode & 0o200 == 0);
        file.set_permissions(p).map_err(|e| err(e, "fchmod", None))
    }

    fn fchown(&self, _file: &File, _uid: u32, _gid: u32) -> Result<()> {
        Ok(())
    }

    fn fsync(&self, file: &File) -> Result<()> {
        file.sync_all().map_err(|e| err(e, "fsync", None))
    }

    fn fdatasync(&self, file: &File) -> Result<()> {
        file.sync_data().map_err(|e| err(e, "fdatasync", None))
    }

    fn fstat(&self, file: &File) -> Result<Meta> {
        file.metadata().map(|m| meta(&m)).map_err(|e| err(e, "fstat", None))
    }

    fn ftruncate(&self, file: &File, len: u64) -> Result<()> {
        file.set_len(len).map_err(|e| err(e, "ftruncate", None))
    }

    fn try_lock(&self, file: &File) -> Result<bool> {
        match file.try_lock() {
            Ok(()) => Ok(true),
            Err(std::fs::TryLockError::WouldBlock) => Ok(false),
            Err(std::fs::TryLockError::Error(e)) => Err(err(e, "flock", None)),
        }
    }

    fn close(&self, file: File) -> Result<()> {
        drop(file);
        Ok(())
    }

    fn lstat(&self, path: &str) -> Result<Meta> {
        std::fs::symlink_metadata(path).map(|m| meta(&m)).map_err(|e| err(e, "lstat", Some(path)))
    }

    fn readlink(&self, path: &str) -> Result<String> {
        let p = std::fs::read_link(path).map_err(|e| err(e, "readlink", Some(path)))?;
        p.into_os_string()
            .into_string()
            .map_err(|_| Error::custom("EINVAL", "readlink", path.to_string(), "link target is not UTF-16 text".to_string()))
    }

    fn rename(&self, from: &str, to: &str) -> Result<()> {
        let (f, t) = (wide(from), wide(to));
        let start = super::monotonic_ms();
        let mut delay = 1;
        loop {
            let ok = unsafe { MoveFileExW(f.as_ptr(), t.as_ptr(), MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH) };
            if ok != 0 {
                return Ok(());
            }
            let e = io::Error::last_os_error();
            let busy =
                matches!(e.raw_os_error().map(|c| c as u32), Some(ERROR_ACCESS_DENIED | ERROR_SHARING_VIOLATION | ERROR_LOCK_VIOLATION));
            if !busy || super::monotonic_ms() - start > SHARING_RETRY_MS {
                return Err(err(e, "rename", Some(from)).with_dest(to));
            }
            std::thread::sleep(std::time::Duration::from_millis(delay));
            delay = (delay * 2).min(50);
        }
    }

    fn link(&self, from: &str, to: &str) -> Result<()> {
        std::fs::hard_link(from, to).map_err(|e| err(e, "link", Some(from)).with_dest(to))
    }

    fn unlink(&self, path: &str) -> Result<()> {
        std::fs::remove_file(path).map_err(|e| err(e, "unlink", Some(path)))
    }

    fn mkdir(&self, path: &str, _mode: u32) -> Result<()> {
        std::fs::create_dir(path).map_err(|e| err(e, "mkdir", Some(path)))
    }

    fn fsync_dir(&self, _path: &str) -> Result<()> {
        Ok(())
    }

    fn read_dir(&self, path: &str) -> Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(path).map_err(|e| err(e, "scandir", Some(path)))? {
            let entry = entry.map_err(|e| err(e, "scandir", Some(path)))?;
            if let Ok(n) = entry.file_name().into_string() {
                names.push(n);
            }
        }
        Ok(names)
    }

    fn random(&self) -> u64 {
        super::random_u64()
    }

    fn pid(&self) -> u32 {
        std::process::id()
    }

    fn euid(&self) -> Option<u32> {
        None
    }

    fn hostname(&self) -> String {
        std::env::var("COMPUTERNAME").unwrap_or_default()
    }

    fn boot_id(&self) -> Option<String> {
        None
    }

    fn process_start(&self, pid: u32) -> Option<u64> {
        unsafe {
            let h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid);
            if h.is_null() {
                return None;
            }
            let mut times = [std::mem::zeroed(); 4];
            let ok = GetProcessTimes(h, &mut times[0], &mut times[1], &mut times[2], &mut times[3]);
            CloseHandle(h);
            (ok != 0).then(|| ((times[0].dwHighDateTime as u64) << 32) | times[0].dwLowDateTime as u64)
        }
    }

    fn process_alive(&self, pid: u32) -> Liveness {
        unsafe {
            let h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid);
            if h.is_null() {
                return match io::Error::last_os_error().raw_os_error().map(|c| c as u32) {
                    Some(ERROR_INVALID_PARAMETER) => Liveness::Dead,
                    Some(ERROR_ACCESS_DENIED) => Liveness::Alive,
                    _ => Liveness::Unknown,
                };
            }
            let mut code = 0u32;
            let ok = GetExitCodeProcess(h, &mut code);
            CloseHandle(h);
            if ok == 0 {
                Liveness::Unknown
            } else if code == STILL_ACTIVE as u32 {
                Liveness::Alive
            } else {
                Liveness::Dead
            }
        }
    }

    fn monotonic_ms(&self) -> u64 {
        super::monotonic_ms()
    }

    fn wall_ms(&self) -> u64 {
        super::wall_ms()
    }

    fn sleep_ms(&self, ms: u64) {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }

    fn kernel_locks(&self) -> bool {
        true
    }

    fn network_fs(&self, dir: &str) -> bool {
        crate::netfs::is_unc_path(dir)
    }

    fn windows(&self) -> bool {
        true
    }
}
