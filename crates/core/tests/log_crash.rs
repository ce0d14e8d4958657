//! Crash-state exploration and fault injection for the append protocol (`log::append_batch`).
//!
//! A small simulated file system holds one log file and records, after every operation, what a
//! crash at that moment could leave on disk under a pessimistic model: nothing written since the
//! last `fdatasync`/`fsync` is ordered, so unsynced appended bytes may be lost, kept partly, or
//! (like ext4 in writeback mode) be zeros below an already grown size; an unsynced `ftruncate` may
//! be undone; an unsynced directory entry may vanish. For every such state the test checks that
//! every acknowledged record is there, intact, and in order, that the damage is only ever a torn
//! tail, and that the next appender removes it and appends a record the chain verifies.
//! Separately every operation is made to fail in turn: the failed batch leaves no partial frame.

use std::cell::RefCell;

use durable_fs_core::log::{append_batch, scan, verify, Appended, LogOptions, LogState, JSON, TEXT};
use durable_fs_core::{Error, Fs, Kind, Liveness, Meta, Result};

#[derive(Clone, Debug, Default)]
struct Disk {
    exists: bool,
    /// Whether the directory entry is durable.
    entry_durable: bool,
    /// What a process sees.
    volatile: Vec<u8>,
    /// What survives a crash for certain.
    durable: Vec<u8>,
}

#[derive(Default)]
struct Sim {
    disk: RefCell<Disk>,
    /// After every operation: the disk and the number of records acknowledged so far.
    snapshots: RefCell<Vec<(Disk, usize)>>,
    acked: RefCell<usize>,
    /// Fail the n-th operation (counted from 0) with EIO.
    fail_at: Option<usize>,
    ops: RefCell<usize>,
}

impl Sim {
    fn op(&self, name: &'static str) -> Result<()> {
        let n = *self.ops.borrow();
        *self.ops.borrow_mut() += 1;
        if self.fail_at == Some(n) {
            return Err(Error::os("EIO", 5, name, None));
        }
        Ok(())
    }

    fn snap(&self) {
        self.snapshots.borrow_mut().push((self.disk.borrow().clone(), *self.acked.borrow()));
    }
}

fn enosys<T>(name: &'static str) -> Result<T> {
    Err(Error::os("ENOSYS", 38, name, None))
}

fn meta(size: u64) -> Meta {
    Meta { kind: Kind::File, mode: 0o600, uid: 0, gid: 0, dev: 1, ino: 1, size, mtime_ms: 0 }
}

impl Fs for Sim {
    type File = ();

