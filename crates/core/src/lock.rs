//! The lock protocol: an exclusive lock file beside the resource, whose holder is known, whose
//! death is detected at once, and which two reapers can never both take.
//!
//! ## Acquire ([`try_acquire`], never blocks)
//! ```text
//! open(<lock>.<hex>.stage, O_WRONLY|O_CREAT|O_EXCL|O_CLOEXEC|O_NOFOLLOW, 0644)   private name
//! flock(stage, LOCK_EX|LOCK_NB)        the kernel lock: our liveness signal (skipped without kernel locks)
//! write(stage, record)                 {"nonce","pid","start","boot","host","kernelLock","acquiredAt","version"}
//! fstat(stage fd)                      dev+ino: our identity, checked at release
//! link(stage, lock)                    publish: fails with EEXIST if the lock exists (like O_EXCL)
//! unlink(stage)
//! ```
//! On Linux the staging file is unnamed (`open(dir, O_TMPFILE)`, published with
//! `linkat("/proc/self/fd/N", lock)`): one directory operation less each way, and nothing a killed
//! acquirer could leave behind. File systems without `O_TMPFILE` use the named staging file.
//! The lock path therefore never names an empty, half-written or unlocked file: `link` publishes
//! an inode that is already written and already kernel-locked. (The record is not fsynced: it only
//! matters while its writer lives, and a crash of the writer alone does not lose page-cache data.
//! After a power cut every holder is dead anyway; a record lost by it reads as unparseable, and
//! a file last written before the boot is reaped at once (rules below).)
//!
//! ## Contention (`link` said EEXIST)
//! ```text
//! open(lock, O_RDONLY|O_NOFOLLOW)      ENOENT: it went away, retry at once
//! flock(lock, LOCK_EX|LOCK_NB)         EWOULDBLOCK: the holder lives -> Busy
//! fstat(fd) == lstat(lock)?            else the name moved on to another inode: retry at once
//! read(fd) -> record -> judge          dead -> reap (below) and retry at once; alive -> Busy
//! ```
//! Judging a record (we hold the kernel lock on its inode, or the platform has none):
//! - another host (host name and boot id both differ): stale only once we have seen the same
//!   record for `stale_ms` on our own monotonic clock; wall clocks of two hosts are never compared;
//! - same host name, different boot id: written before the last reboot, dead;
//! - the holder held a kernel lock and we now hold it on the same kernel: dead (a kernel lock dies
//!   only with the last descriptor, that is with the holder or its release);
//! - our own pid and start time, without a kernel lock: never reaped (another thread of ours
//!   holds it);
//! - otherwise (a holder without kernel locks: the WebAssembly backend; or a waiter that cannot
//!   probe them): dead if its pid is gone, or alive with another start time (pid reuse);
//! - an unparseable record: never published by this protocol (see above), so it is a foreign
//!   writer's or a power cut's leftover. Unlocked and last modified before this system booted
//!   (Linux: `btime` of `/proc/stat`): dead at once. Otherwise treated like a foreign host's:
//!   stale after `stale_ms` of seeing the same bytes on the same inode.
//!
//! ## Reaping (serialised under a guard file)
//! ```text
//! open(<lock>.reap, O_CREAT|O_EXCL)    the right to reap; EEXIST: another reaper is at work
//! flock(guard)  write(guard, record)   the guard is judged like a lock (dead reaper -> removed)
//! lstat(lock) == the inode we judged, record unchanged?   else someone reaped it already: retry
//! unlink(lock)                         still holding the kernel lock on the judged inode
//! unlink(guard)  close(guard)
//! ```
//! With kernel locks the guard is belt and braces: a reaper holds the kernel lock on the dead
//! inode, so no two native reapers act on it at once, and the identity check under that lock stops
//! the late reaper from deleting a newcomer's lock. Holders and waiters without kernel locks (the
//! WebAssembly backend) rely on the guard: it makes "check the lock still names the dead inode,
//! then unlink it" atomic with respect to every other reaper, and a lock that exists cannot be
//! replaced (publishing is `link`, which fails on an existing name), so the name cannot change
//! between the check and the unlink. The residual window without kernel locks: a reaper that dies
//! inside the guard's few system calls leaves a guard that is removed by the same
//! check-then-unlink, which two guard-reapers could race; it needs a crash inside that window and
//! two concurrent guard-reapers, and is stated as a limit in the README.
//!
//! ## Release ([`release`])
//! `lstat(lock)` must still name the inode we hold open (its inode number cannot be reused while
//! our descriptor keeps it alive); then `unlink(lock)` and `close`. Otherwise the lock was taken
//! from us (removed by hand, or by a reaper judging a holder without kernel locks): the call
//! returns `ECOMPROMISED` and removes nothing.
//!
//! ## Leftovers
//! A process killed between creating its staging file and unlinking it leaves `<lock>.<hex>.stage`.
//! [`sweep_staging`] removes those whose owner is gone (kernel lock free, or pid dead), and runs
//! after every reap. Removing a live acquirer's staging file by mistake is harmless: its `link`
//! then fails with `ENOENT` and it retries with a new one.

