//! The durable append-only log: group-committed appends, torn-tail recovery, an optional
//! tamper-evident hash chain.
//!
//! ## Record framing
//!
//! Every record is one frame, written whole by one `write` together with the rest of its batch:
//!
//! ```text
//! frame   = kind SP length [SP chain] SP crc SP payload LF
//! kind    = "t" (UTF-8 text) / "j" (one JSON value) / "b" (raw bytes)
//! length  = the payload's byte length, decimal, no leading zero (at most 12 digits)
//! chain   = 64 lowercase hex digits: SHA-256(previous chain (32 bytes) || kind || payload);
//!           the previous chain is 32 zero bytes for the first record (or after an unchained one)
//! crc     = 8 lowercase hex digits: CRC-32 (IEEE) of the frame bytes before the crc field
//!           ("kind SP length [SP chain] SP") followed by the payload
//! ```
//!
//! For example `j 13 5c4b2a1e {"user":"ann"}` (without a chain). A JSON record is one line; text
//! and bytes may hold newlines (the length, not the LF, delimits the payload).
//!
//! A frame is valid when it parses, its CRC matches and its LF is in place. A crash mid-append
//! leaves a *torn tail*: an invalid frame with no valid frame after it. It is never an
//! acknowledged record (those were written and fdatasynced before the append resolved), so the
//! next appender truncates it (under the lock) before writing, and reports it. An invalid frame
//! *followed* by valid ones is corruption, never truncated: appending fails with `ECORRUPT`.
//!
//! ## Append protocol (one batch)
//!
//! ```text
//! open(log, O_RDWR|O_APPEND|O_CLOEXEC)    per batch: the lock is released by close
//! flock(LOCK_EX|LOCK_NB)                  busy: close, the caller retries later
//! fstat                                    size vs the end this appender last knew
//! pread(known end .. EOF)                  records other processes appended: chain head, torn tail
//! ftruncate(torn offset) + fdatasync       only when a crashed appender left a torn tail
//! write(batch)                             every frame of the batch in one buffer
//! fdatasync                                the batch durable (durability "sync")
//! close                                    releases the kernel lock
//! ```
//!
//! A failed `write` or `fdatasync` truncates the file back to where the batch began, so earlier
//! records stay intact and no partial frame is left behind; the error is returned.
//!
//! Creating the log (first open): missing parents with `mkdir`, `open(O_CREAT)`, `fchmod(mode)`
//! (exact, whatever the umask), `fsync`, `fsync(parent dir)`: the name itself is durable before
//! the first append is acknowledged.
//!
//! ## Coordination between processes
//!
//! The kernel lock (`flock`, `LockFileEx`) on the log file is held from reading the tail to the
//! end of the fdatasync, so batches of different processes never interleave and each batch
//! extends the chain from the true last record. Where there are no kernel locks
//! ([`Fs::kernel_locks`] false: the WebAssembly backend) `O_APPEND` still keeps each batch
//! contiguous, but two processes may chain from the same predecessor.

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::fs::{path, Fs};

/// A 32-byte chain hash.
pub type Hash = [u8; 32];

/// Record kinds (the first byte of a frame).
pub const TEXT: u8 = b't';
/// A JSON value.
pub const JSON: u8 = b'j';
/// Raw bytes.
pub const BYTES: u8 = b'b';

const MAX_LEN_DIGITS: usize = 12;

/// How to open and append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogOptions {
    /// Mode of a newly created log (exact, not narrowed by the umask). Existing logs keep theirs.
    pub mode: u32,
    /// Create missing parent directories when creating the log.
    pub mkdir: bool,
    /// Create the log if it does not exist (the open call; later appends do not recreate it).
    pub create: bool,
    /// fdatasync every batch before it is acknowledged.
    pub durable: bool,
    /// Give every record a chain hash.
    pub chain: bool,
}

impl Default for LogOptions {
    fn default() -> Self {
        LogOptions { mode: 0o600, mkdir: false, create: true, durable: true, chain: false }
    }
}

/// What an appender knows about the log between batches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogState {
    /// Whether the log was scanned at least once (until then `end` means nothing).
    pub scanned: bool,
    /// Offset just after the last valid record.
    pub end: u64,
    /// Chain hash of the last record, if it has one.
    pub head: Option<Hash>,
    /// Number of valid records (counted since this appender's first scan).
    pub records: u64,
}

