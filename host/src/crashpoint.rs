//! Crash points: the places between network requests where the reliability
//! suite may kill the process, chosen by number so that a failure replays.
//!
//! `tests/e2e/kill.rs` kills oc-mirror at points drawn from a seed. Points
//! on the network it makes itself (a front holds the k-th request and the
//! test sends SIGKILL). The moments in between, where only the disk changes
//! (just before a verified download, a part or a record takes its final
//! name), are marked here with [`hit`]. With `OC_MIRROR_CRASH_AT=N` in the
//! environment (read by `settings.rs`, a testing aid, not a user setting), the
//! N-th point passed sends SIGKILL to the process itself: no destructor,
//! flush or clean-up runs, exactly as if the machine had killed it. Unset,
//! which is always outside tests, a point costs one atomic load.
//!
//! Under concurrency the order of points may differ between runs; the count
//! is what replays, and the test checks the same properties whichever point
//! the number lands on.

use std::sync::atomic::{AtomicU64, Ordering};

/// The point to crash at (0: none).
static ARMED: AtomicU64 = AtomicU64::new(0);
/// Points passed so far.
static PASSED: AtomicU64 = AtomicU64::new(0);

/// `OC_MIRROR_CRASH_AT=count`: crash nowhere, print every point passed.
const COUNT: u64 = u64::MAX;

/// Parses `OC_MIRROR_CRASH_AT`: a point number, or `count`.
pub fn parse(value: &str) -> Option<u64> {
    match value {
        "count" => Some(COUNT),
        n => n.parse().ok().filter(|n| *n > 0),
    }
}

/// Crash at the `n`-th point passed from now (`None`: never).
pub fn arm(n: Option<u64>) {
    PASSED.store(0, Ordering::SeqCst);
    ARMED.store(n.unwrap_or(0), Ordering::SeqCst);
}

/// A crash point: `what` names it in the line printed before the kill.
pub fn hit(what: &str) {
    let armed = ARMED.load(Ordering::Relaxed);
    if armed == 0 {
        return;
    }
    let n = PASSED.fetch_add(1, Ordering::SeqCst) + 1;
    if armed == COUNT {
        eprintln!("crash point {n}: {what}");
    } else if n == armed {
        eprintln!("crash point {n}: {what}: killed (OC_MIRROR_CRASH_AT)");
        // SAFETY: kill(2) with our own pid and a constant signal touches no
        // memory; SIGKILL cannot be caught, so it does not return.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
    }
}
