//! Blocking front-ends over the non-blocking protocols, for callers that wait on their own thread:
//! the Rust facade (`durable-fs`) and the Python package. The JavaScript layer waits on timers
//! instead (`lib/lock.js`, `lib/log.js`) and does not use this module.
//!
//! - [`Locks`]: this process's held locks and per-path FIFO of waiters (a
//!   [`crate::lock_queue::Table`]), a wait with the same jittered backoff as `lib/lock.js`
//!   (1 ms doubling to 25 ms), woken at once when a caller of this process releases, ended by a
//!   timeout (`ELOCKED` naming the holder) or by the caller's `stop` check (`ECANCELED`).
//! - [`update`]: read-modify-write of a file under its lock, as `updateFile` does in JS.
//! - [`GroupLog`]: appends from several threads to one log, committed in groups: while one batch
//!   is being written and fsynced, the records of every other caller gather into the next batch,
//!   which the first of them then writes with one fsync for all.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::fs::Fs;
use crate::lock::{self, LockOptions, Me, Status};
use crate::lock_queue::Table;
use crate::log::{self as logp, LogOptions, LogState};
use crate::write::{self, WriteOptions};

/// First backoff delay between attempts (doubled after each busy attempt).
pub const MIN_DELAY_MS: u64 = 1;
/// Largest backoff delay between attempts.
pub const MAX_DELAY_MS: u64 = 25;

/// The lock file of `target` when the caller names none: `<target>.lock`.
pub fn lock_path_of(target: &str) -> String {
    format!("{target}.lock")
}

/// Held locks and waiters of one process on one file system.
pub struct Locks<F: Fs> {
    fs: F,
    me: Me,
    table: Mutex<Table<F::File>>,
    released: Condvar,
}

impl<F: Fs> Locks<F> {
    /// The locks of this process on `fs`, with `me` as the identity written into lock records.
    pub fn new(fs: F, me: Me) -> Self {
        Locks { fs, me, table: Mutex::new(Table::default()), released: Condvar::new() }
    }

    fn table(&self) -> MutexGuard<'_, Table<F::File>> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes the lock file `lock`, waiting up to `timeout_ms` (`None`: forever). `stop` is asked
    /// between attempts; returning `true` ends the wait with `ECANCELED`. Returns the id of the
    /// held lock (for [`Locks::release`] and [`Locks::verify`]).
    pub fn acquire(&self, lock: &str, opts: &LockOptions, timeout_ms: Option<u64>, stop: &mut dyn FnMut() -> bool) -> Result<u32> {
        let start = self.fs.monotonic_ms();
        let mut ticket = self.table().enqueue(lock, start);
        let mut delay = MIN_DELAY_MS;
        loop {
            let admitted = self.table().admit(lock, ticket, self.fs.monotonic_ms());
            let holder = match admitted {
                Err(busy) => {
                    ticket = busy.ticket;
                    busy.holder
                }
                Ok((t, mut seen)) => {
                    ticket = t;
                    let attempt = lock::try_acquire(&self.fs, &self.me, lock, opts, &mut seen);
                    let outcome = self.table().settle(lock, ticket, seen, attempt)?;
                    if let Some(id) = outcome.id {
                        return Ok(id);
                    }
                    outcome.holder
                }
            };
            let waited = self.fs.monotonic_ms().saturating_sub(start);
            if timeout_ms.is_some_and(|t| waited >= t) {
                self.table().cancel(lock, ticket);
                let detail = format!("{} (waited {waited} ms)", holder.unwrap_or_else(|| "{}".into()));
                return Err(Error::custom("ELOCKED", "lock", lock.to_string(), detail));
            }
            if stop() {
                self.table().cancel(lock, ticket);
                return Err(Error::custom("ECANCELED", "lock", lock.to_string(), "the wait was interrupted".to_string()));
            }
            let jittered = delay / 2 + self.fs.random() % (delay / 2 + 1);
            let nap = timeout_ms.map_or(jittered, |t| jittered.min(t - waited)).max(1);
            // Woken early by a release in this process; the table's mutex is free meanwhile.
            let t = self.table();
            let _ = self.released.wait_timeout(t, Duration::from_millis(nap));
            delay = (delay * 2).min(MAX_DELAY_MS);
        }
    }

    /// Releases a held lock: `ECOMPROMISED` (nothing removed) if it was taken away; `EINVAL` if
    /// `id` is not held (already released).
    pub fn release(&self, id: u32) -> Result<()> {
        let held = self.table().take(id).ok_or_else(released_already)?;
        let path = held.path.clone();
        let r = lock::release(&self.fs, held);
        self.table().released(&path);
        self.released.notify_all();
        r
    }

    /// `ECOMPROMISED` unless the lock file still is the one held as `id`.
    pub fn verify(&self, id: u32) -> Result<()> {
        let t = self.table();
        let held = t.get(id).ok_or_else(released_already)?;
        lock::verify(&self.fs, held)
    }

    /// The record of the held lock `id` (JSON, as written in the lock file).
    pub fn record_json(&self, id: u32) -> Result<String> {
        self.table().get(id).map(|h| h.record.to_json()).ok_or_else(released_already)
    }

