//! Every state a crash can leave, and the invariants checked in each.
//!
//! The model is pessimistic: nothing reaches the disk in any particular order unless an fsync
//! orders it.
//! - A crash happens before any op of the log (or after the last one).
//! - An op issued before the crash is certainly durable only if a barrier issued after it (and
//!   before the crash) covers it: `fsync` of a file covers its data, length, mode and owner, but not
//!   its name; `fdatasync` covers data and length only; `fsync` of a directory covers the creates,
//!   links, unlinks and renames in it.
//! - Every other op may independently be lost or applied. An unsynced write may also be torn: only
//!   its first half reached the disk, or the file grew but the bytes did not (zeros).
//! - A rename is atomic: the new name and the removal of the old one are applied together or not.
//!
//! The state is the base image with the applied ops replayed in order. Inodes nobody names are
//! dropped (fsck reclaims them).

use std::collections::BTreeSet;

use super::{Image, Inode, Op, SimFs};
use crate::fs::{path, Kind};

/// What happened to one op in a crash state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    Lost,
    Applied,
    /// A write of which only the first half reached the disk.
    TornHalf,
    /// A write that grew the file without its bytes (they read as zeros).
    TornZeros,
}

/// One state a crash can leave.
#[derive(Debug, Clone)]
pub struct CrashState {
    /// The durable image after the crash.
    pub image: Image,
    /// How many ops of the log were issued before the crash.
    pub crash_at: usize,
    /// Whether the protocol call had already returned `Ok` (crash after its last op).
    pub returned_ok: bool,
    /// The fate of each issued op (`Applied` for barriers), for messages.
    pub fates: Vec<Fate>,
}

impl CrashState {
    /// A one-line account of the state: crash point and what was lost or torn.
    pub fn explain(&self, log: &[Op]) -> String {
        let mut parts = Vec::new();
        for (i, f) in self.fates.iter().enumerate() {
            if *f != Fate::Applied {
                parts.push(format!("{f:?} {}", short(&log[i])));
            }
        }
        format!(
            "crash after {} of {} ops{}{}",
            self.crash_at,
            log.len(),
            if self.returned_ok { " (call had returned Ok)" } else { "" },
            if parts.is_empty() { String::new() } else { format!(": {}", parts.join(", ")) }
        )
    }
}

fn short(op: &Op) -> String {
    match op {
        Op::Create { path, .. } => format!("create {}", path::split(path, false).1),
        Op::Mkdir { path, .. } => format!("mkdir {path}"),
        Op::CreateAnon { ino, .. } => format!("create unnamed #{ino}"),
        Op::Write { ino, data, .. } => format!("write #{ino} ({} bytes)", data.len()),
        Op::Truncate { ino, len } => format!("truncate #{ino} to {len}"),
        Op::Chmod { ino, mode } => format!("chmod #{ino} {mode:o}"),
        Op::Chown { ino, uid, gid } => format!("chown #{ino} {uid}:{gid}"),
        Op::Rename { from, to, .. } => format!("rename {} -> {}", path::split(from, false).1, path::split(to, false).1),
        Op::Link { from, to, .. } => format!("link {} -> {}", path::split(from, false).1, path::split(to, false).1),
        Op::Unlink { path, .. } => format!("unlink {}", path::split(path, false).1),
        Op::Fsync { ino, .. } => format!("fsync #{ino}"),
        Op::FsyncDir { dir } => format!("fsync dir {dir}"),
    }
}

/// Whether op `i` is made durable by a barrier in `log[i+1..k]`.
fn covered(log: &[Op], i: usize, k: usize) -> bool {
    let later = &log[i + 1..k];
    match &log[i] {
        Op::Write { ino, .. } | Op::Truncate { ino, .. } => later.iter().any(|b| matches!(b, Op::Fsync { ino: j, .. } if j == ino)),
        Op::Chmod { ino, .. } | Op::Chown { ino, .. } => {
            later.iter().any(|b| matches!(b, Op::Fsync { ino: j, data_only: false } if j == ino))
        }
        Op::Fsync { .. } | Op::FsyncDir { .. } => true,
        op => op.dirs().iter().all(|d| later.iter().any(|b| matches!(b, Op::FsyncDir { dir } if dir == d))),
    }
}

fn fates_for(op: &Op, forced: bool) -> Vec<Fate> {
    if forced {
        return vec![Fate::Applied];
    }
    match op {
        Op::Write { data, .. } => {
            let mut v = vec![Fate::Lost, Fate::Applied];
            if data.len() >= 2 {
                v.push(Fate::TornHalf);
            }
            if data.iter().any(|b| *b != 0) {
                v.push(Fate::TornZeros);
            }
            v
        }
        _ => vec![Fate::Lost, Fate::Applied],
    }
}

