//! jq's calendar as the C library has it: `gmtime` and `localtime` (seconds to a broken-down
//! time, any year), `timegm` and `mktime` (back, out-of-range fields carried over) and `strftime`
//! in the C locale, with its flags (`-`, `_`, `0`, `^`, `#`), field widths and `E`/`O` modifiers,
//! and conversions it does not know copied as they are written; `strptime` as glibc reads (partial
//! dates, a weekday or day of the year read kept as given, seconds up to 61, `%z` checked only).
//!
//! Written here because no crate does it as the C library does: jiff (jaq's) covers years -9999 to
//! 9999 only (less a day at each end), pads years to four digits, has its own `%c` and `%x`,
//! ignores widths and reads conversions the C library leaves alone (`%N`, `%f`, `%q`), and its
//! `strptime` wants a whole, valid date. jiff still answers what only a time zone database knows:
//! the system zone's offset, daylight saving time and abbreviation at an instant. Every rule below
//! is what the oracle (jq 1.8.2 on glibc) printed, checked by the differential tests.

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
  let year_length = |y: i64| if is_leap(y) { 366 } else { 365 };
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

/// Days before each month, in a common year then a leap year (glibc's `__mon_yday`, whose rows
/// glibc's `strptime` reads past: a 366th day of a common year is in "month 24").
const MONTH_STARTS: [i64; 26] = [
  0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365, //
  0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335, 366,
];

fn is_leap(year: i64) -> bool {
  year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// The day of the year `month` starts on, read from the table as glibc reads it (past its row;
/// the word before the table, which glibc reads for "month -1", is 0).
fn month_start(leap: bool, month: i64) -> i64 {
  let index = month + if leap { 13 } else { 0 };
  usize::try_from(index)
    .ok()
    .and_then(|i| MONTH_STARTS.get(i))
    .copied()
    .unwrap_or(0)
}

/// A `struct tm` as `strptime` fills it (the year less 1900).
struct BrokenDown {
  year: i64,
  month: i64,
  day: i64,
  hour: i64,
  minute: i64,
  second: i64,
  weekday: i64,
  yearday: i64,
}

impl Default for BrokenDown {
  /// As jq hands it to `strptime`: zeroed, with 8 and 367 for the weekday and the day of the
  /// year so that jq can tell whether the C library set them.
  fn default() -> Self {
    BrokenDown {
      year: 0,
      month: 0,
      day: 0,
      hour: 0,
      minute: 0,
      second: 0,
      weekday: 8,
      yearday: 367,
    }
  }
}

/// Whether glibc has decided the input is in the locale's own formats (`Loc`) or the C locale's
/// (`Raw`). In the C locale both are the same, but an `%O` number or an `%E` year decides it, and a
/// later one may then fail: only the first `%O` number is read unless an `%E` year came first.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
enum Decided {
  #[default]
  Not,
  Loc,
  Raw,
}

/// glibc's `strptime` reading `input` (C locale) into a `struct tm`, and its state.
#[derive(Default)]
struct Reader<'a> {
  input: &'a [u8],
  at: usize,
  tm: BrokenDown,
  have_i: bool,
  is_pm: bool,
  century: Option<i64>,
  want_century: bool,
  want_era: bool,
  want_xday: bool,
  have_wday: bool,
  have_yday: bool,
  have_mon: bool,
  have_mday: bool,
  /// `%U` (week number, 0) or `%W` (week number, 1: weeks start on Monday), the last given.
  week: Option<(i64, i64)>,
  decided: Decided,
}

