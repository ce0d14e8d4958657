//! The atomic write protocol.
//!
//! ```text
//! lstat(target)                        resolve symlinks (the link is kept, its target replaced)
//! open(tmp, O_WRONLY|O_CREAT|O_EXCL|O_CLOEXEC|O_NOFOLLOW, mode & 0o777)   tmp in the same dir
//! write(tmp, ...)                      every byte
//! fchown(tmp)                          explicit owner, or the old file's when running as root
//! fchmod(tmp, mode)                    before the fsync: the fsync covers the mode too
//! fsync(tmp)                           data and mode durable before the name points at them
//! close(tmp)
//! rename(tmp, target)                  the atomic switch
//! fsync(dir)                           the switch itself durable (skipped on Windows); shared by
//!                                      writes in flight together into one directory (crate::group)
//! ```
//!
//! Any failure before the rename closes and unlinks the temp file and returns the first error: the
//! target is untouched. A failure of the directory fsync (after the rename) is returned too: the
//! new content is then visible but not known to be durable.

use crate::error::{Error, Result};
use crate::fs::{path, Fs, Kind, Meta};

/// How to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteOptions {
    /// Final permission bits (`0..=0o7777`). `None`: keep the existing file's mode, or for a new
    /// file `0o666 & !umask` (applied by the kernel at create time).
    pub mode: Option<u32>,
    /// Final owner. `None`: keep the existing file's owner when running as root.
    pub chown: Option<(u32, u32)>,
    /// `false` skips both fsyncs (the write is atomic but not durable).
    pub fsync: bool,
    /// Create missing parent directories (and make their entries durable).
    pub mkdir: bool,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions { mode: None, chown: None, fsync: true, mkdir: false }
    }
}

/// The largest file name the protocol creates (`NAME_MAX` on every mainstream file system).
pub const NAME_MAX: usize = 255;
/// Suffix of every temp file, so leftovers of a crash are recognisable (see [`sweep_temp_files`]).
pub const TEMP_SUFFIX: &str = ".dfstmp";
/// How many symlinks are followed before `ELOOP` (Linux's limit).
const MAX_SYMLINKS: usize = 40;
/// How many random temp names are tried before giving up with `EEXIST`.
const TEMP_ATTEMPTS: usize = 32;

/// Writes `data` to `target` atomically and (with `opts.fsync`) durably.
pub fn atomic_write<F: Fs>(fs: &F, target: &str, data: &[u8], opts: &WriteOptions) -> Result<()> {
    let prepared = prepare(fs, target, opts)?;
    let tmp = write_temp(fs, &prepared, data, opts)?;
    commit(fs, &prepared, &tmp, opts)
}

/// A resolved target: where the bytes go and with what mode and owner.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// What the caller named (used in errors).
    pub requested: String,
    /// The file actually replaced (the end of any symlink chain).
    pub target: String,
    pub dir: String,
    pub name: String,
    pub existing: Option<Meta>,
    pub mode: Option<u32>,
    pub owner: Option<(u32, u32)>,
}

/// Step 1: validate, follow symlinks, read the existing mode and owner, create parents if asked.
pub fn prepare<F: Fs>(fs: &F, requested: &str, opts: &WriteOptions) -> Result<Prepared> {
    validate_path(requested, "open")?;
    if let Some(m) = opts.mode {
        if m > 0o7777 {
            return Err(Error::custom("EINVAL", "open", requested.to_string(), format!("mode {m:#o} is outside 0..0o7777")));
        }
    }
    let win = fs.windows();
    let (target, existing) = resolve(fs, requested)?;
    let (dir, name) = path::split(&target, win);
    if name.is_empty() || name == "." || name == ".." {
        return Err(Error::os("EISDIR", crate::error::errno_of("EISDIR"), "open", requested.to_string()));
    }
    if name.len() > NAME_MAX {
        return Err(Error::os("ENAMETOOLONG", crate::error::errno_of("ENAMETOOLONG"), "open", requested.to_string()));
    }
    if existing.is_none() && opts.mkdir {
        mkdir_all(fs, dir, opts.fsync)?;
    }
    let mode = opts.mode.or(existing.map(|m| m.mode));
    let owner = opts.chown.or_else(|| match (existing, fs.euid()) {
        (Some(m), Some(0)) if m.uid != 0 || m.gid != 0 => Some((m.uid, m.gid)),
        _ => None,
    });
    Ok(Prepared {
        requested: requested.to_string(),
        target: target.clone(),
        dir: dir.to_string(),
        name: name.to_string(),
        existing,
        mode,
        owner,
    })
}

/// Steps 2 to 5: create the temp file, write, set owner and mode, fsync, close. On failure the
/// temp file is removed and the first error returned.
pub fn write_temp<F: Fs>(fs: &F, p: &Prepared, data: &[u8], opts: &WriteOptions) -> Result<String> {
    let (tmp, file) = stage_temp(fs, p, data)?;
    sync_temp(fs, p, &tmp, file, opts)?;
    Ok(tmp)
}

