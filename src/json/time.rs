//! jq's calendar as the C library has it: `gmtime` and `localtime` (seconds to a broken-down
//! time, any year), `timegm` and `mktime` (back, out-of-range fields carried over) and `strftime`
//! in the C locale, with its flags (`-`, `_`, `0`, `^`, `#`), field widths and `E`/`O` modifiers,
//! and conversions it does not know copied as they are written.
//!
//! Written here because no crate does it as the C library does: jiff (jaq's) covers years -9999 to
//! 9999 only (less a day at each end), pads years to four digits, has its own `%c` and `%x`,
//! ignores widths and reads conversions the C library leaves alone (`%N`, `%f`, `%q`). jiff still
//! answers what only a time zone database knows: the system zone's offset, daylight saving time
//! and abbreviation at an instant. Every rule below is what the oracle (jq 1.8.2 on glibc) printed,
//! checked by the differential tests.

use jiff::tz::{Offset, TimeZone};
use jiff::Timestamp;

/// A broken-down time, as jq's `gmtime` gives it (its seconds whole).
pub struct Tm {
  pub year: i64,
  /// 0 to 11.
  pub month: i64,
  pub day: i64,
  pub hour: i64,
  pub minute: i64,
  pub second: i64,
  /// 0 (Sunday) to 6.
  pub weekday: i64,
  /// 0 to 365.
  pub yearday: i64,
  /// Seconds since 1970 (`%s`).
  pub epoch: i64,
  /// Seconds east of UTC (`%z`); none where the C library could not tell (`%z` prints nothing).
  pub offset: Option<i64>,
  /// The time zone's abbreviation (`%Z`).
  pub zone: String,
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar (`month` 1 to 12; Howard
/// Hinnant's `days_from_civil`).
pub const fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
  let y = if month <= 2 { year - 1 } else { year };
  let era = y.div_euclid(400);
  let year_of_era = y - era * 400;
  let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
  let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  era * 146_097 + day_of_era - 719_468
}

/// The date `days` after 1970-01-01: year, month (1 to 12), day (`civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
  let z = days + 719_468;
  let era = z.div_euclid(146_097);
  let day_of_era = z - era * 146_097;
  let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
  let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  let mp = (5 * day_of_year + 2) / 153;
  let day = day_of_year - (153 * mp + 2) / 5 + 1;
  let month = if mp < 10 { mp + 3 } else { mp - 9 };
  (year_of_era + era * 400 + i64::from(month <= 2), month, day)
}

/// The broken-down UTC time of `seconds` since 1970; `None` where the C library's `gmtime` fails
/// (the year less 1900 outside its `int`).
pub fn gmtime(seconds: i64) -> Option<Tm> {
  let days = seconds.div_euclid(86_400);
  let second_of_day = seconds.rem_euclid(86_400);
  let (year, month, day) = civil_from_days(days);
  if !(i64::from(i32::MIN) + 1900..=i64::from(i32::MAX) + 1900).contains(&year) {
    return None;
  }
  Some(Tm {
    year,
    month: month - 1,
    day,
    hour: second_of_day / 3_600,
    minute: second_of_day % 3_600 / 60,
    second: second_of_day % 60,
    weekday: (days + 4).rem_euclid(7),
    yearday: days - days_from_civil(year, 1, 1),
    epoch: seconds,
    offset: Some(0),
    zone: "GMT".to_owned(),
  })
}

/// 400 Gregorian years in seconds: the calendar repeats after them, and so does every rule a time
/// zone ends with.
const CYCLE: i64 = 146_097 * 86_400;
/// The instants the time zone database is asked about: years -9000 to 9000 (jiff's cover -9999 to
/// 9999).
const NEAR_START: i64 = days_from_civil(-9000, 1, 1) * 86_400;
const NEAR_END: i64 = days_from_civil(9000, 1, 1) * 86_400;

/// `seconds` moved by whole 400-year cycles into the years jiff covers, and how far. Far from
/// today a zone has its first offset (before its history) or the rule it ends with, which repeats
/// with the calendar, so the moved instant has the zone's offset at `seconds`, as the C library
/// finds it for any year.
fn near(seconds: i64) -> (i64, i64) {
  let shift = if seconds > NEAR_END {
    -((seconds - NEAR_END) / CYCLE + 1) * CYCLE
  } else if seconds < NEAR_START {
    ((NEAR_START - seconds) / CYCLE + 1) * CYCLE
  } else {
    0
  };
  (seconds + shift, shift)
}

