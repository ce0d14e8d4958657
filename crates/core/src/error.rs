//! One error type for every protocol: what failed (the system call), on which path, and why (a
//! Node-style code such as `ENOENT`, plus the platform's errno where there is one).
//!
//! The code is the identity of an error, not the number: the same failure has the same code on
//! Linux, macOS, Windows and under the WebAssembly backend, while `errno` is whatever the platform
//! reports (Node reports it negated; the bindings do that).

use std::fmt;

/// Result alias used throughout the crate.
pub type Result<T> = std::result::Result<T, Error>;

/// A failed operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// Node-style code: `ENOENT`, `EACCES`, ..., or one of our own: `ELOCKED`, `ECOMPROMISED`.
    pub code: String,
    /// The platform's positive errno value, 0 when the error did not come from the OS.
    pub errno: i32,
    /// The system call (or protocol step) that failed: `open`, `write`, `fsync`, `rename`, ...
    pub syscall: &'static str,
    /// The path the call was about.
    pub path: Option<String>,
    /// The second path of a two-path call (`rename`, `link`).
    pub dest: Option<String>,
    /// Extra detail: for `ELOCKED` the holder record (JSON), otherwise free text.
    pub detail: Option<String>,
}

impl Error {
    /// An error from the OS, identified by its code.
    pub fn os(code: &str, errno: i32, syscall: &'static str, path: impl Into<Option<String>>) -> Self {
        Error { code: code.to_string(), errno, syscall, path: path.into(), dest: None, detail: None }
    }

    /// An error of ours (no errno): `ELOCKED`, `ECOMPROMISED`, `EINVAL` for bad input, ...
    pub fn custom(code: &str, syscall: &'static str, path: impl Into<Option<String>>, detail: impl Into<Option<String>>) -> Self {
        Error { code: code.to_string(), errno: errno_of(code), syscall, path: path.into(), dest: None, detail: detail.into() }
    }

    /// Attach the destination of a two-path call.
    pub fn with_dest(mut self, dest: impl Into<String>) -> Self {
        self.dest = Some(dest.into());
        self
    }

    /// Attach detail text.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// Whether this error has the given code.
    pub fn is(&self, code: &str) -> bool {
        self.code == code
    }

    /// The human description of the code, as libuv words it.
    pub fn description(&self) -> &'static str {
        describe(&self.code)
    }

    /// The error as one JSON object, the form in which both bindings (napi and wasm) hand it to
    /// JavaScript as an Error's message; `lib/errors.js` parses it back into a Node-style error:
    /// `{"durableFsError":true,"code":..,"errno":..,"syscall":..,"path":..,"dest":..,"detail":..,"message":..}`.
    pub fn to_json(&self) -> String {
        fn s(v: &str) -> String {
            let mut o = String::with_capacity(v.len() + 2);
            o.push('"');
            for c in v.chars() {
                match c {
                    '"' => o.push_str("\\\""),
                    '\\' => o.push_str("\\\\"),
                    '\n' => o.push_str("\\n"),
                    '\r' => o.push_str("\\r"),
                    '\t' => o.push_str("\\t"),
                    c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
                    c => o.push(c),
                }
            }
            o.push('"');
            o
        }
        let opt = |v: &Option<String>| v.as_deref().map(s).unwrap_or_else(|| "null".to_string());
        format!(
            "{{\"durableFsError\":true,\"code\":{},\"errno\":{},\"syscall\":{},\"path\":{},\"dest\":{},\"detail\":{},\"message\":{}}}",
            s(&self.code),
            self.errno,
            s(self.syscall),
            opt(&self.path),
            opt(&self.dest),
            opt(&self.detail),
            s(&self.to_string())
        )
    }
}

