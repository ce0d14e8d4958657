//! The crash-state checker for the real addon (used by `scripts/crash/`).
//!
//! ```text
//! crashcheck check-write OPS ROOT TARGET OLD_HEX OLD_MODE NEW_HEX MODE UMASK [mkdir]
//!     OPS: the system calls of one write, recorded with strace and converted by
//!     scripts/crash/trace.js (format: durable_fs_core::sim::replay). Replays them on the simulator
//!     from a base image holding TARGET (OLD_HEX with OLD_MODE; OLD_HEX "-" for no file), explores
//!     every crash state, checks the write invariants and recovery in each, and compares the call
//!     order with the simulated protocol's. Prints one JSON object; exit 0 when it could run.
//! crashcheck check-many OPS ROOT SPEC UMASK
//!     The same for a batch (atomicWriteFiles): SPEC has one line per file, tab-separated:
//!     TARGET OLD_HEX|- OLD_MODE NEW_HEX MODE. Every file must be old or new in every state, all new
//!     once the call returned; the order is compared with the simulated batch::atomic_write_many.
//! crashcheck check-lock OPS ROOT TARGET LOCK OLD_HEX OLD_MODE NEW_HEX MODE UMASK
//!     A lock/update cycle (lock, write TARGET, release): the holder killed after each of its calls
//!     leaves the lock absent or with a complete record, the target old or new, and the next
//!     acquire reaps at once; a power cut at any point leaves the target old or new. The order is
//!     compared with the simulated try_acquire + atomic_write + release.
//! crashcheck shutdown MOUNTPOINT
//!     FS_IOC_SHUTDOWN with FS_SHUTDOWN_FLAGS_NOLOGFLUSH: the file system stops as if the power were
//!     cut (what is not on disk yet is lost), Linux ext4 and xfs.
//! ```

use durable_fs_core::batch::{atomic_write_many, Entry};
use durable_fs_core::sim::crash::{check_write, explore, recover_write, CrashState, Explored, WriteCase};
use durable_fs_core::sim::replay::{normalize, replay};
use durable_fs_core::sim::{Image, SimFs};
use durable_fs_core::write::{atomic_write, WriteOptions};

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex")).collect()
}

