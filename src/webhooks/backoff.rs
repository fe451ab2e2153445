//! When a failed delivery is tried again: exponential backoff with jitter.

use std::time::Duration;

/// The longest wait between two attempts: with the default 5 s base an
/// event is tried about 30 times over the 24 hours before it is given up.
pub const MAX_DELAY: Duration = Duration::from_secs(3600);

/// The wait after the `attempts`-th failed attempt (1 for the first):
/// `base · 2^(attempts−1)`, at most [`MAX_DELAY`], scaled by `jitter` in
/// [0, 1] to between 3/4 and all of it. The jitter spreads the retries of
/// many deliveries that failed together (a receiver that was down) without
/// making a later wait shorter than an earlier one below the cap: the
/// ranges of consecutive attempts, [¾·d, d] and [1½·d, 2·d], do not overlap.
pub fn retry_delay(base: Duration, attempts: u32, jitter: f64) -> Duration {
    let doublings = attempts.saturating_sub(1).min(32);
    let full = base
        .checked_mul(1u32 << doublings.min(31))
        .unwrap_or(MAX_DELAY)
        .min(MAX_DELAY);
    full.mul_f64(0.75 + 0.25 * jitter.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_from_the_base_within_the_jitter_band() {
        let base = Duration::from_secs(5);
        assert_eq!(retry_delay(base, 1, 1.0), Duration::from_secs(5));
        assert_eq!(retry_delay(base, 1, 0.0), Duration::from_millis(3750));
        assert_eq!(retry_delay(base, 2, 1.0), Duration::from_secs(10));
        assert_eq!(retry_delay(base, 4, 1.0), Duration::from_secs(40));
        // Out-of-range jitter is clamped.
        assert_eq!(retry_delay(base, 1, 7.0), Duration::from_secs(5));
        assert_eq!(retry_delay(base, 1, -1.0), Duration::from_millis(3750));
    }

    #[test]
    fn a_later_wait_is_never_shorter_whatever_the_jitter() {
        let base = Duration::from_millis(300);
        for attempts in 1..40 {
            let longest = retry_delay(base, attempts, 1.0);
            let next_shortest = retry_delay(base, attempts + 1, 0.0);
            assert!(
                next_shortest >= longest.min(MAX_DELAY.mul_f64(0.75)),
                "{attempts}"
            );
        }
    }

    #[test]
    fn is_capped_and_never_overflows() {
        let base = Duration::from_secs(5);
        assert_eq!(retry_delay(base, 11, 1.0), MAX_DELAY);
        assert_eq!(retry_delay(base, u32::MAX, 1.0), MAX_DELAY);
        assert_eq!(retry_delay(Duration::MAX, 3, 1.0), MAX_DELAY);
        assert_eq!(retry_delay(base, 0, 1.0), base);
    }

    #[test]
    fn about_thirty_attempts_fit_in_a_day_with_the_default_base() {
        let (mut total, mut attempts) = (Duration::ZERO, 0);
        while total < Duration::from_secs(86_400) {
            attempts += 1;
            total += retry_delay(Duration::from_secs(5), attempts, 1.0);
        }
        assert!((25..=35).contains(&attempts), "{attempts}");
    }
}
