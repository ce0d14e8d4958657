//! Async calls without a thread pool: each call becomes a job in one FIFO queue, and the queue is
//! drained ONE job per macrotask (`setImmediate`), so the event loop is never blocked for longer
//! than one job (one write of the caller's data), timers and I/O callbacks run between jobs, and
//! errors arrive as promise rejections, never as throws.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;

use js_sys::{Function, Promise};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

use crate::node;

type Job = Box<dyn FnOnce()>;

thread_local! {
    static QUEUE: RefCell<VecDeque<Job>> = const { RefCell::new(VecDeque::new()) };
    static SCHEDULED: Cell<bool> = const { Cell::new(false) };
    static TICK: Closure<dyn FnMut()> = Closure::new(run_one);
}

/// A promise settled by `run`, which runs in a later macrotask, after every job queued before it.
pub fn spawn(run: impl FnOnce() -> Result<JsValue, JsValue> + 'static) -> Promise {
    let mut settle = None;
    let promise = Promise::new(&mut |resolve, reject| settle = Some((resolve, reject)));
    let (resolve, reject): (Function, Function) = settle.expect("the Promise executor runs synchronously");
    run_later(move || {
        let _ = match run() {
            Ok(v) => resolve.call1(&JsValue::UNDEFINED, &v),
            Err(e) => reject.call1(&JsValue::UNDEFINED, &e),
        };
    });
    promise
}

/// Runs `job` in a later macrotask, after every job queued before it (no promise).
pub fn run_later(job: impl FnOnce() + 'static) {
    QUEUE.with(|q| q.borrow_mut().push_back(Box::new(job)));
    if !SCHEDULED.with(Cell::get) {
        schedule();
    }
}

fn schedule() {
    SCHEDULED.with(|s| s.set(true));
    TICK.with(|t| node::set_immediate(t.as_ref().unchecked_ref()));
}

fn run_one() {
    SCHEDULED.with(|s| s.set(false));
    let (job, more) = QUEUE.with(|q| {
        let mut q = q.borrow_mut();
        let job = q.pop_front();
        (job, !q.is_empty())
    });
    if more {
        schedule();
    }
    if let Some(job) = job {
        job();
    }
}
