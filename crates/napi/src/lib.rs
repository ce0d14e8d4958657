#![cfg_attr(test, allow(dead_code))]
//! durable-fs-napi: the Node-API binding. Thin by design: it converts arguments, runs a core
//! protocol (async calls as one task on the libuv pool), and turns the core's error into a JS
//! error whose message is the error serialised as JSON; `lib/errors.js` turns that into a
//! Node-style error (`code`, `errno`, `syscall`, `path`) for both backends alike.

mod batch;
mod dir;
mod error;
mod lock;
mod log;
mod staged;
mod write;
