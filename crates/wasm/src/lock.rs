//! Lock files: the same functions, with the same signatures, as the napi binding
//! (`crates/napi/src/lock.rs`), running the core's lock protocol on [`NodeFs`]. Waiting is the
//! caller's (JS timers for the async API, `sleepSync` for the sync one); each call here is one
//! non-blocking attempt.
//!
//! Differences from native, all from the platform: Node has no `flock`, so our records say
//! `kernelLock: false` and other processes judge us by PID and start time (see the core's
//! `lock.rs`); and a WebAssembly instance belongs to one thread, so the table of held locks and
//! the per-path FIFO (the core's `lock_queue::Table`, the same as native's) are per thread: worker
//! threads of one process still exclude each other through the lock file, but do not queue in
//! FIFO order across threads.

use std::cell::{OnceCell, RefCell};

use durable_fs_core::lock::{self, LockOptions, Me, Status};
use durable_fs_core::lock_queue::{Outcome, Table};
use durable_fs_core::{Error, Fs};
use js_sys::{Object, Promise, Reflect};
use wasm_bindgen::prelude::*;

use crate::defer;
use crate::error::to_js;
use crate::fs::{NodeFile, NodeFs};

thread_local! {
    static TABLE: RefCell<Table<NodeFile>> = RefCell::new(Table::default());
    static ME: OnceCell<Me> = const { OnceCell::new() };
}

fn with_table<R>(f: impl FnOnce(&mut Table<NodeFile>) -> R) -> R {
    TABLE.with(|t| f(&mut t.borrow_mut()))
}

fn me() -> Me {
    ME.with(|m| m.get_or_init(|| Me::of(&NodeFs)).clone())
}

#[wasm_bindgen(typescript_custom_section)]
const LOCK_TYPES: &str = r#"
/** Options after validation by `lib/lock.js`. */
export interface LockOpts {
  staleMs?: number
}
/**
 * One attempt's outcome: `id` when acquired, else `holder` (JSON: the holder's record and state);
 * `ticket` is the caller's place in the queue (pass it to the next attempt).
 */
export interface LockAttempt {
  id?: number
  holder?: string
  ticket: number
}
/** What `check` reports: `state` is `free`, `held` or `stale`; `holder` the record JSON. */
export interface LockStatus {
  state: string
  holder?: string
}
"#;

#[wasm_bindgen]
extern "C" {
    /// Options after validation by `lib/lock.js`.
    #[wasm_bindgen(typescript_type = "LockOpts")]
    pub type LockOpts;
    #[wasm_bindgen(method, getter, structural, js_name = staleMs)]
    fn stale_ms(this: &LockOpts) -> Option<f64>;
}

fn options(o: &LockOpts) -> LockOptions {
    LockOptions { stale_ms: o.stale_ms().map(|v| v.max(0.0) as u64).unwrap_or(lock::DEFAULT_STALE_MS) }
}

/// A plain object with the given fields (`None` fields are left out, as napi leaves them out).
fn object(fields: &[(&str, Option<JsValue>)]) -> JsValue {
    let o = Object::new();
    for (k, v) in fields {
        if let Some(v) = v {
            let _ = Reflect::set(&o, &JsValue::from_str(k), v);
        }
    }
    o.into()
}

fn attempt_value(o: Outcome) -> JsValue {
    object(&[("id", o.id.map(JsValue::from)), ("holder", o.holder.map(JsValue::from)), ("ticket", Some(JsValue::from(o.ticket)))])
}

/// Joins the FIFO of `path`; returns the ticket to pass to every attempt.
#[wasm_bindgen(js_name = lockEnqueue)]
pub fn lock_enqueue(path: &str) -> u32 {
    let now = NodeFs.monotonic_ms();
    with_table(|t| t.enqueue(path, now))
}

/// Leaves the FIFO (timeout, abort).
#[wasm_bindgen(js_name = lockCancel)]
pub fn lock_cancel(path: &str, ticket: u32) {
    with_table(|t| t.cancel(path, ticket))
}

/// One attempt for `ticket` (0: join the queue now).
fn attempt(path: &str, ticket: u32, opts: &LockOptions) -> Result<JsValue, JsValue> {
    let now = NodeFs.monotonic_ms();
    let (ticket, mut seen) = match with_table(|t| t.admit(path, ticket, now)) {
        Ok(v) => v,
        Err(busy) => return Ok(attempt_value(busy)),
    };
    let outcome = lock::try_acquire(&NodeFs, &me(), path, opts, &mut seen);
    with_table(|t| t.settle(path, ticket, seen, outcome)).map(attempt_value).map_err(|e| to_js(&e))
}

