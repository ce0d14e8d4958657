//! The append protocol (`log::append_batch`) on the simulated file system: every crash state
//! (pessimistic model, see `durable_fs_core::sim::crash`: unsynced writes lost, torn in half or
//! zeros; unsynced truncations and creates lost), every injected fault, and broken variants that
//! must be caught. Run with `--nocapture` to see the counts.
//!
//! Invariants in every crash state: every record of a batch that had returned is in the log,
//! intact and in order; the only damage is a torn tail (never an invalid frame followed by valid
//! ones); with the chain on, the chain verifies; and the next appender, on the crashed image,
//! removes the torn tail (reporting exactly it), appends, and leaves a clean log.

use durable_fs_core::log::{append_batch, scan, verify, Appended, LogOptions, LogState, JSON, TEXT};
use durable_fs_core::sim::crash::{explore, CrashState, Explored};
use durable_fs_core::sim::fault::{Action, Interpose};
use durable_fs_core::sim::{Image, SimFs};
use durable_fs_core::Fs;

const LOG: &str = "/d/app/audit.log";

type Batch = &'static [(u8, &'static [u8])];
const BATCHES: &[Batch] =
    &[&[(JSON, b"{\"n\":0}")], &[(TEXT, b"one"), (TEXT, b"two\nlines"), (JSON, b"[3]")], &[(JSON, b"{\"n\":4}"), (TEXT, b"")]];

fn base() -> Image {
    let mut img = Image::new();
    img.add_dir("/d", 0o755);
    img
}

fn opts(chain: bool) -> LogOptions {
    LogOptions { chain, mkdir: true, ..LogOptions::default() }
}

/// Runs the batches; returns, per batch, the op-log length when it returned (its ack point).
fn run<F: Fs>(fs: &F, sim: &SimFs, o: &LogOptions) -> Vec<usize> {
    let mut st = LogState::default();
    let mut acks = Vec::new();
    for b in BATCHES {
        match append_batch(fs, LOG, &mut st, b, o) {
            Ok(Appended::Done { .. }) => acks.push(sim.log().len()),
            Ok(Appended::Busy) => panic!("no other appender here"),
            Err(_) => break,
        }
    }
    acks
}

fn records_acked(acks: &[usize], crash_at: usize) -> usize {
    acks.iter().zip(BATCHES).filter(|(a, _)| **a <= crash_at).map(|(_, b)| b.len()).sum()
}

/// Records already in the log before the run (the torn-tail scenario starts with one).
const PRIOR: &[(u8, &[u8])] = &[(TEXT, b"from before")];

fn check(st: &CrashState, acks: &[usize], o: &LogOptions) -> Result<(), String> {
    check_with(st, acks, o, &[])
}

