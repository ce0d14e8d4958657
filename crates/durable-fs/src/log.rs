//! The durable append-only log: [`Log`], [`LogOptions`], [`read_log`].

use std::io;
use std::path::Path;

use durable_fs_core::blocking::GroupLog;
use durable_fs_core::log as core_log;
use durable_fs_core::sys::OsFs;

use crate::error::{path_str, to_io};

/// How to open a log.
///
/// ```
/// let opts = durable_fs::LogOptions::new().mode(0o600).hash_chain(true).clone();
/// # let _ = opts;
/// ```
#[derive(Debug, Clone)]
pub struct LogOptions(core_log::LogOptions);

impl Default for LogOptions {
    fn default() -> Self {
        LogOptions(core_log::LogOptions { mode: 0o644, mkdir: false, create: true, durable: true, chain: false })
    }
}

impl LogOptions {
    /// The defaults: create with mode 0o644, every append fsynced, no hash chain.
    pub fn new() -> Self {
        Self::default()
    }

    /// The mode of a new log file (exact, whatever the umask).
    pub fn mode(&mut self, mode: u32) -> &mut Self {
        self.0.mode = mode;
        self
    }

    /// Create missing parent directories.
    pub fn mkdir(&mut self, mkdir: bool) -> &mut Self {
        self.0.mkdir = mkdir;
        self
    }

    /// `false`: fail with `NotFound` if the log does not exist.
    pub fn create(&mut self, create: bool) -> &mut Self {
        self.0.create = create;
        self
    }

    /// `false`: appends are not fdatasynced (atomic per batch against a process crash only).
    pub fn durable(&mut self, durable: bool) -> &mut Self {
        self.0.durable = durable;
        self
    }

    /// Chain every record to the previous one with SHA-256, so that [`LogContents::verify`]
    /// finds any record edited, inserted, removed or reordered.
    pub fn hash_chain(&mut self, chain: bool) -> &mut Self {
        self.0.chain = chain;
        self
    }
}

/// A torn tail: the end of a batch a crash cut short, removed when the log was opened. It was
/// never acknowledged to its writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recovered {
    /// Where the torn bytes began.
    pub offset: u64,
    /// How many bytes were removed.
    pub bytes: u64,
}

/// An append-only log shared by threads (`&Log` is `Sync`) and processes. Appends from several
/// threads at once are committed in groups: one write and one fsync for all the records that
/// arrived while the previous group was being written.
///
/// ```
/// use durable_fs::{Log, LogOptions};
/// let path = std::env::temp_dir().join("durable-fs-doc-log");
/// # let _ = std::fs::remove_file(&path);
/// let log = Log::open(&path, LogOptions::new().hash_chain(true))?;
/// log.append(b"started")?;
/// log.append_batch(["a", "b"])?; // together, or not at all
/// let contents = durable_fs::read_log(&path)?;
/// assert_eq!(contents.records(), vec![&b"started"[..], b"a", b"b"]);
/// contents.verify()?;
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Log {
    inner: GroupLog<OsFs>,
    recovered: Option<Recovered>,
}

impl std::fmt::Debug for Log {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Log").field("path", &self.inner.path()).field("recovered", &self.recovered).finish()
    }
}

impl Log {
    /// Opens (by default creating) the log at `path`; a torn tail left by a crash is removed
    /// ([`Log::recovered`]). Damage followed by valid records is refused
    /// ([`crate::ErrorCode::Corrupt`]).
    pub fn open<P: AsRef<Path>>(path: P, opts: &LogOptions) -> io::Result<Log> {
        let p = path_str(path.as_ref(), "open")?;
        let (inner, torn) = GroupLog::open(OsFs, p, &opts.0).map_err(to_io)?;
        Ok(Log { inner, recovered: torn.map(|t| Recovered { offset: t.offset, bytes: t.bytes }) })
    }

    /// Appends one record (bytes); returns once it is durable.
    pub fn append<R: AsRef<[u8]>>(&self, record: R) -> io::Result<()> {
        self.append_batch([record])
    }

    /// Appends several records, all of them or none, in order, with one fsync.
    pub fn append_batch<I, R>(&self, records: I) -> io::Result<()>
    where
        I: IntoIterator<Item = R>,
        R: AsRef<[u8]>,
    {
        let recs = records.into_iter().map(|r| (core_log::BYTES, r.as_ref().to_vec())).collect();
        self.inner.append(recs).map_err(to_io)
    }

