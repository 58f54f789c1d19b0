//! Connect's Date / Time / Timestamp numbers ↔ `google.type.Date`, `google.type.TimeOfDay`,
//! `google.protobuf.Timestamp` fields, exactly as Confluent's Java code computes them.
//!
//! Confluent goes through `java.util.Calendar` in UTC, which is a *hybrid* calendar: Julian
//! before 1582-10-15, Gregorian from then on. So day numbers before the cutover map to
//! Julian year/month/day, and we do the same (a proleptic-Gregorian conversion would give
//! consumers different dates than a Java producer for old dates such as `0001-01-01`).
//! Timestamps use `Timestamps.fromMillis`/`toMillis`: floor division, nanos in `[0, 1e9)`,
//! and the valid range 0001-01-01T00:00:00Z ..= 9999-12-31T23:59:59Z.

use super::ProtobufError;

/// Epoch day of 1582-10-15, the first Gregorian day of `GregorianCalendar`.
const GREGORIAN_CUTOVER_DAY: i64 = -141_427;
/// Julian day number of 1970-01-01.
const EPOCH_JDN: i64 = 2_440_588;
const MILLIS_PER_DAY: i64 = 86_400_000;
const MIN_TIMESTAMP_SECONDS: i64 = -62_135_596_800;
const MAX_TIMESTAMP_SECONDS: i64 = 253_402_300_799;

/// Epoch days → (year, month 1-12, day 1-31).
pub fn date_from_days(days: i32) -> (i32, i32, i32) {
    let days = i64::from(days);
    if days >= GREGORIAN_CUTOVER_DAY {
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = yoe + era * 400 + i64::from(m <= 2);
        (y as i32, m as i32, d as i32)
    } else {
        let c = days + EPOCH_JDN + 32_082;
        let d = (4 * c + 3).div_euclid(1461);
        let e = c - (1461 * d).div_euclid(4);
        let m = (5 * e + 2).div_euclid(153);
        let day = e - (153 * m + 2).div_euclid(5) + 1;
        let month = m + 3 - 12 * (m / 10);
        let year = d - 4800 + m / 10;
        (year as i32, month as i32, day as i32)
    }
}

/// (year, month, day) → epoch days; fails on dates that do not exist.
pub fn days_from_date(year: i32, month: i32, day: i32) -> Result<i32, ProtobufError> {
    let bad = || {
        ProtobufError::Value(format!(
            "google.type.Date {year:04}-{month:02}-{day:02} is not a calendar date"
        ))
    };
    if !(1..=12).contains(&month) || day < 1 {
        return Err(bad());
    }
    let (y, m, d) = (i64::from(year), i64::from(month), i64::from(day));
    let days = if (year, month, day) >= (1582, 10, 15) {
        let y2 = if m <= 2 { y - 1 } else { y };
        let era = y2.div_euclid(400);
        let yoe = y2 - era * 400;
        let mp = (m + 9) % 12;
        let doy = (153 * mp + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    } else {
        let a = (14 - m) / 12;
        let y2 = y + 4800 - a;
        let m2 = m + 12 * a - 3;
        let jdn = d + (153 * m2 + 2) / 5 + 365 * y2 + y2.div_euclid(4) - 32_083;
        jdn - EPOCH_JDN
    };
    let days = i32::try_from(days).map_err(|_| bad())?;
    // Rejects 02-30, the 1582 gap, and the like: the date must map back to itself.
    if date_from_days(days) != (year, month, day) {
        return Err(bad());
    }
    Ok(days)
}

/// Connect Time (ms of day) → (hours, minutes, seconds, nanos).
pub fn time_of_day(millis: i32) -> Result<[i32; 4], ProtobufError> {
    if !(0..=MILLIS_PER_DAY as i32).contains(&millis) {
        return Err(ProtobufError::Value(format!(
            "Time values must use number of millis greater than 0 and less than 86400000, not {millis}"
        )));
    }
    let m = millis % MILLIS_PER_DAY as i32;
    Ok([
        m / 3_600_000,
        m / 60_000 % 60,
        m / 1000 % 60,
        m % 1000 * 1_000_000,
    ])
}

/// (hours, minutes, seconds, nanos) → Connect Time (ms of day), as `LocalTime.of`.
pub fn millis_of_day(h: i32, m: i32, s: i32, nanos: i32) -> Result<i32, ProtobufError> {
    if !(0..24).contains(&h)
        || !(0..60).contains(&m)
        || !(0..60).contains(&s)
        || !(0..1_000_000_000).contains(&nanos)
    {
        return Err(ProtobufError::Value(format!(
            "google.type.TimeOfDay {h}:{m}:{s}.{nanos:09} is not a time of day"
        )));
    }
    Ok(h * 3_600_000 + m * 60_000 + s * 1000 + nanos / 1_000_000)
}

/// Connect Timestamp (epoch ms) → (seconds, nanos).
pub fn timestamp(millis: i64) -> Result<(i64, i32), ProtobufError> {
    let seconds = millis.div_euclid(1000);
    let nanos = (millis.rem_euclid(1000) * 1_000_000) as i32;
    if !(MIN_TIMESTAMP_SECONDS..=MAX_TIMESTAMP_SECONDS).contains(&seconds) {
        return Err(ProtobufError::Value(format!(
            "Timestamp {millis} ms is outside google.protobuf.Timestamp's range (years 0001 to 9999)"
        )));
    }
    Ok((seconds, nanos))
}

/// (seconds, nanos) → Connect Timestamp (epoch ms), as `Timestamps.toMillis`.
pub fn timestamp_millis(seconds: i64, nanos: i32) -> Result<i64, ProtobufError> {
    if !(MIN_TIMESTAMP_SECONDS..=MAX_TIMESTAMP_SECONDS).contains(&seconds)
        || !(0..1_000_000_000).contains(&nanos)
    {
        return Err(ProtobufError::Value(format!(
            "google.protobuf.Timestamp {{seconds: {seconds}, nanos: {nanos}}} is not a valid timestamp"
        )));
    }
    Ok(seconds * 1000 + i64::from(nanos / 1_000_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_use_the_julian_calendar_before_the_cutover() {
        assert_eq!(date_from_days(0), (1970, 1, 1));
        assert_eq!(date_from_days(-1), (1969, 12, 31));
        assert_eq!(date_from_days(19_723), (2024, 1, 1));
        assert_eq!(date_from_days(-141_427), (1582, 10, 15));
        // The day before the Gregorian cutover is Julian 1582-10-04.
        assert_eq!(date_from_days(-141_428), (1582, 10, 4));
        // Proleptic Gregorian 0001-01-01 is epoch day -719162; Java's calendar calls it 0001-01-03.
        assert_eq!(date_from_days(-719_162), (1, 1, 3));
        for days in [-800_000, -719_162, -141_428, -141_427, -1, 0, 2_932_896] {
            let (y, m, d) = date_from_days(days);
            assert_eq!(days_from_date(y, m, d).ok(), Some(days), "{y}-{m}-{d}");
        }
        assert!(days_from_date(1582, 10, 10).is_err());
        assert!(days_from_date(2023, 2, 29).is_err());
    }

    #[test]
    fn times_and_timestamps() {
        assert_eq!(
            time_of_day(45_296_789).ok(),
            Some([12, 34, 56, 789_000_000])
        );
        assert!(time_of_day(-1).is_err());
        assert_eq!(timestamp(-1).ok(), Some((-1, 999_000_000)));
        assert_eq!(timestamp_millis(-1, 999_000_000).ok(), Some(-1));
        assert!(timestamp(i64::MAX).is_err());
    }
}