use crate::error::{json_str, Error, Result};
use crate::fs::{path, Fs, Kind, Liveness, Meta};

/// How long a holder on another host must look unchanged before it is judged stale.
pub const DEFAULT_STALE_MS: u64 = 30_000;
/// Suffix of staging files.
pub const STAGE_SUFFIX: &str = ".stage";
/// Suffix of the reaper's guard file.
pub const GUARD_SUFFIX: &str = ".reap";
/// How long an unparseable guard (a reaper between its `open` and its `write`) is respected.
const GUARD_GRACE_MS: u64 = 2_000;
/// Age after which an unparseable staging file (an acquirer killed before its write) is removed.
const STAGE_ORPHAN_MS: u64 = 10_000;
/// Publish/inspect rounds in one [`try_acquire`] before answering Busy (each round that does not
/// end in Busy made progress: the lock vanished or was reaped).
const ROUNDS: usize = 8;
const NAME_MAX: usize = crate::write::NAME_MAX;

/// Lock options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockOptions {
    /// How long a holder on another host (or an unreadable record) must look unchanged before it
    /// is reaped, on the waiter's monotonic clock.
    pub stale_ms: u64,
}

impl Default for LockOptions {
    fn default() -> Self {
        LockOptions { stale_ms: DEFAULT_STALE_MS }
    }
}

/// Who we are, read once: the fields of our records and what a judge compares against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Me {
    pub pid: u32,
    pub start: Option<u64>,
    pub boot: Option<String>,
    pub host: String,
    /// Whether this process takes kernel locks ([`Fs::kernel_locks`]).
    pub kernel_locks: bool,
}

impl Me {
    /// This process, as `fs` sees it.
    pub fn of<F: Fs>(fs: &F) -> Me {
        let pid = fs.pid();
        Me { pid, start: fs.process_start(pid), boot: fs.boot_id(), host: fs.hostname(), kernel_locks: fs.kernel_locks() }
    }

    fn record(&self, nonce: String, kernel_lock: bool, acquired_at: u64) -> Record {
        Record {
            nonce,
            pid: self.pid,
            start: self.start,
            boot: self.boot.clone(),
            host: self.host.clone(),
            kernel_lock,
            acquired_at,
            version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }
}

/// The holder record stored in the lock file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Random, unique per acquisition.
    pub nonce: String,
    pub pid: u32,
    /// Process start time (Linux: `/proc/<pid>/stat` field 22), to tell a reused pid.
    pub start: Option<u64>,
    /// Boot id of the holder's kernel.
    pub boot: Option<String>,
    pub host: String,
    /// Whether the holder keeps a kernel lock on the file (native: yes; WebAssembly: no).
    pub kernel_lock: bool,
    /// Wall-clock ms at acquisition (informational, never compared across hosts).
    pub acquired_at: u64,
    /// durable-fs version of the holder.
    pub version: String,
}

impl Record {
    /// The record as a one-line JSON object.
    pub fn to_json(&self) -> String {
        let opt_n = |v: Option<u64>| v.map(|n| n.to_string()).unwrap_or_else(|| "null".into());
        let opt_s = |v: &Option<String>| v.as_deref().map(json_str).unwrap_or_else(|| "null".into());
        format!(
            "{{\"nonce\":{},\"pid\":{},\"start\":{},\"boot\":{},\"host\":{},\"kernelLock\":{},\"acquiredAt\":{},\"version\":{}}}",
            json_str(&self.nonce),
            self.pid,
            opt_n(self.start),
            opt_s(&self.boot),
            json_str(&self.host),
            self.kernel_lock,
            self.acquired_at,
            json_str(&self.version)
        )
    }

    /// Parses a record; `None` for anything that is not one (empty, truncated, foreign).
    pub fn parse(bytes: &[u8]) -> Option<Record> {
        let text = std::str::from_utf8(bytes).ok()?;
        let fields = json::parse_flat(text)?;
        let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v);
        let num = |k: &str| match get(k) {
            Some(json::Val::Num(n)) => Some(*n),
            _ => None,
        };
        let st = |k: &str| match get(k) {
            Some(json::Val::Str(s)) => Some(s.clone()),
            _ => None,
        };
        let nonce = st("nonce").filter(|n| !n.is_empty())?;
        let pid = u32::try_from(num("pid")?).ok()?;
        let kernel_lock = match get("kernelLock") {
            Some(json::Val::Bool(b)) => *b,
            _ => return None,
        };
        Some(Record {
            nonce,
            pid,
            start: num("start"),
            boot: st("boot"),
            host: st("host")?,
            kernel_lock,
            acquired_at: num("acquiredAt").unwrap_or(0),
            version: st("version").unwrap_or_default(),
        })
    }
}

