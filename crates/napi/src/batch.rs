//! `writeFiles` / `writeFilesSync`: many atomic writes in one call (one libuv-pool task for the
//! async form), one directory fsync per directory. See `durable_fs_core::batch`.

use durable_fs_core::batch::{atomic_write_each, atomic_write_many, Entry};
use durable_fs_core::sys::OsFs;
use durable_fs_core::WriteOptions;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::error::{to_json, to_napi};
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

/// One independent write of `writeEach`.
#[napi(object)]
pub struct EachWrite {
    pub path: String,
    pub data: Uint8Array,
    pub opts: WriteOpts,
}

pub struct WriteEachTask {
    writes: Vec<(String, Uint8Array, WriteOptions)>,
}

impl Task for WriteEachTask {
    type Output = Vec<Option<String>>;
    type JsValue = Vec<Option<String>>;

    fn compute(&mut self) -> Result<Vec<Option<String>>> {
        let list: Vec<(&str, &[u8], WriteOptions)> = self.writes.iter().map(|(p, d, o)| (p.as_str(), &d[..], o.clone())).collect();
        Ok(atomic_write_each(&OsFs, &list).iter().map(|r| r.as_ref().err().map(to_json)).collect())
    }

    fn resolve(&mut self, _env: Env, output: Vec<Option<String>>) -> Result<Vec<Option<String>>> {
        Ok(output)
    }
}

/// Independent atomic writes as one task on the libuv pool (used by `lib/write.js` when writes
/// queue up behind busy pool threads): each its own result, `null` or the error as JSON, with the
/// directory fsyncs shared.
#[napi(js_name = "writeEach", ts_return_type = "Promise<Array<string | null>>")]
pub fn write_each(writes: Vec<EachWrite>) -> AsyncTask<WriteEachTask> {
    AsyncTask::new(WriteEachTask {
        writes: writes
            .into_iter()
            .map(|w| {
                let o = options(&w.opts);
                (w.path, w.data, o)
            })
            .collect(),
    })
}
