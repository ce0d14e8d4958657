//! `writeFiles` / `writeFilesSync` / `writeEach`: the napi binding's batch functions
//! (`crates/napi/src/batch.rs`), with the same signatures, on [`NodeFs`].
//!
//! - `writeFiles` is one caller's batch: the core's `atomic_write_many` runs as one job (one
//!   macrotask, see [`crate::defer`]), as the native addon runs it as one pool task.
//! - `writeEach` holds independent writes of different callers (`lib/pool.js` hands over writes
//!   that queued up). Running them as one job would block the event loop for all of them, so here
//!   each write is its own job, one per macrotask, and one last job fsyncs each directory once
//!   for all of them; each gets its own result, as on native.

use std::cell::RefCell;
use std::rc::Rc;

use durable_fs_core::batch::{atomic_write_many, Entry};
use durable_fs_core::write::{commit, prepare, sync_dir_shared, write_temp};
use durable_fs_core::{Error, WriteOptions};
use js_sys::{Array, Promise, Uint8Array};
use wasm_bindgen::prelude::*;

use crate::defer;
use crate::error::to_js;
use crate::fs::NodeFs;
use crate::write::{options, WriteOpts};

#[wasm_bindgen(typescript_custom_section)]
const BATCH_TYPES: &str = r#"
/** One file of a batch (validated by `lib/batch.js`). */
export interface FileEntry {
  path: string
  data: Uint8Array
  mode?: number
}
/** One independent write of `writeEach`. */
export interface EachWrite {
  path: string
  data: Uint8Array
  opts: WriteOpts
}
"#;

#[wasm_bindgen]
extern "C" {
    /// One file of a batch (validated by `lib/batch.js`).
    #[wasm_bindgen(typescript_type = "FileEntry")]
    pub type FileEntry;
    #[wasm_bindgen(method, getter, structural)]
    fn path(this: &FileEntry) -> String;
    #[wasm_bindgen(method, getter, structural)]
    fn data(this: &FileEntry) -> Uint8Array;
    #[wasm_bindgen(method, getter, structural)]
    fn mode(this: &FileEntry) -> Option<u32>;

    /// One independent write of `writeEach`.
    #[wasm_bindgen(typescript_type = "EachWrite")]
    pub type EachWrite;
    #[wasm_bindgen(method, getter, structural, js_name = path)]
    fn each_path(this: &EachWrite) -> String;
    #[wasm_bindgen(method, getter, structural, js_name = data)]
    fn each_data(this: &EachWrite) -> Uint8Array;
    #[wasm_bindgen(method, getter, structural, js_name = opts)]
    fn each_opts(this: &EachWrite) -> WriteOpts;
}

/// The entries with their bytes copied into wasm memory (taken at call time).
fn copy_entries(list: Vec<FileEntry>) -> Vec<(String, Vec<u8>, Option<u32>)> {
    list.iter().map(|e| (e.path(), e.data().to_vec(), e.mode())).collect()
}

fn run(entries: &[(String, Vec<u8>, Option<u32>)], opts: &WriteOptions) -> Result<(), JsValue> {
    let list: Vec<Entry<'_>> = entries.iter().map(|(path, data, mode)| Entry { path, data, mode: *mode }).collect();
    atomic_write_many(&NodeFs, &list, opts).map_err(|e| to_js(&e))
}

/// Writes every entry atomically and durably, as one job in a later macrotask; the bytes are
/// copied at call time.
#[wasm_bindgen(js_name = writeFiles, unchecked_return_type = "Promise<void>")]
pub fn write_files(#[wasm_bindgen(unchecked_param_type = "Array<FileEntry>")] entries: Vec<FileEntry>, opts: &WriteOpts) -> Promise {
    let list = copy_entries(entries);
    let opts = options(opts);
    defer::spawn(move || run(&list, &opts).map(|()| JsValue::UNDEFINED))
}

/// The same, on the calling thread.
#[wasm_bindgen(js_name = writeFilesSync)]
pub fn write_files_sync(
    #[wasm_bindgen(unchecked_param_type = "Array<FileEntry>")] entries: Vec<FileEntry>,
    opts: &WriteOpts,
) -> Result<(), JsValue> {
    run(&copy_entries(entries), &options(opts))
}

/// Independent atomic writes: each write's own steps (the core's `prepare`, `write_temp` with its
/// fsync, and the rename) run as one job, one job per macrotask; a last job fsyncs each directory
/// once for all of them (group commit, as `atomic_write_each` does in one native task). Every
/// result is known only after that last job: `null`, or the error as JSON (a failed directory
/// fsync fails every write renamed into that directory: replaced, not known to be durable).
#[wasm_bindgen(js_name = writeEach, unchecked_return_type = "Promise<Array<string | null>>")]
pub fn write_each(#[wasm_bindgen(unchecked_param_type = "Array<EachWrite>")] writes: Vec<EachWrite>) -> Promise {
    let state = Rc::new(RefCell::new(Vec::with_capacity(writes.len())));
    for w in &writes {
        let (path, data, opts) = (w.each_path(), w.each_data().to_vec(), options(&w.each_opts()));
        let state = state.clone();
        defer::run_later(move || {
            let r = write_one(&path, &data, &opts);
            state.borrow_mut().push(r);
        });
    }
    defer::spawn(move || {
        let mut results = std::mem::take(&mut *state.borrow_mut());
        let mut dirs: Vec<(String, Result<(), Error>)> = Vec::new();
        for r in results.iter_mut() {
            if let Ok(Some((dir, requested))) = r {
                let synced = match dirs.iter().find(|(d, _)| d == dir) {
                    Some((_, s)) => s.clone(),
                    None => {
                        let s = sync_dir_shared(&NodeFs, dir);
                        dirs.push((dir.clone(), s.clone()));
                        s
                    }
                };
                if let Err(e) = synced {
                    *r = Err(Error { path: Some(requested.clone()), dest: None, ..e });
                }
            }
        }
        let out = Array::new();
        for r in results {
            out.push(&match r {
                Ok(_) => JsValue::NULL,
                Err(e) => JsValue::from(e.to_json()),
            });
        }
        Ok(out.into())
    })
}

/// One write of `writeEach` up to its rename: `Some((dir, requested path))` when its directory
/// still needs an fsync, `None` when not (`fsync: false`).
fn write_one(path: &str, data: &[u8], opts: &WriteOptions) -> Result<Option<(String, String)>, Error> {
    let p = prepare(&NodeFs, path, opts)?;
    let tmp = write_temp(&NodeFs, &p, data, opts)?;
    commit(&NodeFs, &p, &tmp, &WriteOptions { fsync: false, ..opts.clone() })?;
    Ok(opts.fsync.then(|| (p.dir.clone(), p.requested.clone())))
}