/// A torn tail that was found (and, when appending, truncated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Torn {
    /// Where the torn frame began (the new end of the log).
    pub offset: u64,
    /// How many bytes were (or would be) removed.
    pub bytes: u64,
}

/// The result of one batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Appended {
    /// Another open file holds the kernel lock; nothing was done. Retry later.
    Busy,
    /// The batch is written (and durable if asked).
    Done {
        /// A torn tail removed before writing.
        recovered: Option<Torn>,
    },
}

/// One parsed frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub kind: u8,
    /// Offset of the frame in the file.
    pub offset: u64,
    /// Offset and length of the payload in the file.
    pub payload_offset: u64,
    pub payload_len: u64,
    /// Whole frame length including the LF.
    pub frame_len: u64,
    pub hash: Option<Hash>,
}

/// An invalid region followed by valid frames: corruption, not a torn tail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Corrupt {
    /// Index the broken record would have (the number of valid records before it).
    pub index: u64,
    pub offset: u64,
    pub bytes: u64,
}

/// The frames of a buffer, and what is wrong with it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scan {
    pub frames: Vec<Frame>,
    pub corrupt: Vec<Corrupt>,
    pub torn: Option<Torn>,
    /// Offset just after the last valid frame.
    pub end: u64,
}

/// Encodes one frame onto `out`; with `prev` (the chain is on) returns the new chain hash.
pub fn encode(kind: u8, payload: &[u8], prev: Option<&Hash>, out: &mut Vec<u8>) -> Option<Hash> {
    let start = out.len();
    out.push(kind);
    out.push(b' ');
    out.extend_from_slice(payload.len().to_string().as_bytes());
    out.push(b' ');
    let hash = prev.map(|p| chain_hash(p, kind, payload));
    if let Some(h) = &hash {
        out.extend_from_slice(hex(h).as_bytes());
        out.push(b' ');
    }
    let mut crc = crc32fast::Hasher::new();
    crc.update(&out[start..]);
    crc.update(payload);
    out.extend_from_slice(format!("{:08x} ", crc.finalize()).as_bytes());
    out.extend_from_slice(payload);
    out.push(b'\n');
    hash
}

/// SHA-256(prev || kind || payload).
pub fn chain_hash(prev: &Hash, kind: u8, payload: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update(prev);
    h.update([kind]);
    h.update(payload);
    h.finalize().into()
}

/// Lowercase hex of bytes.
pub fn hex(b: &[u8]) -> String {
    const D: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for &x in b {
        s.push(D[(x >> 4) as usize] as char);
        s.push(D[(x & 15) as usize] as char);
    }
    s
}

fn unhex<const N: usize>(s: &[u8]) -> Option<[u8; N]> {
    if s.len() != N * 2 {
        return None;
    }
    let v = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = [0u8; N];
    for i in 0..N {
        out[i] = (v(s[2 * i])? << 4) | v(s[2 * i + 1])?;
    }
    Some(out)
}

/// Parses the frame starting at `buf[at..]`; `base` is the file offset of `buf[0]`.
pub fn parse_frame(buf: &[u8], at: usize, base: u64) -> Option<Frame> {
    let b = &buf[at..];
    let kind = *b.first()?;
    if ![TEXT, JSON, BYTES].contains(&kind) || b.get(1) != Some(&b' ') {
        return None;
    }
    let mut i = 2;
    let digits_start = i;
    while i < b.len() && b[i].is_ascii_digit() && i - digits_start <= MAX_LEN_DIGITS {
        i += 1;
    }
    let digits = &b[digits_start..i];
    if digits.is_empty() || digits.len() > MAX_LEN_DIGITS || (digits.len() > 1 && digits[0] == b'0') || b.get(i) != Some(&b' ') {
        return None;
    }
    let len: u64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    i += 1;
    // Either "chain SP crc SP" (64 + 1 + 8 + 1) or "crc SP" (8 + 1).
    let (hash, crc_at) = if b.get(i + 8) == Some(&b' ') {
        (None, i)
    } else if b.get(i + 64) == Some(&b' ') {
        (Some(unhex::<32>(&b[i..i + 64])?), i + 65)
    } else {
        return None;
    };
    if b.get(crc_at + 8) != Some(&b' ') {
        return None;
    }
    let crc = u32::from_be_bytes(unhex::<4>(&b[crc_at..crc_at + 8])?);
    let payload_at = crc_at + 9;
    let end = (payload_at as u64).checked_add(len)?;
    if end >= b.len() as u64 || b[end as usize] != b'\n' {
        return None;
    }
    let payload = &b[payload_at..end as usize];
    let mut h = crc32fast::Hasher::new();
    h.update(&b[..crc_at]);
    h.update(payload);
    if h.finalize() != crc {
        return None;
    }
    let offset = base + at as u64;
    Some(Frame { kind, offset, payload_offset: offset + payload_at as u64, payload_len: len, frame_len: end + 1, hash })
}

