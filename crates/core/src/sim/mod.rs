//! A simulated file system for testing the protocols (feature `sim`).
//!
//! [`SimFs`] implements [`Fs`] in memory and records two things while a protocol runs on it:
//! - the **op log** ([`Op`]): every change to the file system (creates, writes, mode changes,
//!   renames, links, unlinks) and every barrier (`fsync` of a file or a directory), in order;
//! - the **trace** ([`Call`]): the system calls as `strace` would show them (opens, writes, syncs,
//!   closes, renames, ...), so a simulated run can be compared call by call with the real addon.
//!
//! [`crash`] then enumerates every state a crash can leave from a base image and an op log, under a
//! pessimistic model, and checks invariants in each; [`fault`] wraps any [`Fs`] to fail, drop or
//! reorder chosen calls; [`replay`] turns a recorded system-call list (from `strace`) back into an
//! op log, so one checker serves both the simulated and the real binary.
//!
//! The model is deliberately small: absolute `/`-separated paths, no intermediate symlinks (a final
//! symlink is followed where the real call follows it), no permissions (failures come from
//! [`fault`]), one world shared by every process handle made with [`SimFs::process`].

pub mod crash;
pub mod fault;
pub mod replay;

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use crate::error::{errno_of, Error, Result};
use crate::fs::{path, Fs, Kind, Liveness, Meta};

/// One file, directory or symlink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inode {
    pub kind: Kind,
    pub data: Vec<u8>,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// Where a symlink points.
    pub link: String,
    pub mtime_ms: u64,
}

/// A file-system image: absolute path -> inode number, and the inodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub names: BTreeMap<String, u64>,
    pub inodes: BTreeMap<u64, Inode>,
}

impl Default for Image {
    fn default() -> Self {
        Self::new()
    }
}

impl Image {
    /// An image holding only the root directory.
    pub fn new() -> Self {
        let mut img = Image { names: BTreeMap::new(), inodes: BTreeMap::new() };
        img.inodes.insert(1, Inode::new(Kind::Dir, 0o755));
        img.names.insert("/".to_string(), 1);
        img
    }

    fn next_ino(&self) -> u64 {
        self.inodes.keys().next_back().copied().unwrap_or(1) + 1
    }

    fn add(&mut self, p: &str, node: Inode) -> &mut Self {
        let (dir, _) = path::split(p, false);
        if dir != p && !self.names.contains_key(dir) {
            self.add_dir(dir, 0o755);
        }
        let ino = self.next_ino();
        self.inodes.insert(ino, node);
        self.names.insert(p.to_string(), ino);
        self
    }

    /// Adds a directory (and its missing parents).
    pub fn add_dir(&mut self, p: &str, mode: u32) -> &mut Self {
        if self.names.contains_key(p) {
            return self;
        }
        self.add(p, Inode::new(Kind::Dir, mode))
    }

    /// Adds a regular file (and its missing parent directories).
    pub fn add_file(&mut self, p: &str, data: &[u8], mode: u32) -> &mut Self {
        self.add(p, Inode { data: data.to_vec(), ..Inode::new(Kind::File, mode) })
    }

    /// Adds a symlink.
    pub fn add_symlink(&mut self, p: &str, dest: &str) -> &mut Self {
        self.add(p, Inode { link: dest.to_string(), ..Inode::new(Kind::Symlink, 0o777) })
    }

    /// The inode a path names (no symlink followed).
    pub fn get(&self, p: &str) -> Option<&Inode> {
        self.names.get(p).and_then(|i| self.inodes.get(i))
    }

    /// The inode a path names after following final symlinks.
    pub fn resolve(&self, p: &str) -> Option<(String, &Inode)> {
        let mut cur = p.to_string();
        for _ in 0..40 {
            let node = self.get(&cur)?;
            if node.kind != Kind::Symlink {
                return Some((cur, node));
            }
            cur = if node.link.starts_with('/') { node.link.clone() } else { path::join(path::split(&cur, false).0, &node.link, false) };
        }
        None
    }

