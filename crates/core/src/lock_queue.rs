//! The in-process side of locking, shared by the bindings: the held locks of this process (a
//! held lock is its open descriptor, so it must live somewhere between the calls that take and
//! release it), a FIFO of waiters per lock path, and the stale clocks of [`crate::lock::Seen`].
//!
//! The table does no I/O. A binding keeps one per process (the native addon in a `static Mutex`,
//! shared by worker threads), asks [`Table::admit`] whether a waiter may try now, runs
//! [`crate::lock::try_acquire`] outside its mutex, and records the outcome with
//! [`Table::settle`]. Only the head of a path's queue touches the file system, and only while no
//! caller of this process holds that lock. Correctness never depends on the queue (the protocol
//! excludes holders of one process like any others); it gives fairness and spares the disk.

use std::collections::{HashMap, VecDeque};

use crate::error::Result;
use crate::lock::{Attempt, Busy, Held, Seen};

/// A queue head that has not polled for this long is presumed gone (a terminated worker, a waiter
/// that never cancelled) and loses its place; it is queued again at the back if it polls again.
pub const ABANDON_MS: u64 = 1000;
/// How many lock paths' stale clocks are remembered (all are dropped at once beyond that).
const SEEN_MAX: usize = 4096;

#[derive(Debug, Default)]
struct PathState {
    /// (ticket, last poll on the monotonic clock), in arrival order.
    queue: VecDeque<(u32, u64)>,
    holder: Option<u32>,
}

/// Held locks, per-path queues and stale clocks of one process.
#[derive(Debug)]
pub struct Table<T> {
    next: u32,
    held: HashMap<u32, Held<T>>,
    paths: HashMap<String, PathState>,
    seen: HashMap<String, Seen>,
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Table { next: 0, held: HashMap::new(), paths: HashMap::new(), seen: HashMap::new() }
    }
}

/// What one attempt gave: the id of the held lock, or why not (the holder as JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub id: Option<u32>,
    pub holder: Option<String>,
    pub ticket: u32,
}

impl<T> Table<T> {
    fn next_id(&mut self) -> u32 {
        self.next = self.next.wrapping_add(1).max(1);
        self.next
    }

    fn state(&mut self, path: &str) -> &mut PathState {
        if !self.paths.contains_key(path) {
            self.paths.insert(path.to_string(), PathState::default());
        }
        self.paths.get_mut(path).expect("just inserted")
    }

    /// Joins the queue of `path`; returns the ticket.
    pub fn enqueue(&mut self, path: &str, now: u64) -> u32 {
        let id = self.next_id();
        self.state(path).queue.push_back((id, now));
        id
    }

    /// Leaves the queue (timeout, abort, error).
    pub fn cancel(&mut self, path: &str, ticket: u32) {
        if let Some(ps) = self.paths.get_mut(path) {
            ps.queue.retain(|(id, _)| *id != ticket);
            if ps.queue.is_empty() && ps.holder.is_none() {
                self.paths.remove(path);
            }
        }
    }

    /// Whether `ticket` (0: a new waiter, queued now) may try the file system now. `Ok` gives the
    /// ticket and the path's stale clock to pass to the attempt (and back to [`Table::settle`]);
    /// `Err` what to tell the waiter.
    pub fn admit(&mut self, path: &str, ticket: u32, now: u64) -> std::result::Result<(u32, Seen), Outcome> {
        let ticket = if ticket == 0 { self.enqueue(path, now) } else { ticket };
        let ps = self.state(path);
        while matches!(ps.queue.front(), Some(&(id, last)) if id != ticket && now.saturating_sub(last) > ABANDON_MS) {
            ps.queue.pop_front();
        }
        match ps.queue.iter_mut().find(|(id, _)| *id == ticket) {
            Some(entry) => entry.1 = now,
            None => ps.queue.push_back((ticket, now)),
        }
        if let Some(h) = ps.holder {
            let holder = self.held.get(&h).map(|h| h.record.clone());
            return Err(Outcome { id: None, holder: Some(Busy { holder, raw: None, state: "held" }.detail_json()), ticket });
        }
        if ps.queue.front().map(|e| e.0) != Some(ticket) {
            return Err(Outcome { id: None, holder: Some(Busy { holder: None, raw: None, state: "queued" }.detail_json()), ticket });
        }
        Ok((ticket, self.take_seen(path)))
    }

