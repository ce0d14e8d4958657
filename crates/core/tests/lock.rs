//! The lock protocol on the real file system, with kernel locks (`OsFs`) and without them
//! (`NoKernelLocks`, `OsFs` with `try_lock` disabled: how the WebAssembly backend runs).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};

use durable_fs_core::error::Result;
use durable_fs_core::fs::{Fs, Liveness, Meta};
use durable_fs_core::lock::{self, guard_path, stage_name, Attempt, LockOptions, Me, Record, Seen, Status};
use durable_fs_core::sys::OsFs;

/// `OsFs` without kernel locks.
#[derive(Clone, Copy)]
struct NoKernelLocks;

/// `F` with a pause before a reaper creates its guard and before a waiter probes the lock: it
/// widens the windows in which another reaper and a newcomer can act, so a protocol without the
/// identity checks fails the torture tests.
#[derive(Clone, Copy)]
struct Slow<F>(F);

impl<F: Fs> Fs for Slow<F> {
    type File = F::File;
    fn create_excl(&self, p: &str, mode: u32) -> Result<Self::File> {
        if p.ends_with(".reap") {
            std::thread::sleep(std::time::Duration::from_micros(300));
        }
        self.0.create_excl(p, mode)
    }
    fn open_read(&self, p: &str) -> Result<Self::File> {
        self.0.open_read(p)
    }
    fn open_append(&self, p: &str, mode: u32, create: bool) -> Result<Self::File> {
        self.0.open_append(p, mode, create)
    }
    fn write_all(&self, f: &Self::File, d: &[u8]) -> Result<()> {
        self.0.write_all(f, d)
    }
    fn read_all(&self, f: &Self::File) -> Result<Vec<u8>> {
        self.0.read_all(f)
    }
    fn fchmod(&self, f: &Self::File, m: u32) -> Result<()> {
        self.0.fchmod(f, m)
    }
    fn fchown(&self, f: &Self::File, u: u32, g: u32) -> Result<()> {
        self.0.fchown(f, u, g)
    }
    fn fsync(&self, f: &Self::File) -> Result<()> {
        self.0.fsync(f)
    }
    fn fdatasync(&self, f: &Self::File) -> Result<()> {
        self.0.fdatasync(f)
    }
    fn fstat(&self, f: &Self::File) -> Result<Meta> {
        self.0.fstat(f)
    }
    fn ftruncate(&self, f: &Self::File, l: u64) -> Result<()> {
        self.0.ftruncate(f, l)
    }
    fn try_lock(&self, f: &Self::File) -> Result<bool> {
        std::thread::sleep(std::time::Duration::from_micros(100));
        self.0.try_lock(f)
    }
    fn close(&self, f: Self::File) -> Result<()> {
        self.0.close(f)
    }
    fn lstat(&self, p: &str) -> Result<Meta> {
        self.0.lstat(p)
    }
    fn readlink(&self, p: &str) -> Result<String> {
        self.0.readlink(p)
    }
    fn rename(&self, a: &str, b: &str) -> Result<()> {
        self.0.rename(a, b)
    }
    fn link(&self, a: &str, b: &str) -> Result<()> {
        self.0.link(a, b)
    }
    fn unlink(&self, p: &str) -> Result<()> {
        self.0.unlink(p)
    }
    fn mkdir(&self, p: &str, m: u32) -> Result<()> {
        self.0.mkdir(p, m)
    }
    fn fsync_dir(&self, p: &str) -> Result<()> {
        self.0.fsync_dir(p)
    }
    fn read_dir(&self, p: &str) -> Result<Vec<String>> {
        self.0.read_dir(p)
    }
    fn random(&self) -> u64 {
        self.0.random()
    }
    fn pid(&self) -> u32 {
        self.0.pid()
    }
    fn euid(&self) -> Option<u32> {
        self.0.euid()
    }
    fn hostname(&self) -> String {
        self.0.hostname()
    }
    fn boot_id(&self) -> Option<String> {
        self.0.boot_id()
    }
    fn process_start(&self, pid: u32) -> Option<u64> {
        self.0.process_start(pid)
    }
    fn process_alive(&self, pid: u32) -> Liveness {
        self.0.process_alive(pid)
    }
    fn monotonic_ms(&self) -> u64 {
        self.0.monotonic_ms()
    }
    fn wall_ms(&self) -> u64 {
        self.0.wall_ms()
    }
    fn sleep_ms(&self, ms: u64) {
        self.0.sleep_ms(ms)
    }
    fn kernel_locks(&self) -> bool {
        self.0.kernel_locks()
    }
}

