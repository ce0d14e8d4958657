//! Replays a recorded list of system calls (for example from `strace` of the real addon) on a
//! [`SimFs`], which turns it into the same op log a simulated run records, so the crash-state
//! check of [`super::crash`] applies to the real binary too.
//!
//! The list is text, one successful call per line, fields separated by tabs:
//!
//! ```text
//! open    FD  excl|read|append|append-create|dir|anon  MODE(octal)  PATH   (anon: PATH is the directory)
//! write   FD  HEX-BYTES
//! fchmod  FD  MODE(octal)
//! fchown  FD  UID  GID
//! fsync   FD            (a directory descriptor: fsync of the directory)
//! fdatasync FD
//! ftruncate FD LEN
//! flock   FD
//! close   FD
//! rename  FROM  TO
//! link    FROM  TO
//! linkfd  FD  TO        (linkat of /proc/self/fd/FD: names an unnamed file)
//! unlink  PATH
//! mkdir   MODE(octal)  PATH
//! ```

use std::collections::BTreeMap;

use super::{Call, SimFile, SimFs};
use crate::fs::{path, Fs};

/// Replays `text` on `fs`. Stops at the first line that cannot be replayed, with its number.
pub fn replay(fs: &SimFs, text: &str) -> Result<usize, String> {
    let mut fds: BTreeMap<String, SimFile> = BTreeMap::new();
    let mut n = 0;
    for (no, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        let bad = |why: &str| format!("line {}: {why}: {line:?}", no + 1);
        let arg = |i: usize| f.get(i).copied().ok_or_else(|| bad("missing field"));
        let octal = |s: &str| u32::from_str_radix(s, 8).map_err(|_| bad("bad mode"));
        let r = match f[0] {
            "open" => {
                let (key, how, mode, p) = (arg(1)?, arg(2)?, octal(arg(3)?)?, arg(4)?);
                let file = match how {
                    "excl" => fs.create_excl(p, mode),
                    "read" => fs.open_read(p),
                    "append" => fs.open_append(p, mode, false),
                    "append-create" => fs.open_append(p, mode, true),
                    "dir" => fs.open_dir(p),
                    "anon" => fs.open_anon(p, mode),
                    _ => return Err(bad("unknown open kind")),
                };
                file.map(|file| {
                    fds.insert(key.to_string(), file);
                })
            }
            "close" => {
                let file = fds.remove(arg(1)?).ok_or_else(|| bad("unknown descriptor"))?;
                fs.close(file)
            }
            "rename" => fs.rename(arg(1)?, arg(2)?),
            "link" => fs.link(arg(1)?, arg(2)?),
            "unlink" => fs.unlink(arg(1)?),
            "mkdir" => fs.mkdir(arg(2)?, octal(arg(1)?)?),
            other => {
                // Calls on a descriptor.
                let file = fds.get(arg(1)?).ok_or_else(|| bad("unknown descriptor"))?;
                match other {
                    "write" => fs.write_all(file, &unhex(arg(2)?).ok_or_else(|| bad("bad hex"))?),
                    "fchmod" => fs.fchmod(file, octal(arg(2)?)?),
                    "fchown" => {
                        let id = |i| arg(i)?.parse::<u32>().map_err(|_| bad("bad id"));
                        fs.fchown(file, id(2)?, id(3)?)
                    }
                    "fsync" => fs.fsync_fd(file, false),
                    "fdatasync" => fs.fsync_fd(file, true),
                    "ftruncate" => fs.ftruncate(file, arg(2)?.parse().map_err(|_| bad("bad length"))?),
                    "flock" => fs.try_lock(file).map(|_| ()),
                    "linkfd" => fs.link_file(file, arg(2)?),
                    _ => return Err(bad("unknown call")),
                }
            }
        };
        r.map_err(|e| bad(&format!("does not replay ({e})")))?;
        n += 1;
    }
    Ok(n)
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

/// A trace as comparable lines: `syscall name`, with the name relative to `root`, every temp file
/// name of the write protocol replaced by `<tmp>` and every staging file of the lock protocol
/// (`<name>.<16 hex>.stage`) by `<stage>`. Consecutive writes to one file are one line
/// (the kernel may split a write; `write_all` loops).
pub fn normalize(trace: &[Call], root: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in trace {
        let rel = c.path.strip_prefix(root).unwrap_or(&c.path);
        let (dir, name) = path::split(rel, false);
        let name = if crate::write::is_temp_name(name) {
            "<tmp>"
        } else if is_stage_name(name) {
            "<stage>"
        } else {
            name
        };
        let shown = if dir == "/" || dir == "." { name.to_string() } else { format!("{dir}/{name}") };
        let line = format!("{} {}", c.syscall, if shown.is_empty() { "." } else { &shown });
        if c.syscall == "write" && out.last() == Some(&line) {
            continue;
        }
        out.push(line);
    }
    out
}

fn is_stage_name(name: &str) -> bool {
    name.strip_suffix(".stage")
        .and_then(|s| s.rsplit_once('.'))
        .is_some_and(|(_, hex)| hex.len() == 16 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}
