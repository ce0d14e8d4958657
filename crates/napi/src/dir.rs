//! `ensureDir` / `ensureDirSync`: the core's durable private-directory protocol.

use durable_fs_core::dir::ensure_dir;
use durable_fs_core::sys::OsFs;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::error::to_napi;

pub struct EnsureDirTask {
    path: String,
    mode: u32,
}

impl Task for EnsureDirTask {
    type Output = ();
    type JsValue = ();

    fn compute(&mut self) -> Result<()> {
        ensure_dir(&OsFs, &self.path, self.mode, true).map_err(to_napi)
    }

    fn resolve(&mut self, _env: Env, _output: ()) -> Result<()> {
        Ok(())
    }
}

/// Creates `path` (and missing parents) with `mode`, chmods it to exactly `mode`, fsyncs entries.
#[napi(js_name = "ensureDir", ts_return_type = "Promise<void>")]
pub fn ensure_dir_async(path: String, mode: u32) -> AsyncTask<EnsureDirTask> {
    AsyncTask::new(EnsureDirTask { path, mode })
}

/// The same, on the calling thread.
#[napi(js_name = "ensureDirSync")]
pub fn ensure_dir_sync(path: String, mode: u32) -> Result<()> {
    ensure_dir(&OsFs, &path, mode, true).map_err(to_napi)
}