/// Parses every frame of `buf` (file offset `base`, at a frame boundary). An invalid frame is
/// skipped by looking for a valid frame after each following LF: if one is found the region is
/// corrupt, otherwise everything from the invalid frame on is the torn tail.
pub fn scan(buf: &[u8], base: u64) -> Scan {
    let mut s = Scan { end: base, ..Scan::default() };
    let mut at = 0usize;
    while at < buf.len() {
        if let Some(f) = parse_frame(buf, at, base) {
            at += f.frame_len as usize;
            s.end = base + at as u64;
            s.frames.push(f);
            continue;
        }
        // Look for the next valid frame after an LF.
        let mut next = None;
        let mut p = at;
        while let Some(nl) = buf[p..].iter().position(|&c| c == b'\n') {
            let cand = p + nl + 1;
            if cand >= buf.len() {
                break;
            }
            if parse_frame(buf, cand, base).is_some() {
                next = Some(cand);
                break;
            }
            p = cand;
        }
        match next {
            Some(n) => {
                s.corrupt.push(Corrupt { index: s.frames.len() as u64, offset: base + at as u64, bytes: (n - at) as u64 });
                at = n;
            }
            None => {
                s.torn = Some(Torn { offset: base + at as u64, bytes: (buf.len() - at) as u64 });
                break;
            }
        }
    }
    s
}

/// The first place the hash chain breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    /// Index of the first record that does not verify.
    pub index: u64,
    pub reason: String,
}

/// Checks the chain over a scan of the whole log (`buf` is the whole file): every record must
/// carry a hash equal to SHA-256(previous record's stored hash || kind || payload). Returns the
/// first break; a torn tail is not a break (it was never acknowledged).
pub fn verify(buf: &[u8], s: &Scan) -> Option<ChainBreak> {
    let mut prev: Hash = [0; 32];
    let mut corrupt = s.corrupt.iter().peekable();
    for (i, f) in s.frames.iter().enumerate() {
        if let Some(c) = corrupt.peek() {
            if c.index <= i as u64 {
                return Some(ChainBreak {
                    index: c.index,
                    reason: format!("record {} is damaged ({} bytes at offset {} fail their framing or CRC)", c.index, c.bytes, c.offset),
                });
            }
        }
        let Some(stored) = f.hash else {
            return Some(ChainBreak { index: i as u64, reason: format!("record {i} has no chain hash") });
        };
        let payload = &buf[f.payload_offset as usize..(f.payload_offset + f.payload_len) as usize];
        if chain_hash(&prev, f.kind, payload) != stored {
            return Some(ChainBreak {
                index: i as u64,
                reason: format!("record {i} does not follow record {}: edited, inserted, removed or reordered", i as i64 - 1),
            });
        }
        prev = stored;
    }
    corrupt.next().map(|c| ChainBreak {
        index: c.index,
        reason: format!("record {} is damaged ({} bytes at offset {} fail their framing or CRC)", c.index, c.bytes, c.offset),
    })
}

/// Creates the log durably if it does not exist: parents (with `mkdir`), the file with exactly
/// `mode`, fsync of the file and of its directory.
pub fn create<F: Fs>(fs: &F, log: &str, opts: &LogOptions) -> Result<()> {
    crate::write::validate_path(log, "open")?;
    match fs.lstat(log) {
        Ok(_) => return Ok(()),
        Err(e) if e.is("ENOENT") => {}
        Err(e) => return Err(e),
    }
    let win = fs.windows();
    let (dir, _) = path::split(log, win);
    if opts.mkdir {
        crate::write::mkdir_all(fs, dir, opts.durable)?;
    }
    let f = fs.open_append(log, opts.mode & 0o777, true)?;
    let steps = (|| {
        if !win {
            fs.fchmod(&f, opts.mode)?;
        }
        if opts.durable {
            fs.fsync(&f)?;
        }
        Ok(())
    })();
    let closed = fs.close(f);
    steps.and(closed).map_err(|e| at(e, log))?;
    if opts.durable {
        crate::write::sync_dir(fs, dir).map_err(|e| at(e, log))?;
    }
    Ok(())
}