impl Fs for NoKernelLocks {
    type File = std::fs::File;
    fn create_excl(&self, p: &str, mode: u32) -> Result<Self::File> {
        OsFs.create_excl(p, mode)
    }
    fn open_read(&self, p: &str) -> Result<Self::File> {
        OsFs.open_read(p)
    }
    fn open_append(&self, p: &str, mode: u32, create: bool) -> Result<Self::File> {
        OsFs.open_append(p, mode, create)
    }
    fn write_all(&self, f: &Self::File, d: &[u8]) -> Result<()> {
        OsFs.write_all(f, d)
    }
    fn read_all(&self, f: &Self::File) -> Result<Vec<u8>> {
        OsFs.read_all(f)
    }
    fn fchmod(&self, f: &Self::File, m: u32) -> Result<()> {
        OsFs.fchmod(f, m)
    }
    fn fchown(&self, f: &Self::File, u: u32, g: u32) -> Result<()> {
        OsFs.fchown(f, u, g)
    }
    fn fsync(&self, f: &Self::File) -> Result<()> {
        OsFs.fsync(f)
    }
    fn fdatasync(&self, f: &Self::File) -> Result<()> {
        OsFs.fdatasync(f)
    }
    fn fstat(&self, f: &Self::File) -> Result<Meta> {
        OsFs.fstat(f)
    }
    fn ftruncate(&self, f: &Self::File, l: u64) -> Result<()> {
        OsFs.ftruncate(f, l)
    }
    fn try_lock(&self, _f: &Self::File) -> Result<bool> {
        Err(durable_fs_core::Error::custom("ENOTSUP", "flock", None, None))
    }
    fn close(&self, f: Self::File) -> Result<()> {
        OsFs.close(f)
    }
    fn lstat(&self, p: &str) -> Result<Meta> {
        OsFs.lstat(p)
    }
    fn readlink(&self, p: &str) -> Result<String> {
        OsFs.readlink(p)
    }
    fn rename(&self, a: &str, b: &str) -> Result<()> {
        OsFs.rename(a, b)
    }
    fn link(&self, a: &str, b: &str) -> Result<()> {
        OsFs.link(a, b)
    }
    fn unlink(&self, p: &str) -> Result<()> {
        OsFs.unlink(p)
    }
    fn mkdir(&self, p: &str, m: u32) -> Result<()> {
        OsFs.mkdir(p, m)
    }
    fn fsync_dir(&self, p: &str) -> Result<()> {
        OsFs.fsync_dir(p)
    }
    fn read_dir(&self, p: &str) -> Result<Vec<String>> {
        OsFs.read_dir(p)
    }
    fn random(&self) -> u64 {
        OsFs.random()
    }
    fn pid(&self) -> u32 {
        OsFs.pid()
    }
    fn euid(&self) -> Option<u32> {
        OsFs.euid()
    }
    fn hostname(&self) -> String {
        OsFs.hostname()
    }
    fn boot_id(&self) -> Option<String> {
        OsFs.boot_id()
    }
    fn process_start(&self, pid: u32) -> Option<u64> {
        OsFs.process_start(pid)
    }
    fn process_alive(&self, pid: u32) -> Liveness {
        OsFs.process_alive(pid)
    }
    fn monotonic_ms(&self) -> u64 {
        OsFs.monotonic_ms()
    }
    fn wall_ms(&self) -> u64 {
        OsFs.wall_ms()
    }
    fn sleep_ms(&self, ms: u64) {
        OsFs.sleep_ms(ms)
    }
    fn kernel_locks(&self) -> bool {
        false
    }
}

