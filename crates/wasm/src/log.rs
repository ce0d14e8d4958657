//! The append-only log with the napi binding's shapes: a `NativeLog` class whose `append` runs one
//! batch (in a later macrotask, see [`crate::defer`]) and `appendSync`, and `readLog` (+Sync).
//! Node has no `flock`, so batches are not serialised across processes here (`O_APPEND` still
//! keeps each batch contiguous): see the core's `log` module.

use std::cell::RefCell;
use std::rc::Rc;

use durable_fs_core::log::{self as core, Appended, LogOptions, LogState, Torn};
use js_sys::{Array, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;

use crate::defer;
use crate::error::to_js;
use crate::fs::NodeFs;

#[wasm_bindgen(typescript_custom_section)]
const LOG_TYPES: &str = r#"
/** What one batch did. */
export interface BatchResult {
  busy: boolean
  recoveredOffset?: number
  recoveredBytes?: number
  end: number
  records: number
  head?: string
}
/** A whole log, parsed: payloads are slices of `data`. */
export interface LogContents {
  data: Uint8Array
  kinds: string
  starts: Array<number>
  lens: Array<number>
  tornOffset?: number
  tornBytes?: number
  corruptIndex?: number
  corruptOffset?: number
  corruptBytes?: number
  brokenIndex?: number
  brokenReason?: string
  head?: string
}
"#;

fn set(o: &Object, k: &str, v: JsValue) {
    let _ = Reflect::set(o, &k.into(), &v);
}

fn num(v: Option<u64>) -> JsValue {
    v.map(|n| JsValue::from_f64(n as f64)).unwrap_or(JsValue::UNDEFINED)
}

fn result(busy: bool, recovered: Option<Torn>, st: &LogState) -> JsValue {
    let o = Object::new();
    set(&o, "busy", busy.into());
    set(&o, "recoveredOffset", num(recovered.as_ref().map(|t| t.offset)));
    set(&o, "recoveredBytes", num(recovered.as_ref().map(|t| t.bytes)));
    set(&o, "end", JsValue::from_f64(st.end as f64));
    set(&o, "records", JsValue::from_f64(st.records as f64));
    set(&o, "head", st.head.as_ref().map(|h| JsValue::from_str(&core::hex(h))).unwrap_or(JsValue::UNDEFINED));
    o.into()
}

fn split(data: &[u8], lens: &[u32], kinds: &str) -> Result<Vec<(u8, Vec<u8>)>, JsValue> {
    if lens.len() != kinds.len() {
        return Err(js_sys::Error::new("lens and kinds differ in length").into());
    }
    let mut out = Vec::with_capacity(lens.len());
    let mut at = 0usize;
    for (len, kind) in lens.iter().zip(kinds.bytes()) {
        let end = at + *len as usize;
        if end > data.len() {
            return Err(js_sys::Error::new("record lengths exceed the data").into());
        }
        out.push((kind, data[at..end].to_vec()));
        at = end;
    }
    Ok(out)
}

fn batch(path: &str, st: &mut LogState, recs: &[(u8, Vec<u8>)], opts: &LogOptions, wait: bool) -> Result<JsValue, JsValue> {
    let refs: Vec<(u8, &[u8])> = recs.iter().map(|(k, p)| (*k, &p[..])).collect();
    if wait {
        let recovered = core::append_batch_wait(&NodeFs, path, st, &refs, opts).map_err(|e| to_js(&e))?;
        return Ok(result(false, recovered, st));
    }
    match core::append_batch(&NodeFs, path, st, &refs, opts).map_err(|e| to_js(&e))? {
        Appended::Busy => Ok(result(true, None, st)),
        Appended::Done { recovered } => Ok(result(false, recovered, st)),
    }
}

/// A log opened by this process (no descriptor is kept between batches).
#[wasm_bindgen]
pub struct NativeLog {
    path: String,
    opts: LogOptions,
    state: Rc<RefCell<LogState>>,
}

#[wasm_bindgen]
impl NativeLog {
    /// A handle on `path`; nothing is touched until the first batch.
    #[wasm_bindgen(constructor)]
    pub fn new(path: String, mode: u32, mkdir: bool, durable: bool, chain: bool) -> NativeLog {
        NativeLog {
            path,
            opts: LogOptions { mode, mkdir, create: true, durable, chain },
            state: Rc::new(RefCell::new(LogState::default())),
        }
    }

    /// Appends one batch: payloads back to back in `data`, their lengths, one kind letter each.
    #[wasm_bindgen(unchecked_return_type = "Promise<BatchResult>")]
    pub fn append(&self, #[wasm_bindgen(unchecked_param_type = "Uint8Array")] data: Vec<u8>, lens: Vec<u32>, kinds: String) -> Promise {
        let recs = split(&data, &lens, &kinds);
        let (path, opts, state) = (self.path.clone(), self.opts.clone(), self.state.clone());
        defer::spawn(move || batch(&path, &mut state.borrow_mut(), &recs?, &opts, false))
    }

    /// The same, on the calling thread.
    #[wasm_bindgen(js_name = appendSync, unchecked_return_type = "BatchResult")]
    pub fn append_sync(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] data: &[u8],
        lens: Vec<u32>,
        kinds: &str,
    ) -> Result<JsValue, JsValue> {
        let recs = split(data, &lens, kinds)?;
        batch(&self.path, &mut self.state.borrow_mut(), &recs, &self.opts, true)
    }
}

fn read(path: &str, verify: bool) -> Result<JsValue, JsValue> {
    let c = core::read_log(&NodeFs, path).map_err(|e| to_js(&e))?;
    let brk = if verify { core::verify(&c.data, &c.scan) } else { None };
    let s = &c.scan;
    let o = Object::new();
    let nums = |f: &dyn Fn(&core::Frame) -> u64| s.frames.iter().map(|fr| JsValue::from_f64(f(fr) as f64)).collect::<Array>();
    set(&o, "kinds", JsValue::from_str(&s.frames.iter().map(|f| f.kind as char).collect::<String>()));
    set(&o, "starts", nums(&|f| f.payload_offset).into());
    set(&o, "lens", nums(&|f| f.payload_len).into());
    set(&o, "tornOffset", num(s.torn.as_ref().map(|t| t.offset)));
    set(&o, "tornBytes", num(s.torn.as_ref().map(|t| t.bytes)));
    let first = s.corrupt.first();
    set(&o, "corruptIndex", num(first.map(|c| c.index)));
    set(&o, "corruptOffset", num(first.map(|c| c.offset)));
    set(&o, "corruptBytes", num(first.map(|c| c.bytes)));
    set(&o, "brokenIndex", num(brk.as_ref().map(|b| b.index)));
    set(&o, "brokenReason", brk.map(|b| JsValue::from_str(&b.reason)).unwrap_or(JsValue::UNDEFINED));
    set(&o, "head", s.frames.last().and_then(|f| f.hash).map(|h| JsValue::from_str(&core::hex(&h))).unwrap_or(JsValue::UNDEFINED));
    set(&o, "data", Uint8Array::from(&c.data[..]).into());
    Ok(o.into())
}

/// Reads and parses a whole log; with `verify`, checks the hash chain.
#[wasm_bindgen(js_name = readLog, unchecked_return_type = "Promise<LogContents>")]
pub fn read_log(path: String, verify: bool) -> Promise {
    defer::spawn(move || read(&path, verify))
}

/// The same, on the calling thread.
#[wasm_bindgen(js_name = readLogSync, unchecked_return_type = "LogContents")]
pub fn read_log_sync(path: &str, verify: bool) -> Result<JsValue, JsValue> {
    read(path, verify)
}