fn write_at(node: &mut Inode, off: u64, data: &[u8]) {
    let end = off as usize + data.len();
    if node.data.len() < end {
        node.data.resize(end, 0);
    }
    node.data[off as usize..end].copy_from_slice(data);
}

/// Builds the durable image of one choice of fates.
fn apply(base: &Image, log: &[Op], fates: &[Fate]) -> Image {
    let mut img = base.clone();
    // Every inode born in the prefix exists (empty, with its creation mode); only names make it
    // reachable.
    for op in log.iter().take(fates.len()) {
        match op {
            Op::Create { ino, mode, .. } => {
                img.inodes.insert(*ino, Inode::new(Kind::File, *mode));
            }
            Op::Mkdir { ino, mode, .. } => {
                img.inodes.insert(*ino, Inode::new(Kind::Dir, *mode));
            }
            Op::CreateAnon { ino, mode } => {
                img.inodes.insert(*ino, Inode::new(Kind::File, *mode));
            }
            _ => {}
        }
    }
    for (op, fate) in log.iter().zip(fates) {
        if *fate == Fate::Lost {
            continue;
        }
        match op {
            Op::Create { path, ino, .. } | Op::Mkdir { path, ino, .. } => {
                img.names.insert(path.clone(), *ino);
            }
            Op::Write { ino, off, data } => {
                if let Some(n) = img.inodes.get_mut(ino) {
                    match fate {
                        Fate::TornHalf => write_at(n, *off, &data[..data.len() / 2]),
                        Fate::TornZeros => {
                            let end = (*off as usize + data.len()).max(n.data.len());
                            n.data.resize(end, 0);
                        }
                        _ => write_at(n, *off, data),
                    }
                }
            }
            Op::Truncate { ino, len } => {
                if let Some(n) = img.inodes.get_mut(ino) {
                    n.data.resize(*len as usize, 0);
                }
            }
            Op::Chmod { ino, mode } => {
                if let Some(n) = img.inodes.get_mut(ino) {
                    n.mode = *mode;
                }
            }
            Op::Chown { ino, uid, gid } => {
                if let Some(n) = img.inodes.get_mut(ino) {
                    n.uid = *uid;
                    n.gid = *gid;
                }
            }
            Op::Rename { from, to, ino } => {
                if img.names.get(from) == Some(ino) {
                    img.names.remove(from);
                }
                img.names.insert(to.clone(), *ino);
            }
            Op::Link { to, ino, .. } => {
                img.names.insert(to.clone(), *ino);
            }
            Op::Unlink { path, ino } => {
                if img.names.get(path) == Some(ino) {
                    img.names.remove(path);
                }
            }
            Op::Fsync { .. } | Op::FsyncDir { .. } | Op::CreateAnon { .. } => {}
        }
    }
    // A name whose directory did not survive is unreachable.
    let names: Vec<String> = img.names.keys().cloned().collect();
    for n in names {
        let mut p = n.as_str();
        while p != "/" {
            let (d, _) = path::split(p, false);
            if !img.names.contains_key(d) {
                img.names.remove(&n);
                break;
            }
            p = d;
        }
    }
    img.collect_garbage();
    img
}

/// The result of an exploration.
#[derive(Debug, Default, Clone)]
pub struct Explored {
    /// Crash states enumerated (crash points times fate choices).
    pub states: usize,
    /// Distinct durable images among them (each checked once per returned/not-returned).
    pub distinct: usize,
    /// One line per violating state: the invariant broken and how the crash got there.
    pub violations: Vec<String>,
}

/// The most fate combinations explored for one crash point (a guard against runaway logs).
pub const MAX_COMBINATIONS: usize = 1 << 20;

/// Enumerates every crash state of `log` run from `base`, calling `check` once per distinct state;
/// `returned_ok` says whether the call returned `Ok` after its last op.
pub fn explore(base: &Image, log: &[Op], returned_ok: bool, mut check: impl FnMut(&CrashState) -> Result<(), String>) -> Explored {
    let mut out = Explored::default();
    let mut seen = BTreeSet::new();
    for k in 0..=log.len() {
        let options: Vec<Vec<Fate>> = (0..k).map(|i| fates_for(&log[i], covered(log, i, k))).collect();
        let total: usize = options.iter().map(|o| o.len()).product();
        assert!(total <= MAX_COMBINATIONS, "{total} fate combinations at crash point {k}: the log is too long to explore");
        let mut idx = vec![0usize; k];
        loop {
            let fates: Vec<Fate> = idx.iter().zip(&options).map(|(i, o)| o[*i]).collect();
            let image = apply(base, log, &fates);
            visit(&mut out, &mut seen, log, image, k, returned_ok, fates, &mut check);
            // Next combination (odometer).
            let mut j = 0;
            while j < k {
                idx[j] += 1;
                if idx[j] < options[j].len() {
                    break;
                }
                idx[j] = 0;
                j += 1;
            }
            if j == k {
                break;
            }
        }
    }
    out
}