/// A held lock. Holding it means keeping `file` open: the kernel lock lives on its descriptor.
#[derive(Debug)]
pub struct Held<T> {
    pub path: String,
    pub record: Record,
    file: T,
    dev: u64,
    ino: u64,
    /// On a network file system ([`crate::netfs`]): the lock file is identified by its record's
    /// nonce, not by `dev`/`ino` (the client's numbers, which need not follow a `link`).
    net: bool,
}

#[cfg(test)]
impl Held<()> {
    pub(crate) fn for_tests(path: &str) -> Held<()> {
        let record = Record {
            nonce: "0000000000000001".into(),
            pid: 1,
            start: None,
            boot: None,
            host: "h".into(),
            kernel_lock: true,
            acquired_at: 0,
            version: String::new(),
        };
        Held { path: path.to_string(), record, file: (), dev: 0, ino: 0, net: false }
    }
}

/// Why a lock is not ours yet, with what we know of its holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Busy {
    /// The holder's record, when it could be read.
    pub holder: Option<Record>,
    /// The file's text when it held no valid record (truncated to 200 bytes).
    pub raw: Option<String>,
    /// `held` (its kernel lock is taken), `alive` (its pid runs), `own` (this process holds it),
    /// `foreign` (another host, not yet stale), `unreadable` (no valid record, not yet stale),
    /// `reaping` (another process is removing a dead lock), `contended` (it changed hands under us).
    pub state: &'static str,
}

impl Busy {
    fn of(holder: Option<Record>, bytes: &[u8], state: &'static str) -> Busy {
        let raw = if holder.is_none() { Some(String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned()) } else { None };
        Busy { holder, raw, state }
    }

    /// The holder as JSON (its record plus `"state"`), for `err.holder` on the JS side.
    pub fn detail_json(&self) -> String {
        match &self.holder {
            Some(r) => {
                let j = r.to_json();
                format!("{},\"state\":{}}}", &j[..j.len() - 1], json_str(self.state))
            }
            None => format!(
                "{{\"state\":{},\"raw\":{}}}",
                json_str(self.state),
                self.raw.as_deref().map(json_str).unwrap_or_else(|| "null".into())
            ),
        }
    }

    /// The `ELOCKED` error for `lock_path`, carrying [`Busy::detail_json`].
    pub fn to_error(&self, lock_path: &str) -> Error {
        Error::custom("ELOCKED", "lock", lock_path.to_string(), self.detail_json())
    }
}

/// The outcome of one [`try_acquire`].
#[derive(Debug)]
pub enum Attempt<T> {
    Acquired(Held<T>),
    Busy(Busy),
}

/// What [`check`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// No lock file.
    Free,
    /// Held by a live holder (or one not yet judged stale).
    Held(Busy),
    /// A lock file whose holder is dead or stale: the next acquire reaps it.
    Stale(Busy),
}

/// A waiter's memory across attempts: the stale clock for a record it keeps seeing unchanged
/// (another host's, or an unreadable one). Keep one per waiter (or per lock path) and pass it to
/// every attempt on that lock.
#[derive(Debug, Default, Clone)]
pub struct Seen {
    lock: Slot,
    guard: Slot,
    /// Whether the lock's directory is on a network file system, asked once per waiter.
    net: Option<bool>,
}

impl Seen {
    /// Whether nothing is being timed (no need to keep this value).
    pub fn is_empty(&self) -> bool {
        self.lock.key.is_empty() && self.guard.key.is_empty()
    }

    /// Whether `lock` is on a network file system (asked of `fs` once, then remembered).
    fn network<F: Fs>(&mut self, fs: &F, lock: &str) -> bool {
        *self.net.get_or_insert_with(|| fs.network_fs(path::split(lock, fs.windows()).0))
    }
}

#[derive(Debug, Default, Clone)]
struct Slot {
    key: String,
    since: u64,
}

impl Slot {
    /// Milliseconds since `key` was first seen in a row (0 when it just changed).
    fn elapsed(&mut self, key: &str, now: u64) -> u64 {
        if self.key != key {
            self.key = key.to_string();
            self.since = now;
        }
        now.saturating_sub(self.since)
    }
}

/// One attempt to take the lock at `lock`: never waits. Dead holders are reaped on the way (and
/// the attempt retried at once); a live one gives [`Attempt::Busy`] with its record.
pub fn try_acquire<F: Fs>(fs: &F, me: &Me, lock: &str, opts: &LockOptions, seen: &mut Seen) -> Result<Attempt<F::File>> {
    crate::write::validate_path(lock, "open")?;
    let mut last = Busy { holder: None, raw: None, state: "contended" };
    for _ in 0..ROUNDS {
        if let Some(held) = publish(fs, me, lock)? {
            return Ok(Attempt::Acquired(held));
        }
        match inspect(fs, me, lock, opts, seen, true)? {
            Inspect::Gone => continue,
            Inspect::Reaped => {
                let _ = sweep_staging(fs, me, lock);
                continue;
            }
            Inspect::Busy(b) | Inspect::Stale(b) => {
                if b.state == "reaping" {
                    last = b;
                    continue;
                }
                return Ok(Attempt::Busy(b));
            }
        }
    }
    Ok(Attempt::Busy(last))
}

