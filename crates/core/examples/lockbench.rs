//! Native cost of one uncontended acquire + release: `cargo run --release --example lockbench [dir]`.
use durable_fs_core::lock::{self, Attempt, LockOptions, Me, Seen};
use durable_fs_core::sys::OsFs;

fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "/dev/shm".into());
    let p = format!("{dir}/lkbench-{}.lock", std::process::id());
    let me = Me::of(&OsFs);
    let opts = LockOptions::default();
    let mut seen = Seen::default();
    let n = 50_000;
    let t = std::time::Instant::now();
    for _ in 0..n {
        match lock::try_acquire(&OsFs, &me, &p, &opts, &mut seen).unwrap() {
            Attempt::Acquired(h) => lock::release(&OsFs, h).unwrap(),
            Attempt::Busy(b) => panic!("busy: {b:?}"),
        }
    }
    println!("{dir}: {:.0} cycles/s", n as f64 / t.elapsed().as_secs_f64());
}