impl fmt::Display for Error {
    /// `ENOENT: no such file or directory, open '/x/y'`, as Node words fs errors.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}, {}", self.code, self.description(), self.syscall)?;
        if let Some(p) = &self.path {
            write!(f, " '{p}'")?;
        }
        if let Some(d) = &self.dest {
            write!(f, " -> '{d}'")?;
        }
        if let Some(d) = &self.detail {
            write!(f, " ({d})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

/// (code, Linux errno, description). The Linux number is used where the platform gives none
/// (WebAssembly, custom codes); on a real OS the errno comes from the OS itself.
const TABLE: &[(&str, i32, &str)] = &[
    ("EPERM", 1, "operation not permitted"),
    ("ENOENT", 2, "no such file or directory"),
    ("ESRCH", 3, "no such process"),
    ("EINTR", 4, "interrupted system call"),
    ("EIO", 5, "i/o error"),
    ("EBADF", 9, "bad file descriptor"),
    ("EAGAIN", 11, "resource temporarily unavailable"),
    ("ENOMEM", 12, "not enough memory"),
    ("EACCES", 13, "permission denied"),
    ("EFAULT", 14, "bad address in system call argument"),
    ("EBUSY", 16, "resource busy or locked"),
    ("EEXIST", 17, "file already exists"),
    ("EXDEV", 18, "cross-device link not permitted"),
    ("ENODEV", 19, "no such device"),
    ("ENOTDIR", 20, "not a directory"),
    ("EISDIR", 21, "illegal operation on a directory"),
    ("EINVAL", 22, "invalid argument"),
    ("ENFILE", 23, "file table overflow"),
    ("EMFILE", 24, "too many open files"),
    ("ETXTBSY", 26, "text file is busy"),
    ("EFBIG", 27, "file too large"),
    ("ENOSPC", 28, "no space left on device"),
    ("EROFS", 30, "read-only file system"),
    ("EMLINK", 31, "too many links"),
    ("EDEADLK", 35, "resource deadlock avoided"),
    ("ENAMETOOLONG", 36, "name too long"),
    ("ENOLCK", 37, "no locks available"),
    ("ENOSYS", 38, "function not implemented"),
    ("ENOTEMPTY", 39, "directory not empty"),
    ("ELOOP", 40, "too many symbolic links encountered"),
    ("EDQUOT", 122, "disk quota exceeded"),
    ("ENOTSUP", 95, "operation not supported on socket"),
    ("ESTALE", 116, "stale file handle"),
    ("ECANCELED", 125, "operation canceled"),
    ("ELOCKED", 0, "lock is held by another holder"),
    ("ECOMPROMISED", 0, "lock was taken away from its holder"),
    ("ECORRUPT", 0, "file is corrupt"),
    ("EUNKNOWN", 0, "unknown error"),
];

/// The Linux errno of a code (0 when unknown or custom).
pub fn errno_of(code: &str) -> i32 {
    TABLE.iter().find(|(c, _, _)| *c == code).map(|(_, n, _)| *n).unwrap_or(0)
}

/// The description of a code.
pub fn describe(code: &str) -> &'static str {
    TABLE.iter().find(|(c, _, _)| *c == code).map(|(_, _, d)| *d).unwrap_or("unknown error")
}

/// The code of a Linux errno, for platforms that report Linux numbers without names.
pub fn code_of_linux_errno(errno: i32) -> &'static str {
    TABLE.iter().find(|(_, n, _)| *n == errno && errno != 0).map(|(c, _, _)| *c).unwrap_or("EUNKNOWN")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_matches_node() {
        let e = Error::os("ENOENT", 2, "open", Some("/x/y".to_string()));
        assert_eq!(e.to_string(), "ENOENT: no such file or directory, open '/x/y'");
        let e = Error::os("EXDEV", 18, "rename", Some("/a".to_string())).with_dest("/b");
        assert_eq!(e.to_string(), "EXDEV: cross-device link not permitted, rename '/a' -> '/b'");
    }

    #[test]
    fn to_json_escapes() {
        let e = Error::os("ENOENT", 2, "open", Some("/a\"b\\c\n\u{1}".to_string())).with_detail("d");
        assert_eq!(
            e.to_json(),
            r#"{"durableFsError":true,"code":"ENOENT","errno":2,"syscall":"open","path":"/a\"b\\c\n\u0001","dest":null,"detail":"d","message":"ENOENT: no such file or directory, open '/a\"b\\c\n\u0001' (d)"}"#
        );
    }

    #[test]
    fn table_round_trips() {
        for (code, n, _) in TABLE {
            if *n != 0 {
                assert_eq!(code_of_linux_errno(*n), *code);
                assert_eq!(errno_of(code), *n);
            }
        }
        assert_eq!(code_of_linux_errno(9999), "EUNKNOWN");
    }
}