fn check_with(st: &CrashState, acks: &[usize], o: &LogOptions, prior: &[(u8, &'static [u8])]) -> Result<(), String> {
    let acked = prior.len() + records_acked(acks, st.crash_at);
    let all: Vec<(u8, &[u8])> = prior.iter().copied().chain(BATCHES.iter().flat_map(|b| b.iter().copied())).collect();
    let Some(node) = st.image.get(LOG) else {
        return if acked == 0 { Ok(()) } else { Err(format!("the log is gone with {acked} acknowledged records")) };
    };
    let data = node.data.clone();
    let s = scan(&data, 0);
    if !s.corrupt.is_empty() {
        return Err(format!("damage followed by valid records: {:?}", s.corrupt));
    }
    if s.frames.len() < acked {
        return Err(format!("{} records survive, {acked} were acknowledged", s.frames.len()));
    }
    for (i, (f, (k, p))) in s.frames.iter().zip(all).enumerate() {
        let got = &data[f.payload_offset as usize..(f.payload_offset + f.payload_len) as usize];
        if f.kind != k || got != p {
            return Err(format!("record {i} is not what was appended"));
        }
    }
    if o.chain {
        if let Some(b) = verify(&data, &s) {
            return Err(format!("chain broken: {}", b.reason));
        }
    }
    // The next appender on the crashed machine.
    let after = SimFs::after_crash(st.image.clone(), 2);
    let mut next = LogState::default();
    let r = append_batch(&after, LOG, &mut next, &[(TEXT, b"after the crash")], o).map_err(|e| format!("the next append failed: {e}"))?;
    let want = s.torn.as_ref().map(|t| (t.offset, t.bytes));
    match r {
        Appended::Done { recovered } if recovered.as_ref().map(|t| (t.offset, t.bytes)) == want => {}
        other => return Err(format!("recovery reported {other:?}, expected the torn tail {want:?}")),
    }
    let data2 = after.image().get(LOG).map(|n| n.data.clone()).unwrap_or_default();
    let s2 = scan(&data2, 0);
    if s2.torn.is_some() || !s2.corrupt.is_empty() || s2.frames.len() != s.frames.len() + 1 {
        return Err("the log is not clean after the next append".to_string());
    }
    if o.chain && verify(&data2, &s2).is_some() {
        return Err("the chain does not verify after the next append".to_string());
    }
    Ok(())
}

fn report(name: &str, e: &Explored) {
    println!("crash-sim: log: {name}: {} states ({} distinct), {} violations", e.states, e.distinct, e.violations.len());
}

#[test]
fn every_crash_state_of_the_append_protocol_keeps_acknowledged_records() {
    for chain in [false, true] {
        let o = opts(chain);
        let fs = SimFs::new(base());
        let acks = run(&fs, &fs, &o);
        assert_eq!(acks.len(), BATCHES.len());
        let e = explore(&base(), &fs.log(), true, |st| check(st, &acks, &o));
        report(&format!("create + 3 batches (chain {chain})"), &e);
        assert!(e.violations.is_empty(), "{:#?}", e.violations);
        assert!(e.distinct > 10, "the exploration must see many states");
    }
}

#[test]
fn a_torn_tail_left_by_a_crash_is_removed_durably_before_the_next_batch() {
    let o = opts(true);
    let mut good = Vec::new();
    durable_fs_core::log::encode(PRIOR[0].0, PRIOR[0].1, Some(&[0; 32]), &mut good);
    let mut torn = good.clone();
    let mut partial = Vec::new();
    durable_fs_core::log::encode(TEXT, b"never acknowledged", Some(&[1; 32]), &mut partial);
    torn.extend_from_slice(&partial[..partial.len() / 2]);
    let mut img = base();
    img.add_file(LOG, &torn, 0o600);
    let fs = SimFs::new(img.clone());
    let mut st = LogState::default();
    let mut acks = Vec::new();
    for (i, b) in BATCHES.iter().enumerate() {
        let r = append_batch(&fs, LOG, &mut st, b, &o).unwrap();
        if i == 0 {
            assert_eq!(
                r,
                Appended::Done {
                    recovered: Some(durable_fs_core::log::Torn { offset: good.len() as u64, bytes: (partial.len() / 2) as u64 })
                }
            );
        }
        acks.push(fs.log().len());
    }
    let e = explore(&img, &fs.log(), true, |st| check_with(st, &acks, &o, PRIOR));
    report("torn tail on disk + 3 batches (chain true)", &e);
    assert!(e.violations.is_empty(), "{:#?}", e.violations);
}

#[test]
fn the_simulated_call_order_is_the_documented_one() {
    let fs = SimFs::new(base());
    run(&fs, &fs, &opts(true));
    let calls: Vec<String> = fs.trace().iter().map(|c| format!("{c:?}")).collect();
    let text = calls.join("\n");
    // Per batch: open, flock, (pread), write, fdatasync, close; fdatasync once per batch.
    assert_eq!(text.matches("fdatasync").count(), BATCHES.len(), "{text}");
    assert_eq!(text.matches("flock").count(), BATCHES.len(), "{text}");
}

#[test]
fn broken_variants_are_caught() {
    // Without the fdatasync an acknowledged batch can be lost.
    let o = opts(true);
    let fs = SimFs::new(base());
    let acks = {
        let f = Interpose::new(&fs, |_, call, _| if call == "fdatasync" { Action::Drop } else { Action::Pass });
        run(&f, &fs, &o)
    };
    let e = explore(&base(), &fs.log(), true, |st| check(st, &acks, &o));
    report("broken variant: no fdatasync", &e);
    assert!(!e.violations.is_empty(), "a missing fdatasync must be caught");
    println!("crash-sim:   e.g. {}", e.violations[0]);
    // Without the directory fsync at creation the whole log can vanish.
    let fs = SimFs::new(base());
    let acks = {
        let f = Interpose::new(&fs, |_, call, p| if call == "fsync" && p == "/d/app" { Action::Drop } else { Action::Pass });
        run(&f, &fs, &o)
    };
    let e = explore(&base(), &fs.log(), true, |st| check(st, &acks, &o));
    report("broken variant: no directory fsync at creation", &e);
    assert!(!e.violations.is_empty(), "a missing directory fsync must be caught");
}

#[test]
fn every_call_failing_leaves_only_acknowledged_records() {
    let o = opts(true);
    let total = {
        let fs = SimFs::new(base());
        let probe = Interpose::counting(&fs);
        run(&probe, &fs, &o);
        probe.calls().len()
    };
    let mut cases = 0;
    for n in 0..total {
        for code in ["EIO", "ENOSPC"] {
            let fs = SimFs::new(base());
            let acks = {
                let f = Interpose::fail_at(&fs, n, code);
                run(&f, &fs, &o)
            };
            let acked: usize = BATCHES.iter().take(acks.len()).map(|b| b.len()).sum();
            let data = fs.image().get(LOG).map(|n| n.data.clone()).unwrap_or_default();
            let s = scan(&data, 0);
            assert!(s.torn.is_none() && s.corrupt.is_empty(), "call {n} failing with {code} left a partial record");
            assert_eq!(s.frames.len(), acked, "call {n} failing with {code}: only acknowledged batches are in the log");
            assert!(verify(&data, &s).is_none());
            cases += 1;
        }
    }
    println!("crash-sim: log: {cases} injected faults, each failing its batch cleanly");
}