/// Steps 2 to 4 (the first half of [`write_temp`]): create the temp file, write every byte, set
/// owner and mode. Returns the temp path and the still open file; on failure the temp file is
/// closed and removed. Batches stage every file before syncing any (see [`crate::batch`]).
pub fn stage_temp<F: Fs>(fs: &F, p: &Prepared, data: &[u8]) -> Result<(String, F::File)> {
    let win = fs.windows();
    let create_mode = p.mode.map(|m| m & 0o777).unwrap_or(0o666);
    let mut attempt = 0;
    let (tmp, file) = loop {
        let tmp = path::join(&p.dir, &temp_name(&p.name, fs.random()), win);
        match fs.create_excl(&tmp, create_mode) {
            Ok(f) => break (tmp, f),
            Err(e) if e.is("EEXIST") && attempt + 1 < TEMP_ATTEMPTS => attempt += 1,
            Err(e) => return Err(at(e, &p.requested)),
        }
    };
    let steps = (|| {
        if !data.is_empty() {
            fs.write_all(&file, data)?;
        }
        if let Some((uid, gid)) = p.owner {
            fs.fchown(&file, uid, gid)?;
        }
        if let Some(mode) = p.mode {
            if !win {
                fs.fchmod(&file, mode)?;
            }
        }
        Ok(())
    })();
    if let Err(e) = steps {
        let _ = fs.close(file);
        let _ = fs.unlink(&tmp);
        return Err(at(e, &p.requested));
    }
    Ok((tmp, file))
}

/// Step 5 (the second half of [`write_temp`]): fsync (with `opts.fsync`) and close a staged temp
/// file. On failure the temp file is removed and the first error returned.
pub fn sync_temp<F: Fs>(fs: &F, p: &Prepared, tmp: &str, file: F::File, opts: &WriteOptions) -> Result<()> {
    let synced = if opts.fsync { fs.fsync(&file) } else { Ok(()) };
    let closed = fs.close(file);
    if let Err(e) = synced.and(closed) {
        let _ = fs.unlink(tmp);
        return Err(at(e, &p.requested));
    }
    Ok(())
}

/// Steps 6 and 7: rename over the target, then make the rename durable.
pub fn commit<F: Fs>(fs: &F, p: &Prepared, tmp: &str, opts: &WriteOptions) -> Result<()> {
    if let Err(e) = fs.rename(tmp, &p.target) {
        let _ = fs.unlink(tmp);
        return Err(Error { path: Some(p.requested.clone()), dest: None, ..e });
    }
    if opts.fsync {
        sync_dir_shared(fs, &p.dir).map_err(|e| at(e, &p.requested))?;
    }
    Ok(())
}

/// [`sync_dir`] through the file system's group-commit coordinator when it has one
/// ([`Fs::dir_sync_group`]): returns once a directory fsync that started after this call has
/// completed, so writes in flight together into one directory share fsyncs. Alone, it runs one
/// [`sync_dir`], exactly as without the group.
pub fn sync_dir_shared<F: Fs>(fs: &F, dir: &str) -> Result<()> {
    if fs.windows() {
        return Ok(());
    }
    match fs.dir_sync_group() {
        Some(group) => group.sync(dir, || sync_dir(fs, dir)),
        None => sync_dir(fs, dir),
    }
}

/// Fsyncs a directory, tolerating file systems that cannot (`EINVAL`, `ENOTSUP`), and doing
/// nothing on Windows.
pub fn sync_dir<F: Fs>(fs: &F, dir: &str) -> Result<()> {
    if fs.windows() {
        return Ok(());
    }
    match fs.fsync_dir(dir) {
        Err(e) if e.is("EINVAL") || e.is("ENOTSUP") => Ok(()),
        r => r,
    }
}

/// Rejects paths no file system accepts: empty, or with a NUL byte.
pub fn validate_path(p: &str, syscall: &'static str) -> Result<()> {
    if p.is_empty() {
        return Err(Error::custom("EINVAL", syscall, p.to_string(), "empty path".to_string()));
    }
    if p.contains('\0') {
        return Err(Error::custom("EINVAL", syscall, p.replace('\0', "\\0"), "path contains a NUL byte".to_string()));
    }
    Ok(())
}

