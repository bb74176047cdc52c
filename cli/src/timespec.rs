//! `plot --from/--to`: a time as tshark shows one, relative to the capture's first packet
//! (`frame.time_relative`), a date and time (`-t ad`, `-t ud` with a zone), or epoch seconds
//! (`-t e`, `frame.time_epoch`).
use mptcp_plots::TimeBound;

/// The forms accepted, named in every error.
pub const FORMS: &str = "seconds since the capture's first packet (1.5, 0.85s, 250ms, 300us), \
a date and time as tshark -t ad shows it, in local time (2026-12-07 04:35:01.25 or 2026-12-07T04:35:01.25; \
a Z or +01:00 at the end gives the zone), or @ and seconds since the epoch as tshark -t e shows it (@1796618101.25)";

/// Parses one `--from`/`--to` value.
pub fn parse(s: &str) -> Result<TimeBound, String> {
    let t = s.trim();
    let bad = || format!("bad time {s:?}: use {FORMS}");
    if let Some(e) = t.strip_prefix('@') {
        return number(e).map(TimeBound::Epoch).ok_or_else(bad);
    }
    if t.contains('-') || t.contains(':') {
        return absolute(t).map(TimeBound::Epoch).ok_or_else(bad);
    }
    let units: [(&str, f64); 5] = [("ms", 1e-3), ("us", 1e-6), ("µs", 1e-6), ("ns", 1e-9), ("s", 1.0)];
    let (num, scale) = units.iter().find_map(|(u, k)| t.strip_suffix(u).map(|n| (n.trim_end(), *k))).unwrap_or((t, 1.0));
    number(num).map(|v| TimeBound::Relative(v * scale)).ok_or_else(bad)
}

/// A plain decimal number (digits, at most one point): no sign, exponent, inf or NaN.
fn number(s: &str) -> Option<f64> {
    let plain = !s.is_empty() && s.chars().all(|c| c.is_ascii_digit() || c == '.') && s.matches('.').count() <= 1 && s != ".";
    plain.then(|| s.parse::<f64>().ok()).flatten().filter(|v| v.is_finite())
}

/// Seconds since the epoch of a date and time: with a zone (`Z`, `+01:00`) that instant, else
/// local time (TZ, then /etc/localtime: what tshark shows).
fn absolute(s: &str) -> Option<f64> {
    let ts = match s.parse::<jiff::Timestamp>() {
        Ok(ts) => ts,
        Err(_) => {
            let dt = s.parse::<jiff::civil::DateTime>().ok()?;
            dt.to_zoned(jiff::tz::TimeZone::system()).ok()?.timestamp()
        }
    };
    // Whole seconds and the fraction apart: 1796618101.25 stays exact (nanoseconds / 1e9 does not).
    Some(ts.as_second() as f64 + f64::from(ts.subsec_nanosecond()) / 1e9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_and_absolute_forms() {
        assert_eq!(parse("1.5"), Ok(TimeBound::Relative(1.5)));
        assert_eq!(parse("0.85s"), Ok(TimeBound::Relative(0.85)));
        assert_eq!(parse("250ms"), Ok(TimeBound::Relative(0.25)));
        assert_eq!(parse("@1796618101.25"), Ok(TimeBound::Epoch(1796618101.25)));
        // 2026-12-07T04:35:01Z: 20794 days after 1970-01-01, then 4 h 35 min 1 s.
        let want = 20794.0 * 86400.0 + 4.0 * 3600.0 + 35.0 * 60.0 + 1.0;
        assert_eq!(parse("2026-12-07T04:35:01Z"), Ok(TimeBound::Epoch(want)));
        assert_eq!(parse("2026-12-07 05:35:01.25+01:00"), Ok(TimeBound::Epoch(want + 0.25)));
        for bad in ["", "3parsecs", "-1", "1e3", "inf", "NaN", "2026-13-07 04:35:01", "@", "1.2.3", "."] {
            let e = parse(bad).unwrap_err();
            assert!(e.contains("250ms") && e.contains("2026-12-07 04:35:01.25") && e.contains('@'), "{bad}: {e}");
        }
    }
}
