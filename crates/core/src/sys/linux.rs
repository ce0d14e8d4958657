//! Linux-only queries: boot id and process start time, both from `/proc`.

/// `/proc/sys/kernel/random/boot_id`, a UUID that changes at every boot.
pub(crate) fn boot_id() -> Option<String> {
    crate::procfs::boot_id(&std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?)
}

/// Field 22 of `/proc/<pid>/stat` (start time in clock ticks since boot). The command name in
/// field 2 may contain spaces and parentheses, so fields are counted after the last `)`.
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
