//! The real file system on Unix (Linux, macOS, the BSDs): each trait method is one system call.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::io::{AsRawFd, IntoRawFd};

use crate::error::{Error, Result};
use crate::fs::{Fs, Kind, Liveness, Meta};

#[cfg(target_os = "linux")]
use super::linux as os;
#[cfg(not(target_os = "linux"))]
use super::other_unix as os;

/// The host's file system.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsFs;

/// The Node-style code of a Unix errno.
pub fn code_of(errno: i32) -> &'static str {
    use libc::*;
    match errno {
        EPERM => "EPERM",
        ENOENT => "ENOENT",
        ESRCH => "ESRCH",
        EINTR => "EINTR",
        EIO => "EIO",
        EBADF => "EBADF",
        EAGAIN => "EAGAIN",
        ENOMEM => "ENOMEM",
        EACCES => "EACCES",
        EFAULT => "EFAULT",
        EBUSY => "EBUSY",
        EEXIST => "EEXIST",
        EXDEV => "EXDEV",
        ENODEV => "ENODEV",
        ENOTDIR => "ENOTDIR",
        EISDIR => "EISDIR",
        EINVAL => "EINVAL",
        ENFILE => "ENFILE",
        EMFILE => "EMFILE",
        ETXTBSY => "ETXTBSY",
        EFBIG => "EFBIG",
        ENOSPC => "ENOSPC",
        EROFS => "EROFS",
        EMLINK => "EMLINK",
        EDEADLK => "EDEADLK",
        ENAMETOOLONG => "ENAMETOOLONG",
        ENOLCK => "ENOLCK",
        ENOSYS => "ENOSYS",
        ENOTEMPTY => "ENOTEMPTY",
        ELOOP => "ELOOP",
        EDQUOT => "EDQUOT",
        ENOTSUP => "ENOTSUP",
        ESTALE => "ESTALE",
        ECANCELED => "ECANCELED",
        _ => "EUNKNOWN",
    }
}

/// Converts an OS error into ours.
pub fn err(e: io::Error, syscall: &'static str, path: &str) -> Error {
    let errno = e.raw_os_error().unwrap_or(libc::EIO);
    Error::os(code_of(errno), errno, syscall, path.to_string())
}

fn fd_err(e: io::Error, syscall: &'static str) -> Error {
    let errno = e.raw_os_error().unwrap_or(libc::EIO);
    Error { path: None, ..Error::os(code_of(errno), errno, syscall, None) }
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
    let mtime_ms = (m.mtime().max(0) as u64) * 1000 + (m.mtime_nsec().max(0) as u64) / 1_000_000;
    Meta { kind, mode: m.mode() & 0o7777, uid: m.uid(), gid: m.gid(), dev: m.dev(), ino: m.ino(), size: m.size(), mtime_ms }
}

impl Fs for OsFs {
    type File = File;