    /// Who holds the lock file `lock`, without taking or reaping it.
    pub fn check(&self, lock: &str, opts: &LockOptions) -> Result<Status> {
        let mut seen = self.table().take_seen(lock);
        let status = lock::check(&self.fs, &self.me, lock, opts, &mut seen);
        self.table().put_seen(lock, seen);
        status
    }

    /// The file system these locks live on.
    pub fn fs(&self) -> &F {
        &self.fs
    }
}

fn released_already() -> Error {
    Error::custom("EINVAL", "unlink", None, "this lock was already released".to_string())
}

/// This process's locks on the real file system. `DURABLE_FS_NO_KERNEL_LOCKS=1` makes it lock
/// like the WebAssembly backend (holders judged by pid and start time), as the napi addon does.
#[cfg(feature = "std-fs")]
pub fn os_locks() -> &'static Locks<crate::sys::OsFs> {
    use std::sync::OnceLock;
    static L: OnceLock<Locks<crate::sys::OsFs>> = OnceLock::new();
    L.get_or_init(|| {
        let fs = crate::sys::OsFs;
        let mut me = Me::of(&fs);
        if std::env::var_os("DURABLE_FS_NO_KERNEL_LOCKS").is_some_and(|v| v == "1") {
            me.kernel_locks = false;
        }
        Locks::new(fs, me)
    })
}

/// The caller's step of [`update`]: current content (`None`: no file) to new content (`None`:
/// write nothing).
pub type Modify<'a> = dyn FnMut(Option<&[u8]>) -> Option<Vec<u8>> + 'a;

/// How [`update`] locks and writes.
#[derive(Debug, Clone, Default)]
pub struct UpdateOptions {
    /// The lock file (`None`: [`lock_path_of`] the target).
    pub lock_path: Option<String>,
    pub lock: LockOptions,
    /// How long to wait for the lock (`None`: forever).
    pub timeout_ms: Option<u64>,
    pub write: WriteOptions,
}

/// Read-modify-write under the lock: takes the lock, reads `target` (`None` if it does not
/// exist; a symlink is followed as the write follows it), calls `f`, and if `f` returns new
/// content checks the lock is still ours (`ECOMPROMISED` otherwise, nothing written) and writes
/// it atomically; then releases. Returns whether something was written.
pub fn update<F: Fs>(
    locks: &Locks<F>,
    target: &str,
    opts: &UpdateOptions,
    stop: &mut dyn FnMut() -> bool,
    f: &mut Modify<'_>,
) -> Result<bool> {
    write::validate_path(target, "open")?;
    let lock_path = opts.lock_path.clone().unwrap_or_else(|| lock_path_of(target));
    let id = locks.acquire(&lock_path, &opts.lock, opts.timeout_ms, stop)?;
    let body = (|| {
        let current = read_current(locks.fs(), target)?;
        match f(current.as_deref()) {
            None => Ok(false),
            Some(next) => {
                locks.verify(id)?;
                write::atomic_write(locks.fs(), target, &next, &opts.write)?;
                Ok(true)
            }
        }
    })();
    let released = locks.release(id);
    let wrote = body?;
    released?;
    Ok(wrote)
}

/// The content of `target`, `None` if it does not exist.
fn read_current<F: Fs>(fs: &F, target: &str) -> Result<Option<Vec<u8>>> {
    let (real, existing) = write::resolve(fs, target)?;
    if existing.is_none() {
        return Ok(None);
    }
    let f = match fs.open_read(&real) {
        Ok(f) => f,
        Err(e) if e.is("ENOENT") => return Ok(None),
        Err(e) => return Err(e),
    };
    let data = fs.read_all(&f);
    let closed = fs.close(f);
    let data = data?;
    closed?;
    Ok(Some(data))
}

struct Pending {
    /// (ticket, kind, payload) in arrival order.
    records: Vec<(u64, u8, Vec<u8>)>,
    next_ticket: u64,
    writing: bool,
    state: LogState,
    results: HashMap<u64, Result<()>>,
}

/// One log appended to by several threads of this process, committed in groups (one write and
/// one `fdatasync` per group). Other processes append to the same file under its kernel lock.
pub struct GroupLog<F: Fs> {
    fs: F,
    path: String,
    opts: LogOptions,
    inner: Mutex<Pending>,
    done: Condvar,
}

impl<F: Fs> GroupLog<F> {
    /// Opens (creating it as `opts` says) the log at `path` and recovers a torn tail. Returns the
    /// log and the torn tail it removed, if any.
    pub fn open(fs: F, path: &str, opts: &LogOptions) -> Result<(Self, Option<logp::Torn>)> {
        let mut state = LogState::default();
        let torn = logp::append_batch_wait(&fs, path, &mut state, &[], opts)?;
        let inner = Pending { records: Vec::new(), next_ticket: 1, writing: false, state, results: HashMap::new() };
        Ok((GroupLog { fs, path: path.to_string(), opts: opts.clone(), inner: Mutex::new(inner), done: Condvar::new() }, torn))
    }

