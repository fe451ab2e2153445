//! `gapscore report`: a tenant's scorecard as a one-page HTML report.
//!
//! The page is self-contained — inline CSS and an inline SVG chart, no
//! scripts, fonts or images from elsewhere — so it can be mailed, attached
//! to a ticket or opened from disk. [`render_html`] is a pure function of the
//! responses a dashboard would fetch (`GetScorecard`,
//! `GetPerceptionGap`, `GetPriorityMap`, and `GetTrend` by month with each
//! month's NPS interval from `GetPerceptionGap`), so what the page shows is
//! exactly what the API says.
//! Every piece of text that comes from a tenant (its name, question keys,
//! the loyalty headline) is HTML-escaped.
//!
//! - [`fetch`]: the figures, from the scoring services, in one snapshot
//!   ([`snapshot`]);
//! - [`html`]: the page, [`chart`]: its bar chart, [`trend`]: its monthly
//!   charts of the delivery gap and NPS, [`priority`]: its quadrant chart,
//!   [`format`]: numbers and text as people read them.

pub mod chart;
pub mod fetch;
pub mod format;
pub mod html;
pub mod priority;
pub mod snapshot;
pub mod trend;

pub use chart::chart_svg;
pub use fetch::{build, build_after};
pub use format::{count, esc, pct, pct_interval, points, points_interval, signed};
pub use html::{agreement_sentence, render_html};
pub use trend::Trends;
