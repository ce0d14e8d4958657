//! [`NodeFs`]: the core's `Fs` trait on Node's own `fs` module. Each method is one synchronous
//! Node call (itself one system call through libuv), so the protocols run here exactly as they do
//! natively; only the kernel lock is missing (Node has no `flock`), which the lock protocol reads
//! from [`Fs::kernel_locks`].

use std::cell::{OnceCell, RefCell};

use durable_fs_core::error::{errno_of, Error, Result};
use durable_fs_core::fs::{Fs, Kind, Liveness, Meta};
use durable_fs_core::procfs;
use js_sys::{Atomics, Int32Array, SharedArrayBuffer};
use wasm_bindgen::{JsCast, JsValue};

use crate::node;

/// Node's `fs`, `process` and `os`, as the core's file system.
#[derive(Debug, Default, Clone, Copy)]
pub struct NodeFs;

/// An open file descriptor; closed when dropped (like `std::fs::File`) unless [`Fs::close`] took it.
#[derive(Debug)]
pub struct NodeFile {
    fd: i32,
}

impl Drop for NodeFile {
    fn drop(&mut self) {
        if self.fd >= 0 {
            let _ = node::close_sync(self.fd);
        }
    }
}

/// Facts about the platform read once: open flags, separator rules.
struct Platform {
    windows: bool,
    linux: bool,
    create_excl: i32,
    read: i32,
    append: i32,
    creat: i32,
    dir: i32,
}

fn platform() -> &'static Platform {
    thread_local! {
        static P: OnceCell<&'static Platform> = const { OnceCell::new() };
    }
    P.with(|p| {
        *p.get_or_init(|| {
            let c = node::fs_constant;
            let os = node::process_get("platform").as_string().unwrap_or_default();
            let nofollow = c("O_NOFOLLOW");
            Box::leak(Box::new(Platform {
                windows: os == "win32",
                linux: os == "linux",
                create_excl: c("O_WRONLY") | c("O_CREAT") | c("O_EXCL") | nofollow,
                read: c("O_RDONLY") | nofollow,
                append: c("O_RDWR") | c("O_APPEND"),
                creat: c("O_CREAT"),
                dir: c("O_RDONLY") | c("O_DIRECTORY"),
            }))
        })
    })
}

/// Converts what a Node call threw into the core's error: the same `code` Node gives, the
/// platform's positive errno (on Windows, where Node reports libuv's numbers, the number the
/// native Windows backend reports for that code), and our `syscall` name and path.
pub fn js_err(e: JsValue, syscall: &'static str, path: Option<&str>) -> Error {
    let ne: &node::NodeError = e.unchecked_ref();
    let is_obj = e.is_object();
    let code = if is_obj { ne.code() } else { None };
    let code = code.filter(|c| c.starts_with('E')).unwrap_or_else(|| "EUNKNOWN".to_string());
    let errno = match (is_obj && !platform().windows).then(|| ne.errno()).flatten() {
        Some(n) if n != 0.0 => n.abs() as i32,
        _ => errno_of(&code),
    };
    let mut err = Error::os(&code, errno, syscall, path.map(str::to_string));
    if code == "EUNKNOWN" {
        let msg = if is_obj { ne.message() } else { e.as_string() };
        err.detail = msg.or_else(|| Some(format!("{e:?}")));
    }
    err
}

fn kind_of(mode: u32) -> Kind {
    match mode & 0o170000 {
        0o100000 => Kind::File,
        0o040000 => Kind::Dir,
        0o120000 => Kind::Symlink,
        _ => Kind::Other,
    }
}

/// Below this, a `dev` or `ino` read as a JS number is exact (the lock's identity check needs
/// every bit; some file systems, e.g. overlayfs with `xino`, set the high bits).
const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53

/// The metadata from a number `Stats`, or `None` when `dev`/`ino` may have lost bits (the caller
/// then asks again with `{ bigint: true }`).
fn meta_of(s: &node::Stats) -> Option<Meta> {
    let (dev, ino) = (s.dev(), s.ino());
    if dev >= EXACT || ino >= EXACT {
        return None;
    }
    let mode = s.mode() as u32;
    Some(Meta {
        kind: kind_of(mode),
        mode: mode & 0o7777,
        uid: s.uid() as u32,
        gid: s.gid() as u32,
        dev: dev as u64,
        ino: ino as u64,
        size: s.size() as u64,
        mtime_ms: s.mtime_ms().max(0.0) as u64,
    })
}