    /// The names directly inside `dir`.
    pub fn list(&self, dir: &str) -> Vec<String> {
        self.names
            .keys()
            .filter(|k| k.as_str() != "/" && path::split(k, false).0 == dir)
            .map(|k| path::split(k, false).1.to_string())
            .collect()
    }

    /// The temp files of the write protocol left in `dir`.
    pub fn temp_files(&self, dir: &str) -> Vec<String> {
        self.list(dir).into_iter().filter(|n| crate::write::is_temp_name(n)).collect()
    }

    /// Drops inodes no name refers to (a crash loses them; fsck would reclaim them).
    pub fn collect_garbage(&mut self) {
        let live: BTreeSet<u64> = self.names.values().copied().collect();
        self.inodes.retain(|i, _| live.contains(i));
    }

    /// A canonical text form, for deduplicating states and for messages.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        for (name, ino) in &self.names {
            if let Some(n) = self.inodes.get(ino) {
                let what = match n.kind {
                    Kind::Dir => "dir".to_string(),
                    Kind::Symlink => format!("-> {}", n.link),
                    _ => format!("{:?}", String::from_utf8_lossy(&n.data)),
                };
                out.push_str(&format!("{name} #{ino} {:o} {what}\n", n.mode));
            }
        }
        out
    }
}

impl Inode {
    fn new(kind: Kind, mode: u32) -> Self {
        Inode { kind, data: Vec::new(), mode, uid: 1000, gid: 1000, link: String::new(), mtime_ms: 0 }
    }
}

/// One change or barrier in the op log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// A new file named `path` (inode `ino`, created with `mode`).
    Create { path: String, ino: u64, mode: u32 },
    /// A new directory.
    Mkdir { path: String, ino: u64, mode: u32 },
    /// A new unnamed file (`O_TMPFILE`): an inode without a name until a [`Op::Link`] names it.
    CreateAnon { ino: u64, mode: u32 },
    /// Bytes written at an offset.
    Write { ino: u64, off: u64, data: Vec<u8> },
    /// A new length.
    Truncate { ino: u64, len: u64 },
    /// A new mode.
    Chmod { ino: u64, mode: u32 },
    /// A new owner.
    Chown { ino: u64, uid: u32, gid: u32 },
    /// `to` now names `ino`, `from` names nothing (one atomic step).
    Rename { from: String, to: String, ino: u64 },
    /// `to` now names `ino` too (`from` is empty for an unnamed file linked by descriptor).
    Link { from: String, to: String, ino: u64 },
    /// `path` (which named `ino`) is gone.
    Unlink { path: String, ino: u64 },
    /// `fsync` (or, with `data_only`, `fdatasync`) of an inode.
    Fsync { ino: u64, data_only: bool },
    /// `fsync` of a directory.
    FsyncDir { dir: String },
}

impl Op {
    /// The directories whose entries this op changes (empty for data and barrier ops).
    pub fn dirs(&self) -> Vec<String> {
        let parent = |p: &str| path::split(p, false).0.to_string();
        match self {
            Op::Create { path, .. } | Op::Mkdir { path, .. } | Op::Unlink { path, .. } => vec![parent(path)],
            Op::Link { from, to, .. } if from.is_empty() => vec![parent(to)],
            Op::Rename { from, to, .. } | Op::Link { from, to, .. } => {
                let (a, b) = (parent(from), parent(to));
                if a == b {
                    vec![a]
                } else {
                    vec![a, b]
                }
            }
            _ => vec![],
        }
    }
}

/// One system call as a trace shows it: the call and the path it was about (for calls on a file
/// descriptor, the path the descriptor was opened with).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub syscall: &'static str,
    pub path: String,
}

/// An open file of the simulator.
#[derive(Debug)]
pub struct SimFile {
    fd: u64,
}

#[derive(Debug, Clone)]
struct Open {
    pid: u32,
    ino: u64,
    path: String,
    pos: u64,
    append: bool,
    dir: bool,
}

