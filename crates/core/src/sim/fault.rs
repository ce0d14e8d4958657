//! [`Interpose`]: a wrapper around any [`Fs`] that numbers the system calls a protocol makes and,
//! by rule, makes one fail, silently drops it, or delays it. It serves two purposes:
//! - fault injection: every call of a protocol, made to fail in turn with each plausible errno;
//! - broken variants of a protocol, built without copying it: drop the file fsync, drop the
//!   directory fsync, or apply `fchmod` only after the following `fsync`.

use std::cell::{Cell, RefCell};

use crate::error::{errno_of, Error, Result};
use crate::fs::{Fs, Liveness, Meta};

/// What to do with one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Run it.
    Pass,
    /// Do not run it; return this error code instead.
    Fail(&'static str),
    /// Do not run it; pretend it succeeded.
    Drop,
    /// Pretend it succeeded now and run it later: an `fchmod` right after the next `fsync` of a
    /// file; a `write` right after the next `link` or `link_file` (the same inode).
    Defer,
}

/// A rule: given the call's number (from 0), its system-call name and path, what to do.
pub type Rule<'a> = Box<dyn Fn(usize, &'static str, &str) -> Action + 'a>;

/// The wrapper. `calls()` lists every call seen, numbered as the rule saw them.
pub struct Interpose<'a, F: Fs> {
    inner: &'a F,
    rule: Rule<'a>,
    count: Cell<usize>,
    calls: RefCell<Vec<(&'static str, String, Action)>>,
    deferred: RefCell<Option<u32>>,
    deferred_write: RefCell<Option<Vec<u8>>>,
}

impl<'a, F: Fs> Interpose<'a, F> {
    pub fn new(inner: &'a F, rule: impl Fn(usize, &'static str, &str) -> Action + 'a) -> Self {
        Interpose {
            inner,
            rule: Box::new(rule),
            count: Cell::new(0),
            calls: RefCell::new(Vec::new()),
            deferred: RefCell::new(None),
            deferred_write: RefCell::new(None),
        }
    }

    /// Passes everything (counts the calls of a run).
    pub fn counting(inner: &'a F) -> Self {
        Self::new(inner, |_, _, _| Action::Pass)
    }

    /// Fails call number `n` with `code`.
    pub fn fail_at(inner: &'a F, n: usize, code: &'static str) -> Self {
        Self::new(inner, move |i, _, _| if i == n { Action::Fail(code) } else { Action::Pass })
    }

    /// Every call seen: (system call, path, what was done).
    pub fn calls(&self) -> Vec<(&'static str, String, Action)> {
        self.calls.borrow().clone()
    }

    fn step(&self, syscall: &'static str, p: &str) -> Action {
        let i = self.count.get();
        self.count.set(i + 1);
        let a = (self.rule)(i, syscall, p);
        self.calls.borrow_mut().push((syscall, p.to_string(), a));
        a
    }

    fn gate(&self, syscall: &'static str, p: &str) -> Result<bool> {
        match self.step(syscall, p) {
            Action::Pass => Ok(true),
            Action::Drop | Action::Defer => Ok(false),
            Action::Fail(code) => Err(Error::os(code, errno_of(code), syscall, if p.is_empty() { None } else { Some(p.to_string()) })),
        }
    }
}

