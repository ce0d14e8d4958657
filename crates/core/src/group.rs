//! Group commit of directory fsyncs.
//!
//! Writes into one directory that are in flight together can share one directory fsync, with no
//! loss of the guarantee that a returned write survives a power cut. The rule that keeps it: **a
//! write may only be acknowledged by a directory fsync that started after its rename**. A fsync
//! already running when a write arrives may have begun before that write's rename, so it does not
//! count; the next one does.
//!
//! Per directory (keyed by the directory string the protocol uses), under one mutex:
//!
//! ```text
//! started   generation number of the newest fsync that began (0: none yet)
//! running   whether one is running now
//! ok_upto   newest generation that completed without error
//! failed    newest generation that failed, and its error
//! ```
//!
//! A caller, right after its rename, takes `need = started + 1` (the first generation that will
//! begin after this moment, hence after its rename). It then waits until `ok_upto >= need`
//! (success) or `failed.0 >= need` with `ok_upto < need` (a covering fsync failed: the error is
//! returned, as a lone caller would see it). If no fsync is running and it is not covered yet, it
//! becomes the leader: `started += 1`, it runs the fsync outside the mutex, records the result and
//! wakes everyone. Callers that arrive while a leader runs wait for the next generation, led by one
//! of them, so N writes in flight together cost about two directory fsyncs instead of N.
//!
//! A lone caller runs exactly one fsync, as without the group: the system-call trace of a single
//! write is unchanged.

use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use crate::error::{Error, Result};

/// The coordinators of every directory of one file system (for the real OS, process-global:
/// [`DirSyncGroups::global`]).
#[derive(Debug, Default)]
pub struct DirSyncGroups {
    dirs: Mutex<BTreeMap<String, Arc<Dir>>>,
}

#[derive(Debug, Default)]
struct Dir {
    state: Mutex<State>,
    wake: Condvar,
}

#[derive(Debug, Default)]
struct State {
    started: u64,
    running: bool,
    ok_upto: u64,
    failed: Option<(u64, Error)>,
    /// Callers currently inside `sync` for this directory (the entry is dropped at zero).
    users: usize,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl DirSyncGroups {
    /// An empty set of coordinators (a simulated file system can own one).
    pub const fn new() -> Self {
        DirSyncGroups { dirs: Mutex::new(BTreeMap::new()) }
    }

    /// The process-wide coordinators used by the real file system.
    pub fn global() -> &'static DirSyncGroups {
        static GLOBAL: DirSyncGroups = DirSyncGroups::new();
        &GLOBAL
    }

    /// Makes the caller's earlier changes to `dir` durable: returns once a directory fsync that
    /// started after this call began has completed (`Ok`), or has failed (its error). `fsync` is
    /// the directory fsync itself; it runs at most once per call, and only when no fsync that
    /// started after this call has completed yet.
    pub fn sync(&self, dir: &str, fsync: impl FnOnce() -> Result<()>) -> Result<()> {
        let (d, need) = {
            let mut dirs = lock(&self.dirs);
            let d = dirs.entry(dir.to_string()).or_default().clone();
            let need = {
                let mut s = lock(&d.state);
                s.users += 1;
                s.started + 1
            };
            (d, need)
        };
        let result = d.sync(need, fsync);
        let mut dirs = lock(&self.dirs);
        let idle = {
            let mut s = lock(&d.state);
            s.users -= 1;
            s.users == 0
        };
        if idle {
            dirs.remove(dir);
        }
        result
    }

    /// How many callers are inside [`DirSyncGroups::sync`] for `dir` (for tests and diagnostics).
    pub fn callers(&self, dir: &str) -> usize {
        lock(&self.dirs).get(dir).map(|d| lock(&d.state).users).unwrap_or(0)
    }
}