fn big_meta_of(s: &node::BigStats) -> Meta {
    let mode = s.mode() as u32;
    Meta {
        kind: kind_of(mode),
        mode: mode & 0o7777,
        uid: s.uid() as u32,
        gid: s.gid() as u32,
        dev: s.dev(),
        ino: s.ino(),
        size: s.size(),
        mtime_ms: s.mtime_ms().max(0) as u64,
    }
}

impl NodeFs {
    fn open(&self, path: &str, flags: i32, mode: u32) -> Result<NodeFile> {
        node::open_sync(path, flags, mode).map(|fd| NodeFile { fd }).map_err(|e| js_err(e, "open", Some(path)))
    }
}

impl Fs for NodeFs {
    type File = NodeFile;

    fn create_excl(&self, path: &str, mode: u32) -> Result<NodeFile> {
        self.open(path, platform().create_excl, mode)
    }

    fn open_read(&self, path: &str) -> Result<NodeFile> {
        self.open(path, platform().read, 0)
    }

    fn open_append(&self, path: &str, mode: u32, create: bool) -> Result<NodeFile> {
        let p = platform();
        self.open(path, p.append | if create { p.creat } else { 0 }, mode)
    }

    fn write_all(&self, file: &NodeFile, data: &[u8]) -> Result<()> {
        let mut done = 0;
        while done < data.len() {
            match node::write_sync(file.fd, &data[done..]) {
                Ok(n) if n > 0.0 => done += n as usize,
                Ok(_) => return Err(Error::os("EIO", errno_of("EIO"), "write", None).with_detail("write returned 0")),
                Err(e) => {
                    let e = js_err(e, "write", None);
                    if !e.is("EINTR") && !e.is("EAGAIN") {
                        return Err(e);
                    }
                }
            }
        }
        Ok(())
    }

    fn read_all(&self, file: &NodeFile) -> Result<Vec<u8>> {
        const CHUNK: usize = 64 * 1024;
        let mut buf = Vec::new();
        loop {
            let len = buf.len();
            buf.resize(len + CHUNK, 0);
            match node::read_sync(file.fd, &mut buf[len..], 0, CHUNK as u32, len as f64) {
                Ok(n) => {
                    buf.truncate(len + n as usize);
                    if n == 0.0 {
                        return Ok(buf);
                    }
                }
                Err(e) => {
                    buf.truncate(len);
                    let e = js_err(e, "read", None);
                    if !e.is("EINTR") {
                        return Err(e);
                    }
                }
            }
        }
    }

    fn fchmod(&self, file: &NodeFile, mode: u32) -> Result<()> {
        node::fchmod_sync(file.fd, mode).map_err(|e| js_err(e, "fchmod", None))
    }

    fn fchown(&self, file: &NodeFile, uid: u32, gid: u32) -> Result<()> {
        node::fchown_sync(file.fd, uid, gid).map_err(|e| js_err(e, "fchown", None))
    }

    fn fsync(&self, file: &NodeFile) -> Result<()> {
        node::fsync_sync(file.fd).map_err(|e| js_err(e, "fsync", None))
    }

    fn fdatasync(&self, file: &NodeFile) -> Result<()> {
        node::fdatasync_sync(file.fd).map_err(|e| js_err(e, "fdatasync", None))
    }

    fn fstat(&self, file: &NodeFile) -> Result<Meta> {
        let e = |e| js_err(e, "fstat", None);
        match meta_of(&node::fstat_sync(file.fd).map_err(e)?) {
            Some(m) => Ok(m),
            None => node::fstat_sync_big(file.fd, &node::bigint_opts()).map(|s| big_meta_of(&s)).map_err(e),
        }
    }

    fn ftruncate(&self, file: &NodeFile, len: u64) -> Result<()> {
        node::ftruncate_sync(file.fd, len as f64).map_err(|e| js_err(e, "ftruncate", None))
    }

    /// Node exposes no `flock`: always `ENOTSUP` (see [`Fs::kernel_locks`]).
    fn try_lock(&self, _file: &NodeFile) -> Result<bool> {
        Err(Error::custom("ENOTSUP", "flock", None, "Node's fs has no kernel file locks (WebAssembly backend)".to_string()))
    }

    fn close(&self, mut file: NodeFile) -> Result<()> {
        let fd = std::mem::replace(&mut file.fd, -1);
        node::close_sync(fd).map_err(|e| js_err(e, "close", None))
    }

    fn lstat(&self, path: &str) -> Result<Meta> {
        // A second call only when the first could not be exact; its snapshot is used whole.
        let e = |e| js_err(e, "lstat", Some(path));
        match meta_of(&node::lstat_sync(path).map_err(e)?) {
            Some(m) => Ok(m),
            None => node::lstat_sync_big(path, &node::bigint_opts()).map(|s| big_meta_of(&s)).map_err(e),
        }
    }

