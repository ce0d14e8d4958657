//! Unix systems other than Linux: no `/proc`. The boot id and process start time are not known,
//! so a holder without a kernel lock is judged by its PID alone there (documented limit); holders
//! with a kernel lock (every native holder) need neither.

pub(crate) fn boot_id() -> Option<String> {
    None
}

pub(crate) fn boot_time_ms() -> Option<u64> {
    None
}

pub(crate) fn process_start(_pid: u32) -> Option<u64> {
    None
}

/// No unnamed files here: the lock protocol uses a named staging file.
pub(crate) fn create_anon(_dir: &str, _mode: u32) -> std::io::Result<Option<std::fs::File>> {
    Ok(None)
}

pub(crate) fn link_file(_file: &std::fs::File, _to: &str) -> std::io::Result<()> {
    Err(std::io::Error::from_raw_os_error(libc::ENOTSUP))
}

/// Whether `dir` is on a network file system: `statfs(dir).f_fstypename` judged by
/// [`crate::netfs`]. Unknown (an error, or a system without `f_fstypename`) counts as local.
#[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd", target_os = "openbsd", target_os = "dragonfly"))]
pub(crate) fn network_fs(dir: &str) -> bool {
    let Ok(c) = std::ffi::CString::new(dir) else { return false };
    let mut st = std::mem::MaybeUninit::<libc::statfs>::zeroed();
    // SAFETY: `c` is a NUL-terminated path that outlives the call and `st` is a writable buffer
    // of the size statfs expects; the kernel writes it fully on success.
    let r = unsafe { libc::statfs(c.as_ptr(), st.as_mut_ptr()) };
    if r != 0 {
        return false;
    }
    // SAFETY: statfs returned 0, so the buffer is initialised; f_fstypename is NUL-terminated.
    let st = unsafe { st.assume_init() };
    let name: Vec<u8> = st.f_fstypename.iter().take_while(|&&b| b != 0).map(|&b| b as u8).collect();
    crate::netfs::is_network_type_name(&String::from_utf8_lossy(&name))
}

#[cfg(not(any(target_os = "macos", target_os = "ios", target_os = "freebsd", target_os = "openbsd", target_os = "dragonfly")))]
pub(crate) fn network_fs(_dir: &str) -> bool {
    false
}
