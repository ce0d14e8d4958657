//! The Node.js functions the wasm binding calls, imported through wasm-bindgen: Node's synchronous
//! `fs` calls, `os.hostname()`, `crypto.randomFillSync`, and the globals `process`,
//! `performance`, `setImmediate` and `Atomics`. Nothing here has logic; [`crate::fs`] maps each
//! core `Fs` method onto one of these calls.
//!
//! A `catch` import returns the thrown JS value as `Err`; Node's fs errors carry `code`, `errno`
//! and `syscall`, read through [`NodeError`].

use js_sys::{Array, Function, Object, Reflect};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "fs")]
extern "C" {
    #[wasm_bindgen(js_name = openSync, catch)]
    pub fn open_sync(path: &str, flags: i32, mode: u32) -> Result<i32, JsValue>;
    /// `writeSync(fd, view)`: the view is of wasm memory (no copy); returns the bytes written.
    #[wasm_bindgen(js_name = writeSync, catch)]
    pub fn write_sync(fd: i32, data: &[u8]) -> Result<f64, JsValue>;
    /// `readSync(fd, view, 0, view.length, position)` into wasm memory; returns the bytes read.
    #[wasm_bindgen(js_name = readSync, catch)]
    pub fn read_sync(fd: i32, buf: &mut [u8], offset: u32, length: u32, position: f64) -> Result<f64, JsValue>;
    #[wasm_bindgen(js_name = fchmodSync, catch)]
    pub fn fchmod_sync(fd: i32, mode: u32) -> Result<(), JsValue>;
    #[wasm_bindgen(js_name = fchownSync, catch)]
    pub fn fchown_sync(fd: i32, uid: u32, gid: u32) -> Result<(), JsValue>;
    #[wasm_bindgen(js_name = fsyncSync, catch)]
    pub fn fsync_sync(fd: i32) -> Result<(), JsValue>;
    #[wasm_bindgen(js_name = fdatasyncSync, catch)]
    pub fn fdatasync_sync(fd: i32) -> Result<(), JsValue>;
    #[wasm_bindgen(js_name = fstatSync, catch)]
    pub fn fstat_sync(fd: i32) -> Result<Stats, JsValue>;
    #[wasm_bindgen(js_name = fstatSync, catch)]
    pub fn fstat_sync_big(fd: i32, opts: &JsValue) -> Result<BigStats, JsValue>;
    #[wasm_bindgen(js_name = ftruncateSync, catch)]
    pub fn ftruncate_sync(fd: i32, len: f64) -> Result<(), JsValue>;
    #[wasm_bindgen(js_name = closeSync, catch)]
    pub fn close_sync(fd: i32) -> Result<(), JsValue>;
    #[wasm_bindgen(js_name = lstatSync, catch)]
    pub fn lstat_sync(path: &str) -> Result<Stats, JsValue>;
    #[wasm_bindgen(js_name = lstatSync, catch)]
    pub fn lstat_sync_big(path: &str, opts: &JsValue) -> Result<BigStats, JsValue>;
    #[wasm_bindgen(js_name = readlinkSync, catch)]
    pub fn readlink_sync(path: &str) -> Result<String, JsValue>;
    #[wasm_bindgen(js_name = renameSync, catch)]
    pub fn rename_sync(from: &str, to: &str) -> Result<(), JsValue>;
    #[wasm_bindgen(js_name = linkSync, catch)]
    pub fn link_sync(from: &str, to: &str) -> Result<(), JsValue>;
    #[wasm_bindgen(js_name = unlinkSync, catch)]
    pub fn unlink_sync(path: &str) -> Result<(), JsValue>;
    #[wasm_bindgen(js_name = mkdirSync, catch)]
    pub fn mkdir_sync(path: &str, mode: u32) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_name = readdirSync, catch)]
    pub fn readdir_sync(path: &str) -> Result<Array, JsValue>;
    /// `statfsSync(path)` (Node >= 18.15): the file system's `type` (Linux `f_type`).
    #[wasm_bindgen(js_name = statfsSync, catch)]
    pub fn statfs_sync(path: &str) -> Result<StatFs, JsValue>;
    /// `readFileSync(path, 'utf8')`, for `/proc` files.
    #[wasm_bindgen(js_name = readFileSync, catch)]
    pub fn read_file_string(path: &str, encoding: &str) -> Result<String, JsValue>;

    /// `fs.constants`: the numeric open flags of this platform.
    #[wasm_bindgen(thread_local_v2, js_name = constants)]
    pub static FS_CONSTANTS: Object;
}

#[wasm_bindgen(module = "os")]
extern "C" {
    pub fn hostname() -> String;
}