fn tmpdir(tag: &str) -> String {
    let d = std::env::temp_dir().join(format!("dfs-lock-{tag}-{}-{:x}", std::process::id(), OsFs.random()));
    std::fs::create_dir_all(&d).unwrap();
    d.to_str().unwrap().to_string()
}

/// The pid of a process that has exited (and been reaped).
fn dead_pid() -> u32 {
    let mut c = std::process::Command::new("true").spawn().unwrap();
    let pid = c.id();
    c.wait().unwrap();
    pid
}

fn record(pid: u32, kernel_lock: bool) -> Record {
    let me = Me::of(&OsFs);
    Record {
        nonce: format!("{:016x}", OsFs.random()),
        pid,
        start: OsFs.process_start(pid).or(Some(1)),
        boot: me.boot,
        host: me.host,
        kernel_lock,
        acquired_at: OsFs.wall_ms(),
        version: "0.0.0".into(),
    }
}

/// Publishes a lock file holding `text` (no process keeps it open or locked), as `link` would.
fn plant(lock: &str, text: &str) -> bool {
    let tmp = format!("{lock}.{:016x}.plant", OsFs.random());
    std::fs::write(&tmp, text).unwrap();
    let ok = std::fs::hard_link(&tmp, lock).is_ok();
    std::fs::remove_file(&tmp).unwrap();
    ok
}

fn acquire<F: Fs>(fs: &F, lock: &str, opts: &LockOptions) -> lock::Held<F::File> {
    match lock::try_acquire(fs, &Me::of(fs), lock, opts, &mut Seen::default()).unwrap() {
        Attempt::Acquired(h) => h,
        Attempt::Busy(b) => panic!("busy: {b:?}"),
    }
}

fn busy<F: Fs>(fs: &F, lock: &str, opts: &LockOptions, seen: &mut Seen) -> lock::Busy {
    match lock::try_acquire(fs, &Me::of(fs), lock, opts, seen).unwrap() {
        Attempt::Acquired(h) => panic!("acquired a lock that should be busy: {:?}", h.record),
        Attempt::Busy(b) => b,
    }
}

fn names(dir: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    v.sort();
    v
}

#[test]
fn acquire_publishes_a_complete_record_and_release_removes_it() {
    let dir = tmpdir("basic");
    let l = format!("{dir}/a.lock");
    let opts = LockOptions::default();
    let h = acquire(&OsFs, &l, &opts);
    let text = std::fs::read(&l).unwrap();
    let r = Record::parse(&text).expect("the published file holds a full record");
    assert_eq!(r.pid, std::process::id());
    assert!(r.kernel_lock);
    assert_eq!(r, h.record);
    assert_eq!(names(&dir), vec!["a.lock"], "no staging file left");
    // A second acquirer in the same process: the kernel lock is per open file, so it is busy.
    let b = busy(&OsFs, &l, &opts, &mut Seen::default());
    assert_eq!(b.state, "held");
    assert_eq!(b.holder.as_ref().map(|h| h.pid), Some(std::process::id()));
    assert!(matches!(lock::check(&OsFs, &Me::of(&OsFs), &l, &opts, &mut Seen::default()).unwrap(), Status::Held(_)));
    lock::release(&OsFs, h).unwrap();
    assert!(names(&dir).is_empty());
    assert_eq!(lock::check(&OsFs, &Me::of(&OsFs), &l, &opts, &mut Seen::default()).unwrap(), Status::Free);
}