fn json_str(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn json_list(v: &[String]) -> String {
    format!("[{}]", v.iter().map(|s| json_str(s)).collect::<Vec<_>>().join(","))
}

fn check_write_cmd(a: &[String]) -> Result<(), String> {
    let (a, mkdir) = match a {
        [rest @ .., flag] if flag == "mkdir" => (rest, true),
        _ => (a, false),
    };
    let [ops, root, target, old_hex, old_mode, new_hex, mode, umask] = a else {
        return Err("usage: crashcheck check-write OPS ROOT TARGET OLD_HEX OLD_MODE NEW_HEX MODE UMASK [mkdir]".to_string());
    };
    let octal = |s: &str| u32::from_str_radix(s, 8).map_err(|_| format!("bad octal {s}"));
    let text = std::fs::read_to_string(ops).map_err(|e| format!("{ops}: {e}"))?;
    let mut base = Image::new();
    base.add_dir(root, 0o755);
    let old = if old_hex == "-" { None } else { Some((unhex(old_hex), octal(old_mode)?)) };
    if let Some((data, m)) = &old {
        base.add_file(target, data, *m);
    }
    let case = WriteCase { target: target.clone(), old, new: unhex(new_hex), mode: octal(mode)? };

    // The real calls, replayed.
    let real = SimFs::new(base.clone());
    real.set_umask(octal(umask)?);
    let replayed = replay(&real, &text)?;
    let log = real.log();
    let result = explore(&base, &log, true, |st| check_write(&case, st).and_then(|_| recover_write(&case, st)));

    // The simulated protocol, for the order.
    let sim = SimFs::new(base.clone());
    sim.set_umask(octal(umask)?);
    let opts = WriteOptions { mode: Some(case.mode), mkdir, ..Default::default() };
    atomic_write(&sim, target, &case.new, &opts).map_err(|e| format!("simulated write failed: {e}"))?;
    report(replayed, log.len(), &result, &normalize(&real.trace(), root), &normalize(&sim.trace(), root));
    Ok(())
}

/// Prints one check's result as JSON: the explored states, the violations, and whether the real
/// (replayed) and the simulated system-call orders match.
fn report(replayed: usize, ops: usize, result: &Explored, real_order: &[String], sim_order: &[String]) {
    println!(
        "{{\"replayed\":{replayed},\"ops\":{ops},\"states\":{},\"distinct\":{},\"violations\":{},\"orderMatch\":{},\"realOrder\":{},\"simOrder\":{}}}",
        result.states,
        result.distinct,
        json_list(&result.violations),
        real_order == sim_order,
        json_list(real_order),
        json_list(sim_order)
    );
}

fn check_many_cmd(a: &[String]) -> Result<(), String> {
    let [ops, root, spec, umask] = a else {
        return Err("usage: crashcheck check-many OPS ROOT SPEC UMASK".to_string());
    };
    let octal = |s: &str| u32::from_str_radix(s, 8).map_err(|_| format!("bad octal {s}"));
    let text = std::fs::read_to_string(ops).map_err(|e| format!("{ops}: {e}"))?;
    let spec = std::fs::read_to_string(spec).map_err(|e| format!("{spec}: {e}"))?;
    let mut base = Image::new();
    base.add_dir(root, 0o755);
    let mut cases = Vec::new();
    for line in spec.lines().filter(|l| !l.is_empty()) {
        let f: Vec<&str> = line.split('\t').collect();
        let [target, old_hex, old_mode, new_hex, mode] = f[..] else { return Err(format!("bad spec line {line:?}")) };
        let old = if old_hex == "-" { None } else { Some((unhex(old_hex), octal(old_mode)?)) };
        if let Some((data, m)) = &old {
            base.add_file(target, data, *m);
        } else {
            base.add_dir(durable_fs_core::fs::path::split(target, false).0, 0o755);
        }
        cases.push(WriteCase { target: target.to_string(), old, new: unhex(new_hex), mode: octal(mode)? });
    }
    let real = SimFs::new(base.clone());
    real.set_umask(octal(umask)?);
    let replayed = replay(&real, &text)?;
    let log = real.log();
    let result = explore(&base, &log, true, |st| {
        for c in &cases {
            check_write(c, st).map_err(|e| format!("{}: {e}", c.target))?;
        }
        let untouched = CrashState { returned_ok: false, ..st.clone() };
        cases.iter().try_for_each(|c| recover_write(c, &untouched))
    });
    let sim = SimFs::new(base.clone());
    sim.set_umask(octal(umask)?);
    let entries: Vec<Entry> = cases.iter().map(|c| Entry { path: &c.target, data: &c.new, mode: Some(c.mode) }).collect();
    atomic_write_many(&sim, &entries, &WriteOptions::default()).map_err(|e| format!("simulated batch failed: {e}"))?;
    report(replayed, log.len(), &result, &normalize(&real.trace(), root), &normalize(&sim.trace(), root));
    Ok(())
}

fn check_lock_cmd(a: &[String]) -> Result<(), String> {
    use durable_fs_core::lock::{release, sweep_staging, try_acquire, Attempt, LockOptions, Me, Record, Seen};
    use durable_fs_core::sys::OsFs;
    use durable_fs_core::Fs;
    let [ops, root, target, lock, old_hex, old_mode, new_hex, mode, umask] = a else {
        return Err("usage: crashcheck check-lock OPS ROOT TARGET LOCK OLD_HEX OLD_MODE NEW_HEX MODE UMASK".to_string());
    };
    let octal = |s: &str| u32::from_str_radix(s, 8).map_err(|_| format!("bad octal {s}"));
    let text = std::fs::read_to_string(ops).map_err(|e| format!("{ops}: {e}"))?;
    let lines: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
    let mut base = Image::new();
    base.add_dir(root, 0o755);
    let old = (unhex(old_hex), octal(old_mode)?);
    base.add_file(target, &old.0, old.1);
    let case = WriteCase { target: target.clone(), old: Some(old), new: unhex(new_hex), mode: octal(mode)? };
    let (host, boot) = (OsFs.hostname(), OsFs.boot_id().unwrap_or_default());
    let world = |img: Image| {
        let fs = SimFs::new(img);
        fs.set_umask(octal(umask).unwrap_or(0o022));
        fs.set_identity(&host, &boot);
        fs
    };
    let mut violations = Vec::new();
    // The holder killed after each of its calls (what it wrote stays: no power cut).
    for k in 0..=lines.len() {
        let fs = world(base.clone());
        replay(&fs, &(lines[..k].join("\n") + "\n"))?;
        fs.kill();
        let img = fs.image();
        let what = format!("killed after {k} of {} calls", lines.len());
        if let Some(n) = img.get(lock) {
            if Record::parse(&n.data).is_none() {
                violations.push(format!("{what}: the lock file holds no valid record: {:?}", String::from_utf8_lossy(&n.data)));
            }
        }
        let st = durable_fs_core::sim::crash::CrashState { image: img, crash_at: k, returned_ok: k == lines.len(), fates: vec![] };
        if let Err(e) = check_write(&case, &st) {
            violations.push(format!("{what}: {e}"));
        }
        let p2 = fs.process(4242);
        let me = Me::of(&p2);
        match try_acquire(&p2, &me, lock, &LockOptions::default(), &mut Seen::default()) {
            Ok(Attempt::Acquired(h)) => {
                let _ = sweep_staging(&p2, &me, lock);
                if let Err(e) = release(&p2, h) {
                    violations.push(format!("{what}: the next holder's release failed: {e}"));
                }
            }
            Ok(Attempt::Busy(b)) => violations.push(format!("{what}: the dead holder's lock was not reaped at once: {b:?}")),
            Err(e) => violations.push(format!("{what}: the next acquire failed: {e}")),
        }
    }
    // A power cut at any point: the write invariants.
    let real = world(base.clone());
    let replayed = replay(&real, &text)?;
    let log = real.log();
    let result = explore(&base, &log, true, |st| check_write(&case, st));
    violations.extend(result.violations.iter().cloned());
    // The simulated cycle, for the order.
    let sim = world(base.clone());
    let me = Me::of(&sim);
    let held = match try_acquire(&sim, &me, lock, &LockOptions::default(), &mut Seen::default()).map_err(|e| e.to_string())? {
        Attempt::Acquired(h) => h,
        Attempt::Busy(b) => return Err(format!("simulated acquire busy: {b:?}")),
    };
    atomic_write(&sim, target, &case.new, &WriteOptions { mode: Some(case.mode), ..Default::default() }).map_err(|e| e.to_string())?;
    release(&sim, held).map_err(|e| e.to_string())?;
    let (real_order, sim_order) = (normalize(&real.trace(), root), normalize(&sim.trace(), root));
    println!(
        "{{\"replayed\":{replayed},\"killPoints\":{},\"states\":{},\"distinct\":{},\"violations\":{},\"orderMatch\":{},\"realOrder\":{},\"simOrder\":{}}}",
        lines.len() + 1,
        result.states,
        result.distinct,
        json_list(&violations),
        real_order == sim_order,
        json_list(&real_order),
        json_list(&sim_order)
    );
    Ok(())
}

#[cfg(target_os = "linux")]
fn shutdown(mnt: &str) -> Result<(), String> {
    use std::os::unix::io::AsRawFd;
    // _IOR('X', 125, __u32)
    const FS_IOC_SHUTDOWN: libc::c_ulong = 0x8004_587d;
    const FS_SHUTDOWN_FLAGS_NOLOGFLUSH: u32 = 2;
    let f = std::fs::File::open(mnt).map_err(|e| format!("{mnt}: {e}"))?;
    let flags = FS_SHUTDOWN_FLAGS_NOLOGFLUSH;
    let r = unsafe { libc::ioctl(f.as_raw_fd(), FS_IOC_SHUTDOWN as _, &flags) };
    if r != 0 {
        return Err(format!("FS_IOC_SHUTDOWN {mnt}: {}", std::io::Error::last_os_error()));
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn shutdown(_mnt: &str) -> Result<(), String> {
    Err("FS_IOC_SHUTDOWN is Linux-only".to_string())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let r = match args.first().map(String::as_str) {
        Some("check-write") => check_write_cmd(&args[1..]),
        Some("check-many") => check_many_cmd(&args[1..]),
        Some("check-lock") => check_lock_cmd(&args[1..]),
        Some("shutdown") if args.len() == 2 => shutdown(&args[1]),
        _ => Err("usage: crashcheck check-write ... | crashcheck shutdown MOUNTPOINT".to_string()),
    };
    if let Err(e) = r {
        eprintln!("crashcheck: {e}");
        std::process::exit(2);
    }
}