fn released_already() -> JsValue {
    to_js(&Error::custom("EINVAL", "unlink", None, "this lock was already released".to_string()))
}

fn release(id: u32) -> Result<(), JsValue> {
    let h = with_table(|t| t.take(id)).ok_or_else(released_already)?;
    let path = h.path.clone();
    let r = lock::release(&NodeFs, h);
    with_table(|t| t.released(&path));
    r.map_err(|e| to_js(&e))
}

fn check(path: &str, opts: &LockOptions) -> Result<JsValue, JsValue> {
    let mut seen = with_table(|t| t.take_seen(path));
    let status = lock::check(&NodeFs, &me(), path, opts, &mut seen);
    with_table(|t| t.put_seen(path, seen));
    let (state, holder) = match status.map_err(|e| to_js(&e))? {
        Status::Free => ("free", None),
        Status::Held(b) => ("held", Some(b.detail_json())),
        Status::Stale(b) => ("stale", Some(b.detail_json())),
    };
    Ok(object(&[("state", Some(JsValue::from_str(state))), ("holder", holder.map(JsValue::from))]))
}

/// One non-blocking attempt on the calling thread (`ticket` 0 joins the queue).
#[wasm_bindgen(js_name = lockTryAcquireSync, unchecked_return_type = "LockAttempt")]
pub fn lock_try_acquire_sync(path: &str, ticket: u32, opts: &LockOpts) -> Result<JsValue, JsValue> {
    attempt(path, ticket, &options(opts))
}

/// One non-blocking attempt, in a later macrotask (it never waits: the caller's timers do).
#[wasm_bindgen(js_name = lockTryAcquire, unchecked_return_type = "Promise<LockAttempt>")]
pub fn lock_try_acquire(path: String, ticket: u32, opts: &LockOpts) -> Promise {
    let opts = options(opts);
    defer::spawn(move || attempt(&path, ticket, &opts))
}

/// Releases a held lock: `ECOMPROMISED` if it was taken away (nothing is removed then).
#[wasm_bindgen(js_name = lockReleaseSync)]
pub fn lock_release_sync(id: u32) -> Result<(), JsValue> {
    release(id)
}

/// [`lock_release_sync`] in a later macrotask.
#[wasm_bindgen(js_name = lockRelease, unchecked_return_type = "Promise<void>")]
pub fn lock_release(id: u32) -> Promise {
    defer::spawn(move || release(id).map(|()| JsValue::UNDEFINED))
}

/// Throws `ECOMPROMISED` unless the lock file still is the one we hold.
#[wasm_bindgen(js_name = lockVerifySync)]
pub fn lock_verify_sync(id: u32) -> Result<(), JsValue> {
    with_table(|t| {
        let h = t.get(id).ok_or_else(released_already)?;
        lock::verify(&NodeFs, h).map_err(|e| to_js(&e))
    })
}

/// Who holds the lock at `path`, without taking or reaping it.
#[wasm_bindgen(js_name = lockCheckSync, unchecked_return_type = "LockStatus")]
pub fn lock_check_sync(path: &str, opts: &LockOpts) -> Result<JsValue, JsValue> {
    check(path, &options(opts))
}

/// [`lock_check_sync`] in a later macrotask.
#[wasm_bindgen(js_name = lockCheck, unchecked_return_type = "Promise<LockStatus>")]
pub fn lock_check(path: String, opts: &LockOpts) -> Promise {
    let opts = options(opts);
    defer::spawn(move || check(&path, &opts))
}

/// Removes staging files of `path` left by dead processes; returns how many.
#[wasm_bindgen(js_name = lockSweepSync)]
pub fn lock_sweep_sync(path: &str) -> Result<u32, JsValue> {
    lock::sweep_staging(&NodeFs, &me(), path).map(|n| n as u32).map_err(|e| to_js(&e))
}

/// Sleeps the calling thread (the sync API's backoff): `Atomics.wait`.
#[wasm_bindgen(js_name = sleepSync)]
pub fn sleep_sync(ms: u32) {
    NodeFs.sleep_ms(ms as u64);
}
