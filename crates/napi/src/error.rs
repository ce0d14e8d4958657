//! Core errors to JS errors: the message carries the structured error as JSON.

use durable_fs_core::Error;

/// The structured error as a JSON object (parsed by `lib/errors.js`); the serialiser lives in the
/// core ([`Error::to_json`]) so the wasm binding throws exactly the same thing.
pub fn to_json(e: &Error) -> String {
    e.to_json()
}

/// A napi error carrying the structured error.
pub fn to_napi(e: Error) -> napi::Error {
    napi::Error::new(napi::Status::GenericFailure, to_json(&e))
}
