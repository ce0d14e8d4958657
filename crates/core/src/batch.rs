//! Many atomic writes in one call, with one directory fsync per directory.
//!
//! ```text
//! prepare every entry                  (validation, symlinks, existing mode and owner)
//! for each entry: open temp O_EXCL, write, fchown, fchmod, start writeback (Linux: sync_file_range)
//! for each entry: fsync, close         (the data of all went to the device together)
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
//!
//! [`atomic_write_each`] runs independent writes the same way, each with its own result.

use crate::error::{Error, Result};
use crate::fs::Fs;
use crate::write::{prepare, stage_temp, sync_dir_shared, sync_temp, Prepared, WriteOptions};

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
    let mut staged: Vec<(String, F::File)> = Vec::with_capacity(n);
    let mut failure = None;
    for ((p, o), e) in prepared.iter().zip(entries) {
        match stage_temp(fs, p, e.data) {
            Ok((t, f)) => {
                if o.fsync {
                    fs.start_writeback(&f);
                }
                staged.push((t, f));
            }
            Err(err) => {
                failure = Some(err);
                break;
            }
        }
    }
    let mut temps: Vec<String> = Vec::with_capacity(n);
    for ((p, o), (t, f)) in prepared.iter().zip(staged) {
        if failure.is_some() {
            let _ = fs.close(f);
            let _ = fs.unlink(&t);
            continue;
        }
        match sync_temp(fs, p, &t, f, o) {
            Ok(()) => temps.push(t),
            Err(err) => failure = Some(err),
        }
    }
    if let Some(err) = failure {
        for t in &temps {
            let _ = fs.unlink(t);
        }
        return Err(err);
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

/// Independent writes run together, each with its own options and its own result (the native
/// binding's auto-batching of writes that queue up behind busy pool threads): the temp files are
/// written and fsynced one after another, then renamed, then each directory is fsynced once for
/// all of them. A write that fails leaves its own target untouched and does not affect the
/// others; a failed directory fsync fails every write renamed into that directory (replaced but
/// not known to be durable, as for a single write). Each `Ok` means what [`crate::atomic_write`]'s
/// `Ok` means.
pub fn atomic_write_each<F: Fs>(fs: &F, writes: &[(&str, &[u8], WriteOptions)]) -> Vec<Result<()>> {
    let mut results: Vec<Result<()>> = Vec::with_capacity(writes.len());
    let mut renamed: Vec<(usize, Prepared)> = Vec::with_capacity(writes.len());
    let mut staged: Vec<(usize, Prepared, String)> = Vec::with_capacity(writes.len());
    let mut open: Vec<(usize, Prepared, String, F::File)> = Vec::with_capacity(writes.len());
    for (i, (path, data, opts)) in writes.iter().enumerate() {
        match prepare(fs, path, opts).and_then(|p| stage_temp(fs, &p, data).map(|(t, f)| (p, t, f))) {
            Ok((p, t, f)) => {
                if opts.fsync {
                    fs.start_writeback(&f);
                }
                open.push((i, p, t, f));
                results.push(Ok(()));
            }
            Err(e) => results.push(Err(e)),
        }
    }
    for (i, p, t, f) in open {
        match sync_temp(fs, &p, &t, f, &writes[i].2) {
            Ok(()) => staged.push((i, p, t)),
            Err(e) => results[i] = Err(e),
        }
    }
    for (i, p, tmp) in staged {
        match fs.rename(&tmp, &p.target) {
            Ok(()) => renamed.push((i, p)),
            Err(e) => {
                let _ = fs.unlink(&tmp);
                results[i] = Err(Error { path: Some(p.requested.clone()), dest: None, ..e });
            }
        }
    }
    let mut dirs: Vec<(&str, Result<()>)> = Vec::new();
    for (i, p) in &renamed {
        if !writes[*i].2.fsync {
            continue;
        }
        let r = match dirs.iter().find(|(d, _)| *d == p.dir) {
            Some((_, r)) => r.clone(),
            None => {
                let r = sync_dir_shared(fs, &p.dir);
                dirs.push((&p.dir, r.clone()));
                r
            }
        };
        if let Err(e) = r {
            results[*i] = Err(Error { path: Some(p.requested.clone()), dest: None, ..e });
        }
    }
    results
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
    fn independent_writes_fail_alone() {
        let d = tmpdir("each");
        let (a, b) = (format!("{d}/a"), format!("{d}/b"));
        let missing = format!("{d}/no/x");
        std::fs::write(&b, "old").unwrap();
        let o = WriteOptions::default();
        let writes = [
            (a.as_str(), &b"A"[..], WriteOptions { mode: Some(0o600), ..o.clone() }),
            (missing.as_str(), &b"x"[..], o.clone()),
            (b.as_str(), &b"B"[..], o.clone()),
        ];
        let r = atomic_write_each(&OsFs, &writes);
        assert!(r[0].is_ok() && r[2].is_ok());
        assert_eq!(r[1].as_ref().unwrap_err().code, "ENOENT");
        assert_eq!(std::fs::read(&a).unwrap(), b"A");
        assert_eq!(std::fs::metadata(&a).unwrap().permissions().mode() & 0o7777, 0o600);
        assert_eq!(std::fs::read(&b).unwrap(), b"B");
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 2, "no temp file left");
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