/// Appends one batch of `(kind, payload)` records (possibly none: then it only scans and
/// recovers). Returns [`Appended::Busy`] without doing anything when another appender holds the
/// lock.
pub fn append_batch<F: Fs>(fs: &F, log: &str, state: &mut LogState, records: &[(u8, &[u8])], opts: &LogOptions) -> Result<Appended> {
    for (kind, _) in records {
        if ![TEXT, JSON, BYTES].contains(kind) {
            return Err(Error::custom("EINVAL", "write", log.to_string(), format!("unknown record kind {kind}")));
        }
    }
    if opts.create && !state.scanned {
        create(fs, log, opts)?;
    }
    let file = fs.open_append(log, opts.mode & 0o777, false).map_err(|e| at(e, log))?;
    if fs.kernel_locks() {
        match fs.try_lock(&file) {
            Ok(true) => {}
            Ok(false) => {
                fs.close(file).map_err(|e| at(e, log))?;
                return Ok(Appended::Busy);
            }
            Err(e) => {
                let _ = fs.close(file);
                return Err(at(e, log));
            }
        }
    }
    let result = locked(fs, &file, log, state, records, opts);
    let closed = fs.close(file).map_err(|e| at(e, log));
    match result {
        // After a successful fdatasync the batch is durable whatever close says; without it a
        // close error (NFS reports write errors there) is the caller's to know.
        Ok(r) if opts.durable => Ok(r),
        Ok(r) => closed.map(|_| r),
        Err(e) => Err(e),
    }
}

/// [`append_batch`], waiting (sleeping on this thread, with jitter) while the lock is busy.
pub fn append_batch_wait<F: Fs>(
    fs: &F,
    log: &str,
    state: &mut LogState,
    records: &[(u8, &[u8])],
    opts: &LogOptions,
) -> Result<Option<Torn>> {
    let mut delay = 1u64;
    loop {
        match append_batch(fs, log, state, records, opts)? {
            Appended::Done { recovered } => return Ok(recovered),
            Appended::Busy => {
                fs.sleep_ms(1 + fs.random() % delay);
                delay = (delay * 2).min(20);
            }
        }
    }
}

fn locked<F: Fs>(fs: &F, file: &F::File, log: &str, state: &mut LogState, records: &[(u8, &[u8])], opts: &LogOptions) -> Result<Appended> {
    let size = fs.fstat(file).map_err(|e| at(e, log))?.size;
    if !state.scanned || size < state.end {
        *state = LogState::default();
    }
    let mut recovered = None;
    if !state.scanned || size > state.end {
        let tail = fs.read_from(file, state.end).map_err(|e| at(e, log))?;
        let s = scan(&tail, state.end);
        if let Some(c) = s.corrupt.first() {
            return Err(Error::custom(
                "ECORRUPT",
                "read",
                log.to_string(),
                format!("{} bytes at offset {} are damaged and valid records follow them; refusing to append", c.bytes, c.offset),
            ));
        }
        if let Some(last) = s.frames.last() {
            state.head = last.hash;
        }
        state.records += s.frames.len() as u64;
        state.end = s.end;
        state.scanned = true;
        if let Some(t) = s.torn {
            fs.ftruncate(file, t.offset).map_err(|e| at(e, log))?;
            if opts.durable {
                fs.fdatasync(file).map_err(|e| at(e, log))?;
            }
            recovered = Some(t);
        }
    }
    state.scanned = true;
    if records.is_empty() {
        return Ok(Appended::Done { recovered });
    }
    let mut buf = Vec::with_capacity(records.iter().map(|(_, p)| p.len() + 96).sum());
    let mut head = state.head;
    for (kind, payload) in records {
        let prev = if opts.chain { Some(head.unwrap_or([0; 32])) } else { None };
        head = encode(*kind, payload, prev.as_ref(), &mut buf);
    }
    let written = fs.write_all(file, &buf).and_then(|_| if opts.durable { fs.fdatasync(file) } else { Ok(()) });
    if let Err(e) = written {
        // Leave no partial batch behind: back to where the batch began.
        let _ = fs.ftruncate(file, state.end).and_then(|_| if opts.durable { fs.fdatasync(file) } else { Ok(()) });
        return Err(at(e, log));
    }
    state.end += buf.len() as u64;
    state.head = head;
    state.records += records.len() as u64;
    Ok(Appended::Done { recovered })
}

