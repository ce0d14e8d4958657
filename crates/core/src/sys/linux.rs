//! Linux-only queries: boot id and process start time, both from `/proc`.

/// `/proc/sys/kernel/random/boot_id`, a UUID that changes at every boot.
pub(crate) fn boot_id() -> Option<String> {
    crate::procfs::boot_id(&std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?)
}

/// `open(dir, O_TMPFILE|O_WRONLY|O_CLOEXEC, mode)`: `None` where the file system has no unnamed
/// files (`EOPNOTSUPP`, `EISDIR` from kernels without O_TMPFILE, `EINVAL`).
pub(crate) fn create_anon(dir: &str, mode: u32) -> std::io::Result<Option<std::fs::File>> {
    use std::os::unix::io::FromRawFd;
    let c = std::ffi::CString::new(dir).map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?;
    let fd = unsafe { libc::open(c.as_ptr(), libc::O_TMPFILE | libc::O_WRONLY | libc::O_CLOEXEC, mode as libc::c_uint) };
    if fd < 0 {
        let e = std::io::Error::last_os_error();
        return match e.raw_os_error() {
            Some(libc::EOPNOTSUPP | libc::EISDIR | libc::EINVAL) => Ok(None),
            _ => Err(e),
        };
    }
    Ok(Some(unsafe { std::fs::File::from_raw_fd(fd) }))
}

/// `linkat(AT_FDCWD, "/proc/self/fd/N", AT_FDCWD, to, AT_SYMLINK_FOLLOW)`: names an unnamed file
/// (no capability needed, unlike `AT_EMPTY_PATH`).
pub(crate) fn link_file(file: &std::fs::File, to: &str) -> std::io::Result<()> {
    use std::os::unix::io::AsRawFd;
    let src = std::ffi::CString::new(format!("/proc/self/fd/{}", file.as_raw_fd())).expect("no NUL");
    let dst = std::ffi::CString::new(to).map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?;
    let r = unsafe { libc::linkat(libc::AT_FDCWD, src.as_ptr(), libc::AT_FDCWD, dst.as_ptr(), libc::AT_SYMLINK_FOLLOW) };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Whether `dir` is on a network file system: `statfs(dir).f_type` judged by [`crate::netfs`].
/// Unknown (an error) counts as local.
pub(crate) fn network_fs(dir: &str) -> bool {
    let Ok(c) = std::ffi::CString::new(dir) else { return false };
    let mut st = std::mem::MaybeUninit::<libc::statfs>::zeroed();
    // SAFETY: `c` is a NUL-terminated path that outlives the call and `st` is a writable buffer
    // of the size statfs expects; the kernel writes it fully on success.
    let r = unsafe { libc::statfs(c.as_ptr(), st.as_mut_ptr()) };
    if r != 0 {
        return false;
    }
    // SAFETY: statfs returned 0, so the buffer is initialised.
    let st = unsafe { st.assume_init() };
    crate::netfs::is_network_magic(st.f_type as u64)
}

/// Field 22 of `/proc/<pid>/stat` (start time in clock ticks since boot). The command name in
/// field 2 may contain spaces and parentheses, so fields are counted after the last `)`.
/// When the system booted (`btime` of `/proc/stat`), ms since the epoch.
pub(crate) fn boot_time_ms() -> Option<u64> {
    crate::procfs::stat_boot_time_ms(&std::fs::read_to_string("/proc/stat").ok()?)
}

pub(crate) fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_start(&stat)
}

fn parse_start(stat: &str) -> Option<u64> {
    crate::procfs::stat_start_time(stat)
}

#[cfg(test)]
mod tests {
    #[test]
    fn start_time_of_self() {
        assert!(super::process_start(std::process::id()).is_some());
        let s = "123 (a b) c) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 424242 19 20";
        assert_eq!(super::parse_start(s), Some(424242));
        assert!(super::boot_id().is_some());
    }
}
