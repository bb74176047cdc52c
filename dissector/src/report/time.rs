//! Packet times as people read them: the formats of tshark's `-t` (absolute local or UTC, with
//! the date or the day of the year, seconds since the first packet, since the previous packet or
//! the previous line printed, epoch seconds), written without allocating.
use std::io::Write;

/// A `-t` format, named by tshark's letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeFormat {
    /// `a`: local time of day.
    Absolute,
    /// `ad`: local date and time.
    AbsoluteDate,
    /// `adoy`: local year/day-of-year and time.
    AbsoluteDoy,
    /// `u`: UTC time of day.
    Utc,
    /// `ud`: UTC date and time.
    UtcDate,
    /// `udoy`: UTC year/day-of-year and time.
    UtcDoy,
    /// `r`: seconds since the first packet of the capture (tshark's default).
    Relative,
    /// `d`: seconds since the previous packet of the capture.
    Delta,
    /// `dd`: seconds since the previous line printed.
    DeltaDisplayed,
    /// `e`: seconds since the Unix epoch.
    Epoch,
}

impl TimeFormat {
    /// Parses tshark's letters (`a`, `ad`, `adoy`, `u`, `ud`, `udoy`, `r`, `d`, `dd`, `e`).
    pub fn parse(s: &str) -> Result<TimeFormat, String> {
        Ok(match s {
            "a" => TimeFormat::Absolute,
            "ad" => TimeFormat::AbsoluteDate,
            "adoy" => TimeFormat::AbsoluteDoy,
            "u" => TimeFormat::Utc,
            "ud" => TimeFormat::UtcDate,
            "udoy" => TimeFormat::UtcDoy,
            "r" => TimeFormat::Relative,
            "d" => TimeFormat::Delta,
            "dd" => TimeFormat::DeltaDisplayed,
            "e" => TimeFormat::Epoch,
            _ => return Err(format!("-t: unknown time format {s:?}: expected a, ad, adoy, u, ud, udoy, r, d, dd or e (as tshark's -t)")),
        })
    }
}

/// What a time is written relative to, and with how many digits of a second.
#[derive(Debug, Clone, Copy)]
pub struct TimeRef {
    /// Time of the capture's first packet (`r`).
    pub first_ns: u64,
    /// Time of the packet before this one in the capture (`d`).
    pub prev_ns: u64,
    /// Time of the previous line printed, `None` before the first (`dd`).
    pub prev_shown_ns: Option<u64>,
    /// 6 (microseconds) or 9 (nanoseconds), as the capture records them.
    pub digits: u8,
}

/// Writes `ts_ns` (nanoseconds since the epoch) in `format`.
pub fn write_time<W: Write>(out: &mut W, format: TimeFormat, ts_ns: u64, r: &TimeRef) -> std::io::Result<()> {
    match format {
        TimeFormat::Relative => write_signed(out, i128::from(ts_ns) - i128::from(r.first_ns), r.digits),
        TimeFormat::Delta => write_signed(out, i128::from(ts_ns) - i128::from(r.prev_ns), r.digits),
        TimeFormat::DeltaDisplayed => write_signed(out, r.prev_shown_ns.map_or(0, |p| i128::from(ts_ns) - i128::from(p)), r.digits),
        TimeFormat::Epoch => write_signed(out, i128::from(ts_ns), r.digits),
        TimeFormat::Utc | TimeFormat::UtcDate | TimeFormat::UtcDoy => write_civil(out, format, ts_ns, jiff::tz::TimeZone::UTC, r.digits),
        TimeFormat::Absolute | TimeFormat::AbsoluteDate | TimeFormat::AbsoluteDoy => {
            write_civil(out, format, ts_ns, local_zone(), r.digits)
        }
    }
}

/// Seconds with `digits` decimals (truncated, as tshark does), from signed nanoseconds.
fn write_signed<W: Write>(out: &mut W, ns: i128, digits: u8) -> std::io::Result<()> {
    let sign = if ns < 0 { "-" } else { "" };
    let abs = ns.unsigned_abs();
    let (secs, frac) = (abs / 1_000_000_000, (abs % 1_000_000_000) as u64);
    write!(out, "{sign}{secs}.")?;
    write_frac(out, frac, digits)
}