impl<F: Fs> Fs for Interpose<'_, F> {
    type File = F::File;

    fn create_excl(&self, p: &str, mode: u32) -> Result<F::File> {
        self.gate("open", p)?;
        self.inner.create_excl(p, mode)
    }
    fn open_read(&self, p: &str) -> Result<F::File> {
        self.gate("open", p)?;
        self.inner.open_read(p)
    }
    fn open_append(&self, p: &str, mode: u32, create: bool) -> Result<F::File> {
        self.gate("open", p)?;
        self.inner.open_append(p, mode, create)
    }
    fn write_all(&self, f: &F::File, data: &[u8]) -> Result<()> {
        match self.step("write", "") {
            Action::Pass => self.inner.write_all(f, data),
            Action::Fail(code) => Err(Error::os(code, errno_of(code), "write", None)),
            Action::Drop => Ok(()),
            Action::Defer => {
                *self.deferred_write.borrow_mut() = Some(data.to_vec());
                Ok(())
            }
        }
    }
    fn read_all(&self, f: &F::File) -> Result<Vec<u8>> {
        self.gate("read", "")?;
        self.inner.read_all(f)
    }
    fn fchmod(&self, f: &F::File, mode: u32) -> Result<()> {
        match self.step("fchmod", "") {
            Action::Pass => self.inner.fchmod(f, mode),
            Action::Fail(code) => Err(Error::os(code, errno_of(code), "fchmod", None)),
            Action::Drop => Ok(()),
            Action::Defer => {
                *self.deferred.borrow_mut() = Some(mode);
                Ok(())
            }
        }
    }
    fn fchown(&self, f: &F::File, uid: u32, gid: u32) -> Result<()> {
        if self.gate("fchown", "")? {
            self.inner.fchown(f, uid, gid)?;
        }
        Ok(())
    }
    fn fsync(&self, f: &F::File) -> Result<()> {
        if self.gate("fsync", "")? {
            self.inner.fsync(f)?;
        }
        if let Some(mode) = self.deferred.borrow_mut().take() {
            self.inner.fchmod(f, mode)?;
        }
        Ok(())
    }
    fn start_writeback(&self, f: &F::File) {
        // A hint with no result: forwarded, not numbered.
        self.inner.start_writeback(f)
    }
    fn fdatasync(&self, f: &F::File) -> Result<()> {
        if self.gate("fdatasync", "")? {
            self.inner.fdatasync(f)?;
        }
        Ok(())
    }
    fn fstat(&self, f: &F::File) -> Result<Meta> {
        self.gate("fstat", "")?;
        self.inner.fstat(f)
    }
    fn ftruncate(&self, f: &F::File, len: u64) -> Result<()> {
        if self.gate("ftruncate", "")? {
            self.inner.ftruncate(f, len)?;
        }
        Ok(())
    }
    fn try_lock(&self, f: &F::File) -> Result<bool> {
        self.gate("flock", "")?;
        self.inner.try_lock(f)
    }
    fn close(&self, f: F::File) -> Result<()> {
        // The descriptor is released whatever close reports.
        let a = self.step("close", "");
        let r = self.inner.close(f);
        match a {
            Action::Fail(code) => Err(Error::os(code, errno_of(code), "close", None)),
            _ => r,
        }
    }
    fn lstat(&self, p: &str) -> Result<Meta> {
        self.gate("lstat", p)?;
        self.inner.lstat(p)
    }
    fn readlink(&self, p: &str) -> Result<String> {
        self.gate("readlink", p)?;
        self.inner.readlink(p)
    }
    fn rename(&self, from: &str, to: &str) -> Result<()> {
        if self.gate("rename", from).map_err(|e| e.with_dest(to))? {
            self.inner.rename(from, to)?;
        }
        Ok(())
    }
    fn link(&self, from: &str, to: &str) -> Result<()> {
        if self.gate("link", from).map_err(|e| e.with_dest(to))? {
            self.inner.link(from, to)?;
            let deferred = self.deferred_write.borrow_mut().take();
            // The deferred write is a call of its own (a crash can come between the two).
            if let Some(data) = deferred.filter(|_| matches!(self.step("write", to), Action::Pass)) {
                let f = self.inner.open_append(to, 0o644, false)?;
                let w = self.inner.write_all(&f, &data);
                self.inner.close(f)?;
                w?;
            }
        }
        Ok(())
    }
    fn create_anon(&self, dir: &str, mode: u32) -> Result<Option<F::File>> {
        self.gate("open", dir)?;
        self.inner.create_anon(dir, mode)
    }
    fn link_file(&self, f: &F::File, to: &str) -> Result<()> {
        if self.gate("link", to)? {
            self.inner.link_file(f, to)?;
            let deferred = self.deferred_write.borrow_mut().take();
            if let Some(data) = deferred.filter(|_| matches!(self.step("write", to), Action::Pass)) {
                self.inner.write_all(f, &data)?;
            }
        }
        Ok(())
    }
    fn unlink(&self, p: &str) -> Result<()> {
        if self.gate("unlink", p)? {
            self.inner.unlink(p)?;
        }
        Ok(())
    }
    fn mkdir(&self, p: &str, mode: u32) -> Result<()> {
        if self.gate("mkdir", p)? {
            self.inner.mkdir(p, mode)?;
        }
        Ok(())
    }
    fn fsync_dir(&self, p: &str) -> Result<()> {
        if self.gate("fsync", p)? {
            self.inner.fsync_dir(p)?;
        }
        Ok(())
    }
    fn read_dir(&self, p: &str) -> Result<Vec<String>> {
        self.gate("scandir", p)?;
        self.inner.read_dir(p)
    }

    fn random(&self) -> u64 {
        self.inner.random()
    }
    fn pid(&self) -> u32 {
        self.inner.pid()
    }
    fn euid(&self) -> Option<u32> {
        self.inner.euid()
    }
    fn hostname(&self) -> String {
        self.inner.hostname()
    }
    fn boot_id(&self) -> Option<String> {
        self.inner.boot_id()
    }
    fn process_start(&self, pid: u32) -> Option<u64> {
        self.inner.process_start(pid)
    }
    fn process_alive(&self, pid: u32) -> Liveness {
        self.inner.process_alive(pid)
    }
    fn monotonic_ms(&self) -> u64 {
        self.inner.monotonic_ms()
    }
    fn wall_ms(&self) -> u64 {
        self.inner.wall_ms()
    }
    fn sleep_ms(&self, ms: u64) {
        self.inner.sleep_ms(ms)
    }
    fn kernel_locks(&self) -> bool {
        self.inner.kernel_locks()
    }
    fn windows(&self) -> bool {
        self.inner.windows()
    }
    fn dir_sync_group(&self) -> Option<&crate::group::DirSyncGroups> {
        self.inner.dir_sync_group()
    }
}
