//! Batch writes (`batch::atomic_write_many`, `batch::atomic_write_each`: the native binding's
//! writeFiles and auto-batching) on the simulated file system: every crash state, every failing
//! call, and a broken variant. Run with `--nocapture` to see the counts.

use durable_fs_core::batch::{atomic_write_each, atomic_write_many, Entry};
use durable_fs_core::sim::crash::{check_write, explore, CrashState, Explored, WriteCase};
use durable_fs_core::sim::fault::{Action, Interpose};
use durable_fs_core::sim::{Image, SimFs};
use durable_fs_core::{Fs, WriteOptions};

/// (path, new content, mode) of each file of a batch.
type Writes = Vec<(&'static str, Vec<u8>, u32)>;

/// Three files in two directories, one of them new.
fn setup() -> (Image, Writes) {
    let mut img = Image::new();
    img.add_file("/d/a", b"old a", 0o640);
    img.add_file("/d/b", b"old b", 0o600);
    img.add_dir("/e", 0o755);
    let writes =
        vec![("/d/a", b"new content of a".to_vec(), 0o644), ("/d/b", b"new b".to_vec(), 0o600), ("/e/c", b"brand new c".to_vec(), 0o640)];
    (img, writes)
}

fn cases(img: &Image, writes: &[(&'static str, Vec<u8>, u32)]) -> Vec<WriteCase> {
    writes
        .iter()
        .map(|(p, d, m)| WriteCase { target: p.to_string(), old: img.get(p).map(|n| (n.data.clone(), n.mode)), new: d.clone(), mode: *m })
        .collect()
}

/// Every target old or new; the new one once its own call returned Ok.
fn check_all(cases: &[WriteCase], ok: &[bool], st: &CrashState) -> Result<(), String> {
    for (c, ok) in cases.iter().zip(ok) {
        let one = CrashState { returned_ok: st.returned_ok && *ok, ..st.clone() };
        check_write(c, &one).map_err(|e| format!("{}: {e}", c.target))?;
    }
    Ok(())
}

fn many<F: Fs>(fs: &F, writes: &[(&'static str, Vec<u8>, u32)]) -> durable_fs_core::Result<()> {
    let entries: Vec<Entry> = writes.iter().map(|(p, d, m)| Entry { path: p, data: d, mode: Some(*m) }).collect();
    atomic_write_many(fs, &entries, &WriteOptions::default())
}

fn each<F: Fs>(fs: &F, writes: &[(&'static str, Vec<u8>, u32)]) -> Vec<durable_fs_core::Result<()>> {
    let w: Vec<(&str, &[u8], WriteOptions)> =
        writes.iter().map(|(p, d, m)| (*p, d.as_slice(), WriteOptions { mode: Some(*m), ..Default::default() })).collect();
    atomic_write_each(fs, &w)
}

fn report(name: &str, e: &Explored) {
    println!("crash-sim: batch: {name}: {} states ({} distinct), {} violations", e.states, e.distinct, e.violations.len());
}

#[test]
fn every_crash_state_of_a_batch_leaves_each_file_old_or_new() {
    let (img, writes) = setup();
    let cs = cases(&img, &writes);
    let fs = SimFs::new(img.clone());
    many(&fs, &writes).unwrap();
    let e = explore(&img, &fs.log(), true, |st| check_all(&cs, &[true; 3], st));
    report("atomic_write_many, 3 files in 2 directories", &e);
    assert!(e.violations.is_empty(), "{:#?}", e.violations);

    let fs = SimFs::new(img.clone());
    let ok: Vec<bool> = each(&fs, &writes).iter().map(|r| r.is_ok()).collect();
    assert_eq!(ok, [true; 3]);
    let e = explore(&img, &fs.log(), true, |st| check_all(&cs, &ok, st));
    report("atomic_write_each, 3 files in 2 directories", &e);
    assert!(e.violations.is_empty(), "{:#?}", e.violations);
}

#[test]
fn a_batch_without_its_directory_fsyncs_is_caught() {
    let (img, writes) = setup();
    let cs = cases(&img, &writes);
    let fs = SimFs::new(img.clone());
    {
        let f = Interpose::new(&fs, |_, call, p| if call == "fsync" && (p == "/d" || p == "/e") { Action::Drop } else { Action::Pass });
        many(&f, &writes).unwrap();
    }
    let e = explore(&img, &fs.log(), true, |st| check_all(&cs, &[true; 3], st));
    report("broken variant: no directory fsync", &e);
    assert!(!e.violations.is_empty());
}

#[test]
fn every_call_of_a_batch_fails_cleanly() {
    let (img, writes) = setup();
    let old: Vec<Option<Vec<u8>>> = writes.iter().map(|(p, _, _)| img.get(p).map(|n| n.data.clone())).collect();
    let mut n_cases = 0;
    for mode in ["many", "each"] {
        let calls = {
            let fs = SimFs::new(img.clone());
            let probe = Interpose::counting(&fs);
            if mode == "many" {
                many(&probe, &writes).unwrap();
            } else {
                assert!(each(&probe, &writes).iter().all(|r| r.is_ok()));
            }
            probe.calls()
        };
        let first_rename = calls.iter().position(|(c, _, _)| *c == "rename").unwrap();
        for (i, (call, p, _)) in calls.iter().enumerate() {
            for code in ["EIO", "ENOSPC"] {
                let fs = SimFs::new(img.clone());
                let f = Interpose::fail_at(&fs, i, code);
                let what = format!("{mode}: call {i} ({call} {p}) failing with {code}");
                let results: Vec<Result<(), String>> = if mode == "many" {
                    let r = many(&f, &writes).map_err(|e| e.code.clone());
                    vec![r; writes.len()]
                } else {
                    each(&f, &writes).into_iter().map(|r| r.map_err(|e| e.code.clone())).collect()
                };
                assert!(
                    results.iter().any(|r| r.as_ref().err().map(String::as_str) == Some(code)),
                    "{what}: the error is returned: {results:?}"
                );
                let now = fs.image();
                for dir in ["/d", "/e"] {
                    assert!(now.temp_files(dir).is_empty(), "{what}: temp files left in {dir}");
                }
                assert_eq!(fs.open_files(), 0, "{what}: descriptors leaked");
                for (k, (path, data, _)) in writes.iter().enumerate() {
                    let got = now.get(path).map(|n| n.data.clone());
                    let is_new = got.as_deref() == Some(data.as_slice());
                    assert!(is_new || got == old[k], "{what}: {path} is neither old nor new");
                    if results[k].is_ok() {
                        assert!(is_new, "{what}: {path} reported Ok but is not new");
                    }
                    if mode == "many" && i < first_rename {
                        assert_eq!(got, old[k], "{what}: a failure before the first rename touches no target");
                    }
                }
                n_cases += 1;
            }
        }
    }
    println!("crash-sim: fault injection: batch writes: {n_cases} cases, 0 violations");
}