/// The zone at `seconds` since 1970: its offset east of UTC, whether daylight saving time is in
/// force, and its abbreviation.
fn zone_at(zone: &TimeZone, seconds: i64) -> (i64, bool, String) {
  match Timestamp::from_second(near(seconds).0) {
    Ok(instant) => {
      let info = zone.to_offset_info(instant);
      (
        i64::from(info.offset().seconds()),
        info.dst().is_dst(),
        info.abbreviation().to_owned(),
      )
    }
    Err(_) => (0, false, "UTC".to_owned()),
  }
}

/// The broken-down time of `seconds` since 1970 in the system's time zone (`localtime_r`);
/// `None` where the C library's fails (a year outside its `int`).
pub fn localtime(seconds: i64) -> Option<Tm> {
  let (offset, _, zone) = zone_at(&TimeZone::system(), seconds);
  let mut tm = gmtime(seconds.checked_add(offset)?)?;
  tm.epoch = seconds;
  tm.offset = Some(offset);
  tm.zone = zone;
  Some(tm)
}

/// The instant at which the system's clocks read `wall` (seconds since 1970 of the same reading in
/// UTC), as `mktime` finds it when not told whether daylight saving time is in force: in a gap the
/// reading is taken with the offset before it (02:30 is 03:30), in an overlap it is the earlier.
pub fn mktime(wall: i64) -> i64 {
  instant_of(&TimeZone::system(), wall)
}

fn instant_of(zone: &TimeZone, wall: i64) -> i64 {
  let (near, shift) = near(wall);
  let instant = Timestamp::from_second(near).and_then(|reading| {
    zone
      .to_ambiguous_timestamp(Offset::UTC.to_datetime(reading))
      .compatible()
  });
  instant.map_or(wall, |instant| instant.as_second() - shift)
}

/// The instant at which the system's clocks would read `wall` on standard time: `mktime` told
/// that daylight saving time is not in force, which is what the C library's `strftime` prints for
/// `%s` of jq's `strftime` (its time is marked so). Where the zone is on daylight saving time,
/// the offset is that of the nearest instant that is not, found as glibc's `mktime` finds it:
/// probing a week at a time either way, up to about 7 years, else one hour less (-1 if a probe
/// leaves the years C's `int` holds).
pub fn mktime_standard(wall: i64) -> i64 {
  const STRIDE: i64 = 601_200;
  const BOUND: i64 = 457_243_200 / 2 - STRIDE;
  let zone = TimeZone::system();
  let instant = instant_of(&zone, wall);
  let (offset, dst, _) = zone_at(&zone, instant);
  if !dst {
    return wall - offset;
  }
  for delta in (STRIDE..BOUND).step_by(STRIDE as usize) {
    for probe in [instant - delta, instant + delta] {
      let (probe_offset, probe_dst, _) = zone_at(&zone, probe);
      if gmtime(probe + probe_offset).is_none() {
        // A probe past the years of C's `int`: glibc's `mktime` fails.
        return -1;
      }
      if !probe_dst {
        return wall - probe_offset;
      }
    }
  }
  wall - offset + 3_600
}

const DAYS: [&str; 7] = [
  "Sunday",
  "Monday",
  "Tuesday",
  "Wednesday",
  "Thursday",
  "Friday",
  "Saturday",
];
const MONTHS: [&str; 12] = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];

/// How a conversion pads: the flag given, if any.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pad {
  Default,
  /// `-`: no padding unless a width is given (then spaces).
  None,
  /// `_`: spaces.
  Space,
  /// `0`: zeros.
  Zero,
}

#[derive(Clone, Copy)]
struct Spec {
  pad: Pad,
  upper: bool,
  swap_case: bool,
  width: Option<usize>,
}