    fn create_excl(&self, _: &str, _: u32) -> Result<()> {
        enosys("open")
    }
    fn open_read(&self, _: &str) -> Result<()> {
        self.op("open")?;
        if self.disk.borrow().exists {
            Ok(())
        } else {
            Err(Error::os("ENOENT", 2, "open", None))
        }
    }
    fn open_append(&self, _: &str, _: u32, create: bool) -> Result<()> {
        self.op("open")?;
        let mut d = self.disk.borrow_mut();
        if !d.exists {
            if !create {
                return Err(Error::os("ENOENT", 2, "open", None));
            }
            d.exists = true;
        }
        drop(d);
        self.snap();
        Ok(())
    }
    fn write_all(&self, _: &(), data: &[u8]) -> Result<()> {
        // A failing write may have written part of the data first (ENOSPC after a short write).
        let failed = self.op("write");
        let n = if failed.is_err() { data.len() / 2 } else { data.len() };
        self.disk.borrow_mut().volatile.extend_from_slice(&data[..n]);
        self.snap();
        failed
    }
    fn read_all(&self, _: &()) -> Result<Vec<u8>> {
        self.op("read")?;
        Ok(self.disk.borrow().volatile.clone())
    }
    fn fchmod(&self, _: &(), _: u32) -> Result<()> {
        self.op("fchmod")
    }
    fn fchown(&self, _: &(), _: u32, _: u32) -> Result<()> {
        self.op("fchown")
    }
    fn fsync(&self, _: &()) -> Result<()> {
        self.fdatasync(&())
    }
    fn fdatasync(&self, _: &()) -> Result<()> {
        self.op("fdatasync")?;
        let mut d = self.disk.borrow_mut();
        d.durable = d.volatile.clone();
        drop(d);
        self.snap();
        Ok(())
    }
    fn fstat(&self, _: &()) -> Result<Meta> {
        self.op("fstat")?;
        Ok(meta(self.disk.borrow().volatile.len() as u64))
    }
    fn ftruncate(&self, _: &(), len: u64) -> Result<()> {
        self.op("ftruncate")?;
        self.disk.borrow_mut().volatile.truncate(len as usize);
        self.snap();
        Ok(())
    }
    fn try_lock(&self, _: &()) -> Result<bool> {
        self.op("flock")?;
        Ok(true)
    }
    fn close(&self, _: ()) -> Result<()> {
        self.op("close")
    }
    fn lstat(&self, _: &str) -> Result<Meta> {
        self.op("lstat")?;
        let d = self.disk.borrow();
        if d.exists {
            Ok(meta(d.volatile.len() as u64))
        } else {
            Err(Error::os("ENOENT", 2, "lstat", None))
        }
    }
    fn readlink(&self, _: &str) -> Result<String> {
        enosys("readlink")
    }
    fn rename(&self, _: &str, _: &str) -> Result<()> {
        enosys("rename")
    }
    fn link(&self, _: &str, _: &str) -> Result<()> {
        enosys("link")
    }
    fn unlink(&self, _: &str) -> Result<()> {
        enosys("unlink")
    }
    fn mkdir(&self, _: &str, _: u32) -> Result<()> {
        enosys("mkdir")
    }
    fn fsync_dir(&self, _: &str) -> Result<()> {
        self.op("fsync")?;
        let mut d = self.disk.borrow_mut();
        d.entry_durable = d.exists;
        drop(d);
        self.snap();
        Ok(())
    }
    fn read_dir(&self, _: &str) -> Result<Vec<String>> {
        enosys("scandir")
    }
    fn random(&self) -> u64 {
        4
    }
    fn pid(&self) -> u32 {
        1
    }
    fn euid(&self) -> Option<u32> {
        Some(0)
    }
    fn hostname(&self) -> String {
        "sim".into()
    }
    fn boot_id(&self) -> Option<String> {
        None
    }
    fn process_start(&self, _: u32) -> Option<u64> {
        None
    }
    fn process_alive(&self, _: u32) -> Liveness {
        Liveness::Unknown
    }
    fn monotonic_ms(&self) -> u64 {
        0
    }
    fn wall_ms(&self) -> u64 {
        0
    }
    fn sleep_ms(&self, _: u64) {}
    fn kernel_locks(&self) -> bool {
        true
    }
}

/// Every file content a crash in state `d` can leave (None: no file at all).
fn crash_states(d: &Disk) -> Vec<Option<Vec<u8>>> {
    let mut out = Vec::new();
    if !d.entry_durable {
        out.push(None);
    }
    if !d.exists {
        return out;
    }
    let common = d.durable.iter().zip(&d.volatile).take_while(|(a, b)| a == b).count();
    // Nothing since the last sync: the durable content (an unsynced truncation undone, too).
    out.push(Some(d.durable.clone()));
    // Any prefix of what was appended since, and the same length of zeros (size grown, data not).
    for len in common..=d.volatile.len() {
        out.push(Some(d.volatile[..len].to_vec()));
        let mut zeros = d.volatile[..common].to_vec();
        zeros.resize(len, 0);
        out.push(Some(zeros));
    }
    out
}

const BATCHES: &[&[(u8, &[u8])]] =
    &[&[(JSON, b"{\"n\":0}")], &[(TEXT, b"one"), (TEXT, b"two\nlines"), (JSON, b"[3]")], &[(JSON, b"{\"n\":4}"), (TEXT, b"")]];

fn all_records() -> Vec<(u8, Vec<u8>)> {
    BATCHES.iter().flat_map(|b| b.iter().map(|(k, p)| (*k, p.to_vec()))).collect()
}

