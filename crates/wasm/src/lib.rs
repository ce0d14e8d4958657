//! durable-fs-wasm: the WebAssembly binding of durable-fs, for platforms without a prebuilt native
//! addon. It runs the core's protocols unchanged on [`fs::NodeFs`], an implementation of the core's
//! `Fs` trait whose every method is one of Node's synchronous `fs` calls (imported through
//! wasm-bindgen, see [`node`]). It exports the same functions, with the same signatures, as the
//! napi binding and throws errors the same way (an `Error` whose message is the core error as
//! JSON), so `lib/*.js` cannot tell the backends apart.
//!
//! What differs from native: Node has no `flock`, so the lock protocol's holders record
//! `kernelLock: false` and are judged dead by PID plus start time (same host) or `staleMs`;
//! async calls run on the main thread one at a time (see [`defer`]) instead of the libuv pool.

pub mod batch;
pub mod defer;
pub mod dir;
pub mod error;
pub mod fs;
pub mod lock;
pub mod log;
pub mod node;
pub mod staged;
pub mod write;