/// Releases a held lock: checks the lock path still names our inode, unlinks it, closes. Returns
/// `ECOMPROMISED` (removing nothing) if the lock was taken from us.
pub fn release<F: Fs>(fs: &F, held: Held<F::File>) -> Result<()> {
    let verified = verify(fs, &held);
    let removed = verified.and_then(|()| match fs.unlink(&held.path) {
        Ok(()) => Ok(()),
        Err(e) if e.is("ENOENT") => Err(compromised(&held, "the lock file vanished during release")),
        Err(e) => Err(e),
    });
    let closed = fs.close(held.file);
    removed.and(closed)
}

/// Whether we still hold the lock: the lock path names the inode we keep open. `ECOMPROMISED`
/// otherwise.
pub fn verify<F: Fs>(fs: &F, held: &Held<F::File>) -> Result<()> {
    if held.net {
        return verify_by_record(fs, held);
    }
    match fs.lstat(&held.path) {
        Ok(m) if m.dev == held.dev && m.ino == held.ino => Ok(()),
        Ok(_) => Err(compromised(held, "the lock file now belongs to another holder")),
        Err(e) if e.is("ENOENT") => Err(compromised(held, "the lock file was removed")),
        Err(e) => Err(e),
    }
}

/// [`verify`] on a network file system: the lock path must still hold our record (same nonce,
/// pid and host). Inode numbers there are the client's and say nothing about identity.
fn verify_by_record<F: Fs>(fs: &F, held: &Held<F::File>) -> Result<()> {
    let file = match fs.open_read(&held.path) {
        Ok(f) => f,
        Err(e) if e.is("ENOENT") => return Err(compromised(held, "the lock file was removed")),
        Err(e) => return Err(e),
    };
    let bytes = fs.read_all(&file);
    let _ = fs.close(file);
    let mine = &held.record;
    match Record::parse(&bytes?) {
        Some(r) if r.nonce == mine.nonce && r.pid == mine.pid && r.host == mine.host => Ok(()),
        _ => Err(compromised(held, "the lock file now belongs to another holder")),
    }
}

/// Who holds the lock at `lock`, without taking or reaping it.
pub fn check<F: Fs>(fs: &F, me: &Me, lock: &str, opts: &LockOptions, seen: &mut Seen) -> Result<Status> {
    crate::write::validate_path(lock, "open")?;
    for _ in 0..ROUNDS {
        match inspect(fs, me, lock, opts, seen, false)? {
            Inspect::Gone => match fs.lstat(lock) {
                Err(e) if e.is("ENOENT") => return Ok(Status::Free),
                _ => continue,
            },
            Inspect::Reaped => unreachable!("inspect does not reap in check"),
            Inspect::Busy(b) => return Ok(Status::Held(b)),
            Inspect::Stale(b) => return Ok(Status::Stale(b)),
        }
    }
    Ok(Status::Held(Busy { holder: None, raw: None, state: "contended" }))
}

/// Removes staging files of `lock` whose owner is gone. Returns how many were removed.
pub fn sweep_staging<F: Fs>(fs: &F, me: &Me, lock: &str) -> Result<usize> {
    let win = fs.windows();
    let (dir, name) = path::split(lock, win);
    let prefix = format!("{}.", shorten(name, 1 + 16 + STAGE_SUFFIX.len()));
    let now = fs.wall_ms();
    let mut removed = 0;
    for entry in fs.read_dir(dir)? {
        let Some(hex) = entry.strip_prefix(&prefix).and_then(|r| r.strip_suffix(STAGE_SUFFIX)) else { continue };
        if hex.len() != 16 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            continue;
        }
        let p = path::join(dir, &entry, win);
        let Ok(file) = fs.open_read(&p) else { continue };
        let gone = (|| -> Result<bool> {
            let locked = me.kernel_locks && fs.try_lock(&file)?;
            if me.kernel_locks && !locked {
                return Ok(false);
            }
            let bytes = fs.read_all(&file)?;
            Ok(match Record::parse(&bytes) {
                Some(r) if locked && r.kernel_lock && same_kernel(&r, me) => true,
                Some(r) if r.pid == me.pid && r.start == me.start => false,
                Some(r) => match fs.process_alive(r.pid) {
                    Liveness::Dead => true,
                    Liveness::Alive => matches!((r.start, fs.process_start(r.pid)), (Some(a), Some(b)) if a != b),
                    Liveness::Unknown => false,
                },
                None => fs.fstat(&file).map(|m| now.saturating_sub(m.mtime_ms) >= STAGE_ORPHAN_MS)?,
            })
        })();
        let _ = fs.close(file);
        if gone.unwrap_or(false) && fs.unlink(&p).is_ok() {
            removed += 1;
        }
    }
    Ok(removed)
}

