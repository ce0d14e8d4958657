//! A private directory that survives a crash: `ensure_dir(path, 0o700)`.
//!
//! ```text
//! lstat(path)                 exists? follow symlinks to the real directory
//! mkdir(each missing, mode)   created from the top down, each with `mode`
//! fsync(parent)               after each mkdir: the new entry is durable
//! open(path, O_RDONLY)        the directory itself
//! fstat + fchmod(mode)        the exact mode, whatever the umask or the old mode
//! fsync(dir)                  the mode change durable
//! ```
//!
//! The common hand-written helper (`mkdirSync(p, { recursive: true, mode: 0o700 })` then
//! `chmodSync(p, 0o700)`) does the same minus the fsyncs, so after a power cut the directory (and
//! anything written inside it) can vanish even though the calls returned.

use crate::error::{errno_of, Error, Result};
use crate::fs::{path, Fs, Kind};
use crate::write::sync_dir;

/// How many symlinks are followed before `ELOOP`.
const MAX_SYMLINKS: usize = 40;

/// Makes `dir` (and its missing parents) exist as directories with exactly `mode` on `dir`
/// itself; parents created on the way get `mode` too (narrowed by the umask), existing parents
/// are left alone. With `durable`, every new entry and the final mode are fsynced.
pub fn ensure_dir<F: Fs>(fs: &F, dir: &str, mode: u32, durable: bool) -> Result<()> {
    crate::write::validate_path(dir, "mkdir")?;
    if mode > 0o7777 {
        return Err(Error::custom("EINVAL", "mkdir", dir.to_string(), format!("mode {mode:#o} is outside 0..0o7777")));
    }
    let real = create_all(fs, dir, mode, durable, 0)?;
    if fs.windows() {
        return Ok(());
    }
    let f = fs.open_read(&real).map_err(|e| at(e, dir))?;
    let steps = (|| {
        let m = fs.fstat(&f)?;
        if m.kind != Kind::Dir {
            return Err(Error::os("ENOTDIR", errno_of("ENOTDIR"), "mkdir", dir.to_string()));
        }
        if m.mode != mode {
            fs.fchmod(&f, mode)?;
            if durable {
                fs.fsync(&f)?;
            }
        }
        Ok(())
    })();
    let closed = fs.close(f);
    steps.and(closed).map_err(|e| at(e, dir))
}

/// Creates `dir` and missing parents; returns the real path of `dir` (symlinks followed).
fn create_all<F: Fs>(fs: &F, dir: &str, mode: u32, durable: bool, depth: usize) -> Result<String> {
    let win = fs.windows();
    if depth > MAX_SYMLINKS {
        return Err(Error::os("ELOOP", errno_of("ELOOP"), "mkdir", dir.to_string()));
    }
    match fs.lstat(dir) {
        Ok(m) if m.kind == Kind::Dir => return Ok(dir.to_string()),
        Ok(m) if m.kind == Kind::Symlink => {
            let dest = fs.readlink(dir)?;
            let next = if path::is_absolute(&dest, win) { dest } else { path::join(path::split(dir, win).0, &dest, win) };
            return create_all(fs, &next, mode, durable, depth + 1);
        }
        Ok(_) => return Err(Error::os("ENOTDIR", errno_of("ENOTDIR"), "mkdir", dir.to_string())),
        Err(e) if e.is("ENOENT") => {}
        Err(e) => return Err(e),
    }
    let trimmed = dir.trim_end_matches(|c| c == '/' || (win && c == '\\'));
    let trimmed = if trimmed.is_empty() { dir } else { trimmed };
    let (parent, _) = path::split(trimmed, win);
    if parent != trimmed {
        create_all(fs, parent, mode, durable, depth)?;
    }
    match fs.mkdir(trimmed, mode & 0o777) {
        Ok(()) => {
            if durable {
                sync_dir(fs, parent)?;
            }
            Ok(trimmed.to_string())
        }
        Err(e) if e.is("EEXIST") => match fs.lstat(trimmed) {
            Ok(m) if m.kind == Kind::Dir => Ok(trimmed.to_string()),
            _ => Err(e),
        },
        Err(e) => Err(e),
    }
}

fn at(e: Error, p: &str) -> Error {
    Error { path: Some(p.to_string()), dest: None, ..e }
}

#[cfg(all(test, feature = "std-fs", unix))]
mod tests {
    use super::*;
    use crate::sys::OsFs;
    use std::os::unix::fs::PermissionsExt;

    fn tmp(name: &str) -> String {
        let d = std::env::temp_dir().join(format!("dfs-dir-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d.to_str().unwrap().to_string()
    }

    fn mode_of(p: &str) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn creates_recursively_and_chmods_existing() {
        let base = tmp("a");
        let deep = format!("{base}/x/y/z");
        ensure_dir(&OsFs, &deep, 0o700, true).unwrap();
        assert_eq!(mode_of(&deep), 0o700);
        std::fs::set_permissions(&deep, std::fs::Permissions::from_mode(0o755)).unwrap();
        ensure_dir(&OsFs, &deep, 0o700, true).unwrap();
        assert_eq!(mode_of(&deep), 0o700, "an existing directory is narrowed");
        ensure_dir(&OsFs, &format!("{deep}/"), 0o700, true).unwrap();
        std::fs::write(format!("{base}/file"), b"x").unwrap();
        assert_eq!(ensure_dir(&OsFs, &format!("{base}/file"), 0o700, true).unwrap_err().code, "ENOTDIR");
        std::os::unix::fs::symlink(&deep, format!("{base}/link")).unwrap();
        std::fs::set_permissions(&deep, std::fs::Permissions::from_mode(0o750)).unwrap();
        ensure_dir(&OsFs, &format!("{base}/link"), 0o700, true).unwrap();
        assert_eq!(mode_of(&deep), 0o700, "a symlink is followed to the real directory");
        std::fs::remove_dir_all(&base).unwrap();
    }
}