/// The shared world: the live image, open files, kernel locks, the records.
#[derive(Debug)]
struct World {
    img: Image,
    log: Vec<Op>,
    trace: Vec<Call>,
    files: BTreeMap<u64, Open>,
    locks: BTreeMap<u64, u64>,
    next_fd: u64,
    next_ino: u64,
    clock: u64,
    rng: u64,
    umask: u32,
    euid: Option<u32>,
    boot: u64,
    /// Host name and boot id reported instead of the simulated ones (to judge records of a real run).
    identity: Option<(String, String)>,
    alive: BTreeSet<u32>,
    kernel_locks: bool,
    anon_files: bool,
    /// A network file system as an sshfs client shows it: `network_fs` says so, no unnamed files,
    /// and inode numbers are per path (the name a file was opened or stat'ed by), not per file.
    network: bool,
    /// What [`Fs::boot_time_ms`] reports (`None`, as on systems without `/proc/stat`, unless set).
    boot_time: Option<u64>,
}

/// The simulated file system (a handle on a shared world, as one process).
#[derive(Debug, Clone)]
pub struct SimFs {
    w: Rc<RefCell<World>>,
    pid: u32,
}

fn os_err(code: &str, syscall: &'static str, p: &str) -> Error {
    Error::os(code, errno_of(code), syscall, p.to_string())
}

fn fd_err(code: &str, syscall: &'static str) -> Error {
    Error::os(code, errno_of(code), syscall, None)
}

impl SimFs {
    /// A world starting from `img` (taken as durable), seen by process 100, umask 022, not root.
    pub fn new(img: Image) -> Self {
        let next_ino = img.next_ino();
        let world = World {
            img,
            log: Vec::new(),
            trace: Vec::new(),
            files: BTreeMap::new(),
            locks: BTreeMap::new(),
            next_fd: 3,
            next_ino,
            clock: 1_700_000_000_000,
            rng: 0x9e37_79b9_7f4a_7c15,
            umask: 0o022,
            euid: Some(1000),
            boot: 1,
            identity: None,
            alive: BTreeSet::from([100]),
            kernel_locks: true,
            anon_files: true,
            network: false,
            boot_time: None,
        };
        SimFs { w: Rc::new(RefCell::new(world)), pid: 100 }
    }

    /// The world after a power cut: `img` as the durable image, a new boot, a new process; every
    /// process of the old world is dead and no kernel lock is held.
    pub fn after_crash(img: Image, boot: u64) -> Self {
        let fs = SimFs::new(img);
        {
            let mut w = fs.w.borrow_mut();
            w.boot = boot;
            w.clock += 3_600_000;
            w.rng ^= boot.wrapping_mul(0x2545_f491_4f6c_dd1d);
            w.alive = BTreeSet::from([200]);
        }
        SimFs { pid: 200, ..fs }
    }

    /// Another process in the same world.
    pub fn process(&self, pid: u32) -> SimFs {
        self.w.borrow_mut().alive.insert(pid);
        SimFs { w: self.w.clone(), pid }
    }

    /// Kills this process (SIGKILL): its open files close, releasing its kernel locks, and its
    /// pid is dead. Its writes stay (they are in the page cache); a power cut is [`crash`]'s job.
    pub fn kill(&self) {
        let mut w = self.w.borrow_mut();
        let mine: Vec<u64> = w.files.iter().filter(|(_, o)| o.pid == self.pid).map(|(fd, _)| *fd).collect();
        for fd in mine {
            w.files.remove(&fd);
            w.locks.retain(|_, holder| *holder != fd);
        }
        w.alive.remove(&self.pid);
        let w = &mut *w;
        w.img.collect_garbage_open(&w.files);
    }

    /// How many files this process has open.
    pub fn open_files_of_process(&self) -> usize {
        self.w.borrow().files.values().filter(|o| o.pid == self.pid).count()
    }