#[test]
fn dead_kernel_locked_holder_is_reaped_at_once_and_its_staging_file_swept() {
    let dir = tmpdir("dead");
    let l = format!("{dir}/a.lock");
    let r = record(dead_pid(), true);
    assert!(plant(&l, &r.to_json()));
    // A killed acquirer's leftover staging file (its kernel lock died with it).
    let stage = format!("{dir}/{}", stage_name("a.lock", "00000000deadbeef"));
    std::fs::write(&stage, record(dead_pid(), true).to_json()).unwrap();
    let opts = LockOptions::default();
    assert!(matches!(lock::check(&OsFs, &Me::of(&OsFs), &l, &opts, &mut Seen::default()).unwrap(), Status::Stale(_)));
    let h = acquire(&OsFs, &l, &opts);
    assert_ne!(h.record.nonce, r.nonce);
    assert_eq!(names(&dir), vec!["a.lock"], "dead lock reaped, staging swept, guard removed");
    lock::release(&OsFs, h).unwrap();
}

#[test]
fn kernel_locked_record_of_a_live_pid_is_reaped_when_its_lock_is_free() {
    // The holder released its kernel lock (it died or closed the file): on the same boot that is
    // proof enough, whatever the pid says (pid 1 is alive).
    let dir = tmpdir("kfree");
    let l = format!("{dir}/a.lock");
    assert!(plant(&l, &record(1, true).to_json()));
    lock::release(&OsFs, acquire(&OsFs, &l, &LockOptions::default())).unwrap();
}

#[test]
fn holders_without_kernel_locks_are_judged_by_pid_and_start_time() {
    for fs_kernel in [true, false] {
        let dir = tmpdir("pid");
        let l = format!("{dir}/a.lock");
        let opts = LockOptions::default();
        // A live pid with its real start time: alive, never reaped.
        let mut child = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        let live = record(child.id(), false);
        assert!(plant(&l, &live.to_json()));
        let b =
            if fs_kernel { busy(&OsFs, &l, &opts, &mut Seen::default()) } else { busy(&NoKernelLocks, &l, &opts, &mut Seen::default()) };
        assert_eq!(b.state, "alive");
        assert_eq!(b.holder, Some(live.clone()));
        // The same pid with another start time: the pid was reused, the holder is dead.
        std::fs::remove_file(&l).unwrap();
        let reused = Record { start: Some(live.start.unwrap() + 1), ..live.clone() };
        assert!(plant(&l, &reused.to_json()));
        if fs_kernel {
            lock::release(&OsFs, acquire(&OsFs, &l, &opts)).unwrap();
        } else {
            lock::release(&NoKernelLocks, acquire(&NoKernelLocks, &l, &opts)).unwrap();
        }
        // A dead pid: reaped.
        assert!(plant(&l, &record(dead_pid(), false).to_json()));
        if fs_kernel {
            lock::release(&OsFs, acquire(&OsFs, &l, &opts)).unwrap();
        } else {
            lock::release(&NoKernelLocks, acquire(&NoKernelLocks, &l, &opts)).unwrap();
        }
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(names(&dir).is_empty(), "{:?}", names(&dir));
    }
}

#[test]
fn own_process_is_never_reaped_without_kernel_locks() {
    let dir = tmpdir("own");
    let l = format!("{dir}/a.lock");
    let opts = LockOptions { stale_ms: 0 };
    let h = acquire(&NoKernelLocks, &l, &opts);
    assert!(!h.record.kernel_lock);
    let b = busy(&NoKernelLocks, &l, &opts, &mut Seen::default());
    assert_eq!(b.state, "own");
    lock::release(&NoKernelLocks, h).unwrap();
}

