//! The Rust floor for `npm run bench`: the atomic write protocol in a plain loop on the real file
//! system, with no JavaScript, no libuv and no queue in the way.
//!
//! ```text
//! cargo run --release -p durable-fs-core --example floor -- DIR SIZE COUNT THREADS FILES [group]
//! ```
//!
//! `THREADS` threads share `COUNT` writes of `SIZE` bytes to `FILES` files in `DIR` (file `i % FILES`
//! for write `i`). Without `group` every write runs the whole protocol itself, its own directory
//! fsync included (the per-write floor: `prepare`, `write_temp`, `rename`, `sync_dir`); with
//! `group` it calls `atomic_write`, whose directory fsyncs are shared by writes in flight together.
//! Prints one JSON line: `{"ops":...,"secs":...,"p50_us":...,"p99_us":...}`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use durable_fs_core::fs::Fs;
use durable_fs_core::sys::OsFs;
use durable_fs_core::write::{self, WriteOptions};

fn per_write(target: &str, data: &[u8], opts: &WriteOptions) -> durable_fs_core::Result<()> {
    let fs = OsFs;
    let p = write::prepare(&fs, target, opts)?;
    let tmp = write::write_temp(&fs, &p, data, opts)?;
    fs.rename(&tmp, &p.target)?;
    write::sync_dir(&fs, &p.dir)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 5 {
        eprintln!("usage: floor DIR SIZE COUNT THREADS FILES [group]");
        std::process::exit(2);
    }
    let dir = args[0].clone();
    let num = |i: usize| -> usize { args[i].parse().unwrap_or_else(|_| panic!("argument {} must be a number", i + 1)) };
    let (size, count, threads, files) = (num(1), num(2), num(3).max(1), num(4).max(1));
    let group = args.get(5).map(|s| s == "group").unwrap_or(false);
    let data: Arc<Vec<u8>> = Arc::new((0..size).map(|i| (i % 251) as u8).collect());
    let next = Arc::new(AtomicUsize::new(0));
    let lat: Arc<Mutex<Vec<u64>>> = Arc::new(Mutex::new(Vec::with_capacity(count)));
    let opts = WriteOptions::default();
    let t0 = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (dir, data, next, lat, opts) = (dir.clone(), data.clone(), next.clone(), lat.clone(), opts.clone());
            std::thread::spawn(move || {
                let mut mine = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        break;
                    }
                    let target = format!("{dir}/floor-{}", i % files);
                    let s = Instant::now();
                    let r =
                        if group { durable_fs_core::atomic_write(&OsFs, &target, &data, &opts) } else { per_write(&target, &data, &opts) };
                    if let Err(e) = r {
                        eprintln!("floor: {e}");
                        std::process::exit(1);
                    }
                    mine.push(s.elapsed().as_nanos() as u64);
                }
                lat.lock().unwrap().extend(mine);
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let secs = t0.elapsed().as_secs_f64();
    let mut lat = lat.lock().unwrap().clone();
    lat.sort_unstable();
    let pct = |q: f64| lat.get(((lat.len() as f64 * q) as usize).min(lat.len().saturating_sub(1))).copied().unwrap_or(0) as f64 / 1000.0;
    println!("{{\"ops\":{},\"secs\":{secs:.6},\"p50_us\":{:.1},\"p99_us\":{:.1}}}", lat.len(), pct(0.5), pct(0.99));
}
