//! Many atomic writes in one call, with one directory fsync per directory.
//!
//! ```text
//! prepare every entry                  (validation, symlinks, existing mode and owner)
//! for each entry: open temp O_EXCL, write, fchown, fchmod, fsync, close
//! for each entry, in order: rename(temp, target)
//! for each distinct directory: fsync(dir)       (shared with concurrent writers: crate::group)
//! ```
//!
//! Errors:
//! - Before the first rename (a bad path, a missing directory, `ENOSPC`, a failed file fsync, ...):
//!   every temp file is removed and **no target is touched**.
//! - A rename fails (rare: the directory changed under us, a target became a directory, ...): the
//!   entries **before** it in the batch were already replaced; their directories are still fsynced
//!   so that what is visible is durable. The failing entry and every later one are untouched and
//!   their temp files removed. The error says how many were replaced: its detail starts with
//!   `replaced K of N`.
//! - A directory fsync fails: every target is replaced but not known to be durable; the first
//!   such error is returned (as for a single write).
//!
//! A target named twice is written twice, in order: the later entry wins.

use crate::error::{Error, Result};
use crate::fs::Fs;
use crate::write::{prepare, sync_dir_shared, write_temp, Prepared, WriteOptions};

/// One file of a batch.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    pub path: &'a str,
    pub data: &'a [u8],
    /// Overrides the batch's [`WriteOptions::mode`] for this file.
    pub mode: Option<u32>,
}

/// Writes every entry atomically and (with `opts.fsync`) durably; see the module docs for what an
/// error leaves behind.
pub fn atomic_write_many<F: Fs>(fs: &F, entries: &[Entry<'_>], opts: &WriteOptions) -> Result<()> {
    let n = entries.len();
    let mut prepared: Vec<(Prepared, WriteOptions)> = Vec::with_capacity(n);
    for e in entries {
        let o = WriteOptions { mode: e.mode.or(opts.mode), ..opts.clone() };
        prepared.push((prepare(fs, e.path, &o)?, o));
    }
    let mut temps: Vec<String> = Vec::with_capacity(n);
    for ((p, o), e) in prepared.iter().zip(entries) {
        match write_temp(fs, p, e.data, o) {
            Ok(t) => temps.push(t),
            Err(err) => {
                for t in &temps {
                    let _ = fs.unlink(t);
                }
                return Err(err);
            }
        }
    }
    let mut dirs: Vec<&str> = Vec::new();
    let mut failed: Option<Error> = None;
    for (i, ((p, _), tmp)) in prepared.iter().zip(&temps).enumerate() {
        if failed.is_some() {
            let _ = fs.unlink(tmp);
            continue;
        }
        match fs.rename(tmp, &p.target) {
            Ok(()) => {
                if !dirs.contains(&p.dir.as_str()) {
                    dirs.push(&p.dir);
                }
            }
            Err(e) => {
                let _ = fs.unlink(tmp);
                let detail = format!("replaced {i} of {n}: the entries before this one were replaced, this one and later ones were not");
                failed = Some(Error { path: Some(p.requested.clone()), dest: None, detail: Some(detail), ..e });
            }
        }
    }
    let mut first_sync_error = None;
    if opts.fsync {
        for d in dirs {
            if let Err(e) = sync_dir_shared(fs, d) {
                first_sync_error.get_or_insert(e);
            }
        }
    }
    match (failed, first_sync_error) {
        (Some(e), _) | (None, Some(e)) => Err(e),
        (None, None) => Ok(()),
    }
}

#[cfg(all(test, unix, feature = "std-fs"))]
mod tests {
    use super::*;
    use crate::sys::OsFs;
    use std::os::unix::fs::PermissionsExt;

    fn tmpdir(tag: &str) -> String {
        let d = std::env::temp_dir().join(format!("dfs-batch-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d.to_str().unwrap().to_string()
    }

    #[test]
    fn writes_every_entry_with_its_mode_and_the_later_duplicate_wins() {
        let d = tmpdir("ok");
        let sub = format!("{d}/sub");
        std::fs::create_dir(&sub).unwrap();
        let (a, b, c) = (format!("{d}/a"), format!("{sub}/b"), format!("{d}/c"));
        let entries = [
            Entry { path: &a, data: b"one", mode: Some(0o640) },
            Entry { path: &b, data: b"two", mode: None },
            Entry { path: &c, data: b"old", mode: None },
            Entry { path: &c, data: b"new", mode: None },
        ];
        atomic_write_many(&OsFs, &entries, &WriteOptions { mode: Some(0o600), ..Default::default() }).unwrap();
        assert_eq!(std::fs::read(&a).unwrap(), b"one");
        assert_eq!(std::fs::read(&b).unwrap(), b"two");
        assert_eq!(std::fs::read(&c).unwrap(), b"new");
        assert_eq!(std::fs::metadata(&a).unwrap().permissions().mode() & 0o7777, 0o640);
        assert_eq!(std::fs::metadata(&b).unwrap().permissions().mode() & 0o7777, 0o600);
        let mut names: Vec<_> = std::fs::read_dir(&d).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        names.sort();
        assert_eq!(names, ["a", "c", "sub"], "no temp file left");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn an_error_before_the_renames_touches_no_target() {
        let d = tmpdir("err");
        let a = format!("{d}/a");
        std::fs::write(&a, "old").unwrap();
        let missing = format!("{d}/no/such/dir/x");
        let entries = [Entry { path: &a, data: b"new", mode: None }, Entry { path: &missing, data: b"x", mode: None }];
        let e = atomic_write_many(&OsFs, &entries, &WriteOptions::default()).unwrap_err();
        assert_eq!(e.code, "ENOENT");
        assert_eq!(e.path.as_deref(), Some(missing.as_str()));
        assert_eq!(std::fs::read(&a).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 1, "no temp file left");
        std::fs::remove_dir_all(&d).unwrap();
    }
}
