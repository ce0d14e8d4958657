//! `writeFile` / `writeFileSync`: the atomic write protocol, async as one libuv-pool task.

use durable_fs_core::sys::OsFs;
use durable_fs_core::{atomic_write, WriteOptions};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::error::to_napi;

/// Options after validation by `lib/args.js`.
#[napi(object)]
pub struct WriteOpts {
    pub mode: Option<u32>,
    pub fsync: Option<bool>,
    pub mkdir: Option<bool>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

pub(crate) fn options(o: &WriteOpts) -> WriteOptions {
    WriteOptions {
        mode: o.mode,
        chown: match (o.uid, o.gid) {
            (Some(u), Some(g)) => Some((u, g)),
            _ => None,
        },
        fsync: o.fsync.unwrap_or(true),
        mkdir: o.mkdir.unwrap_or(false),
    }
}

pub struct WriteTask {
    path: String,
    data: Uint8Array,
    opts: WriteOptions,
}

impl Task for WriteTask {
    type Output = ();
    type JsValue = ();

    fn compute(&mut self) -> Result<()> {
        atomic_write(&OsFs, &self.path, &self.data, &self.opts).map_err(to_napi)
    }

    fn resolve(&mut self, _env: Env, _output: ()) -> Result<()> {
        Ok(())
    }
}

/// Writes `data` to `path` atomically and durably, as one task on the libuv pool. The bytes are
/// read from the caller's buffer without a copy.
#[napi(js_name = "writeFile", ts_return_type = "Promise<void>")]
pub fn write_file(path: String, data: Uint8Array, opts: WriteOpts) -> AsyncTask<WriteTask> {
    AsyncTask::new(WriteTask { path, data, opts: options(&opts) })
}

/// The same, on the calling thread.
#[napi(js_name = "writeFileSync")]
pub fn write_file_sync(path: String, data: Uint8Array, opts: WriteOpts) -> Result<()> {
    atomic_write(&OsFs, &path, &data, &options(&opts)).map_err(to_napi)
}

/// Removes temp files older than `olderThanMs` that crashed writes left in `dir`.
#[napi(js_name = "sweepTempFilesSync")]
pub fn sweep_temp_files_sync(dir: String, older_than_ms: u32) -> Result<u32> {
    durable_fs_core::write::sweep_temp_files(&OsFs, &dir, older_than_ms as u64).map(|n| n as u32).map_err(to_napi)
}
