//! The Rust TUI case end to end: a config file and a session file written atomically (old or
//! new content after any crash), the session updated under a lock so two instances of the app
//! never lose each other's changes, and an append-only audit log with a SHA-256 hash chain that
//! is verified when read back.
//!
//! Run: `cargo run -p durable-fs --example tui_audit [DIR]` (default: a fresh temp directory).

use std::io;
use std::path::PathBuf;

use durable_fs::{read_log, Log, LogOptions, WriteOptions};

fn main() -> io::Result<()> {
    let dir = match std::env::args_os().nth(1) {
        Some(d) => PathBuf::from(d),
        None => std::env::temp_dir().join(format!("durable-fs-tui-{}", std::process::id())),
    };
    let config = dir.join("config.toml");
    let sessions = dir.join("state/sessions.json");
    let audit = dir.join("state/audit.log");

    // Config: private to the user, its directory made if missing.
    WriteOptions::new().mode(0o600).mkdir(true).write(&config, "theme = \"dark\"\nautosave = true\n")?;

    // Sessions: a read-modify-write under the file's lock.
    WriteOptions::new().mkdir(true).write(&sessions, "[]")?;
    for name in ["editor", "shell"] {
        durable_fs::update_file(&sessions, |old| {
            let old = String::from_utf8_lossy(old.unwrap_or(b"[]")).into_owned();
            let inner = old.trim().trim_start_matches('[').trim_end_matches(']').trim().to_string();
            let entry = format!("\"{name}\"");
            let new = if inner.is_empty() { format!("[{entry}]") } else { format!("[{inner},{entry}]") };
            Ok(Some(new.into_bytes()))
        })?;
    }

    // Audit log: each append is durable when it returns; records are chained.
    let log = Log::open(&audit, LogOptions::new().hash_chain(true).mkdir(true))?;
    log.append("config written")?;
    log.append_batch(["session editor opened", "session shell opened"])?;
    drop(log);

    let contents = read_log(&audit)?;
    contents.verify()?;
    println!("config:   {}", std::fs::read_to_string(&config)?.trim_end().replace('\n', "; "));
    println!("sessions: {}", std::fs::read_to_string(&sessions)?);
    for r in contents.records() {
        println!("audit:    {}", String::from_utf8_lossy(r));
    }
    println!("chain head {} verified ({} records) in {}", contents.head().unwrap_or_default(), contents.records().len(), dir.display());
    Ok(())
}