/// The staging name for `lock`'s file name: `<name>.<16 hex>.stage`, the visible part shortened
/// to fit `NAME_MAX`.
pub fn stage_name(name: &str, nonce: &str) -> String {
    format!("{}.{nonce}{STAGE_SUFFIX}", shorten(name, 1 + 16 + STAGE_SUFFIX.len()))
}

/// The guard path of `lock`: `<lock>.reap` (a long name is shortened and given a stable hash so
/// every process derives the same guard).
pub fn guard_path(lock: &str, windows: bool) -> String {
    let (dir, name) = path::split(lock, windows);
    let guard = if name.len() + GUARD_SUFFIX.len() <= NAME_MAX {
        format!("{name}{GUARD_SUFFIX}")
    } else {
        format!("{}.{:016x}{GUARD_SUFFIX}", shorten(name, 1 + 16 + GUARD_SUFFIX.len()), fnv1a(name.as_bytes()))
    };
    path::join(dir, &guard, windows)
}

fn shorten(name: &str, overhead: usize) -> &str {
    let mut keep = name.len().min(NAME_MAX - overhead);
    while !name.is_char_boundary(keep) {
        keep -= 1;
    }
    &name[..keep]
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
}

fn same_kernel(r: &Record, me: &Me) -> bool {
    matches!((&r.boot, &me.boot), (Some(a), Some(b)) if a == b)
}

fn same_file(a: &Meta, b: &Meta) -> bool {
    a.dev == b.dev && a.ino == b.ino
}

fn compromised<T>(held: &Held<T>, why: &str) -> Error {
    let j = held.record.to_json();
    let detail = format!("{},\"state\":\"compromised\",\"reason\":{}}}", &j[..j.len() - 1], json_str(why));
    Error::custom("ECOMPROMISED", "unlink", held.path.clone(), detail)
}

fn at(e: Error, lock: &str) -> Error {
    Error { path: Some(lock.to_string()), dest: None, ..e }
}

/// Creates, kernel-locks, writes and links a staging file. `None` when the lock exists.
fn publish<F: Fs>(fs: &F, me: &Me, lock: &str) -> Result<Option<Held<F::File>>> {
    let win = fs.windows();
    let (dir, name) = path::split(lock, win);
    if name.is_empty() || name.len() > NAME_MAX {
        return Err(Error::os(if name.is_empty() { "EISDIR" } else { "ENAMETOOLONG" }, 0, "open", lock.to_string()));
    }
    if let Some(outcome) = publish_anon(fs, me, lock, dir)? {
        return Ok(outcome);
    }
    // Only file systems without unnamed files get here; every network file system is among them.
    let net = fs.network_fs(dir);
    for _ in 0..32 {
        let nonce = format!("{:016x}", fs.random());
        let stage = path::join(dir, &stage_name(name, &nonce), win);
        let file = match fs.create_excl(&stage, 0o644) {
            Ok(f) => f,
            Err(e) if e.is("EEXIST") => continue,
            Err(e) => return Err(at(e, lock)),
        };
        let written = (|| {
            let kernel_lock = me.kernel_locks && fs.try_lock(&file)?;
            if me.kernel_locks && !kernel_lock {
                // A sweeper is probing our fresh file (it holds the kernel lock for a moment):
                // take another name.
                return Ok(None);
            }
            let record = me.record(nonce.clone(), kernel_lock, fs.wall_ms());
            fs.write_all(&file, record.to_json().as_bytes())?;
            let m = fs.fstat(&file)?;
            Ok(Some((record, m)))
        })();
        let (record, m) = match written {
            Ok(Some(v)) => v,
            Ok(None) => {
                let _ = fs.close(file);
                let _ = fs.unlink(&stage);
                continue;
            }
            Err(e) => {
                let _ = fs.close(file);
                let _ = fs.unlink(&stage);
                return Err(at(e, lock));
            }
        };
        match fs.link(&stage, lock) {
            Ok(()) => {
                let _ = fs.unlink(&stage);
                return Ok(Some(Held { path: lock.to_string(), record, file, dev: m.dev, ino: m.ino, net }));
            }
            Err(e) => {
                let _ = fs.close(file);
                let _ = fs.unlink(&stage);
                if e.is("EEXIST") {
                    return Ok(None);
                }
                // A sweeper removed our staging name (it judged it an orphan): try a new one.
                if e.is("ENOENT") && fs.lstat(dir).is_ok() {
                    continue;
                }
                return Err(Error { path: Some(lock.to_string()), dest: None, ..e });
            }
        }
    }
    Err(Error::custom("EEXIST", "open", lock.to_string(), "no free staging name after 32 attempts".to_string()))
}

