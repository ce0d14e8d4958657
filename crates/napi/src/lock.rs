//! Lock files: non-blocking attempts, release, verify, check. Waiting is the caller's (JS timers
//! for the async API, a native sleep for the sync one), so no libuv pool thread ever blocks.
//!
//! Holding a lock means keeping its descriptor open, so held locks live in a process-global table
//! keyed by an id handed to JS. The addon is loaded once per process, so worker threads share the
//! table, and with it the per-path FIFO of tickets: a waiter enqueues once, and only the head of
//! its path's queue touches the file system while no caller of this process holds the lock.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, OnceLock};

use durable_fs_core::lock::{self, Attempt, Busy, Held, LockOptions, Me, Seen, Status};
use durable_fs_core::sys::OsFs;
use durable_fs_core::Fs;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::error::to_napi;

/// A queue head that has not polled for this long is presumed gone (a terminated worker, a timed
/// out waiter that never cancelled) and loses its place; it is re-queued at the back if it polls
/// again. Fairness only: correctness never depends on the queue.
const ABANDON_MS: u64 = 1000;

/// How many lock paths' stale clocks are remembered (they are dropped all at once beyond that).
const SEEN_MAX: usize = 4096;

#[derive(Default)]
struct PathState {
    queue: VecDeque<(u32, u64)>,
    holder: Option<u32>,
}

#[derive(Default)]
struct Table {
    next: u32,
    held: HashMap<u32, Held<std::fs::File>>,
    paths: HashMap<String, PathState>,
    /// Per lock path: since when this process has seen an unchanged foreign or unreadable record.
    /// Kept across waiters, so callers that try once at a time still see a stale lock age.
    seen: HashMap<String, Seen>,
}

fn take_seen(t: &mut Table, path: &str) -> Seen {
    if t.seen.is_empty() {
        return Seen::default();
    }
    t.seen.remove(path).unwrap_or_default()
}

fn put_seen(t: &mut Table, path: &str, seen: Seen) {
    if seen.is_empty() {
        return;
    }
    if t.seen.len() >= SEEN_MAX {
        t.seen.clear();
    }
    t.seen.insert(path.to_string(), seen);
}

/// The state of `path`, created if missing (allocating the key only then).
fn state<'a>(paths: &'a mut HashMap<String, PathState>, path: &str) -> &'a mut PathState {
    if !paths.contains_key(path) {
        paths.insert(path.to_string(), PathState::default());
    }
    paths.get_mut(path).expect("just inserted")
}

fn table() -> MutexGuard<'static, Table> {
    static T: OnceLock<Mutex<Table>> = OnceLock::new();
    T.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner())
}

fn me() -> &'static Me {
    static ME: OnceLock<Me> = OnceLock::new();
    ME.get_or_init(|| Me::of(&OsFs))
}

fn next_id(t: &mut Table) -> u32 {
    t.next = t.next.wrapping_add(1).max(1);
    t.next
}

/// Options after validation by `lib/lock.js`.
#[napi(object)]
pub struct LockOpts {
    pub stale_ms: Option<f64>,
}

fn options(o: &LockOpts) -> LockOptions {
    LockOptions { stale_ms: o.stale_ms.map(|v| v.max(0.0) as u64).unwrap_or(lock::DEFAULT_STALE_MS) }
}

/// One attempt's outcome: `id` when acquired, else `holder` (JSON: the holder's record and state);
/// `ticket` is the caller's place in the queue (pass it to the next attempt).
#[napi(object)]
pub struct LockAttempt {
    pub id: Option<u32>,
    pub holder: Option<String>,
    pub ticket: u32,
}

/// Joins the FIFO of `path`; returns the ticket to pass to every attempt.
#[napi(js_name = "lockEnqueue")]
pub fn lock_enqueue(path: String) -> u32 {
    let mut t = table();
    let id = next_id(&mut t);
    let now = OsFs.monotonic_ms();
    state(&mut t.paths, &path).queue.push_back((id, now));
    id
}