    /// Appends records of the kinds the Node and Python APIs write ([`RecordKind`]).
    pub fn append_kinds<I>(&self, records: I) -> io::Result<()>
    where
        I: IntoIterator<Item = (RecordKind, Vec<u8>)>,
    {
        let recs = records.into_iter().map(|(k, r)| (k.byte(), r)).collect();
        self.inner.append(recs).map_err(to_io)
    }

    /// The torn tail removed when the log was opened.
    pub fn recovered(&self) -> Option<Recovered> {
        self.recovered
    }

    /// How many records this handle has seen (at open and since).
    pub fn len(&self) -> u64 {
        self.inner.position().0
    }

    /// Whether the log held no record when last looked at.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What a record holds: how the Node and Python APIs give it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordKind {
    /// UTF-8 text.
    Text,
    /// One JSON value.
    Json,
    /// Raw bytes.
    Bytes,
}

impl RecordKind {
    fn byte(self) -> u8 {
        match self {
            RecordKind::Text => core_log::TEXT,
            RecordKind::Json => core_log::JSON,
            RecordKind::Bytes => core_log::BYTES,
        }
    }

    fn of(b: u8) -> RecordKind {
        match b {
            core_log::TEXT => RecordKind::Text,
            core_log::JSON => RecordKind::Json,
            _ => RecordKind::Bytes,
        }
    }
}

/// A whole log as read by [`read_log`].
#[derive(Debug, Clone)]
pub struct LogContents {
    path: String,
    inner: core_log::Contents,
}

impl LogContents {
    /// Every valid record's payload, in order.
    pub fn records(&self) -> Vec<&[u8]> {
        self.inner.scan.frames.iter().map(|f| self.payload(f)).collect()
    }

    /// Every valid record with its kind.
    pub fn records_with_kind(&self) -> Vec<(RecordKind, &[u8])> {
        self.inner.scan.frames.iter().map(|f| (RecordKind::of(f.kind), self.payload(f))).collect()
    }

    fn payload(&self, f: &core_log::Frame) -> &[u8] {
        &self.inner.data[f.payload_offset as usize..(f.payload_offset + f.payload_len) as usize]
    }

    /// A torn tail at the end (a batch cut short by a crash: never acknowledged).
    pub fn torn(&self) -> Option<Recovered> {
        self.inner.scan.torn.as_ref().map(|t| Recovered { offset: t.offset, bytes: t.bytes })
    }

    /// `Err` ([`crate::ErrorCode::Corrupt`], kind `InvalidData`) if damaged records are
    /// followed by valid ones.
    pub fn check(&self) -> io::Result<()> {
        match self.inner.scan.corrupt.first() {
            Some(c) => Err(to_io(core_log::corrupt_error(&self.path, c))),
            None => Ok(()),
        }
    }

    /// Checks the hash chain (a log written with [`LogOptions::hash_chain`]): `Err`
    /// ([`crate::ErrorCode::Corrupt`]) naming the first record edited, inserted, removed or
    /// reordered, or damaged.
    pub fn verify(&self) -> io::Result<()> {
        match core_log::verify(&self.inner.data, &self.inner.scan) {
            Some(b) => Err(to_io(durable_fs_core::Error::custom("ECORRUPT", "read", self.path.clone(), b.reason))),
            None => Ok(()),
        }
    }

    /// The chain hash of the last record (hex), for a chained log: publish it elsewhere to detect
    /// a truncated log too.
    pub fn head(&self) -> Option<String> {
        self.inner.scan.frames.last().and_then(|f| f.hash).map(|h| core_log::hex(&h))
    }
}

/// Reads and parses the whole log at `path` (no lock: a batch being written at that moment shows
/// up as a torn tail).
///
/// ```
/// # let path = std::env::temp_dir().join("durable-fs-doc-read-log");
/// # let _ = std::fs::remove_file(&path);
/// # durable_fs::Log::open(&path, &durable_fs::LogOptions::new())?.append("x")?;
/// let contents = durable_fs::read_log(&path)?;
/// contents.check()?;
/// assert_eq!(contents.records().len(), 1);
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn read_log<P: AsRef<Path>>(path: P) -> io::Result<LogContents> {
    let p = path_str(path.as_ref(), "open")?;
    let inner = core_log::read_log(&OsFs, p).map_err(to_io)?;
    Ok(LogContents { path: p.to_string(), inner })
}