/// [`publish`] with an unnamed file (Linux `O_TMPFILE`): no staging name exists at any moment, so
/// nothing is left behind by a process killed while acquiring. `Ok(None)` when the file system
/// has no unnamed files (the caller falls back to a named staging file); `Ok(Some(None))` when the
/// lock exists.
fn publish_anon<F: Fs>(fs: &F, me: &Me, lock: &str, dir: &str) -> Result<Option<Option<Held<F::File>>>> {
    let Some(file) = fs.create_anon(dir, 0o644).map_err(|e| at(e, lock))? else { return Ok(None) };
    let nonce = format!("{:016x}", fs.random());
    let written = (|| {
        let kernel_lock = me.kernel_locks && fs.try_lock(&file)?;
        let record = me.record(nonce, kernel_lock, fs.wall_ms());
        fs.write_all(&file, record.to_json().as_bytes())?;
        let m = fs.fstat(&file)?;
        Ok((record, m))
    })();
    let (record, m) = match written {
        Ok(v) => v,
        Err(e) => {
            let _ = fs.close(file);
            return Err(at(e, lock));
        }
    };
    if me.kernel_locks && !record.kernel_lock {
        // Nobody else can open an unnamed file: cannot happen; use the staging path.
        let _ = fs.close(file);
        return Ok(None);
    }
    match fs.link_file(&file, lock) {
        // A file system with unnamed files is local (no network file system has them).
        Ok(()) => Ok(Some(Some(Held { path: lock.to_string(), record, file, dev: m.dev, ino: m.ino, net: false }))),
        Err(e) => {
            let _ = fs.close(file);
            if e.is("EEXIST") {
                Ok(Some(None))
            } else {
                // No /proc, or a file system refusing this link: the named staging file reports
                // the real error if there is one.
                Ok(None)
            }
        }
    }
}

enum Inspect {
    /// The lock went away (or changed inode) while we looked: retry at once.
    Gone,
    /// We removed a dead lock: retry at once.
    Reaped,
    Busy(Busy),
    /// Dead or stale, not reaped (`check`).
    Stale(Busy),
}

/// Opens the existing lock, probes its kernel lock, judges its record, and (with `reap`) removes
/// it when its holder is dead.
fn inspect<F: Fs>(fs: &F, me: &Me, lock: &str, opts: &LockOptions, seen: &mut Seen, reap: bool) -> Result<Inspect> {
    let file = match fs.open_read(lock) {
        Ok(f) => f,
        Err(e) if e.is("ENOENT") => return Ok(Inspect::Gone),
        Err(e) => return Err(e),
    };
    let out = (|| {
        let locked = me.kernel_locks && fs.try_lock(&file)?;
        if me.kernel_locks && !locked {
            // Alive. The record is read for the error message only (Windows' mandatory
            // LockFileEx may refuse the read; the holder is then unknown).
            let bytes = fs.read_all(&file).unwrap_or_default();
            return Ok(Inspect::Busy(Busy::of(Record::parse(&bytes), &bytes, "held")));
        }
        let fm = fs.fstat(&file)?;
        match fs.lstat(lock) {
            Ok(pm) if same_file(&pm, &fm) => {}
            Ok(_) => return Ok(Inspect::Gone),
            Err(e) if e.is("ENOENT") => return Ok(Inspect::Gone),
            Err(e) => return Err(e),
        }
        if fm.kind != Kind::File {
            return Err(Error::custom("EINVAL", "open", lock.to_string(), "the lock path is not a regular file".to_string()));
        }
        let bytes = fs.read_all(&file)?;
        let record = Record::parse(&bytes);
        let net = seen.network(fs, lock);
        let verdict = judge(fs, me, opts.stale_ms, &mut seen.lock, record.as_ref(), &bytes, &fm, locked, net);
        match verdict {
            Err(state) => Ok(Inspect::Busy(Busy::of(record, &bytes, state))),
            Ok(()) if !reap => Ok(Inspect::Stale(Busy::of(record, &bytes, "dead"))),
            Ok(()) => reap_guarded(fs, me, lock, &fm, &bytes, opts, seen),
        }
    })();
    let _ = fs.close(file);
    out
}

