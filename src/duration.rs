//! Session durations: the original tool's `--duration` forms and bounds.
//!
//! Accepted: plain seconds (`900`), or a number with `s`, `m` or `h`
//! (`900s`, `15m`, `2h`), between 15 minutes and 12 hours inclusive, which
//! is what STS allows for `AssumeRole`.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// The shortest session STS issues.
pub const MIN_SECS: u32 = 15 * 60;
/// The longest session STS issues (and the role's `MaxSessionDuration` cap).
pub const MAX_SECS: u32 = 12 * 60 * 60;

/// A session length that STS will accept: 900..=43200 seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionDuration(u32);

/// Why a `--duration` value was refused; the messages are the original's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DurationError {
    /// Not digits optionally followed by `s`, `m` or `h`.
    Form,
    /// Well formed but outside 15 minutes ..= 12 hours.
    Bounds,
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DurationError::Form => "Duration must be of form 3600s or 15m or 2h",
            DurationError::Bounds => "Duration must be between 15 minutes and 12 hours",
        })
    }
}

impl std::error::Error for DurationError {}

impl SessionDuration {
    /// The duration in whole seconds, as STS's `DurationSeconds` wants it.
    pub fn secs(self) -> u32 {
        self.0
    }

    /// The duration as a std `Duration`.
    pub(crate) fn as_duration(self) -> Duration {
        Duration::from_secs(u64::from(self.0))
    }

    /// Checks bounds on a number of seconds.
    pub fn from_secs(secs: u64) -> Result<Self, DurationError> {
        if (u64::from(MIN_SECS)..=u64::from(MAX_SECS)).contains(&secs) {
            Ok(SessionDuration(secs as u32))
        } else {
            Err(DurationError::Bounds)
        }
    }
}

impl FromStr for SessionDuration {
    type Err = DurationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (digits, unit) = match s.char_indices().last() {
            Some((i, 's')) => (&s[..i], 1),
            Some((i, 'm')) => (&s[..i], 60),
            Some((i, 'h')) => (&s[..i], 3600),
            _ => (s, 1),
        };
        // Python's `\d` also matches non-ASCII digits, but `int()` of those
        // is rarely intended; ASCII only keeps the error honest.
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DurationError::Form);
        }
        // A number too big for u64 is still well formed: it is out of bounds.
        let secs = digits
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(unit))
            .ok_or(DurationError::Bounds)?;
        SessionDuration::from_secs(secs)
    }
}

impl fmt::Display for SessionDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: &str) -> Result<u32, DurationError> {
        s.parse::<SessionDuration>().map(SessionDuration::secs)
    }

    #[test]
    fn accepts_the_original_forms() {
        assert_eq!(secs("900"), Ok(900));
        assert_eq!(secs("900s"), Ok(900));
        assert_eq!(secs("15m"), Ok(900));
        assert_eq!(secs("2h"), Ok(7200));
        assert_eq!(secs("12h"), Ok(43200));
        assert_eq!(secs("43200s"), Ok(43200));
        assert_eq!(secs("0015m"), Ok(900));
    }

    #[test]
    fn refuses_other_forms() {
        for bad in [
            "", "h", "1.5h", "1d", "15 m", " 15m", "15M", "-15m", "1h30m", "+900", "٣h",
        ] {
            assert_eq!(secs(bad), Err(DurationError::Form), "{bad:?}");
        }
    }

    #[test]
    fn enforces_bounds() {
        for bad in [
            "899",
            "14m",
            "0h",
            "13h",
            "43201",
            "99999999999999999999999h",
        ] {
            assert_eq!(secs(bad), Err(DurationError::Bounds), "{bad:?}");
        }
    }

    #[test]
    fn messages_are_the_originals() {
        assert_eq!(
            DurationError::Form.to_string(),
            "Duration must be of form 3600s or 15m or 2h"
        );
        assert_eq!(
            DurationError::Bounds.to_string(),
            "Duration must be between 15 minutes and 12 hours"
        );
    }
}