    fn create_excl(&self, path: &str, mode: u32) -> Result<File> {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)
            .map_err(|e| err(e, "open", path))
    }

    fn open_read(&self, path: &str) -> Result<File> {
        OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW).open(path).map_err(|e| err(e, "open", path))
    }

    fn open_append(&self, path: &str, mode: u32, create: bool) -> Result<File> {
        OpenOptions::new().read(true).append(true).create(create).mode(mode).open(path).map_err(|e| err(e, "open", path))
    }

    fn write_all(&self, file: &File, data: &[u8]) -> Result<()> {
        use std::io::Write;
        (&*file).write_all(data).map_err(|e| fd_err(e, "write"))
    }

    fn read_all(&self, file: &File) -> Result<Vec<u8>> {
        let mut f = file;
        f.seek(SeekFrom::Start(0)).map_err(|e| fd_err(e, "lseek"))?;
        let mut buf = Vec::new();
        f.read_to_end(&mut buf).map_err(|e| fd_err(e, "read"))?;
        Ok(buf)
    }

    fn read_from(&self, file: &File, offset: u64) -> Result<Vec<u8>> {
        use std::os::unix::fs::FileExt;
        let mut buf = Vec::new();
        let mut chunk = vec![0u8; 64 * 1024];
        let mut at = offset;
        loop {
            match file.read_at(&mut chunk, at) {
                Ok(0) => return Ok(buf),
                Ok(n) => {
                    buf.extend_from_slice(&chunk[..n]);
                    at += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(fd_err(e, "pread")),
            }
        }
    }

    fn fchmod(&self, file: &File, mode: u32) -> Result<()> {
        file.set_permissions(std::fs::Permissions::from_mode(mode)).map_err(|e| fd_err(e, "fchmod"))
    }

    fn fchown(&self, file: &File, uid: u32, gid: u32) -> Result<()> {
        std::os::unix::fs::fchown(file, Some(uid), Some(gid)).map_err(|e| fd_err(e, "fchown"))
    }

    fn fsync(&self, file: &File) -> Result<()> {
        // std uses F_FULLFSYNC on Apple platforms.
        file.sync_all().map_err(|e| fd_err(e, "fsync"))
    }

    #[cfg(target_os = "linux")]
    fn start_writeback(&self, file: &File) {
        // A hint: an error here (EIO, ...) is reported again by the fsync that follows.
        let _ = unsafe { libc::sync_file_range(file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE) };
    }

    fn fdatasync(&self, file: &File) -> Result<()> {
        file.sync_data().map_err(|e| fd_err(e, "fdatasync"))
    }

    fn fstat(&self, file: &File) -> Result<Meta> {
        file.metadata().map(|m| meta(&m)).map_err(|e| fd_err(e, "fstat"))
    }

    fn ftruncate(&self, file: &File, len: u64) -> Result<()> {
        file.set_len(len).map_err(|e| fd_err(e, "ftruncate"))
    }

    fn try_lock(&self, file: &File) -> Result<bool> {
        // flock(2): owned by the open file description, so a second open of the same file in the
        // same process does not inherit it, and it dies with the last descriptor (or the process).
        let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if r == 0 {
            return Ok(true);
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EWOULDBLOCK) => Ok(false),
            Some(libc::EINTR) => self.try_lock(file),
            _ => Err(fd_err(e, "flock")),
        }
    }

    fn close(&self, file: File) -> Result<()> {
        let fd = file.into_raw_fd();
        // EINTR from close still closes the descriptor on Linux; never retry.
        let r = unsafe { libc::close(fd) };
        if r == -1 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EINTR) {
                return Err(fd_err(e, "close"));
            }
        }
        Ok(())
    }

    fn lstat(&self, path: &str) -> Result<Meta> {
        std::fs::symlink_metadata(path).map(|m| meta(&m)).map_err(|e| err(e, "lstat", path))
    }

    fn readlink(&self, path: &str) -> Result<String> {
        let p = std::fs::read_link(path).map_err(|e| err(e, "readlink", path))?;
        p.into_os_string()
            .into_string()
            .map_err(|_| Error::custom("EINVAL", "readlink", path.to_string(), "link target is not UTF-8".to_string()))
    }

    fn rename(&self, from: &str, to: &str) -> Result<()> {
        std::fs::rename(from, to).map_err(|e| err(e, "rename", from).with_dest(to))
    }

    fn link(&self, from: &str, to: &str) -> Result<()> {
        std::fs::hard_link(from, to).map_err(|e| err(e, "link", from).with_dest(to))
    }

    fn create_anon(&self, dir: &str, mode: u32) -> Result<Option<File>> {
        os::create_anon(dir, mode).map_err(|e| err(e, "open", dir))
    }

    fn link_file(&self, file: &File, to: &str) -> Result<()> {
        os::link_file(file, to).map_err(|e| err(e, "link", to))
    }

    fn unlink(&self, path: &str) -> Result<()> {
        std::fs::remove_file(path).map_err(|e| err(e, "unlink", path))
    }

    fn mkdir(&self, path: &str, mode: u32) -> Result<()> {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new().mode(mode).create(path).map_err(|e| err(e, "mkdir", path))
    }

    fn fsync_dir(&self, path: &str) -> Result<()> {
        let d = OpenOptions::new().read(true).custom_flags(libc::O_DIRECTORY).open(path).map_err(|e| err(e, "open", path))?;
        let r = unsafe { libc::fsync(d.as_raw_fd()) };
        if r == -1 {
            return Err(err(io::Error::last_os_error(), "fsync", path));
        }
        Ok(())
    }

    fn read_dir(&self, path: &str) -> Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(path).map_err(|e| err(e, "scandir", path))? {
            let entry = entry.map_err(|e| err(e, "scandir", path))?;
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
        Some(unsafe { libc::geteuid() })
    }

    fn hostname(&self) -> String {
        let mut buf = [0u8; 256];
        let r = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
        if r != 0 {
            return String::new();
        }
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        String::from_utf8_lossy(&buf[..end]).into_owned()
    }

    fn boot_id(&self) -> Option<String> {
        os::boot_id()
    }

    fn boot_time_ms(&self) -> Option<u64> {
        os::boot_time_ms()
    }

    fn process_start(&self, pid: u32) -> Option<u64> {
        os::process_start(pid)
    }

    fn process_alive(&self, pid: u32) -> Liveness {
        if pid == 0 || pid > i32::MAX as u32 {
            return Liveness::Dead;
        }
        let r = unsafe { libc::kill(pid as libc::pid_t, 0) };
        if r == 0 {
            return Liveness::Alive;
        }
        match io::Error::last_os_error().raw_os_error() {
            Some(libc::ESRCH) => Liveness::Dead,
            Some(libc::EPERM) => Liveness::Alive,
            _ => Liveness::Unknown,
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
        os::network_fs(if dir.is_empty() { "." } else { dir })
    }

    fn dir_sync_group(&self) -> Option<&crate::group::DirSyncGroups> {
        Some(crate::group::DirSyncGroups::global())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_codes() {
        assert_eq!(code_of(libc::ENOENT), "ENOENT");
        assert_eq!(code_of(libc::ENOSPC), "ENOSPC");
        assert_eq!(code_of(-1), "EUNKNOWN");
    }

    #[test]
    fn flock_is_per_open_file() {
        let dir = std::env::temp_dir().join(format!("dfs-flock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("f");
        let p = p.to_str().unwrap();
        let fs = OsFs;
        let a = fs.create_excl(p, 0o600).unwrap();
        assert!(fs.try_lock(&a).unwrap());
        let b = fs.open_read(p).unwrap();
        assert!(!fs.try_lock(&b).unwrap(), "a second open file description must not get the lock");
        fs.close(a).unwrap();
        assert!(fs.try_lock(&b).unwrap(), "closing the holder releases the lock");
        fs.close(b).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