/// What the C locale's `isspace` takes.
pub fn is_space(b: u8) -> bool {
  matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// jq's `strptime`: `input` read by glibc's `strptime(3)` with `format` in the C locale, as the
/// fields of jq's broken-down time (`[year, month (0-11), day, hours, minutes, seconds, weekday,
/// day of the year]`, 8 and 367 for a weekday and day of the year the C library did not set), and
/// the text it left. `None` where glibc fails. Like C, both texts end at a NUL.
pub fn strptime<'a>(input: &'a str, format: &str) -> Option<([i64; 8], &'a str)> {
  let input = input.split('\0').next().unwrap_or_default();
  let format = format.split('\0').next().unwrap_or_default();
  let mut reader = Reader {
    input: input.as_bytes(),
    ..Reader::default()
  };
  reader.read(format.as_bytes())?;
  reader.finish();
  let tm = &reader.tm;
  let fields = [
    tm.year + 1900,
    tm.month,
    tm.day,
    tm.hour,
    tm.minute,
    tm.second,
    tm.weekday,
    tm.yearday,
  ];
  // Every conversion stops at an ASCII byte or after a whole character of the format, so the rest
  // starts a character.
  Some((fields, input.get(reader.at..)?))
}

impl Reader<'_> {
  fn peek(&self) -> u8 {
    self.input.get(self.at).copied().unwrap_or(0)
  }

  fn skip_space(&mut self) {
    while is_space(self.peek()) {
      self.at += 1;
    }
  }

  /// `format` matched from where the reader is (glibc's `__strptime_internal`; a nested format
  /// such as `%D`'s shares the state).
  fn read(&mut self, format: &[u8]) -> Option<()> {
    let mut i = 0;
    while let Some(&c) = format.get(i) {
      i += 1;
      if is_space(c) {
        // Whitespace in the format takes any run of it, none included.
        self.skip_space();
      } else if c != b'%' {
        (self.peek() == c).then_some(())?;
        self.at += 1;
      } else {
        // strftime's flags and widths mean nothing here.
        while matches!(format.get(i), Some(b'-' | b'_' | b'0' | b'^' | b'#')) {
          i += 1;
        }
        while format.get(i).is_some_and(u8::is_ascii_digit) {
          i += 1;
        }
        i += self.conversion(&format[i..])?;
      }
    }
    Some(())
  }

  /// The conversion at the start of `spec` (after its `%` and flags) read; how many bytes of
  /// `spec` it took.
  fn conversion(&mut self, spec: &[u8]) -> Option<usize> {
    match spec.first()? {
      b'E' => self.era(*spec.get(1)?).map(|()| 2),
      b'O' => self.alternative(*spec.get(1)?).map(|()| 2),
      &c => self.plain(c).map(|()| 1),
    }
  }

  /// `%Ec`, `%EC`, `%Ex`, `%EX`, `%Ey`, `%EY`: the C locale has no eras, so the plain conversion,
  /// once glibc has looked for one (which decides the locale, and `%Ey` reads a number first).
  fn era(&mut self, c: u8) -> Option<()> {
    if !b"cCxXyY".contains(&c) {
      return None;
    }
    if matches!(c, b'C' | b'y' | b'Y') && self.decided != Decided::Raw {
      if c == b'y' {
        self.tm.year = self.number(0, 9999, 4)?;
        self.want_era = true;
        self.want_xday = true;
        self.want_century = true;
      }
      if self.decided == Decided::Loc {
        return None;
      }
      self.decided = Decided::Raw;
    }
    self.plain(c)
  }

  /// `%O` with a number: the locale's digits, which the C locale lacks. glibc then decides on the
  /// locale and reads plain digits, the first time only.
  fn alternative(&mut self, c: u8) -> Option<()> {
    if matches!(c, b'b' | b'B' | b'h') {
      return self.plain(c);
    }
    if !b"deHImMSUVWwy".contains(&c) {
      return None;
    }
    match self.decided {
      Decided::Loc => None,
      Decided::Not => {
        self.decided = Decided::Loc;
        self.plain(c)
      }
      Decided::Raw => self.plain(c),
    }
  }

  /// A conversion without a modifier.
  fn plain(&mut self, c: u8) -> Option<()> {
    match c {
      b'%' => {
        (self.peek() == b'%').then_some(())?;
        self.at += 1;
      }
      b'a' | b'A' => {
        self.tm.weekday = self.name(&DAYS)?;
        self.have_wday = true;
      }
      b'b' | b'B' | b'h' => {
        self.tm.month = self.name(&MONTHS)?;
        self.have_mon = true;
        self.want_xday = true;
      }
      b'c' => {
        self.read(b"%a %b %e %H:%M:%S %Y")?;
        self.want_xday = true;
      }
      b'C' => {
        self.century = Some(self.number(0, 99, 2)?);
        self.want_xday = true;
      }
      b'd' | b'e' => {
        self.tm.day = self.number(1, 31, 2)?;
        self.have_mday = true;
        self.want_xday = true;
      }
      b'D' | b'x' => {
        self.read(b"%m/%d/%y")?;
        self.want_xday = true;
      }
      b'F' => {
        self.read(b"%Y-%m-%d")?;
        self.want_xday = true;
      }
      b'G' => {
        // An ISO year, ignored: it says nothing without a week and a weekday.
        self.peek().is_ascii_digit().then_some(())?;
        while self.peek().is_ascii_digit() {
          self.at += 1;
        }
      }
      b'g' | b'V' => {
        self.number(0, if c == b'g' { 99 } else { 53 }, 2)?;
      }
      b'H' | b'k' => {
        self.tm.hour = self.number(0, 23, 2)?;
        self.have_i = false;
      }
      b'I' | b'l' => {
        self.tm.hour = self.number(1, 12, 2)? % 12;
        self.have_i = true;
      }
      b'j' => {
        self.tm.yearday = self.number(1, 366, 3)? - 1;
        self.have_yday = true;
      }
      b'm' => {
        self.tm.month = self.number(1, 12, 2)? - 1;
        self.have_mon = true;
        self.want_xday = true;
      }
      b'M' => self.tm.minute = self.number(0, 59, 2)?,
      b'n' | b't' => self.skip_space(),
      b'p' => {
        let am_pm = self.name(&["AM", "PM"])?;
        self.is_pm = am_pm == 1;
      }
      b'r' => self.read(b"%I:%M:%S %p")?,
      b'R' => self.read(b"%H:%M")?,
      b's' => self.epoch()?,
      // Up to 61: the C standard once allowed two leap seconds.
      b'S' => self.tm.second = self.number(0, 61, 2)?,
      b'T' | b'X' => self.read(b"%H:%M:%S")?,
      b'u' => {
        self.tm.weekday = self.number(1, 7, 1)? % 7;
        self.have_wday = true;
      }
      b'U' | b'W' => self.week = Some((self.number(0, 53, 2)?, i64::from(c == b'W'))),
      b'w' => {
        self.tm.weekday = self.number(0, 6, 1)?;
        self.have_wday = true;
      }
      b'y' => {
        let year = self.number(0, 99, 2)?;
        // 69 to 99 are 1969 to 1999, as POSIX has it.
        self.tm.year = if year >= 69 { year } else { year + 100 };
        self.want_century = true;
        self.want_xday = true;
      }
      b'Y' => {
        self.tm.year = self.number(0, 9999, 4)? - 1900;
        self.want_century = false;
        self.want_xday = true;
      }
      b'z' => self.offset()?,
      b'Z' => {
        // A zone name, skipped: glibc does not know what it means.
        self.skip_space();
        while self.at < self.input.len() && !is_space(self.peek()) {
          self.at += 1;
        }
      }
      _ => return None,
    }
    Some(())
  }

  /// glibc's `get_number`: after any whitespace, up to `digits` digits, stopping early where one
  /// more would pass `to`; `None` outside `from..=to`.
  fn number(&mut self, from: i64, to: i64, digits: usize) -> Option<i64> {
    self.skip_space();
    self.peek().is_ascii_digit().then_some(())?;
    let mut value = 0;
    let mut left = digits;
    loop {
      value = value * 10 + i64::from(self.peek() - b'0');
      self.at += 1;
      left -= 1;
      if left == 0 || value * 10 > to || !self.peek().is_ascii_digit() {
        break;
      }
    }
    (from..=to).contains(&value).then_some(value)
  }

  /// The index of the name (in full or its first three letters, any case) at the reader, the
  /// longest that matches.
  fn name(&mut self, names: &[&str]) -> Option<i64> {
    let rest = &self.input[self.at..];
    let matches = |name: &str| {
      rest
        .get(..name.len())
        .is_some_and(|r| r.eq_ignore_ascii_case(name.as_bytes()))
    };
    let (index, length) = names
      .iter()
      .enumerate()
      .flat_map(|(i, name)| [(i, &name[..]), (i, &name[..name.len().min(3)])])
      .filter(|(_, name)| matches(name))
      .map(|(i, name)| (i, name.len()))
      .max_by_key(|&(_, length)| length)?;
    self.at += length;
    Some(index as i64)
  }

  /// `%s`: seconds since 1970, digits only, as the local time (all fields, the weekday too).
  fn epoch(&mut self) -> Option<()> {
    self.peek().is_ascii_digit().then_some(())?;
    let mut seconds = 0i64;
    while self.peek().is_ascii_digit() {
      seconds = seconds.checked_mul(10)?.checked_add(i64::from(self.peek() - b'0'))?;
      self.at += 1;
    }
    let local = localtime(seconds)?;
    self.tm = BrokenDown {
      year: local.year - 1900,
      month: local.month,
      day: local.day,
      hour: local.hour,
      minute: local.minute,
      second: local.second,
      weekday: local.weekday,
      yearday: local.yearday,
    };
    Some(())
  }

  /// `%z`: `Z`, or a sign and `hh`, `hhmm` or `hh:mm`, after any whitespace. jq ignores the
  /// offset, so it is only checked.
  fn offset(&mut self) -> Option<()> {
    self.skip_space();
    if self.peek() == b'Z' {
      self.at += 1;
      return Some(());
    }
    matches!(self.peek(), b'+' | b'-').then_some(())?;
    self.at += 1;
    let (mut value, mut digits) = (0, 0);
    while digits < 4 && self.peek().is_ascii_digit() {
      value = value * 10 + i64::from(self.peek() - b'0');
      self.at += 1;
      digits += 1;
      if digits == 2 && self.peek() == b':' && self.input.get(self.at + 1).is_some_and(u8::is_ascii_digit) {
        self.at += 1;
      }
    }
    (digits == 2 || (digits == 4 && value % 100 < 60)).then_some(())
  }

  /// What glibc works out once the whole format is read: the afternoon, the century, and the
  /// weekday and day of the year from the date where they were not read (so a weekday or a day
  /// of the year given is kept, whether it fits the date or not), or the date from a week number
  /// and a weekday.
  fn finish(&mut self) {
    if self.have_i && self.is_pm {
      self.tm.hour += 12;
    }
    if let Some(century) = self.century {
      let year = if self.want_century { self.tm.year % 100 } else { 0 };
      self.tm.year = year + (century - 19) * 100;
    }
    // An `E` year and no era: two digits are this century or the last.
    if self.want_era && self.want_century && self.century.is_none() && self.tm.year < 69 {
      self.tm.year += 100;
    }
    if self.want_xday && !self.have_wday {
      if !(self.have_mon && self.have_mday) && self.have_yday {
        self.date_from_yearday();
      }
      if self.tm.year >= -1900 {
        self.tm.weekday = weekday_of(&self.tm);
      }
    }
    if self.want_xday && !self.have_yday {
      let tm = &mut self.tm;
      tm.yearday = month_start(is_leap(tm.year + 1900), tm.month) + tm.day - 1;
    }
    if let (Some((week, monday)), true) = (self.week, self.have_wday) {
      self.date_from_week(week, monday);
    }
  }

  /// The day of the year (where not read), then the month and day (where not read), from a week
  /// number (of weeks starting on Sunday, or on Monday if `monday` is 1) and the weekday.
  fn date_from_week(&mut self, week: i64, monday: i64) {
    let tm = &mut self.tm;
    let first = weekday_of(&BrokenDown {
      month: 0,
      day: 1,
      ..*tm
    });
    if !self.have_yday {
      tm.yearday = (7 - (first - monday)) % 7 + (week - 1) * 7 + (tm.weekday - monday + 7) % 7;
    }
    if !self.have_mday {
      tm.day = 1;
    }
    if !self.have_mon {
      tm.month = 0;
    }
    if !self.have_mday || !self.have_mon {
      self.date_from_yearday();
    }
  }

  /// The month and day where not read, from the day of the year.
  fn date_from_yearday(&mut self) {
    let tm = &mut self.tm;
    let leap = is_leap(tm.year + 1900);
    let mut month = 0;
    while month_start(leap, month) <= tm.yearday {
      month += 1;
    }
    if !self.have_mon {
      tm.month = month - 1;
    }
    if !self.have_mday {
      tm.day = tm.yearday - month_start(leap, month - 1) + 1;
    }
    self.have_mon = true;
    self.have_mday = true;
  }
}