#[test]
fn foreign_host_and_unreadable_records_are_stale_only_after_stale_ms_of_our_clock() {
    let dir = tmpdir("foreign");
    let l = format!("{dir}/a.lock");
    let opts = LockOptions { stale_ms: 150 };
    let foreign = Record { host: "elsewhere.example".into(), boot: Some("another-kernel".into()), acquired_at: 0, ..record(1, true) };
    for text in [foreign.to_json(), String::new(), "{\"pid\":".to_string()] {
        assert!(plant(&l, &text));
        let mut seen = Seen::default();
        let start = std::time::Instant::now();
        let b = busy(&OsFs, &l, &opts, &mut seen);
        assert!(b.state == "foreign" || b.state == "unreadable", "{b:?}");
        // A fresh waiter starts its own clock: an ancient acquiredAt does not make it stale.
        while start.elapsed().as_millis() < 100 {
            assert!(matches!(lock::try_acquire(&OsFs, &Me::of(&OsFs), &l, &opts, &mut Seen::default()).unwrap(), Attempt::Busy(_)));
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
        match lock::try_acquire(&OsFs, &Me::of(&OsFs), &l, &opts, &mut seen).unwrap() {
            Attempt::Acquired(h) => lock::release(&OsFs, h).unwrap(),
            Attempt::Busy(b) => panic!("still busy after stale_ms: {b:?}"),
        }
    }
}

#[test]
fn an_unreadable_lock_last_written_before_this_boot_is_reaped_at_once() {
    // A power cut while the lock was held can leave the lock file empty (its record is not
    // fsynced). Unlocked and older than the boot, it cannot belong to a live process.
    let Some(boot) = OsFs.boot_time_ms() else {
        eprintln!("skipped: this platform does not report its boot time");
        return;
    };
    let dir = tmpdir("preboot");
    let l = format!("{dir}/a.lock");
    let opts = LockOptions::default(); // stale_ms 30 s: waiting it out would fail the test
    for text in ["", "{\"pid\":"] {
        assert!(plant(&l, text));
        let before_boot = std::time::UNIX_EPOCH + std::time::Duration::from_millis(boot - 3_600_000);
        std::fs::File::options().write(true).open(&l).unwrap().set_modified(before_boot).unwrap();
        match lock::try_acquire(&OsFs, &Me::of(&OsFs), &l, &opts, &mut Seen::default()).unwrap() {
            Attempt::Acquired(h) => lock::release(&OsFs, h).unwrap(),
            Attempt::Busy(b) => panic!("a pre-boot unreadable lock was not reaped: {b:?}"),
        }
        // The same bytes written after the boot are respected until stale_ms.
        assert!(plant(&l, text));
        let b = busy(&OsFs, &l, &opts, &mut Seen::default());
        assert_eq!(b.state, "unreadable");
        std::fs::remove_file(&l).unwrap();
    }
}

#[test]
fn release_reports_compromised_and_removes_nothing_foreign() {
    let dir = tmpdir("comp");
    let l = format!("{dir}/a.lock");
    let opts = LockOptions::default();
    let h = acquire(&OsFs, &l, &opts);
    std::fs::remove_file(&l).unwrap();
    let e = lock::release(&OsFs, h).unwrap_err();
    assert_eq!(e.code, "ECOMPROMISED");
    let h = acquire(&OsFs, &l, &opts);
    std::fs::remove_file(&l).unwrap();
    let other = record(1, false).to_json();
    assert!(plant(&l, &other));
    assert_eq!(lock::verify(&OsFs, &h).unwrap_err().code, "ECOMPROMISED");
    assert_eq!(lock::release(&OsFs, h).unwrap_err().code, "ECOMPROMISED");
    assert_eq!(std::fs::read_to_string(&l).unwrap(), other, "another holder's lock is left alone");
}

#[test]
fn a_dead_reapers_guard_is_cleared() {
    for kernel in [true, false] {
        let dir = tmpdir("guard");
        let l = format!("{dir}/a.lock");
        assert!(plant(&l, &record(dead_pid(), !kernel).to_json()));
        std::fs::write(guard_path(&l, false), record(dead_pid(), kernel).to_json()).unwrap();
        let opts = LockOptions::default();
        if kernel {
            lock::release(&OsFs, acquire(&OsFs, &l, &opts)).unwrap();
        } else {
            lock::release(&NoKernelLocks, acquire(&NoKernelLocks, &l, &opts)).unwrap();
        }
        assert!(names(&dir).is_empty(), "{:?}", names(&dir));
    }
}

/// Many threads acquire, hold briefly and release while dead locks keep being planted for them to
/// reap concurrently: never two holders at once, and every round ends with the lock free.
fn torture<F: Fs + Send + Sync + Copy + 'static>(fs: F) {
    let dir = tmpdir("torture");
    let l = Arc::new(format!("{dir}/a.lock"));
    let threads = 6;
    let rounds = 300;
    let inside = Arc::new(AtomicUsize::new(0));
    let overlap = Arc::new(AtomicBool::new(false));
    let total = Arc::new(AtomicUsize::new(0));
    let barrier = Arc::new(Barrier::new(threads));
    let dead = dead_pid();
    let mut hs = Vec::new();
    for t in 0..threads {
        let (l, inside, overlap, total, barrier) = (l.clone(), inside.clone(), overlap.clone(), total.clone(), barrier.clone());
        hs.push(std::thread::spawn(move || {
            let me = Me::of(&fs);
            let opts = LockOptions::default();
            let mut seen = Seen::default();
            for i in 0..rounds {
                if (i + t) % 3 == 0 {
                    // Plant a dead holder's lock (kernel-locked or not) when the lock is free.
                    plant(&l, &record(dead, i % 2 == 0).to_json());
                }
                if i % 50 == 0 {
                    barrier.wait();
                }
                loop {
                    match lock::try_acquire(&fs, &me, &l, &opts, &mut seen).unwrap() {
                        Attempt::Acquired(h) => {
                            if inside.fetch_add(1, Ordering::SeqCst) != 0 {
                                overlap.store(true, Ordering::SeqCst);
                            }
                            std::thread::yield_now();
                            inside.fetch_sub(1, Ordering::SeqCst);
                            total.fetch_add(1, Ordering::SeqCst);
                            if let Err(e) = lock::release(&fs, h) {
                                // Our lock was deleted by someone: a protocol failure.
                                eprintln!("release: {e}");
                                overlap.store(true, Ordering::SeqCst);
                            }
                            break;
                        }
                        Attempt::Busy(_) => std::thread::yield_now(),
                    }
                }
            }
        }));
    }
    for h in hs {
        h.join().unwrap();
    }
    assert!(!overlap.load(Ordering::SeqCst), "two holders at once, or a holder's lock deleted");
    assert_eq!(total.load(Ordering::SeqCst), threads * rounds);
    // A dead lock planted after the last release may remain; nothing else (no guard, no staging).
    let left: Vec<String> = names(&dir).into_iter().filter(|n| n != "a.lock").collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn concurrent_reapers_never_let_two_holders_in_with_kernel_locks() {
    torture(OsFs);
    torture(Slow(OsFs));
}

#[test]
fn concurrent_reapers_never_let_two_holders_in_without_kernel_locks() {
    torture(NoKernelLocks);
    torture(Slow(NoKernelLocks));
}

#[test]
fn our_own_kernel_locked_record_with_a_free_kernel_lock_is_reaped() {
    // A lock file of this very process whose descriptor is closed (a release whose unlink failed):
    // the free kernel lock proves no handle of ours holds it, so it does not block us forever.
    let dir = tmpdir("ownfree");
    let l = format!("{dir}/a.lock");
    let me = Me::of(&OsFs);
    let r = Record { start: me.start, ..record(std::process::id(), true) };
    assert!(plant(&l, &r.to_json()));
    lock::release(&OsFs, acquire(&OsFs, &l, &LockOptions::default())).unwrap();
}