/// The whole log, parsed.
#[derive(Debug, Clone)]
pub struct Contents {
    pub data: Vec<u8>,
    pub scan: Scan,
}

/// Reads and parses the whole log, following a symlink (no lock: a batch being written at that
/// moment shows up as a torn tail).
pub fn read_log<F: Fs>(fs: &F, log: &str) -> Result<Contents> {
    crate::write::validate_path(log, "open")?;
    // Follow a symlink like the appender does (open_read itself refuses a final symlink).
    let (real, _) = crate::write::resolve(fs, log)?;
    let f = fs.open_read(&real).map_err(|e| at(e, log))?;
    let data = fs.read_all(&f).map_err(|e| at(e, log));
    let closed = fs.close(f).map_err(|e| at(e, log));
    let data = data?;
    closed?;
    let scan = scan(&data, 0);
    Ok(Contents { data, scan })
}

fn at(e: Error, p: &str) -> Error {
    if e.path.is_some() {
        return e;
    }
    Error { path: Some(p.to_string()), ..e }
}

/// `ECORRUPT` for a log with damage in the middle.
pub fn corrupt_error(log: &str, c: &Corrupt) -> Error {
    Error::custom(
        "ECORRUPT",
        "read",
        log.to_string(),
        format!("record {}: {} bytes at offset {} fail their framing or CRC and valid records follow", c.index, c.bytes, c.offset),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(recs: &[(u8, &[u8])], chain: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let mut head: Option<Hash> = None;
        for (k, p) in recs {
            let prev = if chain { Some(head.unwrap_or([0; 32])) } else { None };
            head = encode(*k, p, prev.as_ref(), &mut out);
        }
        out
    }

    #[test]
    fn encode_and_scan_round_trip() {
        let recs: Vec<(u8, &[u8])> = vec![(TEXT, b"hello"), (JSON, b"{\"a\":1}"), (BYTES, b"a\nb\0c"), (TEXT, b"")];
        for chain in [false, true] {
            let buf = frames(&recs, chain);
            let s = scan(&buf, 0);
            assert_eq!(s.frames.len(), 4);
            assert!(s.torn.is_none() && s.corrupt.is_empty());
            assert_eq!(s.end, buf.len() as u64);
            for (f, (k, p)) in s.frames.iter().zip(&recs) {
                assert_eq!(f.kind, *k);
                assert_eq!(&buf[f.payload_offset as usize..(f.payload_offset + f.payload_len) as usize], *p);
                assert_eq!(f.hash.is_some(), chain);
            }
            assert_eq!(verify(&buf, &s).is_none(), chain);
        }
        let line = frames(&[(JSON, b"{}")], false);
        assert!(line.starts_with(b"j 2 ") && line.ends_with(b" {}\n"), "{}", String::from_utf8_lossy(&line));
    }

    #[test]
    fn every_prefix_is_a_torn_tail_never_corruption() {
        let buf = frames(&[(TEXT, b"one"), (JSON, b"[1,2]"), (BYTES, b"x\ny")], true);
        let whole = scan(&buf, 0);
        for cut in 0..buf.len() {
            let s = scan(&buf[..cut], 0);
            assert!(s.corrupt.is_empty(), "cut {cut}");
            let complete = whole.frames.iter().filter(|f| f.offset + f.frame_len <= cut as u64).count();
            assert_eq!(s.frames.len(), complete, "cut {cut}");
            assert_eq!(s.torn.is_some(), s.end != cut as u64, "cut {cut}");
        }
        let mut zeros = buf.clone();
        zeros.extend_from_slice(&[0u8; 4096]);
        assert_eq!(scan(&zeros, 0).torn, Some(Torn { offset: buf.len() as u64, bytes: 4096 }));
    }

    #[test]
    fn chain_finds_edits_deletions_swaps_and_forgeries() {
        let recs: Vec<Vec<u8>> = (0..6).map(|i| format!("{{\"i\":{i}}}").into_bytes()).collect();
        let lines: Vec<Vec<u8>> = {
            let mut out = Vec::new();
            let mut head = [0u8; 32];
            for r in &recs {
                let mut l = Vec::new();
                head = encode(JSON, r, Some(&head), &mut l).unwrap();
                out.push(l);
            }
            out
        };
        let check = |ls: &[Vec<u8>]| {
            let buf: Vec<u8> = ls.concat();
            let s = scan(&buf, 0);
            verify(&buf, &s).map(|b| b.index)
        };
        assert_eq!(check(&lines), None);
        let mut edited = lines.clone();
        let n = edited[3].len();
        edited[3][n - 3] = b'9';
        assert_eq!(check(&edited), Some(3), "one-byte edit");
        let mut deleted = lines.clone();
        deleted.remove(2);
        assert_eq!(check(&deleted), Some(2), "deleted line");
        let mut swapped = lines.clone();
        swapped.swap(1, 2);
        assert_eq!(check(&swapped), Some(1), "swapped lines");
        let mut forged = lines.clone();
        let mut f = Vec::new();
        encode(JSON, b"{\"evil\":1}", Some(&[7; 32]), &mut f);
        forged.insert(4, f);
        assert_eq!(check(&forged), Some(4), "forged line with a made-up hash");
        let mut forged = lines.clone();
        let prev = scan(&lines[3], 0).frames[0].hash.unwrap();
        let mut f = Vec::new();
        encode(JSON, b"{\"evil\":1}", Some(&prev), &mut f);
        forged.insert(4, f);
        assert_eq!(check(&forged), Some(5), "a correctly chained forgery breaks the next record");
    }

    #[cfg(all(feature = "std-fs", unix))]
    #[test]
    fn append_recovers_a_torn_tail_and_refuses_corruption() {
        use crate::sys::OsFs;
        let dir = std::env::temp_dir().join(format!("dfs-log-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let p = dir.join("sub").join("a.log");
        let p = p.to_str().unwrap();
        let opts = LogOptions { mkdir: true, chain: true, ..LogOptions::default() };
        let mut st = LogState::default();
        assert_eq!(append_batch(&OsFs, p, &mut st, &[(TEXT, b"one"), (TEXT, b"two")], &opts).unwrap(), Appended::Done { recovered: None });
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(p).unwrap().permissions().mode() & 0o777, 0o600);
        // A crashed appender's partial frame.
        let good_len = std::fs::metadata(p).unwrap().len();
        let mut torn = Vec::new();
        encode(TEXT, b"three", Some(&[0; 32]), &mut torn);
        let mut f = std::fs::OpenOptions::new().append(true).open(p).unwrap();
        std::io::Write::write_all(&mut f, &torn[..torn.len() - 4]).unwrap();
        // A second appender (fresh state) sees it, truncates it, reports it, and keeps the chain.
        let mut other = LogState::default();
        let r = append_batch(&OsFs, p, &mut other, &[(TEXT, b"four")], &opts).unwrap();
        assert_eq!(r, Appended::Done { recovered: Some(Torn { offset: good_len, bytes: torn.len() as u64 - 4 }) });
        // The first appender notices the other's record and chains after it.
        append_batch(&OsFs, p, &mut st, &[(TEXT, b"five")], &opts).unwrap();
        let c = read_log(&OsFs, p).unwrap();
        assert_eq!(c.scan.frames.len(), 4);
        assert!(verify(&c.data, &c.scan).is_none());
        // Damage in the middle is not truncated.
        let mut bytes = std::fs::read(p).unwrap();
        bytes[2] = b'x';
        std::fs::write(p, &bytes).unwrap();
        let e = append_batch(&OsFs, p, &mut LogState::default(), &[(TEXT, b"six")], &opts).unwrap_err();
        assert_eq!(e.code, "ECORRUPT");
        assert_eq!(std::fs::read(p).unwrap(), bytes, "nothing changed");
        // A held lock makes the append busy.
        std::fs::write(p, b"").unwrap();
        let holder = OsFs.open_read(p).unwrap();
        assert!(OsFs.try_lock(&holder).unwrap());
        assert_eq!(append_batch(&OsFs, p, &mut LogState::default(), &[(TEXT, b"x")], &opts).unwrap(), Appended::Busy);
        OsFs.close(holder).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