/// `Ok(())` when the holder of `record` is dead or stale; `Err(state)` when it must be left alone.
/// `locked`: we hold the kernel lock on the file; `net`: it is on a network file system, where
/// that kernel lock proves nothing (another client's lock is invisible) and its mtime is another
/// machine's clock.
#[allow(clippy::too_many_arguments)]
fn judge<F: Fs>(
    fs: &F,
    me: &Me,
    stale_ms: u64,
    slot: &mut Slot,
    record: Option<&Record>,
    bytes: &[u8],
    fm: &Meta,
    locked: bool,
    net: bool,
) -> std::result::Result<(), &'static str> {
    let locked = locked && !net;
    let stale_after = |slot: &mut Slot, key: String, state: &'static str| {
        if slot.elapsed(&key, fs.monotonic_ms()) >= stale_ms {
            Ok(())
        } else {
            Err(state)
        }
    };
    let Some(r) = record else {
        // Unlocked and last written before this system booted: the leftover of a power cut (the
        // record is not fsynced), and no process from before the boot can hold it.
        if locked && fs.boot_time_ms().is_some_and(|boot| fm.mtime_ms < boot) {
            return Ok(());
        }
        return stale_after(slot, format!("raw:{}:{}:{:016x}", fm.dev, fm.ino, fnv1a(bytes)), "unreadable");
    };
    let same_boot = same_kernel(r, me);
    if !same_boot && r.host != me.host {
        return stale_after(slot, format!("nonce:{}", r.nonce), "foreign");
    }
    if !same_boot && r.boot.is_some() && me.boot.is_some() {
        return Ok(()); // same host name, earlier boot
    }
    if locked && r.kernel_lock && same_boot {
        // The kernel says no descriptor holds it, ours included (every handle of this process
        // keeps its kernel lock until it has unlinked the file).
        return Ok(());
    }
    if r.pid == me.pid && (r.start == me.start || r.start.is_none() || me.start.is_none()) {
        return Err("own");
    }
    match fs.process_alive(r.pid) {
        Liveness::Dead => Ok(()),
        Liveness::Alive => match (r.start, fs.process_start(r.pid)) {
            (Some(a), Some(b)) if a != b => Ok(()),
            _ => Err("alive"),
        },
        Liveness::Unknown => stale_after(slot, format!("nonce:{}", r.nonce), "alive"),
    }
}

/// Removes the dead lock (inode `fm`, content `bytes`) under the guard file.
fn reap_guarded<F: Fs>(fs: &F, me: &Me, lock: &str, fm: &Meta, bytes: &[u8], opts: &LockOptions, seen: &mut Seen) -> Result<Inspect> {
    let guard = guard_path(lock, fs.windows());
    let gf = match fs.create_excl(&guard, 0o644) {
        Ok(f) => f,
        Err(e) if e.is("EEXIST") => return clear_guard(fs, me, &guard, opts, seen),
        Err(e) => return Err(e),
    };
    let out = (|| {
        let kernel_lock = me.kernel_locks && fs.try_lock(&gf)?;
        let rec = me.record(format!("{:016x}", fs.random()), kernel_lock, fs.wall_ms());
        fs.write_all(&gf, rec.to_json().as_bytes())?;
        // Under the guard: the name must still be the inode we judged, with the same record.
        match fs.lstat(lock) {
            Ok(pm) if same_file(&pm, fm) => {}
            Ok(_) => return Ok(Inspect::Gone),
            Err(e) if e.is("ENOENT") => return Ok(Inspect::Gone),
            Err(e) => return Err(e),
        }
        let now = match fs.open_read(lock) {
            Ok(f) => {
                let b = fs.read_all(&f);
                let _ = fs.close(f);
                b?
            }
            Err(e) if e.is("ENOENT") => return Ok(Inspect::Gone),
            Err(e) => return Err(e),
        };
        if now != bytes {
            return Ok(Inspect::Gone);
        }
        match fs.unlink(lock) {
            Ok(()) => Ok(Inspect::Reaped),
            Err(e) if e.is("ENOENT") => Ok(Inspect::Gone),
            Err(e) => Err(e),
        }
    })();
    let _ = fs.unlink(&guard);
    let _ = fs.close(gf);
    out
}

/// Another reaper's guard exists: leave it if that reaper lives, remove it if it died.
fn clear_guard<F: Fs>(fs: &F, me: &Me, guard: &str, opts: &LockOptions, seen: &mut Seen) -> Result<Inspect> {
    let reaping = || Inspect::Busy(Busy { holder: None, raw: None, state: "reaping" });
    let gf = match fs.open_read(guard) {
        Ok(f) => f,
        Err(e) if e.is("ENOENT") => return Ok(Inspect::Gone),
        Err(e) => return Err(e),
    };
    let out = (|| {
        let locked = me.kernel_locks && fs.try_lock(&gf)?;
        if me.kernel_locks && !locked {
            return Ok(reaping());
        }
        let fm = fs.fstat(&gf)?;
        let bytes = fs.read_all(&gf)?;
        let record = Record::parse(&bytes);
        let stale_ms = if record.is_some() { opts.stale_ms } else { GUARD_GRACE_MS };
        let net = seen.network(fs, guard);
        if judge(fs, me, stale_ms, &mut seen.guard, record.as_ref(), &bytes, &fm, locked, net).is_err() {
            return Ok(reaping());
        }
        match fs.lstat(guard) {
            Ok(m) if same_file(&m, &fm) => {}
            _ => return Ok(Inspect::Gone),
        }
        match fs.unlink(guard) {
            Ok(()) => Ok(Inspect::Gone),
            Err(e) if e.is("ENOENT") => Ok(Inspect::Gone),
            Err(e) => Err(e),
        }
    })();
    let _ = fs.close(gf);
    out
}

/// Just enough JSON for a flat record: an object of strings, non-negative integers, booleans and
/// nulls.
mod json {
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Val {
        Str(String),
        Num(u64),
        Bool(bool),
        Null,
    }