impl Dir {
    /// Waits until generation `need` or a later one has completed, leading one if none runs.
    fn sync(&self, need: u64, fsync: impl FnOnce() -> Result<()>) -> Result<()> {
        let mut fsync = Some(fsync);
        let mut s = lock(&self.state);
        loop {
            if s.ok_upto >= need {
                return Ok(());
            }
            if let Some((g, e)) = &s.failed {
                if *g >= need {
                    return Err(e.clone());
                }
            }
            if !s.running {
                // Lead the next generation (it starts now, after this caller's rename).
                s.started += 1;
                s.running = true;
                let gen = s.started;
                drop(s);
                let f = fsync.take().expect("a caller leads at most one generation");
                let r = f();
                s = lock(&self.state);
                s.running = false;
                match r {
                    Ok(()) => s.ok_upto = gen,
                    Err(e) => s.failed = Some((gen, e)),
                }
                self.wake.notify_all();
                // `gen >= need`, so the loop returns on its next turn.
                continue;
            }
            s = self.wake.wait(s).unwrap_or_else(|e| e.into_inner());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
    use std::sync::mpsc;
    use std::thread;

    fn wait_for_callers(g: &DirSyncGroups, dir: &str, n: usize) {
        while g.callers(dir) < n {
            thread::yield_now();
        }
    }

    #[test]
    fn lone_caller_runs_one_fsync_each_time() {
        let g = DirSyncGroups::new();
        let n = AtomicUsize::new(0);
        for _ in 0..3 {
            g.sync("/d", || {
                n.fetch_add(1, Ordering::SeqCst);
                Ok(())
            })
            .unwrap();
        }
        assert_eq!(n.load(Ordering::SeqCst), 3);
        assert_eq!(g.callers("/d"), 0, "idle directories are forgotten");
    }

    #[test]
    fn callers_arriving_during_a_fsync_share_the_next_one() {
        let g = Arc::new(DirSyncGroups::new());
        let fsyncs = Arc::new(AtomicUsize::new(0));
        let (release, gate) = mpsc::channel::<()>();
        // The first caller's fsync blocks until every later caller has arrived.
        let first = {
            let (g, fsyncs) = (g.clone(), fsyncs.clone());
            thread::spawn(move || {
                g.sync("/d", || {
                    fsyncs.fetch_add(1, Ordering::SeqCst);
                    gate.recv().unwrap();
                    Ok(())
                })
            })
        };
        wait_for_callers(&g, "/d", 1);
        while fsyncs.load(Ordering::SeqCst) == 0 {
            thread::yield_now();
        }
        let later: Vec<_> = (0..8)
            .map(|_| {
                let (g, fsyncs) = (g.clone(), fsyncs.clone());
                thread::spawn(move || {
                    g.sync("/d", || {
                        fsyncs.fetch_add(1, Ordering::SeqCst);
                        Ok(())
                    })
                })
            })
            .collect();
        wait_for_callers(&g, "/d", 9);
        assert_eq!(fsyncs.load(Ordering::SeqCst), 1, "the running fsync cannot acknowledge later callers");
        release.send(()).unwrap();
        first.join().unwrap().unwrap();
        for t in later {
            t.join().unwrap().unwrap();
        }
        assert_eq!(fsyncs.load(Ordering::SeqCst), 2, "eight later callers shared one fsync");
        assert_eq!(g.callers("/d"), 0);
    }

    #[test]
    fn every_caller_is_acknowledged_by_a_fsync_that_started_after_it_arrived() {
        // A logical clock orders "renames" (arrivals) and fsync starts; each caller checks that a
        // completed fsync started after its own rename before it returned.
        let g = Arc::new(DirSyncGroups::new());
        let clock = Arc::new(AtomicU64::new(1));
        let done: Arc<Mutex<Vec<u64>>> = Arc::default();
        let fsyncs = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let (g, clock, done, fsyncs) = (g.clone(), clock.clone(), done.clone(), fsyncs.clone());
                thread::spawn(move || {
                    let dir = if t % 2 == 0 { "/a" } else { "/b" };
                    for _ in 0..200 {
                        let renamed = clock.fetch_add(1, Ordering::SeqCst);
                        g.sync(dir, || {
                            let start = clock.fetch_add(1, Ordering::SeqCst);
                            fsyncs.fetch_add(1, Ordering::SeqCst);
                            thread::yield_now();
                            done.lock().unwrap().push(start);
                            Ok(())
                        })
                        .unwrap();
                        let covered = done.lock().unwrap().iter().any(|&s| s > renamed);
                        assert!(covered, "acknowledged without a fsync that started after the rename");
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert!(fsyncs.load(Ordering::SeqCst) <= 1600);
        assert_eq!(g.callers("/a") + g.callers("/b"), 0);
    }

    #[test]
    fn a_failed_fsync_fails_the_callers_it_covers_and_the_next_one_retries() {
        let g = Arc::new(DirSyncGroups::new());
        let (release, gate) = mpsc::channel::<()>();
        let started = Arc::new(AtomicUsize::new(0));
        let first = {
            let (g, started) = (g.clone(), started.clone());
            thread::spawn(move || {
                g.sync("/d", || {
                    started.fetch_add(1, Ordering::SeqCst);
                    gate.recv().unwrap();
                    Ok(())
                })
            })
        };
        while started.load(Ordering::SeqCst) == 0 {
            thread::yield_now();
        }
        // Callers of generation 2, whose fsync fails with EIO.
        let eio = || Err(Error::os("EIO", 5, "fsync", "/d".to_string()));
        let failing: Vec<_> = (0..4)
            .map(|_| {
                let g = g.clone();
                thread::spawn(move || g.sync("/d", eio))
            })
            .collect();
        wait_for_callers(&g, "/d", 5);
        release.send(()).unwrap();
        assert!(first.join().unwrap().is_ok(), "generation 1 succeeded");
        for t in failing {
            let e = t.join().unwrap().unwrap_err();
            assert_eq!(e.code, "EIO");
        }
        // A later caller is not answered by the old failure: it runs a fresh fsync.
        let ran = AtomicUsize::new(0);
        g.sync("/d", || {
            ran.fetch_add(1, Ordering::SeqCst);
            Ok(())
        })
        .unwrap();
        assert_eq!(ran.load(Ordering::SeqCst), 1);
    }
}