    fn inner(&self) -> MutexGuard<'_, Pending> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends `records` (`(kind, payload)`, kinds [`logp::TEXT`], [`logp::JSON`],
    /// [`logp::BYTES`]) as part of the next group; returns once they are written (and with
    /// `durable`, fsynced). All records of one call land together, in order, or none of them.
    pub fn append(&self, records: Vec<(u8, Vec<u8>)>) -> Result<()> {
        let mut g = self.inner();
        let ticket = g.next_ticket;
        g.next_ticket += 1;
        if records.is_empty() {
            return Ok(());
        }
        for (kind, payload) in records {
            g.records.push((ticket, kind, payload));
        }
        loop {
            if let Some(r) = g.results.remove(&ticket) {
                return r;
            }
            if g.writing {
                g = self.done.wait(g).unwrap_or_else(|p| p.into_inner());
                continue;
            }
            // Lead the next group: everything gathered so far.
            g.writing = true;
            let batch = std::mem::take(&mut g.records);
            let mut state = std::mem::take(&mut g.state);
            drop(g);
            let recs: Vec<(u8, &[u8])> = batch.iter().map(|(_, k, p)| (*k, p.as_slice())).collect();
            let r = logp::append_batch_wait(&self.fs, &self.path, &mut state, &recs, &self.opts).map(|_| ());
            g = self.inner();
            g.state = state;
            g.writing = false;
            for (t, _, _) in &batch {
                g.results.entry(*t).or_insert_with(|| r.clone());
            }
            self.done.notify_all();
        }
    }

    /// Records counted by this handle (seen when opening plus appended since), chain head.
    pub fn position(&self) -> (u64, Option<logp::Hash>) {
        let g = self.inner();
        (g.state.records, g.state.head)
    }

    /// The log's path.
    pub fn path(&self) -> &str {
        &self.path
    }
}

#[cfg(all(test, feature = "std-fs", unix))]
mod tests {
    use super::*;
    use crate::sys::OsFs;

    fn tmpdir(name: &str) -> String {
        let d = std::env::temp_dir().join(format!("dfs-blocking-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d.to_str().unwrap().to_string()
    }

    #[test]
    fn timeout_names_the_holder_and_stop_cancels() {
        let d = tmpdir("lock");
        let locks = Locks::new(OsFs, Me::of(&OsFs));
        let p = format!("{d}/a.lock");
        let id = locks.acquire(&p, &LockOptions::default(), Some(0), &mut || false).unwrap();
        let e = locks.acquire(&p, &LockOptions::default(), Some(20), &mut || false).unwrap_err();
        assert_eq!(e.code, "ELOCKED");
        assert!(e.detail.as_deref().unwrap().contains(&format!("\"pid\":{}", std::process::id())), "{e}");
        let e = locks.acquire(&p, &LockOptions::default(), None, &mut || true).unwrap_err();
        assert_eq!(e.code, "ECANCELED");
        locks.release(id).unwrap();
        assert_eq!(locks.release(id).unwrap_err().code, "EINVAL");
        let id = locks.acquire(&p, &LockOptions::default(), Some(0), &mut || false).unwrap();
        locks.release(id).unwrap();
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn update_reads_writes_and_skips() {
        let d = tmpdir("update");
        let locks = Locks::new(OsFs, Me::of(&OsFs));
        let t = format!("{d}/n");
        let o = UpdateOptions::default();
        assert!(update(&locks, &t, &o, &mut || false, &mut |cur| {
            assert!(cur.is_none());
            Some(b"1".to_vec())
        })
        .unwrap());
        assert!(!update(&locks, &t, &o, &mut || false, &mut |cur| {
            assert_eq!(cur, Some(&b"1"[..]));
            None
        })
        .unwrap());
        assert_eq!(std::fs::read(&t).unwrap(), b"1");
        assert!(!std::path::Path::new(&lock_path_of(&t)).exists());
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn group_log_from_threads() {
        let d = tmpdir("log");
        let p = format!("{d}/l");
        let opts = LogOptions { mode: 0o600, mkdir: false, create: true, durable: true, chain: true };
        let (log, torn) = GroupLog::open(OsFs, &p, &opts).unwrap();
        assert!(torn.is_none());
        std::thread::scope(|s| {
            for t in 0..4u8 {
                let log = &log;
                s.spawn(move || {
                    for i in 0..25u8 {
                        log.append(vec![(logp::BYTES, vec![t, i]), (logp::TEXT, b"x".to_vec())]).unwrap();
                    }
                });
            }
        });
        let c = logp::read_log(&OsFs, &p).unwrap();
        assert_eq!(c.scan.frames.len(), 200);
        assert!(logp::verify(&c.data, &c.scan).is_none());
        for pair in c.scan.frames.chunks(2) {
            assert_eq!(pair[0].kind, logp::BYTES, "a call's records stay together");
            assert_eq!(pair[1].kind, logp::TEXT);
        }
        assert_eq!(log.position().0, 200);
        std::fs::remove_dir_all(d).unwrap();
    }
}