/// The weekday of a date, as glibc's `strptime` computes it (days since 1970 counted with the
/// common year's months, leap days from the year before March).
fn weekday_of(tm: &BrokenDown) -> i64 {
  let corr_year = 1900 + tm.year - i64::from(tm.month < 2);
  let quads = corr_year / 4;
  let days = -473 + 365 * (tm.year - 70) + quads - quads / 25
    + i64::from(quads % 25 < 0)
    + quads / 25 / 4
    + month_start(false, tm.month)
    + tm.day
    - 1;
  (days % 7 + 7) % 7
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

  /// Outputs of jq 1.8.2's `strptime` (on glibc), the text left after the fields.
  #[test]
  fn reads_as_glibc() {
    let cases: [(&str, &str, [i64; 8], &str); 13] = [
      // A field stops at a digit that would take it out of range (jq then refuses the "5").
      ("45", "%d", [1900, 0, 4, 0, 0, 0, 4, 3], "5"),
      (
        "2015-03-05T23:51:47-05:30",
        "%Y-%m-%dT%H:%M:%S%z",
        [2015, 2, 5, 23, 51, 47, 4, 63],
        "",
      ),
      ("Fri 2015-03-05", "%a %Y-%m-%d", [2015, 2, 5, 0, 0, 0, 5, 63], ""),
      ("2015-03-05 065", "%Y-%m-%d %j", [2015, 2, 5, 0, 0, 0, 4, 64], ""),
      ("10:15 rest", "%H:%M", [1900, 0, 0, 10, 15, 0, 8, 367], " rest"),
      ("2015", "%Y", [2015, 0, 0, 0, 0, 0, 3, -1], ""),
      ("366 2015", "%j %Y", [2015, 24, 31, 0, 0, 0, 5, 365], ""),
      ("2015 00 0", "%Y %U %w", [2015, -1, -3, 0, 0, 0, 0, -4], ""),
      ("2015 10 Thu", "%Y %W %a", [2015, 2, 12, 0, 0, 0, 4, 70], ""),
      (
        "2015-03-05 11:51:61 PM",
        "%Y-%m-%d %r",
        [2015, 2, 5, 23, 51, 61, 4, 63],
        "",
      ),
      ("00 05", "%C %y", [5, 0, 0, 0, 0, 0, 5, -1], ""),
      ("2015 50", "%Ey", [2050, 0, 0, 0, 0, 0, 5, -1], ""),
      ("2015-W10-4", "%G-W%V-%u", [1900, 0, 0, 0, 0, 0, 4, 367], ""),
    ];
    for (text, format, fields, rest) in cases {
      assert_eq!(strptime(text, format), Some((fields, rest)), "{text} with {format}");
    }
    for (text, format) in [
      ("2015-03-05T23:51:47.123Z", "%Y-%m-%dT%H:%M:%S.%fZ"),
      ("-100-01-01", "%Y-%m-%d"),
      ("-1", "%s"),
      ("23:51:47", "%OH:%OM:%OS"),
      ("+01:0", "%z"),
    ] {
      assert_eq!(strptime(text, format), None, "{text} with {format}");
    }
  }
}
