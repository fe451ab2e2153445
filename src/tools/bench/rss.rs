//! The server's memory, from `/proc/PID/status`: sampled every 20 ms for
//! each phase's peak, and its high-water mark over the run.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

/// Samples a process's resident set (VmRSS) every 20 ms; tracks the peak
/// since the last [`Rss::start_phase`].
pub struct Rss {
    pid: u32,
    peak_kib: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

/// `VmRSS` and `VmHWM` of a process, KiB (0 when unreadable).
pub fn proc_memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

impl Rss {
    pub fn start(pid: u32) -> Self {
        let peak_kib = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (peak_kib.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                p.fetch_max(proc_memory_kib(pid).0, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        Self {
            pid,
            peak_kib,
            stop,
        }
    }
    /// Resets the phase peak to the current RSS.
    pub fn start_phase(&self) {
        self.peak_kib
            .store(proc_memory_kib(self.pid).0, Ordering::Relaxed);
    }
    /// Peak RSS since [`Rss::start_phase`], MiB.
    pub fn phase_peak_mib(&self) -> f64 {
        self.peak_kib
            .load(Ordering::Relaxed)
            .max(proc_memory_kib(self.pid).0) as f64
            / 1024.0
    }
    pub fn current_mib(&self) -> f64 {
        proc_memory_kib(self.pid).0 as f64 / 1024.0
    }
    pub fn hwm_mib(&self) -> f64 {
        proc_memory_kib(self.pid).1 as f64 / 1024.0
    }
}

impl Drop for Rss {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