    pub fn parse_flat(text: &str) -> Option<Vec<(String, Val)>> {
        let mut p = P { s: text.as_bytes(), i: 0 };
        p.ws();
        p.eat(b'{')?;
        let mut out = Vec::new();
        p.ws();
        if p.peek() == Some(b'}') {
            p.i += 1;
        } else {
            loop {
                p.ws();
                let k = p.string()?;
                p.ws();
                p.eat(b':')?;
                p.ws();
                let v = p.value()?;
                out.push((k, v));
                p.ws();
                match p.next()? {
                    b',' => continue,
                    b'}' => break,
                    _ => return None,
                }
            }
        }
        p.ws();
        (p.i == p.s.len()).then_some(out)
    }

    struct P<'a> {
        s: &'a [u8],
        i: usize,
    }

    impl P<'_> {
        fn peek(&self) -> Option<u8> {
            self.s.get(self.i).copied()
        }
        fn next(&mut self) -> Option<u8> {
            let c = self.peek()?;
            self.i += 1;
            Some(c)
        }
        fn eat(&mut self, c: u8) -> Option<()> {
            (self.next()? == c).then_some(())
        }
        fn ws(&mut self) {
            while matches!(self.peek(), Some(b' ' | b'\n' | b'\r' | b'\t')) {
                self.i += 1;
            }
        }
        fn lit(&mut self, word: &str, v: Val) -> Option<Val> {
            self.s[self.i..].starts_with(word.as_bytes()).then(|| {
                self.i += word.len();
                v
            })
        }
        fn value(&mut self) -> Option<Val> {
            match self.peek()? {
                b'"' => self.string().map(Val::Str),
                b't' => self.lit("true", Val::Bool(true)),
                b'f' => self.lit("false", Val::Bool(false)),
                b'n' => self.lit("null", Val::Null),
                b'0'..=b'9' => {
                    let start = self.i;
                    while matches!(self.peek(), Some(b'0'..=b'9')) {
                        self.i += 1;
                    }
                    std::str::from_utf8(&self.s[start..self.i]).ok()?.parse().ok().map(Val::Num)
                }
                _ => None,
            }
        }
        fn string(&mut self) -> Option<String> {
            self.eat(b'"')?;
            let mut out = Vec::new();
            loop {
                match self.next()? {
                    b'"' => break,
                    b'\\' => match self.next()? {
                        b'"' => out.push(b'"'),
                        b'\\' => out.push(b'\\'),
                        b'/' => out.push(b'/'),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'u' => {
                            let hex = std::str::from_utf8(self.s.get(self.i..self.i + 4)?).ok()?;
                            self.i += 4;
                            let c = char::from_u32(u32::from_str_radix(hex, 16).ok()?).unwrap_or('\u{fffd}');
                            let mut b = [0; 4];
                            out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
                        }
                        _ => return None,
                    },
                    c => out.push(c),
                }
            }
            String::from_utf8(out).ok()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec() -> Record {
        Record {
            nonce: "00ff00ff00ff00ff".into(),
            pid: 42,
            start: Some(7),
            boot: Some("b-1".into()),
            host: "h \"q\"\n".into(),
            kernel_lock: true,
            acquired_at: 1_700_000_000_000,
            version: "0.1.0".into(),
        }
    }

    #[test]
    fn record_round_trips() {
        let r = rec();
        assert_eq!(Record::parse(r.to_json().as_bytes()), Some(r.clone()));
        let r2 = Record { start: None, boot: None, kernel_lock: false, ..r };
        assert_eq!(Record::parse(r2.to_json().as_bytes()), Some(r2));
    }

    #[test]
    fn garbage_is_not_a_record() {
        for bad in ["", "{", "12345", "{\"pid\":1}", "{\"nonce\":\"a\",\"pid\":-1,\"host\":\"h\",\"kernelLock\":true}", "{} x"] {
            assert_eq!(Record::parse(bad.as_bytes()), None, "{bad:?}");
        }
        let full = rec().to_json();
        for cut in 0..full.len() {
            assert_eq!(Record::parse(&full.as_bytes()[..cut]), None, "truncated at {cut}");
        }
    }

    #[test]
    fn names_fit_name_max() {
        let long = "x".repeat(255);
        assert_eq!(stage_name(&long, "0123456789abcdef").len(), 255);
        let g = guard_path(&format!("/d/{long}"), false);
        assert_eq!(path::split(&g, false).1.len(), 255);
        assert_eq!(g, guard_path(&format!("/d/{long}"), false), "stable");
        assert_eq!(guard_path("/d/a.lock", false), "/d/a.lock.reap");
    }

    #[test]
    fn busy_detail_is_json() {
        let b = Busy { holder: Some(rec()), raw: None, state: "held" };
        let d = b.detail_json();
        assert!(d.ends_with(",\"state\":\"held\"}"), "{d}");
        let b = Busy::of(None, b"junk", "unreadable");
        assert_eq!(b.detail_json(), "{\"state\":\"unreadable\",\"raw\":\"junk\"}");
    }
}
