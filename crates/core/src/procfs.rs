//! Parsers for Linux `/proc` files, shared by every [`crate::fs::Fs`] that reads them (the native
//! `sys::linux` reads them with `std::fs`, the wasm binding with Node's `fs`).

/// Field 22 of `/proc/<pid>/stat` (start time in clock ticks since boot). The command name in
/// field 2 may contain spaces and parentheses, so fields are counted after the last `)`.
pub fn stat_start_time(stat: &str) -> Option<u64> {
    let after = &stat[stat.rfind(')')? + 1..];
    // After ")" come field 3 (state) onwards; field 22 is the 20th of those.
    after.split_whitespace().nth(19)?.parse().ok()
}

/// The content of `/proc/sys/kernel/random/boot_id`, trimmed; `None` when empty.
pub fn boot_id(content: &str) -> Option<String> {
    Some(content.trim().to_string()).filter(|s| !s.is_empty())
}

/// The `btime` line of `/proc/stat` (when the system booted, seconds since the epoch), in ms.
pub fn stat_boot_time_ms(stat: &str) -> Option<u64> {
    let line = stat.lines().find(|l| l.starts_with("btime "))?;
    line[6..].trim().parse::<u64>().ok().map(|s| s * 1000)
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_stat_and_boot_id() {
        let s = "123 (a b) c) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 424242 19 20";
        assert_eq!(super::stat_start_time(s), Some(424242));
        assert_eq!(super::stat_start_time("123 (x) S 1"), None);
        assert_eq!(super::boot_id(" 1234-abcd\n").as_deref(), Some("1234-abcd"));
        assert_eq!(super::boot_id("\n"), None);
        assert_eq!(super::stat_boot_time_ms("cpu 1 2\nbtime 1764000000\nprocesses 5\n"), Some(1_764_000_000_000));
        assert_eq!(super::stat_boot_time_ms("cpu 1 2\n"), None);
    }
}
