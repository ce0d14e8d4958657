//! `writeFiles` / `writeFilesSync`: many atomic writes in one call (one libuv-pool task for the
//! async form), one directory fsync per directory. See `durable_fs_core::batch`.

use durable_fs_core::batch::{atomic_write_many, Entry};
use durable_fs_core::sys::OsFs;
use durable_fs_core::WriteOptions;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::error::to_napi;
use crate::write::{options, WriteOpts};

/// One file of a batch (validated by `lib/batch.js`).
#[napi(object)]
pub struct FileEntry {
    pub path: String,
    pub data: Uint8Array,
    pub mode: Option<u32>,
}

fn run(entries: &[FileEntry], opts: &WriteOptions) -> Result<()> {
    let list: Vec<Entry<'_>> = entries.iter().map(|e| Entry { path: &e.path, data: &e.data, mode: e.mode }).collect();
    atomic_write_many(&OsFs, &list, opts).map_err(to_napi)
}

pub struct WriteFilesTask {
    entries: Vec<FileEntry>,
    opts: WriteOptions,
}

impl Task for WriteFilesTask {
    type Output = ();
    type JsValue = ();

    fn compute(&mut self) -> Result<()> {
        run(&self.entries, &self.opts)
    }

    fn resolve(&mut self, _env: Env, _output: ()) -> Result<()> {
        Ok(())
    }
}

/// Writes every entry atomically and durably as one task on the libuv pool; the bytes are read
/// from the callers' buffers without a copy.
#[napi(js_name = "writeFiles", ts_return_type = "Promise<void>")]
pub fn write_files(entries: Vec<FileEntry>, opts: WriteOpts) -> AsyncTask<WriteFilesTask> {
    AsyncTask::new(WriteFilesTask { entries, opts: options(&opts) })
}

/// The same, on the calling thread.
#[napi(js_name = "writeFilesSync")]
pub fn write_files_sync(entries: Vec<FileEntry>, opts: WriteOpts) -> Result<()> {
    run(&entries, &options(&opts))
}
