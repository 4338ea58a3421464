//! Per-object exponential backoff for failed reconciliations: a Work whose member is down is
//! retried after 1 s, 2 s, 4 s ... up to a cap, instead of every few seconds forever, and the
//! count starts over after the first success.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

pub struct Backoff {
    base: Duration,
    cap: Duration,
    failures: Mutex<HashMap<String, u32>>,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new(Duration::from_secs(1), Duration::from_secs(30))
    }
}

impl Backoff {
    pub fn new(base: Duration, cap: Duration) -> Self {
        Backoff {
            base,
            cap,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Records a failure of `key`; returns how long to wait before the next try.
    pub fn failed(&self, key: &str) -> Duration {
        let mut failures = self.failures.lock().expect("backoff map poisoned");
        let n = failures.entry(key.to_string()).or_insert(0);
        let delay = self
            .base
            .saturating_mul(2u32.saturating_pow(*n))
            .min(self.cap);
        *n = n.saturating_add(1);
        delay
    }

    /// Forgets the failures of `key` (it reconciled).
    pub fn succeeded(&self, key: &str) {
        let mut failures = self.failures.lock().expect("backoff map poisoned");
        failures.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap_and_resets_on_success() {
        let b = Backoff::new(Duration::from_secs(1), Duration::from_secs(5));
        let delays: Vec<u64> = (0..5).map(|_| b.failed("a").as_secs()).collect();
        assert_eq!(delays, vec![1, 2, 4, 5, 5]);
        assert_eq!(b.failed("b").as_secs(), 1, "keys back off independently");
        b.succeeded("a");
        assert_eq!(b.failed("a").as_secs(), 1);
        for _ in 0..100 {
            b.failed("c");
        }
        assert_eq!(
            b.failed("c").as_secs(),
            5,
            "no overflow after many failures"
        );
    }
}
