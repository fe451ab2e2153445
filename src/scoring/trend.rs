//! Time buckets for trends (SPEC §8): UTC days, ISO weeks starting Monday,
//! calendar months.

use chrono::{DateTime, Datelike, Duration, Months, NaiveTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

/// Most buckets one trend may have (e.g. 1000 days ≈ 2.7 years daily).
/// Bounds the response size; a caller wanting more picks a coarser bucket.
pub const MAX_TREND_BUCKETS: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TrendBucket {
    Day,
    Week,
    Month,
}

impl TrendBucket {
    /// The unit PostgreSQL's `date_trunc` uses for the same bucket:
    /// `date_trunc(unit, ts AT TIME ZONE 'UTC')` gives the same starts as
    /// [`bucket_floor`] (PostgreSQL weeks are ISO weeks, starting Monday).
    pub fn date_trunc_unit(self) -> &'static str {
        match self {
            TrendBucket::Day => "day",
            TrendBucket::Week => "week",
            TrendBucket::Month => "month",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrendError {
    #[error("the window is empty: end_time must be after start_time")]
    EmptyWindow,
    #[error("the window spans more than {max} buckets; use a shorter window or a coarser bucket")]
    TooManyBuckets { max: usize },
    #[error("the window is outside the supported date range")]
    OutOfRange,
}

/// Start of the bucket containing `t`: midnight UTC of its day, of the
/// Monday of its week, or of the first of its month.
pub fn bucket_floor(t: DateTime<Utc>, bucket: TrendBucket) -> DateTime<Utc> {
    let day = t.date_naive();
    let start_day = match bucket {
        TrendBucket::Day => day,
        TrendBucket::Week => day - Duration::days(i64::from(day.weekday().num_days_from_monday())),
        TrendBucket::Month => day.with_day(1).expect("every month has a first day"),
    };
    Utc.from_utc_datetime(&start_day.and_time(NaiveTime::MIN))
}

/// Start of the bucket after the one starting at `start`; `None` past the
/// end of chrono's date range.
pub fn next_bucket_start(start: DateTime<Utc>, bucket: TrendBucket) -> Option<DateTime<Utc>> {
    match bucket {
        TrendBucket::Day => start.checked_add_signed(Duration::days(1)),
        TrendBucket::Week => start.checked_add_signed(Duration::days(7)),
        TrendBucket::Month => start.checked_add_months(Months::new(1)),
    }
}

/// The last instant a `google.protobuf.Timestamp` can carry,
/// 9999-12-31T23:59:59.999999999Z.
pub fn last_instant() -> DateTime<Utc> {
    let seconds = *crate::domain::scope::TIME_RANGE_SECONDS.end();
    DateTime::from_timestamp(seconds, 999_999_999).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// End of the bucket starting at `start`: the next bucket's start, but
/// never past [`last_instant`] — December 9999's bucket would otherwise end
/// in year 10000, which no Timestamp can carry. A window cannot reach past
/// that instant, so the clamped bucket still covers all of its part.
pub fn bucket_end(start: DateTime<Utc>, bucket: TrendBucket) -> DateTime<Utc> {
    let last = last_instant();
    next_bucket_start(start, bucket).map_or(last, |next| next.min(last))
}

/// Starts of the UTC buckets covering the window `[start, end)`, ascending:
/// the first is the bucket containing `start` (which may begin before it),
/// the last is the bucket containing the last instant before `end`. Bucket
/// `i` covers `[starts[i], starts[i + 1])`, and the last one ends at
/// [`next_bucket_start`]. Every bucket is returned, including empty ones, so
/// a trend can report sample size 0 for them (SPEC §8).
///
/// Errors: `end ≤ start` (an empty window has no buckets to report), more
/// than [`MAX_TREND_BUCKETS`] buckets, or dates beyond chrono's range.
pub fn bucket_starts(
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    bucket: TrendBucket,
) -> Result<Vec<DateTime<Utc>>, TrendError> {
    if end <= start {
        return Err(TrendError::EmptyWindow);
    }
    let mut starts = Vec::new();
    let mut current = bucket_floor(start, bucket);
    while current < end {
        if starts.len() == MAX_TREND_BUCKETS {
            return Err(TrendError::TooManyBuckets {
                max: MAX_TREND_BUCKETS,
            });
        }
        starts.push(current);
        current = next_bucket_start(current, bucket).ok_or(TrendError::OutOfRange)?;
    }
    Ok(starts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn strings(v: &[DateTime<Utc>]) -> Vec<String> {
        v.iter().map(|t| t.to_rfc3339()).collect()
    }

    #[test]
    fn days_cover_the_window() {
        let b = bucket_starts(
            utc("2025-03-30T22:15:00Z"),
            utc("2025-04-02T00:00:00Z"),
            TrendBucket::Day,
        )
        .unwrap();
        assert_eq!(
            strings(&b),
            [
                "2025-03-30T00:00:00+00:00",
                "2025-03-31T00:00:00+00:00",
                "2025-04-01T00:00:00+00:00",
            ]
        );
    }

    #[test]
    fn weeks_start_on_monday() {
        // 2025-01-01 is a Wednesday; its week starts Monday 2024-12-30.
        let b = bucket_starts(
            utc("2025-01-01T12:00:00Z"),
            utc("2025-01-13T00:00:01Z"),
            TrendBucket::Week,
        )
        .unwrap();
        assert_eq!(
            strings(&b),
            [
                "2024-12-30T00:00:00+00:00",
                "2025-01-06T00:00:00+00:00",
                "2025-01-13T00:00:00+00:00",
            ]
        );
        // A Monday midnight is its own bucket start; a Sunday belongs to the
        // week before.
        assert_eq!(
            bucket_floor(utc("2025-01-06T00:00:00Z"), TrendBucket::Week),
            utc("2025-01-06T00:00:00Z")
        );
        assert_eq!(
            bucket_floor(utc("2025-01-12T23:59:59Z"), TrendBucket::Week),
            utc("2025-01-06T00:00:00Z")
        );
    }

    #[test]
    fn months_start_on_the_first() {
        let b = bucket_starts(
            utc("2024-01-31T10:00:00Z"),
            utc("2024-04-01T00:00:00Z"),
            TrendBucket::Month,
        )
        .unwrap();
        assert_eq!(
            strings(&b),
            [
                "2024-01-01T00:00:00+00:00",
                "2024-02-01T00:00:00+00:00",
                "2024-03-01T00:00:00+00:00",
            ]
        );
        // End is exclusive: exactly the next month's start adds no bucket.
        assert_eq!(b.len(), 3);
    }

    #[test]
    fn offsets_are_converted_to_utc_first() {
        // 2025-02-01T01:00+02:00 is still January in UTC.
        let t = utc("2025-02-01T01:00:00+02:00");
        assert_eq!(
            bucket_floor(t, TrendBucket::Month),
            utc("2025-01-01T00:00:00Z")
        );
    }

    #[test]
    fn one_instant_window_has_one_bucket() {
        let t = utc("2025-05-05T05:05:05Z");
        let b = bucket_starts(t, t + Duration::nanoseconds(1), TrendBucket::Day).unwrap();
        assert_eq!(strings(&b), ["2025-05-05T00:00:00+00:00"]);
    }

    #[test]
    fn invalid_windows_are_errors() {
        let t = utc("2025-05-05T00:00:00Z");
        assert_eq!(
            bucket_starts(t, t, TrendBucket::Day),
            Err(TrendError::EmptyWindow)
        );
        assert_eq!(
            bucket_starts(t, t - Duration::days(1), TrendBucket::Day),
            Err(TrendError::EmptyWindow)
        );
        let ok = bucket_starts(t, t + Duration::days(1000), TrendBucket::Day).unwrap();
        assert_eq!(ok.len(), MAX_TREND_BUCKETS);
        assert_eq!(
            bucket_starts(
                t,
                t + Duration::days(1000) + Duration::seconds(1),
                TrendBucket::Day
            ),
            Err(TrendError::TooManyBuckets {
                max: MAX_TREND_BUCKETS
            })
        );
        // May 2025 to April 2035: ten years of months.
        assert_eq!(
            bucket_starts(t, utc("2035-05-01T00:00:00Z"), TrendBucket::Month)
                .unwrap()
                .len(),
            120
        );
    }

    #[test]
    fn date_trunc_units() {
        assert_eq!(TrendBucket::Week.date_trunc_unit(), "week");
    }

    #[test]
    fn the_last_bucket_ends_within_the_timestamp_range() {
        let last = last_instant();
        assert_eq!(last.to_rfc3339(), "9999-12-31T23:59:59.999999999+00:00");
        for bucket in [TrendBucket::Day, TrendBucket::Week, TrendBucket::Month] {
            let start = bucket_floor(utc("9999-12-31T12:00:00Z"), bucket);
            assert_eq!(bucket_end(start, bucket), last, "{bucket:?}");
        }
        let march = utc("2025-03-01T00:00:00Z");
        assert_eq!(
            bucket_end(march, TrendBucket::Month),
            utc("2025-04-01T00:00:00Z")
        );
    }
}