    /// Sets the umask applied to created files and directories.
    pub fn set_umask(&self, umask: u32) {
        self.w.borrow_mut().umask = umask;
    }

    /// Sets the effective uid (`Some(0)`: root, which makes the write protocol keep owners).
    pub fn set_euid(&self, euid: Option<u32>) {
        self.w.borrow_mut().euid = euid;
    }

    /// Reports this host name and boot id (those of the machine a replayed trace was recorded
    /// on, so the records in it are judged as this host's).
    pub fn set_identity(&self, host: &str, boot_id: &str) {
        self.w.borrow_mut().identity = Some((host.to_string(), boot_id.to_string()));
    }

    /// Makes [`Fs::try_lock`] unavailable (the WebAssembly backend's situation).
    pub fn set_kernel_locks(&self, on: bool) {
        self.w.borrow_mut().kernel_locks = on;
    }

    /// Whether [`Fs::create_anon`] works (Linux `O_TMPFILE`; on by default).
    pub fn set_anon_files(&self, on: bool) {
        self.w.borrow_mut().anon_files = on;
    }

    /// Sets what [`Fs::boot_time_ms`] reports.
    pub fn set_boot_time_ms(&self, at: Option<u64>) {
        self.w.borrow_mut().boot_time = at;
    }

    /// Makes the world a network file system as an sshfs client sees it (see `World::network`).
    pub fn set_network(&self, on: bool) {
        let mut w = self.w.borrow_mut();
        w.network = on;
        if on {
            w.anon_files = false;
        }
    }

    /// Opens an unnamed file in `dir` (`open(dir, O_TMPFILE)`), for [`replay`].
    pub fn open_anon(&self, dir: &str, mode: u32) -> Result<SimFile> {
        self.call("open", dir);
        match self.w.borrow().img.get(dir) {
            Some(n) if n.kind == Kind::Dir => {}
            Some(_) => return Err(os_err("ENOTDIR", "open", dir)),
            None => return Err(os_err("ENOENT", "open", dir)),
        }
        let ino = self.new_inode(Kind::File, mode);
        let created = self.w.borrow().img.inodes[&ino].mode;
        self.push(Op::CreateAnon { ino, mode: created });
        Ok(self.new_fd(ino, &path::join(dir, "<anon>", false), false, false))
    }

    /// The live (volatile) image: what a process sees now.
    pub fn image(&self) -> Image {
        self.w.borrow().img.clone()
    }

    /// The op log so far.
    pub fn log(&self) -> Vec<Op> {
        self.w.borrow().log.clone()
    }

    /// The trace so far.
    pub fn trace(&self) -> Vec<Call> {
        self.w.borrow().trace.clone()
    }

    /// Clears the op log and trace, taking the live image as the new durable base (for a
    /// protocol run that starts after some set-up).
    pub fn checkpoint(&self) -> Image {
        let mut w = self.w.borrow_mut();
        w.log.clear();
        w.trace.clear();
        w.img.clone()
    }

    /// How many files are open (a protocol must not leak descriptors).
    pub fn open_files(&self) -> usize {
        self.w.borrow().files.len()
    }

    /// How many kernel locks are held.
    pub fn kernel_locks_held(&self) -> usize {
        self.w.borrow().locks.len()
    }

    fn call(&self, syscall: &'static str, p: &str) {
        self.w.borrow_mut().trace.push(Call { syscall, path: p.to_string() });
    }

    fn tick(&self) -> u64 {
        let mut w = self.w.borrow_mut();
        w.clock += 1;
        w.clock
    }

    fn open_of(&self, f: &SimFile, syscall: &'static str) -> Result<Open> {
        let w = self.w.borrow();
        let o = w.files.get(&f.fd).cloned().ok_or_else(|| fd_err("EBADF", syscall))?;
        if !w.img.inodes.contains_key(&o.ino) {
            return Err(fd_err("EBADF", syscall));
        }
        Ok(o)
    }

