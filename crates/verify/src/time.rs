//! Evaluation time. Every verification takes it as an input; nothing below the CLI reads the clock.

use crate::Check;
use crate::error::{Error, Result};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Seconds since the Unix epoch, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Parses an RFC 3339 timestamp such as `2023-07-01T01:00:00Z`.
    pub fn parse_rfc3339(s: &str) -> Result<Self> {
        OffsetDateTime::parse(s.trim(), &Rfc3339)
            .map(|t| Timestamp(t.unix_timestamp()))
            .map_err(|e| Error::usage(Check::Time, format!("'{s}' is not an RFC 3339 time: {e}")))
    }
    /// The wall clock. Only the CLI and the attester call this.
    pub fn now() -> Self {
        Timestamp(OffsetDateTime::now_utc().unix_timestamp())
    }
    /// The time in RFC 3339 (`2023-07-01T01:00:00Z`), or `@SECONDS` when it cannot be formatted.
    pub fn to_rfc3339(self) -> String {
        OffsetDateTime::from_unix_timestamp(self.0)
            .ok()
            .and_then(|t| t.format(&Rfc3339).ok())
            .unwrap_or_else(|| format!("@{}", self.0))
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}
