//! Integration tests of the crate API on real files: threads, and real child processes (this
//! test binary re-run with `DURABLE_FS_CHILD` set) for lock exclusion across processes.

use std::fs;
use std::io::{ErrorKind, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use durable_fs::{read_log, Error, ErrorCode, Lock, LockOptions, Log, LogOptions, WriteOptions};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("durable-fs-it-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// Child mode: increment the counter file 50 times under the lock, logging enter/exit lines.
fn child_counter(dir: &Path) {
    let counter = dir.join("counter");
    for _ in 0..50 {
        let held = Lock::acquire(&counter, LockOptions::new().timeout(Some(Duration::from_secs(60)))).unwrap();
        let mut trace = fs::OpenOptions::new().append(true).create(true).open(dir.join("trace")).unwrap();
        writeln!(trace, "enter {}", std::process::id()).unwrap();
        let n: u64 = fs::read_to_string(&counter).map(|s| s.trim().parse().unwrap()).unwrap_or(0);
        durable_fs::write(&counter, format!("{}\n", n + 1)).unwrap();
        writeln!(trace, "exit {}", std::process::id()).unwrap();
        held.release().unwrap();
    }
}

#[test]
fn lock_excludes_child_processes() {
    if let Ok(dir) = std::env::var("DURABLE_FS_CHILD") {
        child_counter(Path::new(&dir));
        return;
    }
    let dir = scratch("procs");
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..4)
        .map(|_| {
            Command::new(&exe)
                .args(["lock_excludes_child_processes", "--exact", "--test-threads=1"])
                .env("DURABLE_FS_CHILD", &dir)
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    assert_eq!(fs::read_to_string(dir.join("counter")).unwrap(), "200\n");
    // enter/exit lines strictly alternate with the same pid: no two holders overlapped.
    let trace = fs::read_to_string(dir.join("trace")).unwrap();
    let lines: Vec<&str> = trace.lines().collect();
    assert_eq!(lines.len(), 400);
    for pair in lines.chunks(2) {
        let enter = pair[0].strip_prefix("enter ").expect("enter line");
        let exit = pair[1].strip_prefix("exit ").expect("exit line");
        assert_eq!(enter, exit);
    }
    assert!(!dir.join("counter.lock").exists());
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn write_sets_content_and_mode_and_replaces() {
    let dir = scratch("write");
    let p = dir.join("sub/config.toml");
    WriteOptions::new().mode(0o640).mkdir(true).write(&p, "a = 1\n").unwrap();
    assert_eq!(fs::read(&p).unwrap(), b"a = 1\n");
    assert_eq!(fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o640);
    durable_fs::write(&p, b"a = 2\n").unwrap();
    assert_eq!(fs::read_to_string(&p).unwrap(), "a = 2\n");
    // No temp file is left beside the target.
    let names: Vec<_> = fs::read_dir(dir.join("sub")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, vec![std::ffi::OsString::from("config.toml")]);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn errors_keep_kind_and_name_operation_and_path() {
    let dir = scratch("errors");
    let target = dir.join("no/such/dir/file");
    let err = durable_fs::write(&target, b"x").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let info = Error::of(&err).unwrap();
    assert_eq!(info.code(), "ENOENT");
    assert_eq!(info.error_code(), ErrorCode::Os);
    assert_eq!(info.raw_os_error(), Some(libc_enoent()));
    assert_eq!(info.path().unwrap(), target.to_str().unwrap());
    assert!(!info.operation().is_empty());
    assert!(err.to_string().contains(target.to_str().unwrap()), "{err}");
    assert!(!dir.join("no").exists());
    fs::remove_dir_all(&dir).unwrap();
}

fn libc_enoent() -> i32 {
    std::io::Error::from(ErrorKind::NotFound).raw_os_error().unwrap_or(2)
}

#[test]
fn lock_timeout_is_typed_and_names_holder() {
    let dir = scratch("timeout");
    let p = dir.join("res");
    let held = Lock::acquire(&p, &LockOptions::new()).unwrap();
    let p2 = p.clone();
    let err = std::thread::spawn(move || Lock::acquire(&p2, LockOptions::new().timeout(Some(Duration::from_millis(200)))).unwrap_err())
        .join()
        .unwrap();
    let info = Error::of(&err).expect("typed error");
    assert_eq!(info.error_code(), ErrorCode::Locked);
    assert_eq!(info.code(), "ELOCKED");
    assert!(info.holder().is_some());
    drop(held);
    // Dropping the guard released the lock: it can be taken at once.
    Lock::acquire(&p, LockOptions::new().timeout(Some(Duration::ZERO))).unwrap().release().unwrap();
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn release_of_a_removed_lock_is_compromised() {
    let dir = scratch("compromised");
    let p = dir.join("res");
    let held = Lock::acquire(&p, &LockOptions::new()).unwrap();
    fs::remove_file(held.lock_path()).unwrap();
    let err = held.release().unwrap_err();
    assert_eq!(Error::of(&err).unwrap().error_code(), ErrorCode::Compromised);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn update_file_threads_lose_no_update() {
    let dir = scratch("update");
    let p = Arc::new(dir.join("n"));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let p = Arc::clone(&p);
            std::thread::spawn(move || {
                for _ in 0..25 {
                    durable_fs::update_file(&*p, |old| {
                        let n: u64 = old.map(|b| String::from_utf8(b.to_vec()).unwrap().parse().unwrap()).unwrap_or(0);
                        Ok(Some((n + 1).to_string().into_bytes()))
                    })
                    .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(fs::read_to_string(&*p).unwrap(), "100");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn log_group_commit_from_threads_and_hash_chain() {
    let dir = scratch("log");
    let p = dir.join("audit.log");
    let log = Arc::new(Log::open(&p, LogOptions::new().hash_chain(true)).unwrap());
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for i in 0..25 {
                    if i % 5 == 0 {
                        log.append_batch([format!("{t}-{i}a"), format!("{t}-{i}b")]).unwrap();
                    } else {
                        log.append(format!("{t}-{i}")).unwrap();
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    drop(log);
    let read = read_log(&p).unwrap();
    read.verify().unwrap();
    assert_eq!(read.records().len(), 4 * 25 + 4 * 5);
    for t in 0..4 {
        // Each thread's records are in its own order.
        let mine: Vec<String> =
            read.records().iter().map(|r| String::from_utf8(r.to_vec()).unwrap()).filter(|r| r.starts_with(&format!("{t}-"))).collect();
        assert_eq!(mine.len(), 30);
        assert_eq!(mine[0], format!("{t}-0a"));
        assert_eq!(mine[1], format!("{t}-0b"));
    }
    // Tampering with one byte of a record breaks the log's check.
    let mut bytes = fs::read(&p).unwrap();
    let at = bytes.windows(4).position(|w| w == b"2-13").unwrap();
    bytes[at] = b'9';
    fs::write(&p, &bytes).unwrap();
    let bad = read_log(&p).and_then(|c| c.verify());
    let err = bad.unwrap_err();
    assert_eq!(Error::of(&err).unwrap().error_code(), ErrorCode::Corrupt, "{err}");
    fs::remove_dir_all(&dir).unwrap();
}
