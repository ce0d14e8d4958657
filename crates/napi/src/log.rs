//! The append-only log: one native call per batch (a task on the libuv pool), the batching and
//! retry policy in `lib/log.js`. A busy kernel lock is answered with `busy: true` instead of
//! blocking a pool thread; the sync variant waits on the calling thread.

use std::sync::{Arc, Mutex};

use durable_fs_core::log::{self as core, Appended, LogOptions, LogState, Torn};
use durable_fs_core::sys::OsFs;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::error::to_napi;

/// What one batch did.
#[napi(object)]
pub struct BatchResult {
    /// The lock was held by another appender: nothing was written, retry.
    pub busy: bool,
    /// A torn tail removed before the batch: its offset and length.
    pub recovered_offset: Option<f64>,
    pub recovered_bytes: Option<f64>,
    /// Offset just after the last record.
    pub end: f64,
    /// Records seen or written by this handle since its first scan.
    pub records: f64,
    /// Chain hash of the last record (hex), when it has one.
    pub head: Option<String>,
}

fn result(busy: bool, recovered: Option<Torn>, st: &LogState) -> BatchResult {
    BatchResult {
        busy,
        recovered_offset: recovered.as_ref().map(|t| t.offset as f64),
        recovered_bytes: recovered.as_ref().map(|t| t.bytes as f64),
        end: st.end as f64,
        records: st.records as f64,
        head: st.head.as_ref().map(|h| core::hex(h)),
    }
}

fn split<'a>(data: &'a [u8], lens: &[u32], kinds: &str) -> Result<Vec<(u8, &'a [u8])>> {
    if lens.len() != kinds.len() {
        return Err(Error::from_reason("lens and kinds differ in length"));
    }
    let mut out = Vec::with_capacity(lens.len());
    let mut at = 0usize;
    for (len, kind) in lens.iter().zip(kinds.bytes()) {
        let end = at + *len as usize;
        if end > data.len() {
            return Err(Error::from_reason("record lengths exceed the data"));
        }
        out.push((kind, &data[at..end]));
        at = end;
    }
    Ok(out)
}

/// A log opened by this process (no descriptor is kept between batches).
#[napi]
pub struct NativeLog {
    path: String,
    opts: LogOptions,
    state: Arc<Mutex<LogState>>,
}

pub struct BatchTask {
    path: String,
    opts: LogOptions,
    state: Arc<Mutex<LogState>>,
    data: Uint8Array,
    lens: Vec<u32>,
    kinds: String,
}

impl Task for BatchTask {
    type Output = BatchResult;
    type JsValue = BatchResult;

    fn compute(&mut self) -> Result<BatchResult> {
        let recs = split(&self.data, &self.lens, &self.kinds)?;
        let mut st = self.state.lock().map_err(|_| Error::from_reason("log state poisoned"))?;
        match core::append_batch(&OsFs, &self.path, &mut st, &recs, &self.opts).map_err(to_napi)? {
            Appended::Busy => Ok(result(true, None, &st)),
            Appended::Done { recovered } => Ok(result(false, recovered, &st)),
        }
    }

    fn resolve(&mut self, _env: Env, output: BatchResult) -> Result<BatchResult> {
        Ok(output)
    }
}

#[napi]
impl NativeLog {
    /// A handle on `path`; nothing is touched until the first batch (the open call sends an
    /// empty one, which creates the log and recovers a torn tail).
    #[napi(constructor)]
    pub fn new(path: String, mode: u32, mkdir: bool, durable: bool, chain: bool) -> Self {
        NativeLog { path, opts: LogOptions { mode, mkdir, create: true, durable, chain }, state: Arc::new(Mutex::new(LogState::default())) }
    }

