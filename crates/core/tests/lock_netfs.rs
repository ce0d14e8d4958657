//! The lock protocol on a network file system as an sshfs client shows it (the simulated world's
//! network mode: inode numbers per name, no unnamed files, `network_fs` true). The real lane
//! (two sshfs clients of one share, each its own host) is `__test__/netfs.test.js`.

use durable_fs_core::lock::{release, try_acquire, verify, Attempt, Held, LockOptions, Me, Record, Seen};
use durable_fs_core::sim::{Image, SimFile, SimFs};
use durable_fs_core::Fs;

const LOCK: &str = "/d/registry.json.lock";

fn world(network: bool, lock_text: Option<&str>) -> SimFs {
    let mut img = Image::new();
    img.add_dir("/d", 0o755);
    if let Some(t) = lock_text {
        img.add_file(LOCK, t.as_bytes(), 0o644);
    }
    let fs = SimFs::new(img);
    fs.set_network(network);
    fs
}

fn attempt(fs: &SimFs, seen: &mut Seen) -> Attempt<SimFile> {
    try_acquire(fs, &Me::of(fs), LOCK, &LockOptions::default(), seen).unwrap()
}

fn acquired(fs: &SimFs) -> Held<SimFile> {
    match attempt(fs, &mut Seen::default()) {
        Attempt::Acquired(h) => h,
        Attempt::Busy(b) => panic!("busy: {b:?}"),
    }
}

/// A record as `fs`'s process `pid` on this host and boot would write it.
fn record_of(fs: &SimFs, pid: u32, kernel_lock: bool) -> Record {
    let me = Me::of(&fs.process(pid));
    Record {
        nonce: "00000000000000aa".into(),
        pid,
        start: me.start,
        boot: me.boot,
        host: me.host,
        kernel_lock,
        acquired_at: 1,
        version: "0.0.0".into(),
    }
}

#[test]
fn a_lock_published_by_link_is_still_ours_although_its_inode_number_changed() {
    let fs = world(true, None);
    let held = acquired(&fs);
    // The name's node id is not the staging file's: identity by inode would call this compromised.
    verify(&fs, &held).unwrap();
    release(&fs, held).unwrap();
    assert!(fs.image().get(LOCK).is_none());
}

#[test]
fn a_lock_replaced_under_the_same_name_is_compromised_and_left_alone() {
    let fs = world(true, None);
    let held = acquired(&fs);
    // Another host reaped it and published its own under the same name (same node id on sshfs).
    fs.unlink(LOCK).unwrap();
    let other = Record { host: "client-b".into(), boot: Some("b-boot".into()), ..record_of(&fs, 300, true) };
    let f = fs.create_excl(LOCK, 0o644).unwrap();
    fs.write_all(&f, other.to_json().as_bytes()).unwrap();
    fs.close(f).unwrap();
    assert_eq!(fs.lstat(LOCK).unwrap().ino, fs.lstat(LOCK).unwrap().ino);
    let e = release(&fs, held).unwrap_err();
    assert_eq!(e.code, "ECOMPROMISED");
    assert_eq!(Record::parse(&fs.image().get(LOCK).unwrap().data), Some(other));
}

#[test]
fn a_free_kernel_lock_is_no_proof_of_death_there_but_the_pid_is() {
    // A live holder on this host whose kernel lock we cannot see (taken through another mount of
    // the share, or the server dropped it): left alone while its pid runs.
    let fs = world(false, None);
    let alive = record_of(&fs, 200, true).to_json();
    for (network, reaped) in [(false, true), (true, false)] {
        let fs = world(network, Some(&alive));
        fs.process(200);
        let out = attempt(&fs, &mut Seen::default());
        assert_eq!(matches!(out, Attempt::Acquired(_)), reaped, "network={network}: {out:?}");
    }
    // Its pid gone: dead, reaped at once on both.
    let dead = record_of(&fs, 201, true).to_json();
    for network in [false, true] {
        let fs = world(network, Some(&dead));
        assert!(matches!(attempt(&fs, &mut Seen::default()), Attempt::Acquired(_)), "network={network}");
    }
}

#[test]
fn a_foreign_hosts_record_is_stale_only_after_stale_ms_of_the_waiters_clock() {
    let base = world(false, None);
    let foreign = Record { host: "client-a".into(), boot: Some("a-boot".into()), ..record_of(&base, 200, true) }.to_json();
    let fs = world(true, Some(&foreign));
    let mut seen = Seen::default();
    let opts = LockOptions { stale_ms: 5_000 };
    for _ in 0..4 {
        match try_acquire(&fs, &Me::of(&fs), LOCK, &opts, &mut seen).unwrap() {
            Attempt::Busy(b) => assert_eq!(b.state, "foreign"),
            Attempt::Acquired(_) => panic!("reaped a foreign holder before stale_ms"),
        }
        fs.sleep_ms(1_000);
    }
    fs.sleep_ms(1_000);
    assert!(matches!(try_acquire(&fs, &Me::of(&fs), LOCK, &opts, &mut seen).unwrap(), Attempt::Acquired(_)));
}

#[test]
fn an_unreadable_record_is_not_judged_by_this_machines_boot_time_there() {
    // The file's mtime (0) is before this machine's boot: on a local file system that is a power
    // cut's leftover, reaped at once; on a share it is another machine's clock and says nothing.
    for (network, reaped) in [(false, true), (true, false)] {
        let fs = world(network, Some("{\"pid\""));
        fs.set_boot_time_ms(Some(1_000));
        let out = attempt(&fs, &mut Seen::default());
        assert_eq!(matches!(out, Attempt::Acquired(_)), reaped, "network={network}: {out:?}");
    }
}
