//! The test process's resident memory (the server runs in it), sampled
//! while something runs, for bounds on what a call may cost.

use super::internals::proc_memory_kib;
use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    thread,
    time::Duration,
};

/// `VmRSS` of this process, bytes (0 where `/proc` is missing).
pub fn rss_bytes() -> u64 {
    proc_memory_kib(std::process::id()).0 * 1024
}

/// The growth of `VmRSS` over its value before `run`, at its highest while
/// `run` ran (sampled every millisecond on a thread of its own, so freed
/// memory is still seen), with `run`'s output.
///
/// The server shares the process with every test running at the same
/// time, so a bound on this growth must be generous.
pub async fn peak_rss_growth<T>(run: impl Future<Output = T>) -> (u64, T) {
    let before = rss_bytes();
    let peak = Arc::new(AtomicU64::new(before));
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, stop) = (Arc::clone(&peak), Arc::clone(&stop));
        thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                peak.fetch_max(rss_bytes(), Ordering::Relaxed);
                thread::sleep(Duration::from_millis(1));
            }
        })
    };
    let output = run.await;
    stop.store(true, Ordering::Relaxed);
    sampler.join().expect("the sampler ends");
    peak.fetch_max(rss_bytes(), Ordering::Relaxed);
    (peak.load(Ordering::Relaxed).saturating_sub(before), output)
}