    /// Appends one batch: `data` holds the payloads back to back, `lens` their lengths, `kinds`
    /// one letter each (`t`, `j`, `b`).
    #[napi(ts_return_type = "Promise<BatchResult>")]
    pub fn append(&self, data: Uint8Array, lens: Vec<u32>, kinds: String) -> AsyncTask<BatchTask> {
        AsyncTask::new(BatchTask { path: self.path.clone(), opts: self.opts.clone(), state: self.state.clone(), data, lens, kinds })
    }

    /// The same on the calling thread, waiting while another appender holds the lock.
    #[napi]
    pub fn append_sync(&self, data: Uint8Array, lens: Vec<u32>, kinds: String) -> Result<BatchResult> {
        let recs = split(&data, &lens, &kinds)?;
        let mut st = self.state.lock().map_err(|_| Error::from_reason("log state poisoned"))?;
        let recovered = core::append_batch_wait(&OsFs, &self.path, &mut st, &recs, &self.opts).map_err(to_napi)?;
        Ok(result(false, recovered, &st))
    }
}

/// A whole log, parsed: payloads are slices of `data`.
#[napi(object)]
pub struct LogContents {
    /// The whole file (a Buffer; typed as its Uint8Array base, as the wasm binding returns).
    pub data: Uint8Array,
    pub kinds: String,
    pub starts: Vec<f64>,
    pub lens: Vec<f64>,
    pub torn_offset: Option<f64>,
    pub torn_bytes: Option<f64>,
    /// Damage followed by valid records: index of the broken record, offset, length.
    pub corrupt_index: Option<f64>,
    pub corrupt_offset: Option<f64>,
    pub corrupt_bytes: Option<f64>,
    /// With `verify`: the first record where the chain breaks, and why.
    pub broken_index: Option<f64>,
    pub broken_reason: Option<String>,
    /// Chain hash of the last record (hex), when it has one.
    pub head: Option<String>,
}

fn read(path: &str, verify: bool) -> durable_fs_core::Result<LogContents> {
    let c = core::read_log(&OsFs, path)?;
    let brk = if verify { core::verify(&c.data, &c.scan) } else { None };
    let first_corrupt = c.scan.corrupt.first().cloned();
    let s = &c.scan;
    Ok(LogContents {
        kinds: s.frames.iter().map(|f| f.kind as char).collect(),
        starts: s.frames.iter().map(|f| f.payload_offset as f64).collect(),
        lens: s.frames.iter().map(|f| f.payload_len as f64).collect(),
        torn_offset: s.torn.as_ref().map(|t| t.offset as f64),
        torn_bytes: s.torn.as_ref().map(|t| t.bytes as f64),
        corrupt_index: first_corrupt.as_ref().map(|c| c.index as f64),
        corrupt_offset: first_corrupt.as_ref().map(|c| c.offset as f64),
        corrupt_bytes: first_corrupt.as_ref().map(|c| c.bytes as f64),
        broken_index: brk.as_ref().map(|b| b.index as f64),
        broken_reason: brk.map(|b| b.reason),
        head: s.frames.last().and_then(|f| f.hash).map(|h| core::hex(&h)),
        data: c.data.into(),
    })
}

pub struct ReadTask {
    path: String,
    verify: bool,
}

impl Task for ReadTask {
    type Output = LogContents;
    type JsValue = LogContents;

    fn compute(&mut self) -> Result<LogContents> {
        read(&self.path, self.verify).map_err(to_napi)
    }

    fn resolve(&mut self, _env: Env, output: LogContents) -> Result<LogContents> {
        Ok(output)
    }
}

/// Reads and parses a whole log; with `verify`, checks the hash chain.
#[napi(js_name = "readLog", ts_return_type = "Promise<LogContents>")]
pub fn read_log(path: String, verify: bool) -> AsyncTask<ReadTask> {
    AsyncTask::new(ReadTask { path, verify })
}

/// The same, on the calling thread.
#[napi(js_name = "readLogSync")]
pub fn read_log_sync(path: String, verify: bool) -> Result<LogContents> {
    read(&path, verify).map_err(to_napi)
}
