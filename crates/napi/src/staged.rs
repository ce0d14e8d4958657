//! A write split in two around a caller's hook (write-file-atomic's `tmpfileCreated`):
//! `writeTemp` runs the core's `prepare` + `write_temp` (temp file created, written, mode and
//! owner set, fsynced, closed) and returns where it is; `commitTemp` runs `commit` (rename over
//! the target, directory fsync). Between the two the caller may run any code; to abort it simply
//! unlinks the temp file. Each half is one task on the libuv pool.

use durable_fs_core::sys::OsFs;
use durable_fs_core::write::{commit, prepare, write_temp, Prepared};
use durable_fs_core::WriteOptions;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::error::to_napi;
use crate::write::WriteOpts;

/// A temp file holding the new content, not yet renamed over the target.
#[napi(object)]
pub struct StagedWrite {
    /// The temp file (in the target's directory).
    pub tmp: String,
    /// The file the rename will replace (symlinks resolved).
    pub target: String,
    /// The directory fsynced after the rename.
    pub dir: String,
}

fn stage(path: &str, data: &[u8], opts: &WriteOptions) -> durable_fs_core::Result<StagedWrite> {
    let p = prepare(&OsFs, path, opts)?;
    let tmp = write_temp(&OsFs, &p, data, opts)?;
    Ok(StagedWrite { tmp, target: p.target, dir: p.dir })
}

fn finish(path: &str, s: &StagedWrite, fsync: bool) -> durable_fs_core::Result<()> {
    let p = Prepared {
        requested: path.to_string(),
        target: s.target.clone(),
        dir: s.dir.clone(),
        name: String::new(),
        existing: None,
        mode: None,
        owner: None,
    };
    commit(&OsFs, &p, &s.tmp, &WriteOptions { fsync, ..WriteOptions::default() })
}

pub struct StageTask {
    path: String,
    data: Uint8Array,
    opts: WriteOptions,
}

impl Task for StageTask {
    type Output = StagedWrite;
    type JsValue = StagedWrite;

    fn compute(&mut self) -> Result<StagedWrite> {
        stage(&self.path, &self.data, &self.opts).map_err(to_napi)
    }

    fn resolve(&mut self, _env: Env, output: StagedWrite) -> Result<StagedWrite> {
        Ok(output)
    }
}

/// First half: the temp file, complete and fsynced, beside the target.
#[napi(js_name = "writeTemp", ts_return_type = "Promise<StagedWrite>")]
pub fn write_temp_async(path: String, data: Uint8Array, opts: WriteOpts) -> AsyncTask<StageTask> {
    AsyncTask::new(StageTask { path, data, opts: crate::write::options(&opts) })
}

/// First half, on the calling thread.
#[napi(js_name = "writeTempSync")]
pub fn write_temp_sync(path: String, data: Uint8Array, opts: WriteOpts) -> Result<StagedWrite> {
    stage(&path, &data, &crate::write::options(&opts)).map_err(to_napi)
}

pub struct CommitTask {
    path: String,
    staged: StagedWrite,
    fsync: bool,
}

impl Task for CommitTask {
    type Output = ();
    type JsValue = ();

    fn compute(&mut self) -> Result<()> {
        finish(&self.path, &self.staged, self.fsync).map_err(to_napi)
    }

    fn resolve(&mut self, _env: Env, _output: ()) -> Result<()> {
        Ok(())
    }
}

/// Second half: rename the temp file over the target and fsync the directory (the temp file is
/// removed if the rename fails).
#[napi(js_name = "commitTemp", ts_return_type = "Promise<void>")]
pub fn commit_temp(path: String, staged: StagedWrite, fsync: bool) -> AsyncTask<CommitTask> {
    AsyncTask::new(CommitTask { path, staged, fsync })
}

/// Second half, on the calling thread.
#[napi(js_name = "commitTempSync")]
pub fn commit_temp_sync(path: String, staged: StagedWrite, fsync: bool) -> Result<()> {
    finish(&path, &staged, fsync).map_err(to_napi)
}
