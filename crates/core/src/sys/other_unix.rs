//! Unix systems other than Linux: no `/proc`. The boot id and process start time are not known,
//! so a holder without a kernel lock is judged by its PID alone there (documented limit); holders
//! with a kernel lock (every native holder) need neither.

pub(crate) fn boot_id() -> Option<String> {
    None
}

pub(crate) fn process_start(_pid: u32) -> Option<u64> {
    None
}