#[wasm_bindgen(module = "crypto")]
extern "C" {
    /// Fills the view of wasm memory with cryptographically strong random bytes.
    #[wasm_bindgen(js_name = randomFillSync)]
    pub fn random_fill_sync(buf: &mut [u8]);
}

#[wasm_bindgen]
extern "C" {
    /// `process.kill(pid, signal)`; throws `ESRCH` / `EPERM`.
    #[wasm_bindgen(js_namespace = process, js_name = kill, catch)]
    pub fn process_kill(pid: f64, signal: i32) -> Result<bool, JsValue>;
    /// `process.geteuid()`; throws where it does not exist (Windows).
    #[wasm_bindgen(js_namespace = process, js_name = geteuid, catch)]
    pub fn process_geteuid() -> Result<f64, JsValue>;
    #[wasm_bindgen(thread_local_v2, js_name = process)]
    pub static PROCESS: Object;
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    pub fn performance_now() -> f64;
    #[wasm_bindgen(js_name = setImmediate)]
    pub fn set_immediate(f: &Function) -> JsValue;

    /// A `fs.StatFs`.
    pub type StatFs;
    #[wasm_bindgen(method, getter, js_name = type)]
    pub fn fs_type(this: &StatFs) -> f64;

    /// A `fs.Stats` of numbers (cheap; exact while `dev` and `ino` stay below 2^53).
    pub type Stats;
    #[wasm_bindgen(method, getter)]
    pub fn mode(this: &Stats) -> f64;
    #[wasm_bindgen(method, getter)]
    pub fn uid(this: &Stats) -> f64;
    #[wasm_bindgen(method, getter)]
    pub fn gid(this: &Stats) -> f64;
    #[wasm_bindgen(method, getter)]
    pub fn dev(this: &Stats) -> f64;
    #[wasm_bindgen(method, getter)]
    pub fn ino(this: &Stats) -> f64;
    #[wasm_bindgen(method, getter)]
    pub fn size(this: &Stats) -> f64;
    #[wasm_bindgen(method, getter, js_name = mtimeMs)]
    pub fn mtime_ms(this: &Stats) -> f64;

    /// A `fs.Stats` obtained with `{ bigint: true }`: every field keeps its 64 bits.
    pub type BigStats;
    #[wasm_bindgen(method, getter, js_name = mode)]
    pub fn mode(this: &BigStats) -> u64;
    #[wasm_bindgen(method, getter, js_name = uid)]
    pub fn uid(this: &BigStats) -> u64;
    #[wasm_bindgen(method, getter, js_name = gid)]
    pub fn gid(this: &BigStats) -> u64;
    #[wasm_bindgen(method, getter, js_name = dev)]
    pub fn dev(this: &BigStats) -> u64;
    #[wasm_bindgen(method, getter, js_name = ino)]
    pub fn ino(this: &BigStats) -> u64;
    #[wasm_bindgen(method, getter, js_name = size)]
    pub fn size(this: &BigStats) -> u64;
    #[wasm_bindgen(method, getter, js_name = mtimeMs)]
    pub fn mtime_ms(this: &BigStats) -> i64;

    /// What Node's fs calls throw: an `Error` with `code`, `errno` and `syscall`.
    pub type NodeError;
    #[wasm_bindgen(method, getter, structural)]
    pub fn code(this: &NodeError) -> Option<String>;
    #[wasm_bindgen(method, getter, structural)]
    pub fn errno(this: &NodeError) -> Option<f64>;
    #[wasm_bindgen(method, getter, structural)]
    pub fn message(this: &NodeError) -> Option<String>;
}

/// A property of an object, or `undefined`.
pub fn get(obj: &JsValue, key: &str) -> JsValue {
    Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// A numeric constant of `fs.constants` (0 where the platform lacks it, e.g. `O_NOFOLLOW` on Windows).
pub fn fs_constant(name: &str) -> i32 {
    FS_CONSTANTS.with(|c| get(c, name).as_f64().map(|n| n as i32).unwrap_or(0))
}

/// `process.<key>`.
pub fn process_get(key: &str) -> JsValue {
    PROCESS.with(|p| get(p, key))
}

/// `process.geteuid()`, where it exists (not on Windows).
pub fn geteuid() -> Option<u32> {
    thread_local! {
        static HAS: bool = PROCESS.with(|p| get(p, "geteuid").is_function());
    }
    if !HAS.with(|h| *h) {
        return None;
    }
    process_geteuid().ok().map(|n| n as u32)
}

/// The `{ bigint: true }` options object for the stat calls.
pub fn bigint_opts() -> JsValue {
    thread_local! {
        static OPTS: JsValue = {
            let o = Object::new();
            let _ = Reflect::set(&o, &JsValue::from_str("bigint"), &JsValue::TRUE);
            o.into()
        };
    }
    OPTS.with(|o| o.clone())
}