    fn check_parent(&self, p: &str, syscall: &'static str) -> Result<()> {
        let w = self.w.borrow();
        let (dir, _) = path::split(p, false);
        match w.img.get(dir) {
            Some(n) if n.kind == Kind::Dir => Ok(()),
            Some(_) => Err(os_err("ENOTDIR", syscall, p)),
            None => Err(os_err("ENOENT", syscall, p)),
        }
    }

    fn new_fd(&self, ino: u64, p: &str, append: bool, dir: bool) -> SimFile {
        let mut w = self.w.borrow_mut();
        let fd = w.next_fd;
        w.next_fd += 1;
        w.files.insert(fd, Open { pid: self.pid, ino, path: p.to_string(), pos: 0, append, dir });
        SimFile { fd }
    }

    fn new_inode(&self, kind: Kind, mode: u32) -> u64 {
        let now = self.tick();
        let mut w = self.w.borrow_mut();
        let ino = w.next_ino;
        w.next_ino += 1;
        let mode = mode & !w.umask & 0o7777;
        let uid = w.euid.unwrap_or(1000);
        w.img.inodes.insert(ino, Inode { mtime_ms: now, uid, gid: uid, ..Inode::new(kind, mode) });
        ino
    }

    fn push(&self, op: Op) {
        self.w.borrow_mut().log.push(op);
    }

    fn meta_of(ino: u64, n: &Inode) -> Meta {
        Meta { kind: n.kind, mode: n.mode, uid: n.uid, gid: n.gid, dev: 1, ino, size: n.data.len() as u64, mtime_ms: n.mtime_ms }
    }

    /// [`SimFs::meta_of`] as seen through the name `p`: on a network world the inode number is
    /// the name's (an sshfs node id), whatever file it names now.
    fn meta_named(w: &World, ino: u64, p: &str) -> Meta {
        let mut m = Self::meta_of(ino, &w.img.inodes[&ino]);
        if w.network {
            m.ino = p.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3));
        }
        m
    }

    /// Opens a directory (`open(dir, O_RDONLY|O_DIRECTORY)`), for [`replay`].
    pub fn open_dir(&self, p: &str) -> Result<SimFile> {
        self.call("open", p);
        let ino = {
            let w = self.w.borrow();
            match w.img.resolve(p) {
                Some((_, n)) if n.kind != Kind::Dir => return Err(os_err("ENOTDIR", "open", p)),
                Some((real, _)) => w.img.names[&real],
                None => return Err(os_err("ENOENT", "open", p)),
            }
        };
        Ok(self.new_fd(ino, p, false, true))
    }

    /// `fsync` on an open file or directory, recording the right barrier.
    pub fn fsync_fd(&self, f: &SimFile, data_only: bool) -> Result<()> {
        let syscall = if data_only { "fdatasync" } else { "fsync" };
        let o = self.open_of(f, syscall)?;
        self.call(syscall, &o.path);
        if o.dir {
            let real = {
                let w = self.w.borrow();
                w.img.names.iter().find(|(_, i)| **i == o.ino).map(|(n, _)| n.clone()).unwrap_or(o.path.clone())
            };
            self.push(Op::FsyncDir { dir: real });
        } else {
            self.push(Op::Fsync { ino: o.ino, data_only });
        }
        Ok(())
    }
}

impl Fs for SimFs {
    type File = SimFile;

    fn create_excl(&self, p: &str, mode: u32) -> Result<SimFile> {
        self.call("open", p);
        self.check_parent(p, "open")?;
        if self.w.borrow().img.names.contains_key(p) {
            return Err(os_err("EEXIST", "open", p));
        }
        let ino = self.new_inode(Kind::File, mode);
        let created = self.w.borrow().img.inodes[&ino].mode;
        self.w.borrow_mut().img.names.insert(p.to_string(), ino);
        self.push(Op::Create { path: p.to_string(), ino, mode: created });
        Ok(self.new_fd(ino, p, false, false))
    }

