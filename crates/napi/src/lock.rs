//! Lock files: non-blocking attempts, release, verify, check. Waiting is the caller's (JS timers
//! for the async API, a native sleep for the sync one), so no libuv pool thread ever blocks.
//!
//! Holding a lock means keeping its descriptor open, so held locks live in a process-global
//! [`Table`] keyed by an id handed to JS. The addon is loaded once per process, so worker threads
//! share the table, and with it the per-path FIFO of waiters (see `durable_fs_core::lock_queue`).

use std::sync::{Mutex, MutexGuard, OnceLock};

use durable_fs_core::lock::{self, Busy, LockOptions, Me, Status};
use durable_fs_core::lock_queue::{Outcome, Table};
use durable_fs_core::sys::OsFs;
use durable_fs_core::{Error, Fs};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::error::to_napi;

fn table() -> MutexGuard<'static, Table<std::fs::File>> {
    static T: OnceLock<Mutex<Table<std::fs::File>>> = OnceLock::new();
    T.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner())
}

/// This process. `DURABLE_FS_NO_KERNEL_LOCKS=1` makes it lock like the WebAssembly backend (no
/// kernel locks: its holders are judged by pid and start time, its reaps rely on the guard file),
/// so mixed native/WebAssembly setups can be tested with real processes.
fn me() -> &'static Me {
    static ME: OnceLock<Me> = OnceLock::new();
    ME.get_or_init(|| {
        let mut me = Me::of(&OsFs);
        if std::env::var_os("DURABLE_FS_NO_KERNEL_LOCKS").is_some_and(|v| v == "1") {
            me.kernel_locks = false;
        }
        me
    })
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

impl From<Outcome> for LockAttempt {
    fn from(o: Outcome) -> Self {
        LockAttempt { id: o.id, holder: o.holder, ticket: o.ticket }
    }
}

/// Joins the FIFO of `path`; returns the ticket to pass to every attempt.
#[napi(js_name = "lockEnqueue")]
pub fn lock_enqueue(path: String) -> u32 {
    table().enqueue(&path, OsFs.monotonic_ms())
}

/// Leaves the FIFO (timeout, abort).
#[napi(js_name = "lockCancel")]
pub fn lock_cancel(path: String, ticket: u32) {
    table().cancel(&path, ticket)
}

/// One attempt for `ticket` (0: join the queue now). The file system is touched outside the
/// table's mutex.
fn attempt(path: &str, ticket: u32, opts: &LockOptions) -> Result<LockAttempt> {
    let admitted = table().admit(path, ticket, OsFs.monotonic_ms());
    let (ticket, mut seen) = match admitted {
        Ok(v) => v,
        Err(busy) => return Ok(busy.into()),
    };
    let outcome = lock::try_acquire(&OsFs, me(), path, opts, &mut seen);
    let settled = table().settle(path, ticket, seen, outcome);
    settled.map(Into::into).map_err(to_napi)
}

fn released_already() -> napi::Error {
    to_napi(Error::custom("EINVAL", "unlink", None, "this lock was already released".to_string()))
}

fn release(id: u32) -> Result<()> {
    let h = table().take(id).ok_or_else(released_already)?;
    let path = h.path.clone();
    let r = lock::release(&OsFs, h);
    table().released(&path);
    r.map_err(to_napi)
}

fn verify(id: u32) -> Result<()> {
    let t = table();
    let h = t.get(id).ok_or_else(released_already)?;
    lock::verify(&OsFs, h).map_err(to_napi)
}

/// What `check` reports: `state` is `free`, `held` or `stale`; `holder` the record JSON.
#[napi(object)]
pub struct LockStatus {
    pub state: String,
    pub holder: Option<String>,
}

fn check(path: &str, opts: &LockOptions) -> Result<LockStatus> {
    let mut seen = table().take_seen(path);
    let status = lock::check(&OsFs, me(), path, opts, &mut seen);
    table().put_seen(path, seen);
    let (state, busy): (&str, Option<Busy>) = match status.map_err(to_napi)? {
        Status::Free => ("free", None),
        Status::Held(b) => ("held", Some(b)),
        Status::Stale(b) => ("stale", Some(b)),
    };
    Ok(LockStatus { state: state.to_string(), holder: busy.map(|b| b.detail_json()) })
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