/// `tm` formatted by `format`.
pub fn strftime(tm: &Tm, format: &str) -> String {
  let mut out = String::with_capacity(format.len() + 16);
  let mut rest = format;
  while let Some(at) = rest.find('%') {
    out.push_str(&rest[..at]);
    let spec_text = &rest[at..];
    match conversion(tm, &spec_text[1..], &mut out) {
      Some(length) => rest = &spec_text[1 + length..],
      None => {
        // Not a conversion: the `%` and what follows stay as written.
        out.push('%');
        rest = &spec_text[1..];
      }
    }
  }
  out.push_str(rest);
  out
}

/// The conversion at the start of `text` (just after its `%`) written onto `out`, and how many
/// bytes of `text` it took; `None` (and nothing written) if the C library would not convert it.
fn conversion(tm: &Tm, text: &str, out: &mut String) -> Option<usize> {
  let bytes = text.as_bytes();
  let mut i = 0;
  let mut spec = Spec {
    pad: Pad::Default,
    upper: false,
    swap_case: false,
    width: None,
  };
  while let Some(&flag) = bytes.get(i) {
    match flag {
      b'-' => spec.pad = Pad::None,
      b'_' => spec.pad = Pad::Space,
      b'0' => spec.pad = Pad::Zero,
      b'^' => spec.upper = true,
      b'#' => spec.swap_case = true,
      _ => break,
    }
    i += 1;
  }
  let digits = bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count();
  if digits > 0 {
    // A width past what any output needs is the C library's problem, not ours: cap it.
    spec.width = Some(text[i..i + digits].parse::<usize>().unwrap_or(usize::MAX).min(1024));
    i += digits;
  }
  let modifier = match bytes.get(i) {
    Some(&m @ (b'E' | b'O')) => {
      i += 1;
      Some(m)
    }
    _ => None,
  };
  let Some(&c) = bytes.get(i) else {
    // The format ends inside the conversion: its text, as for one the C library does not know.
    unknown(text, spec, out);
    return Some(text.len());
  };
  // The conversions that refuse a modifier, as jq 1.8.2's C library does (the others take any).
  let allowed = match modifier {
    Some(b'E') => !b"abdeghjklmwABDFGHIMSUVW".contains(&c),
    Some(_) => !b"acxADFXY".contains(&c),
    None => true,
  };
  if !c.is_ascii() {
    // The first byte of a character: not a conversion, and the text stays as it is.
    return None;
  }
  let length = i + 1;
  if !allowed {
    unknown(&text[..length], spec, out);
    return Some(length);
  }
  let (iso_year, iso_week) = iso_week(tm);
  let hour12 = if tm.hour % 12 == 0 { 12 } else { tm.hour % 12 };
  let am_pm = if tm.hour < 12 { "AM" } else { "PM" };
  let field = match c {
    b'a' => Field::Text(DAYS[weekday(tm)][..3].to_owned(), Case::Upper),
    b'A' => Field::Text(DAYS[weekday(tm)].to_owned(), Case::Upper),
    b'b' | b'h' => Field::Text(MONTHS[month(tm)][..3].to_owned(), Case::Upper),
    b'B' => Field::Text(MONTHS[month(tm)].to_owned(), Case::Upper),
    b'p' => Field::Text(am_pm.to_owned(), Case::Lower),
    b'P' => Field::Text(am_pm.to_owned(), Case::Forced),
    b'Z' => Field::Text(tm.zone.clone(), Case::Lower),
    b'z' => match tm.offset {
      Some(offset) => Field::Offset(offset),
      None => return Some(length),
    },
    b'n' => Field::Text("\n".to_owned(), Case::Keep),
    b't' => Field::Text("\t".to_owned(), Case::Keep),
    b'%' => Field::Text("%".to_owned(), Case::Keep),
    b'c' => Field::Text(strftime(tm, "%a %b %e %H:%M:%S %Y"), Case::Keep),
    b'D' | b'x' => Field::Text(strftime(tm, "%m/%d/%y"), Case::Keep),
    b'F' => Field::Text(strftime(tm, "%Y-%m-%d"), Case::Keep),
    b'r' => Field::Text(strftime(tm, "%I:%M:%S %p"), Case::Keep),
    b'R' => Field::Text(strftime(tm, "%H:%M"), Case::Keep),
    b'T' | b'X' => Field::Text(strftime(tm, "%H:%M:%S"), Case::Keep),
    b'C' => Field::Number(c_int(tm.year).div_euclid(100), 1, '0'),
    b'd' => Field::Number(tm.day, 2, '0'),
    b'e' => Field::Number(tm.day, 2, ' '),
    b'G' => Field::Number(c_int(iso_year), 1, '0'),
    b'g' => Field::Number(iso_year.rem_euclid(100), 2, '0'),
    b'H' => Field::Number(tm.hour, 2, '0'),
    b'I' => Field::Number(hour12, 2, '0'),
    b'j' => Field::Number(tm.yearday + 1, 3, '0'),
    b'k' => Field::Number(tm.hour, 2, ' '),
    b'l' => Field::Number(hour12, 2, ' '),
    b'm' => Field::Number(tm.month + 1, 2, '0'),
    b'M' => Field::Number(tm.minute, 2, '0'),
    // A number, but padded as a text (zeros go before its sign).
    b's' => Field::Text(tm.epoch.to_string(), Case::Keep),
    b'S' => Field::Number(tm.second, 2, '0'),
    b'u' => Field::Number((tm.weekday + 6).rem_euclid(7) + 1, 1, '0'),
    b'U' => Field::Number((tm.yearday - tm.weekday + 7).div_euclid(7), 2, '0'),
    b'V' => Field::Number(iso_week, 2, '0'),
    b'w' => Field::Number(tm.weekday, 1, '0'),
    b'W' => Field::Number((tm.yearday - (tm.weekday + 6).rem_euclid(7) + 7).div_euclid(7), 2, '0'),
    b'y' => Field::Number(tm.year.rem_euclid(100), 2, '0'),
    b'Y' => Field::Number(c_int(tm.year), 1, '0'),
    _ => {
      unknown(&text[..length], spec, out);
      return Some(length);
    }
  };
  match field {
    Field::Text(text, case) => {
      // Lower case wins over upper case, as in the C library.
      let text = if case == Case::Forced || (spec.swap_case && case == Case::Lower) {
        text.to_lowercase()
      } else if spec.upper || (spec.swap_case && case == Case::Upper) {
        text.to_uppercase()
      } else {
        text
      };
      let fill = if spec.pad == Pad::Zero { '0' } else { ' ' };
      pad_left(out, &text, spec.width.unwrap_or(0), fill);
    }
    Field::Offset(offset) => {
      // The C library pads a `%z` given a width twice: the width less one before the sign, then
      // the offset to the width again (at least four digits unless `-`).
      let fill = if matches!(spec.pad, Pad::Space | Pad::None) {
        ' '
      } else {
        '0'
      };
      let digits = match (spec.pad, spec.width) {
        (Pad::None, width) => width.unwrap_or(0),
        (_, width) => width.unwrap_or(0).max(4),
      };
      if let Some(width) = spec.width {
        let fill = if spec.pad == Pad::Zero { '0' } else { ' ' };
        pad_left(out, "", width.saturating_sub(1), fill);
      }
      // Hours and minutes as one number (`-0456` for -4:56:02).
      let minutes = offset.unsigned_abs() / 60;
      out.push(if offset < 0 { '-' } else { '+' });
      pad_left(out, &(minutes / 60 * 100 + minutes % 60).to_string(), digits, fill);
    }
    Field::Number(value, natural, natural_fill) => {
      let fill = match spec.pad {
        Pad::Default => natural_fill,
        Pad::Zero => '0',
        Pad::Space | Pad::None => ' ',
      };
      let width = match (spec.pad, spec.width) {
        (Pad::None, width) => width.unwrap_or(0),
        (_, width) => width.unwrap_or(0).max(natural),
      };
      let magnitude = value.unsigned_abs().to_string();
      let sign = if value < 0 { "-" } else { "" };
      if fill == '0' {
        out.push_str(sign);
        pad_left(out, &magnitude, width.saturating_sub(sign.len()), '0');
      } else {
        pad_left(out, &format!("{sign}{magnitude}"), width, fill);
      }
    }
  }
  Some(length)
}