    fn open_read(&self, p: &str) -> Result<SimFile> {
        self.call("open", p);
        self.check_parent(p, "open")?;
        let ino = {
            let w = self.w.borrow();
            match w.img.get(p) {
                None => return Err(os_err("ENOENT", "open", p)),
                Some(n) if n.kind == Kind::Symlink => return Err(os_err("ELOOP", "open", p)),
                Some(_) => w.img.names[p],
            }
        };
        Ok(self.new_fd(ino, p, false, false))
    }

    fn open_append(&self, p: &str, mode: u32, create: bool) -> Result<SimFile> {
        self.call("open", p);
        let found = {
            let w = self.w.borrow();
            w.img.resolve(p).map(|(real, n)| (real.clone(), n.kind, w.img.names[&real]))
        };
        match found {
            Some((_, Kind::Dir, _)) => Err(os_err("EISDIR", "open", p)),
            Some((_, _, ino)) => Ok(self.new_fd(ino, p, true, false)),
            None if create => {
                self.check_parent(p, "open")?;
                let ino = self.new_inode(Kind::File, mode);
                let created = self.w.borrow().img.inodes[&ino].mode;
                self.w.borrow_mut().img.names.insert(p.to_string(), ino);
                self.push(Op::Create { path: p.to_string(), ino, mode: created });
                Ok(self.new_fd(ino, p, true, false))
            }
            None => Err(os_err("ENOENT", "open", p)),
        }
    }

    fn write_all(&self, f: &SimFile, data: &[u8]) -> Result<()> {
        let o = self.open_of(f, "write")?;
        self.call("write", &o.path);
        let now = self.tick();
        let mut w = self.w.borrow_mut();
        let node = w.img.inodes.get_mut(&o.ino).expect("open inode");
        let off = if o.append { node.data.len() as u64 } else { o.pos };
        let end = off as usize + data.len();
        if node.data.len() < end {
            node.data.resize(end, 0);
        }
        node.data[off as usize..end].copy_from_slice(data);
        node.mtime_ms = now;
        w.files.get_mut(&f.fd).expect("open file").pos = end as u64;
        w.log.push(Op::Write { ino: o.ino, off, data: data.to_vec() });
        Ok(())
    }

    fn read_all(&self, f: &SimFile) -> Result<Vec<u8>> {
        let o = self.open_of(f, "read")?;
        self.call("read", &o.path);
        Ok(self.w.borrow().img.inodes[&o.ino].data.clone())
    }

    fn fchmod(&self, f: &SimFile, mode: u32) -> Result<()> {
        let o = self.open_of(f, "fchmod")?;
        self.call("fchmod", &o.path);
        self.w.borrow_mut().img.inodes.get_mut(&o.ino).expect("open inode").mode = mode & 0o7777;
        self.push(Op::Chmod { ino: o.ino, mode: mode & 0o7777 });
        Ok(())
    }

    fn fchown(&self, f: &SimFile, uid: u32, gid: u32) -> Result<()> {
        let o = self.open_of(f, "fchown")?;
        self.call("fchown", &o.path);
        {
            let mut w = self.w.borrow_mut();
            let n = w.img.inodes.get_mut(&o.ino).expect("open inode");
            n.uid = uid;
            n.gid = gid;
        }
        self.push(Op::Chown { ino: o.ino, uid, gid });
        Ok(())
    }

    fn fsync(&self, f: &SimFile) -> Result<()> {
        self.fsync_fd(f, false)
    }

    fn fdatasync(&self, f: &SimFile) -> Result<()> {
        self.fsync_fd(f, true)
    }

    fn fstat(&self, f: &SimFile) -> Result<Meta> {
        let o = self.open_of(f, "fstat")?;
        let w = self.w.borrow();
        Ok(Self::meta_named(&w, o.ino, &o.path))
    }

    fn ftruncate(&self, f: &SimFile, len: u64) -> Result<()> {
        let o = self.open_of(f, "ftruncate")?;
        self.call("ftruncate", &o.path);
        self.w.borrow_mut().img.inodes.get_mut(&o.ino).expect("open inode").data.resize(len as usize, 0);
        self.push(Op::Truncate { ino: o.ino, len });
        Ok(())
    }

