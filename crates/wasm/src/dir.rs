//! `ensureDir` / `ensureDirSync`: the core's durable private-directory protocol on Node's fs.

use durable_fs_core::dir::ensure_dir;
use js_sys::Promise;
use wasm_bindgen::prelude::*;

use crate::defer;
use crate::error::to_js;
use crate::fs::NodeFs;

/// Creates `path` (and missing parents) with `mode`, chmods it to exactly `mode`, fsyncs entries.
#[wasm_bindgen(js_name = ensureDir, unchecked_return_type = "Promise<void>")]
pub fn ensure_dir_async(path: String, mode: u32) -> Promise {
    defer::spawn(move || ensure_dir(&NodeFs, &path, mode, true).map(|()| JsValue::UNDEFINED).map_err(|e| to_js(&e)))
}

/// The same, on the calling thread.
#[wasm_bindgen(js_name = ensureDirSync)]
pub fn ensure_dir_sync(path: &str, mode: u32) -> Result<(), JsValue> {
    ensure_dir(&NodeFs, path, mode, true).map_err(|e| to_js(&e))
}
