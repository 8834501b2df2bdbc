//! What the tester did, and when: the faults it injected and the phases it
//! named, on the clock the kv tests' histories use, so that a history page
//! can draw them above the operations (the Go tester's `Annotate*` calls).
//!
//! A moment is a mark; something that lasts (a partition, a server that is
//! down) is a band from `begin` to `end` under a key, and a band still open
//! when the page is drawn ends at that time.

use crate::linearizability::Annotation;
use parking_lot::Mutex;
use std::sync::OnceLock;
use std::time::Instant;

/// Nanoseconds since this process first asked: the clock of the tests'
/// histories and of every [`Timeline`], so the two line up on a page.
pub fn clock_ns() -> i64 {
    static T0: OnceLock<Instant> = OnceLock::new();
    T0.get_or_init(Instant::now).elapsed().as_nanos() as i64
}

/// The events of one cluster (or of a test), in the order they happened.
#[derive(Default)]
pub struct Timeline {
    inner: Mutex<Events>,
}

#[derive(Default)]
struct Events {
    done: Vec<Annotation>,
    /// Bands not ended yet, by key.
    open: Vec<(String, Annotation)>,
}

impl Timeline {
    /// Something that happened now.
    pub fn mark(&self, kind: &str, text: impl Into<String>) {
        self.inner.lock().done.push(Annotation {
            time: clock_ns(),
            end: None,
            kind: kind.into(),
            text: text.into(),
        });
    }

    /// Something that starts now and lasts until [`Timeline::end`] with the
    /// same key (a band of that key still open ends now).
    pub fn begin(&self, key: &str, kind: &str, text: impl Into<String>) {
        let now = clock_ns();
        let mut ev = self.inner.lock();
        ev.close(key, now);
        ev.open.push((
            key.to_string(),
            Annotation {
                time: now,
                end: None,
                kind: kind.into(),
                text: text.into(),
            },
        ));
    }

    /// Ends the band of `key`, if one is open.
    pub fn end(&self, key: &str) {
        self.inner.lock().close(key, clock_ns());
    }

    /// True while a band of `key` is open.
    pub fn is_open(&self, key: &str) -> bool {
        self.inner.lock().open.iter().any(|(k, _)| k == key)
    }

    /// Everything so far, in time order; bands still open end now.
    pub fn annotations(&self) -> Vec<Annotation> {
        let now = clock_ns();
        let ev = self.inner.lock();
        let mut all: Vec<Annotation> = ev.done.clone();
        all.extend(ev.open.iter().map(|(_, a)| Annotation {
            end: Some(now),
            ..a.clone()
        }));
        all.sort_by_key(|a| a.time);
        all
    }
}

impl Events {
    fn close(&mut self, key: &str, now: i64) {
        if let Some(i) = self.open.iter().position(|(k, _)| k == key) {
            let (_, mut a) = self.open.remove(i);
            a.end = Some(now);
            self.done.push(a);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_and_bands_in_time_order() {
        let t = Timeline::default();
        t.begin("p", "partition", "[0 1] | [2]");
        t.mark("info", "phase 2");
        assert!(t.is_open("p"));
        t.begin("p", "partition", "[0] | [1 2]"); // the first band ends here
        t.end("p");
        t.end("nothing open"); // harmless
        let a = t.annotations();
        assert_eq!(a.len(), 3);
        assert!(a.windows(2).all(|w| w[0].time <= w[1].time));
        assert_eq!(a[0].text, "[0 1] | [2]");
        assert!(a[0].end.is_some_and(|e| e >= a[0].time));
        assert_eq!(a[1].end, None);
        assert!(!t.is_open("p"));
    }

    #[test]
    fn an_open_band_ends_when_it_is_read() {
        let t = Timeline::default();
        t.begin("down 0", "crash", "S0 down");
        let a = t.annotations();
        assert_eq!(a.len(), 1);
        assert!(a[0].end.is_some(), "drawn as lasting until now");
        assert!(t.is_open("down 0"), "and still open");
    }
}