    fn readlink(&self, path: &str) -> Result<String> {
        node::readlink_sync(path).map_err(|e| js_err(e, "readlink", Some(path)))
    }

    fn rename(&self, from: &str, to: &str) -> Result<()> {
        node::rename_sync(from, to).map_err(|e| js_err(e, "rename", Some(from)).with_dest(to))
    }

    fn link(&self, from: &str, to: &str) -> Result<()> {
        node::link_sync(from, to).map_err(|e| js_err(e, "link", Some(from)).with_dest(to))
    }

    fn unlink(&self, path: &str) -> Result<()> {
        node::unlink_sync(path).map_err(|e| js_err(e, "unlink", Some(path)))
    }

    fn mkdir(&self, path: &str, mode: u32) -> Result<()> {
        node::mkdir_sync(path, mode).map(|_| ()).map_err(|e| js_err(e, "mkdir", Some(path)))
    }

    fn fsync_dir(&self, path: &str) -> Result<()> {
        if platform().windows {
            return Ok(());
        }
        let d = self.open(path, platform().dir, 0)?;
        let r = node::fsync_sync(d.fd).map_err(|e| js_err(e, "fsync", Some(path)));
        drop(d);
        r
    }

    fn read_dir(&self, path: &str) -> Result<Vec<String>> {
        let names = node::readdir_sync(path).map_err(|e| js_err(e, "scandir", Some(path)))?;
        Ok(names.iter().filter_map(|n| n.as_string()).collect())
    }

    /// From a pool of `crypto.randomFillSync` bytes refilled 32 values at a time (one Node call
    /// costs about a microsecond, as much as the rest of a small write's CPU work).
    fn random(&self) -> u64 {
        thread_local! {
            static POOL: RefCell<([u8; 256], usize)> = const { RefCell::new(([0; 256], 256)) };
        }
        POOL.with(|p| {
            let (buf, used) = &mut *p.borrow_mut();
            if *used + 8 > buf.len() {
                node::random_fill_sync(buf);
                *used = 0;
            }
            let v = u64::from_le_bytes(buf[*used..*used + 8].try_into().expect("8 bytes"));
            *used += 8;
            v
        })
    }

    fn pid(&self) -> u32 {
        thread_local! {
            static PID: u32 = node::process_get("pid").as_f64().unwrap_or(0.0) as u32;
        }
        PID.with(|p| *p)
    }

    fn euid(&self) -> Option<u32> {
        node::geteuid()
    }

    fn hostname(&self) -> String {
        node::hostname()
    }

    fn boot_id(&self) -> Option<String> {
        if !platform().linux {
            return None;
        }
        procfs::boot_id(&node::read_file_string("/proc/sys/kernel/random/boot_id", "utf8").ok()?)
    }

    fn process_start(&self, pid: u32) -> Option<u64> {
        if !platform().linux {
            return None;
        }
        procfs::stat_start_time(&node::read_file_string(&format!("/proc/{pid}/stat"), "utf8").ok()?)
    }

    fn process_alive(&self, pid: u32) -> Liveness {
        if pid == 0 || pid > i32::MAX as u32 {
            return Liveness::Dead;
        }
        match node::process_kill(pid as f64, 0) {
            Ok(_) => Liveness::Alive,
            Err(e) => match js_err(e, "kill", None).code.as_str() {
                "ESRCH" => Liveness::Dead,
                "EPERM" => Liveness::Alive,
                _ => Liveness::Unknown,
            },
        }
    }

    fn monotonic_ms(&self) -> u64 {
        node::performance_now() as u64
    }

    fn wall_ms(&self) -> u64 {
        js_sys::Date::now() as u64
    }

    /// Blocks the thread with `Atomics.wait` on a private `SharedArrayBuffer` that nobody notifies.
    fn sleep_ms(&self, ms: u64) {
        thread_local! {
            static CELL: Int32Array = Int32Array::new(&SharedArrayBuffer::new(4));
        }
        CELL.with(|c| {
            let _ = Atomics::wait_with_timeout(c, 0, 0, ms as f64);
        });
    }

    fn kernel_locks(&self) -> bool {
        false
    }

    fn network_fs(&self, dir: &str) -> bool {
        let p = platform();
        if p.windows {
            return durable_fs_core::netfs::is_unc_path(dir);
        }
        // Node's `type` is Linux's f_type; elsewhere the numbers carry no file system name.
        p.linux
            && node::statfs_sync(if dir.is_empty() { "." } else { dir })
                .is_ok_and(|s| durable_fs_core::netfs::is_network_magic(s.fs_type() as i64 as u64))
    }

    fn windows(&self) -> bool {
        platform().windows
    }
}