/// Follows symlinks from `p` to the file that will be replaced. Returns that path and its
/// metadata, or `None` when it does not exist yet (a dangling link is written through, like
/// `fs.writeFile` does).
pub fn resolve<F: Fs>(fs: &F, p: &str) -> Result<(String, Option<Meta>)> {
    let win = fs.windows();
    let mut cur = p.to_string();
    for _ in 0..MAX_SYMLINKS {
        match fs.lstat(&cur) {
            Ok(m) if m.kind == Kind::Symlink => {
                let dest = fs.readlink(&cur).map_err(|e| at(e, p))?;
                cur = if path::is_absolute(&dest, win) { dest } else { path::join(path::split(&cur, win).0, &dest, win) };
            }
            Ok(m) if m.kind == Kind::Dir => {
                return Err(Error::os("EISDIR", crate::error::errno_of("EISDIR"), "open", p.to_string()));
            }
            Ok(m) => return Ok((cur, Some(m))),
            Err(e) if e.is("ENOENT") => return Ok((cur, None)),
            Err(e) => return Err(at(e, p)),
        }
    }
    Err(Error::os("ELOOP", crate::error::errno_of("ELOOP"), "open", p.to_string()))
}

/// Creates `dir` and its missing parents; with `durable`, fsyncs the parent of each directory
/// created so the new entries survive a power cut.
pub fn mkdir_all<F: Fs>(fs: &F, dir: &str, durable: bool) -> Result<()> {
    let win = fs.windows();
    match fs.lstat(dir) {
        Ok(m) if m.kind == Kind::Dir => return Ok(()),
        Ok(m) if m.kind == Kind::Symlink => {
            // A symlink to a directory is fine; anything else makes mkdir fail below.
            if fs.read_dir(dir).is_ok() {
                return Ok(());
            }
        }
        Ok(_) => return Err(Error::os("ENOTDIR", crate::error::errno_of("ENOTDIR"), "mkdir", dir.to_string())),
        Err(e) if e.is("ENOENT") => {}
        Err(e) => return Err(e),
    }
    let (parent, _) = path::split(dir, win);
    if parent != dir {
        mkdir_all(fs, parent, durable)?;
    }
    match fs.mkdir(dir, 0o777) {
        Ok(()) => {
            if durable {
                sync_dir(fs, parent)?;
            }
            Ok(())
        }
        Err(e) if e.is("EEXIST") => Ok(()),
        Err(e) => Err(e),
    }
}

/// The temp name for `name`: `.{name}.{16 hex}.dfstmp`, the visible part shortened (at a
/// character boundary) so the whole fits `NAME_MAX` even for a 255-byte target name.
pub fn temp_name(name: &str, random: u64) -> String {
    let overhead = 1 + 1 + 16 + TEMP_SUFFIX.len();
    let mut keep = name.len().min(NAME_MAX - overhead);
    while !name.is_char_boundary(keep) {
        keep -= 1;
    }
    format!(".{}.{random:016x}{TEMP_SUFFIX}", &name[..keep])
}

/// Whether `name` is one of our temp names.
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(TEMP_SUFFIX) && name.len() >= 1 + 1 + 16 + TEMP_SUFFIX.len() && {
        let stem = &name[..name.len() - TEMP_SUFFIX.len()];
        let (rest, hex) = stem.split_at(stem.len() - 16);
        rest.ends_with('.') && hex.bytes().all(|b| b.is_ascii_hexdigit())
    }
}

/// Removes temp files a crash left in `dir` that are older than `older_than_ms` (by mtime; a
/// temp file of a write still in flight elsewhere is young). Returns how many were removed.
pub fn sweep_temp_files<F: Fs>(fs: &F, dir: &str, older_than_ms: u64) -> Result<usize> {
    let win = fs.windows();
    let now = fs.wall_ms();
    let mut removed = 0;
    for name in fs.read_dir(dir)? {
        if !is_temp_name(&name) {
            continue;
        }
        let p = path::join(dir, &name, win);
        match fs.lstat(&p) {
            Ok(m) if m.kind == Kind::File && now.saturating_sub(m.mtime_ms) >= older_than_ms => match fs.unlink(&p) {
                Ok(()) => removed += 1,
                Err(e) if e.is("ENOENT") => {}
                Err(e) => return Err(e),
            },
            _ => {}
        }
    }
    if removed > 0 {
        sync_dir(fs, dir)?;
    }
    Ok(removed)
}

/// Reports an error against the caller's path rather than the temp file's.
fn at(e: Error, requested: &str) -> Error {
    Error { path: Some(requested.to_string()), dest: None, ..e }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_name_fits_name_max() {
        let long = "x".repeat(255);
        let t = temp_name(&long, u64::MAX);
        assert_eq!(t.len(), 255);
        assert!(is_temp_name(&t));
        let multi = "é".repeat(127); // 254 bytes, cut at a char boundary
        let t = temp_name(&multi, 7);
        assert!(t.len() <= 255);
        assert!(is_temp_name(&t));
        assert!(is_temp_name(&temp_name("a", 1)));
        assert!(!is_temp_name(".a.dfstmp"));
        assert!(!is_temp_name("a.0000000000000001.dfstmp"));
    }
}