/// Leaves the FIFO (timeout, abort).
#[napi(js_name = "lockCancel")]
pub fn lock_cancel(path: String, ticket: u32) {
    let mut t = table();
    if let Some(ps) = t.paths.get_mut(&path) {
        ps.queue.retain(|(id, _)| *id != ticket);
        if ps.queue.is_empty() && ps.holder.is_none() {
            t.paths.remove(&path);
        }
    }
}

/// Whether `ticket` may touch the file system now; else why not.
/// `Err` carries the holder JSON.
fn admit(path: &str, ticket: u32) -> std::result::Result<Seen, String> {
    let now = OsFs.monotonic_ms();
    let mut t = table();
    let Table { held, paths, .. } = &mut *t;
    let ps = state(paths, path);
    while matches!(ps.queue.front(), Some(&(id, last)) if id != ticket && now.saturating_sub(last) > ABANDON_MS) {
        ps.queue.pop_front();
    }
    match ps.queue.iter_mut().find(|(id, _)| *id == ticket) {
        Some(entry) => entry.1 = now,
        None => ps.queue.push_back((ticket, now)),
    }
    if let Some(h) = ps.holder {
        return Err(Busy { holder: held.get(&h).map(|h| h.record.clone()), raw: None, state: "held" }.detail_json());
    }
    if ps.queue.front().map(|e| e.0) != Some(ticket) {
        return Err(Busy { holder: None, raw: None, state: "queued" }.detail_json());
    }
    Ok(take_seen(&mut t, path))
}

/// One attempt for `ticket` (0: join the queue now).
fn attempt(path: &str, ticket: u32, opts: &LockOptions) -> Result<LockAttempt> {
    let ticket = if ticket == 0 { lock_enqueue(path.to_string()) } else { ticket };
    let mut seen = match admit(path, ticket) {
        Ok(seen) => seen,
        Err(holder) => return Ok(LockAttempt { id: None, holder: Some(holder), ticket }),
    };
    let outcome = lock::try_acquire(&OsFs, me(), path, opts, &mut seen);
    let mut t = table();
    put_seen(&mut t, path, seen);
    let Table { next, held, paths, .. } = &mut *t;
    let ps = state(paths, path);
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            // The caller gives up on an error: leave the queue so nobody waits behind us.
            ps.queue.retain(|(id, _)| *id != ticket);
            return Err(to_napi(e));
        }
    };
    match outcome {
        Attempt::Acquired(h) => {
            ps.queue.retain(|(id, _)| *id != ticket);
            *next = next.wrapping_add(1).max(1);
            let id = *next;
            ps.holder = Some(id);
            held.insert(id, h);
            Ok(LockAttempt { id: Some(id), holder: None, ticket })
        }
        Attempt::Busy(b) => Ok(LockAttempt { id: None, holder: Some(b.detail_json()), ticket }),
    }
}

fn release(id: u32) -> Result<()> {
    let h = table().held.remove(&id);
    let Some(h) = h else {
        return Err(to_napi(durable_fs_core::Error::custom("EINVAL", "unlink", None, "this lock was already released".to_string())));
    };
    let path = h.path.clone();
    let r = lock::release(&OsFs, h);
    let mut t = table();
    if let Some(ps) = t.paths.get_mut(&path) {
        ps.holder = None;
        if ps.queue.is_empty() {
            t.paths.remove(&path);
        }
    }
    r.map_err(to_napi)
}

fn verify(id: u32) -> Result<()> {
    let t = table();
    let h = t
        .held
        .get(&id)
        .ok_or_else(|| to_napi(durable_fs_core::Error::custom("EINVAL", "lstat", None, "this lock was already released".to_string())))?;
    lock::verify(&OsFs, h).map_err(to_napi)
}

/// What `check` reports: `state` is `free`, `held` or `stale`; `holder` the record JSON.
#[napi(object)]
pub struct LockStatus {
    pub state: String,
    pub holder: Option<String>,
}

