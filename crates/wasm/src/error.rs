//! Core errors to JS errors, exactly as the napi binding throws them: an `Error` whose message is
//! [`Error::to_json`]; `lib/errors.js` turns it into a Node-style error for both backends alike.

use durable_fs_core::Error;
use wasm_bindgen::JsValue;

/// The JS `Error` carrying the structured error.
pub fn to_js(e: &Error) -> JsValue {
    js_sys::Error::new(&e.to_json()).into()
}
