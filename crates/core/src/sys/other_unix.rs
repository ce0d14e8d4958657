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
