//! The one duration syntax of every flag, the CLI's and the reconciler's: Go's (`30s`, `5m`,
//! `1h30m`, `500ms`), plus `d` for days and a plain number of seconds (`2`, `0.5`).

use std::time::Duration;

const UNITS: &[(&str, f64)] = &[
    ("ms", 1e-3),
    ("s", 1.0),
    ("m", 60.0),
    ("h", 3600.0),
    ("d", 86400.0),
];

/// Longest duration accepted: 100 years, far beyond any timeout or certificate validity, and
/// well inside what timers and timestamps can add without overflowing.
const MAX_SECS: f64 = 100.0 * 365.0 * 86400.0;

/// Parses a duration; zero is allowed.
pub fn parse(s: &str) -> Result<Duration, String> {
    let text = s.trim();
    let invalid = || format!("invalid duration {s:?}; use e.g. 30s, 5m, 1h30m or 500ms");
    if text.is_empty() {
        return Err(invalid());
    }
    if let Ok(secs) = text.parse::<f64>() {
        return from_secs(secs, s);
    }
    let mut total = 0.0;
    let mut rest = text;
    while !rest.is_empty() {
        let split = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .ok_or_else(invalid)?;
        let (num, tail) = rest.split_at(split);
        let n: f64 = num.parse().map_err(|_| invalid())?;
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let (_, scale) = UNITS.iter().find(|(u, _)| *u == unit).ok_or_else(|| {
            format!("invalid duration {s:?}: unknown unit {unit:?}; use ms, s, m, h or d")
        })?;
        total += n * scale;
        rest = tail;
    }
    from_secs(total, s)
}

/// Parses a duration that must be longer than zero.
pub fn parse_positive(s: &str) -> Result<Duration, String> {
    let d = parse(s)?;
    if d.is_zero() {
        return Err(format!("duration {s:?} must be positive"));
    }
    Ok(d)
}

/// Formats a duration in the same syntax, in whole units: `1h30m`, `5m`, `10s`, `500ms`.
pub fn format(d: Duration) -> String {
    let mut secs = d.as_secs();
    if secs == 0 {
        return format!("{}ms", d.subsec_millis());
    }
    let mut out = String::new();
    for (unit, size) in [("d", 86400), ("h", 3600), ("m", 60), ("s", 1)] {
        let n = secs / size;
        secs %= size;
        if n > 0 {
            out.push_str(&format!("{n}{unit}"));
        }
    }
    out
}

fn from_secs(secs: f64, s: &str) -> Result<Duration, String> {
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!(
            "invalid duration {s:?}; it must be a positive time"
        ));
    }
    if secs > MAX_SECS {
        return Err(format!("duration {s:?} is too long (at most 100 years)"));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_days_and_plain_seconds() {
        assert_eq!(parse("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse("2").unwrap(), Duration::from_secs(2));
        assert_eq!(parse("1m").unwrap(), Duration::from_secs(60));
        assert_eq!(parse("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse("8760h").unwrap(), Duration::from_secs(8760 * 3600));
        assert_eq!(parse("365d").unwrap(), Duration::from_secs(365 * 86400));
        assert_eq!(parse("0s").unwrap(), Duration::ZERO);
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        for bad in [
            "soon",
            "",
            "5x",
            "s",
            "-1s",
            "1e400",
            "99999999999999999999h",
            "NaN",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be rejected");
        }
        assert!(parse_positive("0s").is_err());
        assert!(parse_positive("1s").is_ok());
    }

    #[test]
    fn formats_what_it_parses() {
        for text in ["10s", "5m", "1h30m", "2d", "500ms", "1m5s"] {
            assert_eq!(format(parse(text).unwrap()), text);
        }
    }
}