fn check(path: &str, opts: &LockOptions) -> Result<LockStatus> {
    let mut seen = take_seen(&mut table(), path);
    let status = lock::check(&OsFs, me(), path, opts, &mut seen);
    put_seen(&mut table(), path, seen);
    Ok(match status.map_err(to_napi)? {
        Status::Free => LockStatus { state: "free".into(), holder: None },
        Status::Held(b) => LockStatus { state: "held".into(), holder: Some(b.detail_json()) },
        Status::Stale(b) => LockStatus { state: "stale".into(), holder: Some(b.detail_json()) },
    })
}

/// One non-blocking attempt on the calling thread (`ticket` 0 joins the queue).
#[napi(js_name = "lockTryAcquireSync")]
pub fn lock_try_acquire_sync(path: String, ticket: u32, opts: LockOpts) -> Result<LockAttempt> {
    attempt(&path, ticket, &options(&opts))
}

pub struct TryTask {
    path: String,
    ticket: u32,
    opts: LockOptions,
}

impl Task for TryTask {
    type Output = LockAttempt;
    type JsValue = LockAttempt;
    fn compute(&mut self) -> Result<LockAttempt> {
        attempt(&self.path, self.ticket, &self.opts)
    }
    fn resolve(&mut self, _env: Env, out: LockAttempt) -> Result<LockAttempt> {
        Ok(out)
    }
}

/// One non-blocking attempt as a libuv-pool task (it never waits: the caller's timers do).
#[napi(js_name = "lockTryAcquire", ts_return_type = "Promise<LockAttempt>")]
pub fn lock_try_acquire(path: String, ticket: u32, opts: LockOpts) -> AsyncTask<TryTask> {
    AsyncTask::new(TryTask { path, ticket, opts: options(&opts) })
}

/// Releases a held lock: `ECOMPROMISED` if it was taken away (nothing is removed then).
#[napi(js_name = "lockReleaseSync")]
pub fn lock_release_sync(id: u32) -> Result<()> {
    release(id)
}

pub struct ReleaseTask(u32);

impl Task for ReleaseTask {
    type Output = ();
    type JsValue = ();
    fn compute(&mut self) -> Result<()> {
        release(self.0)
    }
    fn resolve(&mut self, _env: Env, _out: ()) -> Result<()> {
        Ok(())
    }
}

/// [`lock_release_sync`] as a libuv-pool task.
#[napi(js_name = "lockRelease", ts_return_type = "Promise<void>")]
pub fn lock_release(id: u32) -> AsyncTask<ReleaseTask> {
    AsyncTask::new(ReleaseTask(id))
}

/// Throws `ECOMPROMISED` unless the lock file still is the one we hold.
#[napi(js_name = "lockVerifySync")]
pub fn lock_verify_sync(id: u32) -> Result<()> {
    verify(id)
}

/// Who holds the lock at `path`, without taking or reaping it.
#[napi(js_name = "lockCheckSync")]
pub fn lock_check_sync(path: String, opts: LockOpts) -> Result<LockStatus> {
    check(&path, &options(&opts))
}

pub struct CheckTask(String, LockOptions);

impl Task for CheckTask {
    type Output = LockStatus;
    type JsValue = LockStatus;
    fn compute(&mut self) -> Result<LockStatus> {
        check(&self.0, &self.1)
    }
    fn resolve(&mut self, _env: Env, out: LockStatus) -> Result<LockStatus> {
        Ok(out)
    }
}

/// [`lock_check_sync`] as a libuv-pool task.
#[napi(js_name = "lockCheck", ts_return_type = "Promise<LockStatus>")]
pub fn lock_check(path: String, opts: LockOpts) -> AsyncTask<CheckTask> {
    AsyncTask::new(CheckTask(path, options(&opts)))
}

/// Removes staging files of `path` left by dead processes; returns how many.
#[napi(js_name = "lockSweepSync")]
pub fn lock_sweep_sync(path: String) -> Result<u32> {
    lock::sweep_staging(&OsFs, me(), &path).map(|n| n as u32).map_err(to_napi)
}

/// Sleeps the calling thread (the sync API's backoff).
#[napi(js_name = "sleepSync")]
pub fn sleep_sync(ms: u32) {
    OsFs.sleep_ms(ms as u64);
}