/// A conversion the C library does not know (`%N`, `%Ea`; `text` is all of it but the `%`),
/// copied as written, but in upper case with `^` and padded to its width, as the C library does.
fn unknown(text: &str, spec: Spec, out: &mut String) {
  let text = format!("%{text}");
  let text = if spec.upper { text.to_ascii_uppercase() } else { text };
  let fill = if spec.pad == Pad::Zero { '0' } else { ' ' };
  pad_left(out, &text, spec.width.unwrap_or(0), fill);
}

enum Field {
  /// The text, and what the `#` flag makes of it.
  Text(String, Case),
  /// `%z`: the offset east of UTC, in seconds, printed as `+hhmm`.
  Offset(i64),
  /// The value, its natural width and its natural fill.
  Number(i64, usize, char),
}

/// What the `#` flag does to a text (`Forced`: lower case whatever the flags).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Case {
  Upper,
  Lower,
  Forced,
  Keep,
}

fn pad_left(out: &mut String, text: &str, width: usize, fill: char) {
  for _ in text.chars().count()..width {
    out.push(fill);
  }
  out.push_str(text);
}

/// A year as the C library prints it for `%Y`, `%C` and `%G`: 1900 added to its `int`, wrapping
/// past 2147483647.
fn c_int(year: i64) -> i64 {
  i64::from(year as i32)
}

