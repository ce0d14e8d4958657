//! `writeTemp` / `commitTemp` (+Sync): the atomic write split around a caller's hook
//! (write-file-atomic's `tmpfileCreated`), with the napi binding's signatures: the first half
//! returns `{ tmp, target, dir }`, the second takes that object back.

use durable_fs_core::write::{commit, prepare, write_temp, Prepared};
use durable_fs_core::WriteOptions;
use js_sys::{Object, Promise, Reflect};
use wasm_bindgen::prelude::*;

use crate::defer;
use crate::error::to_js;
use crate::fs::NodeFs;
use crate::write::{options, WriteOpts};

#[wasm_bindgen(typescript_custom_section)]
const STAGED_TYPES: &str = r#"
/** A temp file holding the new content, not yet renamed over the target. */
export interface StagedWrite {
  /** The temp file (in the target's directory). */
  tmp: string
  /** The file the rename will replace (symlinks resolved). */
  target: string
  /** The directory fsynced after the rename. */
  dir: string
}
"#;

fn staged_object(tmp: &str, target: &str, dir: &str) -> JsValue {
    let o = Object::new();
    let _ = Reflect::set(&o, &"tmp".into(), &tmp.into());
    let _ = Reflect::set(&o, &"target".into(), &target.into());
    let _ = Reflect::set(&o, &"dir".into(), &dir.into());
    o.into()
}

fn field(o: &JsValue, name: &str) -> Result<String, JsValue> {
    Reflect::get(o, &name.into())?.as_string().ok_or_else(|| js_sys::TypeError::new(&format!("staged.{name} must be a string")).into())
}

fn stage(path: &str, data: &[u8], opts: &WriteOptions) -> Result<JsValue, JsValue> {
    let p = prepare(&NodeFs, path, opts).map_err(|e| to_js(&e))?;
    let tmp = write_temp(&NodeFs, &p, data, opts).map_err(|e| to_js(&e))?;
    Ok(staged_object(&tmp, &p.target, &p.dir))
}

fn finish(path: &str, tmp: &str, target: String, dir: String, fsync: bool) -> Result<JsValue, JsValue> {
    let p = Prepared { requested: path.to_string(), target, dir, name: String::new(), existing: None, mode: None, owner: None };
    commit(&NodeFs, &p, tmp, &WriteOptions { fsync, ..WriteOptions::default() }).map(|()| JsValue::UNDEFINED).map_err(|e| to_js(&e))
}

/// First half: the temp file, complete and fsynced, beside the target.
#[wasm_bindgen(js_name = writeTemp, unchecked_return_type = "Promise<StagedWrite>")]
pub fn write_temp_async(path: String, #[wasm_bindgen(unchecked_param_type = "Uint8Array")] data: Vec<u8>, opts: &WriteOpts) -> Promise {
    let opts = options(opts);
    defer::spawn(move || stage(&path, &data, &opts))
}

/// First half, on the calling thread.
#[wasm_bindgen(js_name = writeTempSync, unchecked_return_type = "StagedWrite")]
pub fn write_temp_sync(
    path: &str,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] data: &[u8],
    opts: &WriteOpts,
) -> Result<JsValue, JsValue> {
    stage(path, data, &options(opts))
}

/// Second half: rename over the target, fsync the directory.
#[wasm_bindgen(js_name = commitTemp, unchecked_return_type = "Promise<void>")]
pub fn commit_temp(path: String, #[wasm_bindgen(unchecked_param_type = "StagedWrite")] staged: JsValue, fsync: bool) -> Promise {
    let parts = (|| Ok::<_, JsValue>((field(&staged, "tmp")?, field(&staged, "target")?, field(&staged, "dir")?)))();
    defer::spawn(move || {
        let (tmp, target, dir) = parts?;
        finish(&path, &tmp, target, dir, fsync)
    })
}

/// Second half, on the calling thread.
#[wasm_bindgen(js_name = commitTempSync)]
pub fn commit_temp_sync(
    path: &str,
    #[wasm_bindgen(unchecked_param_type = "StagedWrite")] staged: JsValue,
    fsync: bool,
) -> Result<(), JsValue> {
    finish(path, &field(&staged, "tmp")?, field(&staged, "target")?, field(&staged, "dir")?, fsync).map(|_| ())
}