    fn try_lock(&self, f: &SimFile) -> Result<bool> {
        let o = self.open_of(f, "flock")?;
        self.call("flock", &o.path);
        let mut w = self.w.borrow_mut();
        if !w.kernel_locks {
            return Err(fd_err("ENOTSUP", "flock"));
        }
        match w.locks.get(&o.ino) {
            Some(holder) if *holder != f.fd => Ok(false),
            _ => {
                w.locks.insert(o.ino, f.fd);
                Ok(true)
            }
        }
    }

    fn close(&self, f: SimFile) -> Result<()> {
        let mut w = self.w.borrow_mut();
        let o = w.files.remove(&f.fd).ok_or_else(|| fd_err("EBADF", "close"))?;
        w.trace.push(Call { syscall: "close", path: o.path });
        if w.locks.get(&o.ino) == Some(&f.fd) {
            w.locks.remove(&o.ino);
        }
        Ok(())
    }

    fn lstat(&self, p: &str) -> Result<Meta> {
        self.check_parent(p, "lstat")?;
        let w = self.w.borrow();
        let ino = *w.img.names.get(p).ok_or_else(|| os_err("ENOENT", "lstat", p))?;
        Ok(Self::meta_named(&w, ino, p))
    }

    fn readlink(&self, p: &str) -> Result<String> {
        let w = self.w.borrow();
        match w.img.get(p) {
            Some(n) if n.kind == Kind::Symlink => Ok(n.link.clone()),
            Some(_) => Err(os_err("EINVAL", "readlink", p)),
            None => Err(os_err("ENOENT", "readlink", p)),
        }
    }

    fn rename(&self, from: &str, to: &str) -> Result<()> {
        self.call("rename", from);
        self.check_parent(to, "rename").map_err(|e| e.with_dest(to))?;
        let mut w = self.w.borrow_mut();
        let ino = *w.img.names.get(from).ok_or_else(|| os_err("ENOENT", "rename", from).with_dest(to))?;
        if let Some(old) = w.img.get(to) {
            if old.kind == Kind::Dir {
                return Err(os_err("EISDIR", "rename", from).with_dest(to));
            }
        }
        w.img.names.remove(from);
        w.img.names.insert(to.to_string(), ino);
        let w = &mut *w;
        w.img.collect_garbage_open(&w.files);
        w.log.push(Op::Rename { from: from.to_string(), to: to.to_string(), ino });
        Ok(())
    }

    fn link(&self, from: &str, to: &str) -> Result<()> {
        self.call("link", from);
        self.check_parent(to, "link").map_err(|e| e.with_dest(to))?;
        let mut w = self.w.borrow_mut();
        let ino = *w.img.names.get(from).ok_or_else(|| os_err("ENOENT", "link", from).with_dest(to))?;
        if w.img.names.contains_key(to) {
            return Err(os_err("EEXIST", "link", from).with_dest(to));
        }
        w.img.names.insert(to.to_string(), ino);
        w.log.push(Op::Link { from: from.to_string(), to: to.to_string(), ino });
        Ok(())
    }

    fn create_anon(&self, dir: &str, mode: u32) -> Result<Option<SimFile>> {
        if !self.w.borrow().anon_files {
            return Ok(None);
        }
        self.open_anon(dir, mode).map(Some)
    }

    fn link_file(&self, f: &SimFile, to: &str) -> Result<()> {
        let o = self.open_of(f, "link")?;
        self.call("link", &o.path);
        self.check_parent(to, "link").map_err(|e| e.with_dest(to))?;
        let mut w = self.w.borrow_mut();
        if w.img.names.contains_key(to) {
            return Err(os_err("EEXIST", "link", &o.path).with_dest(to));
        }
        w.img.names.insert(to.to_string(), o.ino);
        w.log.push(Op::Link { from: String::new(), to: to.to_string(), ino: o.ino });
        Ok(())
    }