fn weekday(tm: &Tm) -> usize {
  tm.weekday.rem_euclid(7) as usize
}

fn month(tm: &Tm) -> usize {
  tm.month.rem_euclid(12) as usize
}

/// The ISO 8601 week-based year and week number (weeks start on Monday; week 1 holds the year's
/// first Thursday), as the C library computes them from the year, day of the year and weekday.
fn iso_week(tm: &Tm) -> (i64, i64) {
  let leap = |y: i64| y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
  let year_length = |y: i64| if leap(y) { 366 } else { 365 };
  // Days since the Monday of the year's week 1 (negative before it).
  let iso_days = |yday: i64| yday - (yday - tm.weekday + 4 + 378).rem_euclid(7) + 3;
  let mut year = tm.year;
  let mut days = iso_days(tm.yearday);
  if days < 0 {
    year -= 1;
    days = iso_days(tm.yearday + year_length(year));
  } else {
    let next = iso_days(tm.yearday - year_length(year));
    if next >= 0 {
      year += 1;
      days = next;
    }
  }
  (year, days / 7 + 1)
}

#[cfg(test)]
mod tests {
  use super::*;

  fn tm(year: i64, month: i64, day: i64, hour: i64, weekday: i64, yearday: i64, epoch: i64) -> Tm {
    Tm {
      epoch,
      year,
      month,
      day,
      hour,
      minute: 53,
      second: 41,
      weekday,
      yearday,
      offset: Some(0),
      zone: "GMT".to_owned(),
    }
  }

  /// Outputs of jq 1.8.2 (`strftime` of 1425599621, -30610224001 and -100000000000).
  #[test]
  fn formats_as_jq() {
    let march = tm(2015, 2, 5, 23, 4, 63, 1_425_599_621);
    assert_eq!(
      strftime(&march, "%c|%x|%D|%F|%r|%s"),
      "Thu Mar  5 23:53:41 2015|03/05/15|03/05/15|2015-03-05|11:53:41 PM|1425599621"
    );
    assert_eq!(
      strftime(&march, "%G %g %V %U %W %u %w %j %e %k %l"),
      "2015 15 10 09 09 4 4 064  5 23 11"
    );
    assert_eq!(
      strftime(&march, "%10A|%-d|%_d|%05d|%^a|%#a|%#p|%#Z|%#b|%-5d|%4y"),
      "  Thursday|5| 5|00005|THU|THU|pm|gmt|MAR|    5|0015"
    );
    assert_eq!(
      strftime(&march, "%N %f %3N %Ea %OY %:z %Ey %Od %E% %"),
      "%N %f %3N %Ea %OY %:z 15 05 % %"
    );
    let old = tm(999, 11, 31, 23, 2, 364, -30_610_224_001);
    assert_eq!(
      strftime(&old, "%Y|%C|%y|%G|%g|%V|%F|%010Y|%-10Y"),
      "999|9|99|1000|00|01|999-12-31|0000000999|       999"
    );
    let negative = tm(-1199, 1, 15, 14, 4, 45, -100_000_000_000);
    assert_eq!(strftime(&negative, "%Y|%C|%y|%010Y|%l"), "-1199|-12|01|-000001199| 2");
  }
}
