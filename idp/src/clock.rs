//! The identity provider's clock: real time plus an offset that tests can advance.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

/// Real Unix time plus an adjustable offset, shared by every clone.
///
/// Token `iat`/`exp`, code expiry, refresh-token expiry and the rotation grace window all
/// read this clock, so a test can expire a code or leave a grace period by calling
/// [`advance`](Clock::advance) instead of sleeping. Tokens minted after an advance carry
/// future `iat` values: verify them with a verifier that shares the same notion of time,
/// or mint before advancing.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset: Arc<AtomicI64>,
}

impl Clock {
    /// A clock at real time (offset 0).
    pub fn new() -> Clock {
        Clock::default()
    }

    /// Seconds since the Unix epoch, offset included.
    pub fn now(&self) -> i64 {
        l42_core::unix_now().saturating_add(self.offset_secs())
    }

    /// Moves the clock forward by `by` (whole seconds; the rest is dropped).
    pub fn advance(&self, by: Duration) {
        let secs = i64::try_from(by.as_secs()).unwrap_or(i64::MAX);
        self.advance_secs(secs);
    }

    /// Moves the clock by `secs` seconds (negative moves it back).
    pub fn advance_secs(&self, secs: i64) {
        let _ = self
            .offset
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |o| {
                Some(o.saturating_add(secs))
            });
    }

    /// The current offset from real time, in seconds.
    pub fn offset_secs(&self) -> i64 {
        self.offset.load(Ordering::SeqCst)
    }

    /// Back to real time.
    pub fn reset(&self) {
        self.offset.store(0, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advances_and_resets() {
        let c = Clock::new();
        let c2 = c.clone();
        let before = c.now();
        c.advance(Duration::from_secs(301));
        assert_eq!(c2.offset_secs(), 301);
        assert!(c2.now() >= before + 301);
        c.advance_secs(-1);
        assert_eq!(c.offset_secs(), 300);
        c.reset();
        assert_eq!(c2.offset_secs(), 0);
    }
}
