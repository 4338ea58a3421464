//! Kubernetes quantities as numbers: cpu in cores, memory in bytes.

/// Parses a Kubernetes quantity into a number (cpu in cores, memory in bytes).
pub fn parse_quantity(q: &str) -> f64 {
    let q = q.trim();
    let split = q.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(q.len());
    let (num, suffix) = q.split_at(split);
    let n: f64 = num.parse().unwrap_or(0.0);
    let mult = match suffix {
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "P" => 1e15,
        "E" => 1e18,
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        _ => 1.0,
    };
    n * mult
}

/// Formats a number of cores (or bytes) back into a quantity: whole numbers plain, else milli.
pub fn format_quantity(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{}", v as i64)
    } else {
        format!("{}m", (v * 1000.0).round() as i64)
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
}
