//! Core errors to JS errors: the message carries the structured error as JSON.

use durable_fs_core::Error;

/// The structured error as a JSON object (parsed by `lib/errors.js`).
pub fn to_json(e: &Error) -> String {
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
        s(&e.code),
        e.errno,
        s(e.syscall),
        opt(&e.path),
        opt(&e.dest),
        opt(&e.detail),
        s(&e.to_string())
    )
}

/// A napi error carrying the structured error.
pub fn to_napi(e: Error) -> napi::Error {
    napi::Error::new(napi::Status::GenericFailure, to_json(&e))
}