fn write_frac<W: Write>(out: &mut W, frac_ns: u64, digits: u8) -> std::io::Result<()> {
    if digits >= 9 {
        write!(out, "{frac_ns:09}")
    } else {
        write!(out, "{:06}", frac_ns / 1000)
    }
}

/// The system's time zone (TZ, else /etc/localtime), looked up once per thread.
fn local_zone() -> jiff::tz::TimeZone {
    thread_local! {
        static ZONE: jiff::tz::TimeZone = jiff::tz::TimeZone::system();
    }
    ZONE.with(|z| z.clone())
}

fn write_civil<W: Write>(out: &mut W, format: TimeFormat, ts_ns: u64, zone: jiff::tz::TimeZone, digits: u8) -> std::io::Result<()> {
    let secs = i64::try_from(ts_ns / 1_000_000_000).unwrap_or(i64::MAX);
    let frac = ts_ns % 1_000_000_000;
    let Ok(ts) = jiff::Timestamp::from_second(secs) else {
        // Beyond the calendar jiff knows (year 9999): epoch seconds rather than nothing.
        return write_signed(out, i128::from(ts_ns), digits);
    };
    let dt = zone.to_datetime(ts);
    match format {
        TimeFormat::AbsoluteDate | TimeFormat::UtcDate => write!(out, "{:04}-{:02}-{:02} ", dt.year(), dt.month(), dt.day())?,
        TimeFormat::AbsoluteDoy | TimeFormat::UtcDoy => write!(out, "{:04}/{:03} ", dt.year(), dt.day_of_year())?,
        _ => {}
    }
    write!(out, "{:02}:{:02}:{:02}.", dt.hour(), dt.minute(), dt.second())?;
    write_frac(out, frac, digits)
}

/// Exact epoch seconds for JSON: every digit the capture holds, trailing zeros of the fraction
/// dropped (a microsecond capture's `1700000000.123456`, a nanosecond one's
/// `1700000000.123456789`), never rounded through a double.
pub fn write_epoch_json<W: Write>(out: &mut W, ts_ns: u64) -> std::io::Result<()> {
    let (secs, frac) = (ts_ns / 1_000_000_000, ts_ns % 1_000_000_000);
    if frac == 0 {
        return write!(out, "{secs}.0");
    }
    let mut digits = 9;
    let mut f = frac;
    while f % 10 == 0 {
        f /= 10;
        digits -= 1;
    }
    write!(out, "{secs}.{f:0digits$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(format: TimeFormat, ts_ns: u64, r: TimeRef) -> String {
        let mut v = Vec::new();
        write_time(&mut v, format, ts_ns, &r).unwrap();
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn relative_and_delta_keep_the_sign_and_truncate() {
        let r = TimeRef { first_ns: 1_000_000_000, prev_ns: 3_000_000_000, prev_shown_ns: None, digits: 6 };
        assert_eq!(show(TimeFormat::Relative, 2_500_000_999, r), "1.500000");
        assert_eq!(show(TimeFormat::Delta, 2_500_000_000, r), "-0.500000");
        assert_eq!(show(TimeFormat::DeltaDisplayed, 2_500_000_000, r), "0.000000");
        assert_eq!(show(TimeFormat::Epoch, 2_500_000_123, TimeRef { digits: 9, ..r }), "2.500000123");
    }

    #[test]
    fn json_epoch_is_exact() {
        let mut v = Vec::new();
        write_epoch_json(&mut v, 1_700_000_000_123_456_789).unwrap();
        v.push(b' ');
        write_epoch_json(&mut v, 1_700_000_000_120_000_000).unwrap();
        v.push(b' ');
        write_epoch_json(&mut v, 1_700_000_000_000_000_000).unwrap();
        v.push(b' ');
        write_epoch_json(&mut v, 1_700_000_000_000_000_001).unwrap();
        assert_eq!(String::from_utf8(v).unwrap(), "1700000000.123456789 1700000000.12 1700000000.0 1700000000.000000001");
    }
}
