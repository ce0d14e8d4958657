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
//! crashcheck shutdown MOUNTPOINT
//!     FS_IOC_SHUTDOWN with FS_SHUTDOWN_FLAGS_NOLOGFLUSH: the file system stops as if the power were
//!     cut (what is not on disk yet is lost), Linux ext4 and xfs.
//! ```

use durable_fs_core::batch::{atomic_write_many, Entry};
use durable_fs_core::sim::crash::{check_write, explore, recover_write, CrashState, WriteCase};
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
    let (real_order, sim_order) = (normalize(&real.trace(), root), normalize(&sim.trace(), root));
    println!(
        "{{\"replayed\":{replayed},\"ops\":{},\"states\":{},\"distinct\":{},\"violations\":{},\"orderMatch\":{},\"realOrder\":{},\"simOrder\":{}}}",
        log.len(),
        result.states,
        result.distinct,
        json_list(&result.violations),
        real_order == sim_order,
        json_list(&real_order),
        json_list(&sim_order)
    );
    Ok(())
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
    let (real_order, sim_order) = (normalize(&real.trace(), root), normalize(&sim.trace(), root));
    println!(
        "{{\"replayed\":{replayed},\"ops\":{},\"states\":{},\"distinct\":{},\"violations\":{},\"orderMatch\":{},\"realOrder\":{},\"simOrder\":{}}}",
        log.len(),
        result.states,
        result.distinct,
        json_list(&result.violations),
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
        Some("shutdown") if args.len() == 2 => shutdown(&args[1]),
        _ => Err("usage: crashcheck check-write ... | crashcheck shutdown MOUNTPOINT".to_string()),
    };
    if let Err(e) = r {
        eprintln!("crashcheck: {e}");
        std::process::exit(2);
    }
}