    /// Records the outcome of an admitted attempt. An error takes the waiter out of the queue (it
    /// gives up), so nobody waits behind it.
    pub fn settle(&mut self, path: &str, ticket: u32, seen: Seen, attempt: Result<Attempt<T>>) -> Result<Outcome> {
        self.put_seen(path, seen);
        match attempt {
            Err(e) => {
                self.cancel(path, ticket);
                Err(e)
            }
            Ok(Attempt::Busy(b)) => Ok(Outcome { id: None, holder: Some(b.detail_json()), ticket }),
            Ok(Attempt::Acquired(h)) => {
                let id = self.next_id();
                let ps = self.state(path);
                ps.queue.retain(|(t, _)| *t != ticket);
                ps.holder = Some(id);
                self.held.insert(id, h);
                Ok(Outcome { id: Some(id), holder: None, ticket })
            }
        }
    }

    /// A held lock, for a check.
    pub fn get(&self, id: u32) -> Option<&Held<T>> {
        self.held.get(&id)
    }

    /// Takes a held lock out of the table to release it; call [`Table::released`] afterwards.
    pub fn take(&mut self, id: u32) -> Option<Held<T>> {
        self.held.remove(&id)
    }

    /// The lock of `path` was released (or lost): the next waiter may go.
    pub fn released(&mut self, path: &str) {
        if let Some(ps) = self.paths.get_mut(path) {
            ps.holder = None;
            if ps.queue.is_empty() {
                self.paths.remove(path);
            }
        }
    }

    /// The stale clock of `path` (for `check`), to be given back with [`Table::put_seen`].
    pub fn take_seen(&mut self, path: &str) -> Seen {
        if self.seen.is_empty() {
            return Seen::default();
        }
        self.seen.remove(path).unwrap_or_default()
    }

    /// Keeps the stale clock of `path` across waiters, so callers that try once at a time still
    /// see a stale lock age.
    pub fn put_seen(&mut self, path: &str, seen: Seen) {
        if seen.is_empty() {
            return;
        }
        if self.seen.len() >= SEEN_MAX {
            self.seen.clear();
        }
        self.seen.insert(path.to_string(), seen);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(t: &mut Table<()>, path: &str, ticket: u32) -> u32 {
        let (ticket, seen) = t.admit(path, ticket, 0).unwrap();
        let h = Held::<()>::for_tests(path);
        t.settle(path, ticket, seen, Ok(Attempt::Acquired(h))).unwrap().id.unwrap()
    }

    #[test]
    fn fifo_and_holder() {
        let mut t = Table::<()>::default();
        let a = t.enqueue("p", 0);
        let b = t.enqueue("p", 0);
        let e = t.admit("p", b, 1).unwrap_err();
        assert!(e.holder.unwrap().contains("queued"), "b waits behind a");
        let id = held(&mut t, "p", a);
        let e = t.admit("p", b, 2).unwrap_err();
        assert!(e.holder.unwrap().contains("\"held\""), "b waits for the holder");
        assert!(t.take(id).is_some());
        t.released("p");
        assert!(t.admit("p", b, 3).is_ok(), "b is next");
    }

    #[test]
    fn an_abandoned_head_loses_its_place_and_errors_leave_the_queue() {
        let mut t = Table::<()>::default();
        let a = t.enqueue("p", 0);
        let b = t.enqueue("p", 0);
        assert!(t.admit("p", b, ABANDON_MS).is_err(), "a polled recently enough");
        let (b2, seen) = t.admit("p", b, ABANDON_MS + 1).unwrap();
        assert_eq!(b2, b, "a stopped polling: b goes first");
        let err = crate::error::Error::custom("ENOENT", "open", None, None);
        assert!(t.settle("p", b, seen, Err(err)).is_err());
        assert!(t.admit("p", a, ABANDON_MS + 2).is_ok(), "a, back in the queue, is alone now");
    }
}