/// Counts one explored state and, the first time it is seen (with the same "returned" flag),
/// checks it and records a violation with the ops that led to it.
#[allow(clippy::too_many_arguments)]
fn visit(
    out: &mut Explored,
    seen: &mut BTreeSet<(String, bool)>,
    log: &[Op],
    image: Image,
    k: usize,
    returned_ok: bool,
    fates: Vec<Fate>,
    check: &mut impl FnMut(&CrashState) -> Result<(), String>,
) {
    out.states += 1;
    let returned = returned_ok && k == log.len();
    if seen.insert((image.describe(), returned)) {
        out.distinct += 1;
        let st = CrashState { image, crash_at: k, returned_ok: returned, fates };
        if let Err(why) = check(&st) {
            out.violations.push(format!("{why} [{}]", st.explain(log)));
        }
    }
}

/// The states a process crash (SIGKILL, no power cut) can leave: every op issued before the crash
/// is applied (the page cache survives), nothing after it. One state per crash point.
pub fn explore_process_crash(
    base: &Image,
    log: &[Op],
    returned_ok: bool,
    mut check: impl FnMut(&CrashState) -> Result<(), String>,
) -> Explored {
    let mut out = Explored::default();
    let mut seen = BTreeSet::new();
    for k in 0..=log.len() {
        let fates = vec![Fate::Applied; k];
        let image = apply(base, log, &fates);
        visit(&mut out, &mut seen, log, image, k, returned_ok, fates, &mut check);
    }
    out
}

/// What a write was asked to do, for [`check_write`] and [`recover_write`].
#[derive(Debug, Clone)]
pub struct WriteCase {
    /// The path the caller named.
    pub target: String,
    /// The content and mode before the call (`None`: no file).
    pub old: Option<(Vec<u8>, u32)>,
    /// The content written.
    pub new: Vec<u8>,
    /// The mode the new content must have from the moment it is visible.
    pub mode: u32,
}

/// The write invariants in one crash state: the target holds the complete old or the complete new
/// content; once the call returned, the new one; the new content always with the requested mode.
pub fn check_write(case: &WriteCase, st: &CrashState) -> Result<(), String> {
    let found = st.image.resolve(&case.target).map(|(_, n)| n.clone());
    match (found, &case.old) {
        (None, None) if !st.returned_ok => Ok(()),
        (None, _) => Err(format!("target {} is missing", case.target)),
        (Some(n), _) if n.kind != Kind::File => Err(format!("target is a {:?}", n.kind)),
        (Some(n), _) if n.data == case.new => {
            if n.mode != case.mode {
                Err(format!("new content visible with mode {:o}, not {:o}", n.mode, case.mode))
            } else {
                Ok(())
            }
        }
        (Some(n), Some((old, old_mode))) if n.data == *old => {
            if st.returned_ok {
                Err("the call returned Ok but the old content survived".to_string())
            } else if n.mode != *old_mode {
                Err(format!("old content with mode {:o}, not its own {:o}", n.mode, old_mode))
            } else {
                Ok(())
            }
        }
        (Some(n), _) => Err(format!("target holds neither old nor new content: {:?}", String::from_utf8_lossy(&n.data))),
    }
}

/// Recovery after the crash: on a fresh boot, sweeping the temp files and writing again succeeds
/// and leaves exactly the target (no temp file) with the new data.
pub fn recover_write(case: &WriteCase, st: &CrashState) -> Result<(), String> {
    let fs = SimFs::after_crash(st.image.clone(), 2);
    let (dir, _) = path::split(&case.target, false);
    if st.image.get(dir).is_some() {
        crate::write::sweep_temp_files(&fs, dir, 0).map_err(|e| format!("recovery sweep failed: {e}"))?;
    }
    let opts = crate::write::WriteOptions { mode: Some(case.mode), mkdir: true, ..Default::default() };
    crate::write::atomic_write(&fs, &case.target, b"written after the crash", &opts).map_err(|e| format!("recovery write failed: {e}"))?;
    let img = fs.image();
    if !img.temp_files(dir).is_empty() {
        return Err(format!("temp files remain after recovery: {:?}", img.temp_files(dir)));
    }
    match img.resolve(&case.target) {
        Some((_, n)) if n.data == b"written after the crash" => Ok(()),
        _ => Err("recovery write not visible".to_string()),
    }
}
