//! `writeFile` / `writeFileSync` / `sweepTempFilesSync`: the same functions, with the same
//! signatures, as the napi binding (`lib/native.d.ts`), running the core's atomic write protocol
//! on [`NodeFs`].
//!
//! `writeFile` copies the caller's bytes into wasm memory at call time and runs the protocol
//! synchronously in a later macrotask (see [`crate::defer`]): the event loop is blocked for one
//! write of the caller's data at a time, never longer.

use durable_fs_core::{atomic_write, write::sweep_temp_files, WriteOptions};
use js_sys::Promise;
use wasm_bindgen::prelude::*;

use crate::defer;
use crate::error::to_js;
use crate::fs::NodeFs;

#[wasm_bindgen(typescript_custom_section)]
const WRITE_OPTS: &str = r#"
/** Options after validation by `lib/args.js`. */
export interface WriteOpts {
  mode?: number
  fsync?: boolean
  mkdir?: boolean
  uid?: number
  gid?: number
}
"#;

#[wasm_bindgen]
extern "C" {
    /// Options after validation by `lib/args.js` (a plain object; absent fields are `undefined`).
    #[wasm_bindgen(typescript_type = "WriteOpts")]
    pub type WriteOpts;
    #[wasm_bindgen(method, getter, structural)]
    fn mode(this: &WriteOpts) -> Option<u32>;
    #[wasm_bindgen(method, getter, structural)]
    fn fsync(this: &WriteOpts) -> Option<bool>;
    #[wasm_bindgen(method, getter, structural)]
    fn mkdir(this: &WriteOpts) -> Option<bool>;
    #[wasm_bindgen(method, getter, structural)]
    fn uid(this: &WriteOpts) -> Option<u32>;
    #[wasm_bindgen(method, getter, structural)]
    fn gid(this: &WriteOpts) -> Option<u32>;
}

pub(crate) fn options(o: &WriteOpts) -> WriteOptions {
    WriteOptions {
        mode: o.mode(),
        chown: match (o.uid(), o.gid()) {
            (Some(u), Some(g)) => Some((u, g)),
            _ => None,
        },
        fsync: o.fsync().unwrap_or(true),
        mkdir: o.mkdir().unwrap_or(false),
    }
}

/// Writes `data` to `path` atomically and durably. The bytes are copied at call time; the
/// protocol runs in a later macrotask, one queued call per macrotask.
#[wasm_bindgen(js_name = writeFile, unchecked_return_type = "Promise<void>")]
pub fn write_file(path: String, #[wasm_bindgen(unchecked_param_type = "Uint8Array")] data: Vec<u8>, opts: &WriteOpts) -> Promise {
    let opts = options(opts);
    defer::spawn(move || atomic_write(&NodeFs, &path, &data, &opts).map(|()| JsValue::UNDEFINED).map_err(|e| to_js(&e)))
}

/// The same, on the calling thread.
#[wasm_bindgen(js_name = writeFileSync)]
pub fn write_file_sync(
    path: &str,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] data: &[u8],
    opts: &WriteOpts,
) -> Result<(), JsValue> {
    atomic_write(&NodeFs, path, data, &options(opts)).map_err(|e| to_js(&e))
}

/// Removes temp files older than `olderThanMs` that crashed writes left in `dir`.
#[wasm_bindgen(js_name = sweepTempFilesSync)]
pub fn sweep_temp_files_sync(dir: &str, #[wasm_bindgen(js_name = olderThanMs)] older_than_ms: u32) -> Result<u32, JsValue> {
    sweep_temp_files(&NodeFs, dir, older_than_ms as u64).map(|n| n as u32).map_err(|e| to_js(&e))
}