    fn unlink(&self, p: &str) -> Result<()> {
        self.call("unlink", p);
        let mut w = self.w.borrow_mut();
        let ino = *w.img.names.get(p).ok_or_else(|| os_err("ENOENT", "unlink", p))?;
        if w.img.inodes[&ino].kind == Kind::Dir {
            return Err(os_err("EISDIR", "unlink", p));
        }
        w.img.names.remove(p);
        let w = &mut *w;
        w.img.collect_garbage_open(&w.files);
        w.log.push(Op::Unlink { path: p.to_string(), ino });
        Ok(())
    }

    fn mkdir(&self, p: &str, mode: u32) -> Result<()> {
        self.call("mkdir", p);
        self.check_parent(p, "mkdir")?;
        if self.w.borrow().img.names.contains_key(p) {
            return Err(os_err("EEXIST", "mkdir", p));
        }
        let ino = self.new_inode(Kind::Dir, mode);
        let created = self.w.borrow().img.inodes[&ino].mode;
        self.w.borrow_mut().img.names.insert(p.to_string(), ino);
        self.push(Op::Mkdir { path: p.to_string(), ino, mode: created });
        Ok(())
    }

    fn fsync_dir(&self, p: &str) -> Result<()> {
        let d = self.open_dir(p)?;
        let r = self.fsync_fd(&d, false);
        self.close(d)?;
        r
    }

    fn read_dir(&self, p: &str) -> Result<Vec<String>> {
        let w = self.w.borrow();
        match w.img.get(p) {
            Some(n) if n.kind == Kind::Dir => Ok(w.img.list(p)),
            Some(_) => Err(os_err("ENOTDIR", "scandir", p)),
            None => Err(os_err("ENOENT", "scandir", p)),
        }
    }

    fn random(&self) -> u64 {
        let mut w = self.w.borrow_mut();
        // xorshift64*: deterministic, so every run of a test explores the same states.
        let mut x = w.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        w.rng = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn pid(&self) -> u32 {
        self.pid
    }

    fn euid(&self) -> Option<u32> {
        self.w.borrow().euid
    }

    fn hostname(&self) -> String {
        self.w.borrow().identity.as_ref().map(|(h, _)| h.clone()).unwrap_or_else(|| "sim".to_string())
    }

    fn boot_id(&self) -> Option<String> {
        let w = self.w.borrow();
        Some(w.identity.as_ref().map(|(_, b)| b.clone()).unwrap_or_else(|| format!("boot-{}", w.boot)))
    }

    fn process_start(&self, pid: u32) -> Option<u64> {
        let w = self.w.borrow();
        w.alive.contains(&pid).then_some(pid as u64 * 1000 + w.boot)
    }

    fn process_alive(&self, pid: u32) -> Liveness {
        if self.w.borrow().alive.contains(&pid) {
            Liveness::Alive
        } else {
            Liveness::Dead
        }
    }

    fn monotonic_ms(&self) -> u64 {
        self.tick()
    }

    fn wall_ms(&self) -> u64 {
        self.tick()
    }

    fn sleep_ms(&self, ms: u64) {
        self.w.borrow_mut().clock += ms;
    }

    fn kernel_locks(&self) -> bool {
        self.w.borrow().kernel_locks
    }

    fn boot_time_ms(&self) -> Option<u64> {
        self.w.borrow().boot_time
    }

    fn network_fs(&self, _dir: &str) -> bool {
        self.w.borrow().network
    }
}

impl Image {
    /// Drops unnamed inodes that no open file holds (an unlinked open file lives on).
    fn collect_garbage_open(&mut self, files: &BTreeMap<u64, Open>) {
        let mut live: BTreeSet<u64> = self.names.values().copied().collect();
        live.extend(files.values().map(|o| o.ino));
        self.inodes.retain(|i, _| live.contains(i));
    }
}
