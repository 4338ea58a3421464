//! Kubernetes quantities as numbers: cpu in cores, memory in bytes.
//!
//! Quantities come from members (node allocatable) and templates (requests): hostile input.
//! Parsing follows Kubernetes' grammar (`<number><suffix>`, suffix a binary SI unit `Ki`..`Ei`,
//! a decimal SI unit `n`..`E`, or an exponent `e3`/`E-2`) and refuses what Kubernetes' int64
//! quantities cannot hold, so sums and quotients of parsed values stay finite: no overflow,
//! no infinity, no NaN.

/// Largest magnitude accepted, in base units (cores, bytes): 2^63, what Kubernetes' int64
/// quantities hold (8 EiB of memory, 9.2·10^18 cores).
pub const MAX_QUANTITY: f64 = 9_223_372_036_854_775_808.0;

/// Parses a Kubernetes quantity (cpu in cores, memory in bytes); `None` when it is not a
/// quantity or its magnitude exceeds [`MAX_QUANTITY`].
pub fn quantity(q: &str) -> Option<f64> {
    let q = q.trim();
    let split = q
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(q.len());
    let (num, suffix) = q.split_at(split);
    let digits = num.strip_prefix(['+', '-']).unwrap_or(num);
    // One optional sign, then digits with at most one '.', and at least one digit.
    if digits.is_empty()
        || !digits.chars().any(|c| c.is_ascii_digit())
        || digits.chars().filter(|c| *c == '.').count() > 1
        || digits.contains(['+', '-'])
    {
        return None;
    }
    let n: f64 = num.parse().ok()?;
    let mult = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        exp if exp.starts_with(['e', 'E']) => {
            let e = &exp[1..];
            let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
            if digits.is_empty() || digits.len() > 4 || !digits.chars().all(|c| c.is_ascii_digit())
            {
                return None;
            }
            10f64.powi(e.parse::<i32>().ok()?)
        }
        _ => return None,
    };
    let v = n * mult;
    (v.is_finite() && v.abs() <= MAX_QUANTITY).then_some(v)
}

/// [`quantity`], with anything unparseable or out of range counted as 0.
pub fn parse_quantity(q: &str) -> f64 {
    quantity(q).unwrap_or(0.0)
}

/// Formats a number of cores (or bytes) back into a quantity: whole numbers plain, else milli.
/// Non-finite input (which [`quantity`] never yields) formats as `0`.
pub fn format_quantity(v: f64) -> String {
    if !v.is_finite() || v == 0.0 {
        "0".into()
    } else if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{:.0}m", (v * 1000.0).round())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        assert_eq!(parse_quantity("500m"), 0.5);
        assert_eq!(parse_quantity("2Ki"), 2048.0);
        // metrics-server reports cpu in nanocores.
        assert!((parse_quantity("250000000n") - 0.25).abs() < 1e-9);
        assert_eq!(format_quantity(1.5), "1500m");
        assert_eq!(format_quantity(4.0), "4");
    }

    #[test]
    fn kubernetes_grammar() {
        for (q, v) in [
            ("1e3", 1000.0),
            ("1E3", 1000.0),
            ("5e-3", 0.005),
            ("1E", 1e18),
            ("2Pi", 2.0 * 1024f64.powi(5)),
            ("100n", 1e-7),
            ("250u", 2.5e-4),
            (".5", 0.5),
            ("1.", 1.0),
            ("+2", 2.0),
            ("-1", -1.0),
            ("1.5Gi", 1.5 * 1024f64.powi(3)),
            (" 3 ", 3.0),
            ("8Ei", 8.0 * 1024f64.powi(6)),
        ] {
            let got = quantity(q).unwrap_or_else(|| panic!("{q} should parse"));
            assert!((got - v).abs() <= v.abs() * 1e-12, "{q}: {got} != {v}");
        }
        for bad in [
            "", "abc", "NaN", "nan", "inf", "-inf", "1x", "1..2", "1.2.3", "--1", "1+", "e3", "1e",
            "1e+", "1e1.5", "1ee3", "1Kii",
        ] {
            assert_eq!(quantity(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn absurd_quantities_are_refused_not_overflowed() {
        for absurd in [
            "1e400",
            "1e-400e",
            "99999999999999999999Ei",
            "9Ei",
            "1e19",
            "-1e19",
            "1e99999",
            &"9".repeat(400),
        ] {
            assert_eq!(quantity(absurd), None, "{absurd}");
            assert_eq!(parse_quantity(absurd), 0.0, "{absurd}");
        }
        // The largest accepted values still sum and format as finite numbers.
        let big = parse_quantity("8Ei") * 1000.0;
        assert!(big.is_finite());
        assert_eq!(
            format_quantity(parse_quantity("8Ei")),
            "9223372036854775808"
        );
        assert_eq!(format_quantity(f64::NAN), "0");
        assert_eq!(format_quantity(f64::INFINITY), "0");
        assert_eq!(format_quantity(2.0 * MAX_QUANTITY), "18446744073709551616");
    }
}
