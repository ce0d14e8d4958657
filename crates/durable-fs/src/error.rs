//! Errors: every function returns [`std::io::Error`] whose [`kind`](io::Error::kind) is the one
//! `std::fs` would give, and whose inner error is an [`Error`] with the operation, the path and
//! the durable-fs code (fs-err style: the message names what failed and where).

use std::fmt;
use std::io;

use durable_fs_core as core;

/// The typed code of an error, for the failures that are not the OS's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// `ELOCKED`: the lock stayed held by another holder until the timeout ([`Error::holder`]
    /// names it).
    Locked,
    /// `ECOMPROMISED`: a held lock was taken away (removed or replaced) before its release.
    Compromised,
    /// `ECORRUPT`: a log holds damaged records followed by valid ones, or its hash chain breaks.
    Corrupt,
    /// `ECANCELED`: a wait was interrupted.
    Canceled,
    /// An OS error (`ENOENT`, `EACCES`, ...): see [`Error::code`] and [`Error::raw_os_error`].
    Os,
}

/// What failed, where, and why: the inner error of every [`io::Error`] this crate returns.
///
/// ```
/// let dir = std::env::temp_dir().join("durable-fs-doc-error");
/// let err = durable_fs::write(dir.join("missing/parent/file"), b"x").unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
/// let info = durable_fs::Error::of(&err).unwrap();
/// assert_eq!(info.code(), "ENOENT");
/// assert!(info.path().unwrap().ends_with("missing/parent/file"));
/// assert!(err.to_string().contains("open"));
/// ```
#[derive(Debug, Clone)]
pub struct Error(core::Error);

impl Error {
    /// The durable-fs part of an `io::Error` returned by this crate (`None` for other errors).
    pub fn of(err: &io::Error) -> Option<&Error> {
        err.get_ref().and_then(|e| e.downcast_ref::<Error>())
    }

    /// The Node-style code: `ENOENT`, `EACCES`, `ELOCKED`, `ECOMPROMISED`, `ECORRUPT`, ...
    pub fn code(&self) -> &str {
        &self.0.code
    }

    /// The typed code.
    pub fn error_code(&self) -> ErrorCode {
        match self.0.code.as_str() {
            "ELOCKED" => ErrorCode::Locked,
            "ECOMPROMISED" => ErrorCode::Compromised,
            "ECORRUPT" => ErrorCode::Corrupt,
            "ECANCELED" => ErrorCode::Canceled,
            _ => ErrorCode::Os,
        }
    }

    /// The system call or protocol step that failed: `open`, `fsync`, `rename`, `lock`, ...
    pub fn operation(&self) -> &str {
        self.0.syscall
    }

    /// The path the failed call was about.
    pub fn path(&self) -> Option<&str> {
        self.0.path.as_deref()
    }

    /// The second path of a two-path call (`rename`, `link`).
    pub fn dest(&self) -> Option<&str> {
        self.0.dest.as_deref()
    }

    /// For [`ErrorCode::Locked`]: the holder's record as JSON (pid, host, acquiredAt, state).
    pub fn holder(&self) -> Option<&str> {
        if self.0.code == "ELOCKED" {
            self.0.detail.as_deref()
        } else {
            None
        }
    }

    /// Free text detail, when there is some.
    pub fn detail(&self) -> Option<&str> {
        self.0.detail.as_deref()
    }

    /// The platform's error number for an OS error.
    pub fn raw_os_error(&self) -> Option<i32> {
        (self.0.errno != 0 && self.error_code() == ErrorCode::Os).then_some(self.0.errno)
    }

    /// The core's error (the form the Node and Python bindings convert).
    pub fn as_core(&self) -> &core::Error {
        &self.0
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for Error {}

/// The `io::ErrorKind` std gives for the same failure.
fn kind_of(e: &core::Error) -> io::ErrorKind {
    use io::ErrorKind as K;
    match e.code.as_str() {
        "ELOCKED" => K::WouldBlock,
        "ECORRUPT" => K::InvalidData,
        "ECANCELED" => K::Interrupted,
        "ECOMPROMISED" => K::Other,
        "EINVAL" => K::InvalidInput,
        _ if e.errno != 0 => io::Error::from_raw_os_error(e.errno).kind(),
        "ENOENT" => K::NotFound,
        "EACCES" | "EPERM" => K::PermissionDenied,
        "EEXIST" => K::AlreadyExists,
        _ => K::Other,
    }
}

/// The core's error as an `io::Error`.
pub(crate) fn to_io(e: core::Error) -> io::Error {
    io::Error::new(kind_of(&e), Error(e))
}

/// A path as the core takes it (UTF-8); other paths are `InvalidInput` errors naming the call.
pub(crate) fn path_str<'a>(p: &'a std::path::Path, op: &'static str) -> io::Result<&'a str> {
    p.to_str().ok_or_else(|| {
        let lossy = p.to_string_lossy().into_owned();
        to_io(core::Error::custom("EINVAL", op, lossy, "the path is not valid UTF-8".to_string()))
    })
}