fn run(sim: &Sim, opts: &LogOptions) -> std::result::Result<(), Error> {
    let mut st = LogState::default();
    for batch in BATCHES {
        match append_batch(sim, "/log", &mut st, batch, opts)? {
            Appended::Done { .. } => *sim.acked.borrow_mut() += batch.len(),
            Appended::Busy => unreachable!(),
        }
    }
    Ok(())
}

#[test]
fn every_crash_state_keeps_acknowledged_records_and_recovers() {
    let records = all_records();
    for chain in [false, true] {
        let opts = LogOptions { chain, ..LogOptions::default() };
        let sim = Sim::default();
        run(&sim, &opts).unwrap();
        let snaps = sim.snapshots.borrow().clone();
        let mut states = 0;
        let mut torn_seen = 0;
        for (disk, acked) in &snaps {
            for content in crash_states(disk) {
                states += 1;
                let Some(content) = content else {
                    assert_eq!(*acked, 0, "an acknowledged record lost with the directory entry");
                    continue;
                };
                let s = scan(&content, 0);
                assert!(s.corrupt.is_empty(), "a crash produced damage in the middle: {content:?}");
                assert!(s.frames.len() >= *acked, "acknowledged records lost: {} < {acked}", s.frames.len());
                for (f, (k, p)) in s.frames.iter().zip(&records) {
                    assert_eq!(f.kind, *k);
                    assert_eq!(&content[f.payload_offset as usize..(f.payload_offset + f.payload_len) as usize], &p[..]);
                }
                if chain {
                    assert!(verify(&content, &s).is_none(), "chain broken by a crash");
                }
                if s.torn.is_some() {
                    torn_seen += 1;
                }
                // The next appender: removes the torn tail, appends, and the result verifies.
                let next = Sim::default();
                *next.disk.borrow_mut() = Disk { exists: true, entry_durable: true, volatile: content.clone(), durable: content.clone() };
                let mut st = LogState::default();
                let r = append_batch(&next, "/log", &mut st, &[(TEXT, b"after")], &opts).unwrap();
                let expect_torn = s.torn.as_ref().map(|t| (t.offset, t.bytes));
                match r {
                    Appended::Done { recovered } => assert_eq!(recovered.map(|t| (t.offset, t.bytes)), expect_torn),
                    Appended::Busy => unreachable!(),
                }
                let after = next.disk.borrow().durable.clone();
                let s2 = scan(&after, 0);
                assert!(s2.torn.is_none() && s2.corrupt.is_empty());
                assert_eq!(s2.frames.len(), s.frames.len() + 1);
                if chain {
                    assert!(verify(&after, &s2).is_none());
                }
            }
        }
        assert!(states > 100 && torn_seen > 10, "explored {states} crash states, {torn_seen} with a torn tail");
        eprintln!("chain={chain}: {} operations, {states} crash states, {torn_seen} with a torn tail: all recovered", snaps.len());
    }
}

#[test]
fn a_failure_at_any_operation_leaves_no_partial_batch() {
    let records = all_records();
    let opts = LogOptions { chain: true, ..LogOptions::default() };
    let total = {
        let sim = Sim::default();
        run(&sim, &opts).unwrap();
        let n = *sim.ops.borrow();
        n
    };
    let mut failed_close = 0;
    for fail_at in 0..total {
        let sim = Sim { fail_at: Some(fail_at), ..Sim::default() };
        // Every failure fails its batch, except a close after a successful fdatasync (the batch is
        // durable by then and is acknowledged).
        let r = run(&sim, &opts);
        if r.is_ok() {
            failed_close += 1;
        }
        let d = sim.disk.borrow();
        let s = scan(&d.volatile, 0);
        let acked = *sim.acked.borrow();
        assert!(s.torn.is_none() && s.corrupt.is_empty(), "failure at op {fail_at} left a partial frame");
        assert_eq!(s.frames.len(), acked, "failure at op {fail_at}: only acknowledged batches are in the log");
        for (f, (k, _)) in s.frames.iter().zip(&records) {
            assert_eq!(f.kind, *k);
        }
        assert!(verify(&d.volatile, &s).is_none());
    }
    assert_eq!(failed_close, BATCHES.len(), "only the closes after a durable batch are tolerated");
}
